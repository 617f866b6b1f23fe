//! HTTP routes: health, and the WebSocket endpoint of every application.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Path, State, WebSocketUpgrade};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::mpsc;

use crate::apps::Apps;
use crate::assets::Assets;
use crate::config::{Config, Limits};
use crate::hub::HubMsg;
use crate::socket_limits::{Refusal, Rules, SocketCounts};

#[derive(Clone)]
pub struct AppState {
    pub apps: Apps,
    pub limits: Limits,
    pub hub: mpsc::Sender<HubMsg>,
    pub assets: Assets,
    pub sockets: SocketCounts,
    /// Live WHIP/WHEP session resources.
    pub whip: crate::whip::Resources,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    pub metrics_allowed: tern_auth::cidr::CidrList,
    /// The built-in TURN server, whose credentials go to every client.
    pub turn: Option<std::sync::Arc<crate::turn::TurnService>>,
    /// Cluster mode: plays of streams published elsewhere are relayed here.
    pub cluster: Option<crate::cluster::Cluster>,
    /// HTTPS and WSS (for URLs this node hands out).
    pub tls: bool,
}

impl AppState {
    pub fn new(
        config: &Config,
        hub: mpsc::Sender<HubMsg>,
        apps: Apps,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> Self {
        AppState {
            apps,
            limits: config.limits,
            hub,
            assets: Assets::from_env(),
            sockets: SocketCounts::default(),
            whip: crate::whip::Resources::default(),
            metrics,
            metrics_allowed: config.metrics_allowed.clone(),
            turn: None,
            cluster: None,
            tls: config.tls.is_some(),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::metrics::scrape))
        .route("/{app}/websocket", get(websocket))
        .route("/{app}/js/{*path}", get(sdk_file))
        .route("/{app}/", get(sample_index))
        .route("/{app}/{*path}", get(sample_file))
        .with_state(state.clone())
        .merge(crate::whip::router(state))
}

async fn healthz(State(state): State<AppState>) -> Response {
    if state.hub.is_closed() {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping\n").into_response();
    }
    (StatusCode::OK, "ok\n").into_response()
}

async fn websocket(
    Path(app): Path<String>,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(mut settings) = state.apps.get(&app) else {
        return unknown_app(&app);
    };
    if let Some(turn) = &state.turn {
        // Minted when the socket opens: the official SDK asks once per socket.
        settings.ice = turn.ice(
            &settings.ice,
            request_host(&headers),
            u64::try_from(crate::db::now_ms() / 1000).unwrap_or(0),
        );
    }
    let limits = state.limits;
    settings.max_peers_per_session = limits.peers_per_socket;
    let rules = Rules {
        per_ip: limits.sockets_per_ip,
        new_per_second: limits.new_sockets_per_second,
    };
    let slot = match state.sockets.acquire(peer.ip(), rules, Instant::now()) {
        Ok(slot) => slot,
        Err(Refusal::TooMany(n)) => {
            let why = format!("this address already holds {n} WebSockets; close some first\n");
            return (StatusCode::TOO_MANY_REQUESTS, why).into_response();
        }
        Err(Refusal::TooFast(n)) => {
            let why =
                format!("this address opens WebSockets faster than {n} a second; retry shortly\n");
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "1")],
                why,
            )
                .into_response();
        }
    };
    ws.max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .on_upgrade(move |socket| async move {
            crate::ws::serve(
                socket,
                app,
                settings,
                limits,
                state.hub,
                state.metrics,
                state.cluster,
            )
            .await;
            drop(slot);
        })
}

/// The host the client reached Tern at (its Host header).
pub fn request_host(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
}

fn unknown_app(app: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("no application named {app:?} on this server\n"),
    )
        .into_response()
}

/// `/{App}/js/…`: the SDK modules.
async fn sdk_file(
    Path((app, path)): Path<(String, String)>,
    State(state): State<AppState>,
) -> Response {
    if !state.apps.contains_key(&app) {
        return unknown_app(&app);
    }
    state.assets.respond(&format!("src/{path}"))
}

/// `/{App}/`: the index of sample pages.
async fn sample_index(Path(app): Path<String>, State(state): State<AppState>) -> Response {
    if !state.apps.contains_key(&app) {
        return unknown_app(&app);
    }
    state.assets.respond("samples/index.html")
}

/// `/{App}/…`: the sample pages.
async fn sample_file(
    Path((app, path)): Path<(String, String)>,
    State(state): State<AppState>,
) -> Response {
    if !state.apps.contains_key(&app) {
        return unknown_app(&app);
    }
    state.assets.respond(&format!("samples/{path}"))
}
