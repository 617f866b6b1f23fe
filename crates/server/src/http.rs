//! HTTP routes: health, and the WebSocket endpoint of every application.

use axum::extract::{Path, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::mpsc;

use crate::apps::Apps;
use crate::assets::Assets;
use crate::config::{Config, Limits};
use crate::hub::HubMsg;

#[derive(Clone)]
pub struct AppState {
    pub apps: Apps,
    pub limits: Limits,
    pub hub: mpsc::Sender<HubMsg>,
    pub assets: Assets,
}

impl AppState {
    pub fn new(config: &Config, hub: mpsc::Sender<HubMsg>, apps: Apps) -> Self {
        AppState {
            apps,
            limits: config.limits,
            hub,
            assets: Assets::from_env(),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/{app}/websocket", get(websocket))
        .route("/{app}/js/{*path}", get(sdk_file))
        .route("/{app}/", get(sample_index))
        .route("/{app}/{*path}", get(sample_file))
        .with_state(state)
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
    ws: WebSocketUpgrade,
) -> Response {
    let Some(settings) = state.apps.get(&app) else {
        return unknown_app(&app);
    };
    let limits = state.limits;
    ws.max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .on_upgrade(move |socket| crate::ws::serve(socket, app, settings, limits, state.hub))
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
