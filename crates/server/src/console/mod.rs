//! The web console at `/` (page in `sdk/console`): live streams, viewers and
//! server resources pushed by Server-Sent Events, and each application's REST
//! API reached through `/console/api/rest/{App}/rest/v2/...`.
//!
//! Guarded by `console_allowed_cidr` (loopback by default) and, when
//! `console_password` is set, a login whose cookie is an HMAC of its expiry
//! under a key made at start (a restart logs everyone out). Requests that
//! change something must carry `X-Tern-Console: 1`, which a page of another
//! origin cannot send without a CORS preflight that Tern never grants here.

mod snapshot;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::mpsc;
use tower::ServiceExt;

use crate::apps::Apps;
use crate::assets::Assets;
use crate::hub::HubMsg;

/// The page's policy: its own scripts and styles only, nothing inline, no
/// framing. Names and ids from clients are shown as text by the page; this
/// stops anything that slips through from running.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; \
                   base-uri 'none'; form-action 'self'";
const COOKIE: &str = "tern_console";
/// How long a login lasts.
const SESSION: Duration = Duration::from_secs(12 * 3600);
/// How often the page gets the state.
const TICK: Duration = Duration::from_secs(1);
/// The header that marks a request as the console page's own.
const CSRF_HEADER: &str = "x-tern-console";

/// Marks a REST request forwarded by the console: the REST guard lets it
/// through without the app's IP filter and JWT, the console having admitted
/// the caller. Only server code can put it on a request.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleCaller;

#[derive(Clone)]
pub struct ConsoleState {
    allowed: tern_auth::cidr::CidrList,
    gate: Gate,
    hub: mpsc::Sender<HubMsg>,
    apps: Apps,
    assets: Assets,
    rest: Router,
    cluster: Option<crate::cluster::Cluster>,
}

impl ConsoleState {
    pub fn new(
        config: &crate::config::Config,
        hub: mpsc::Sender<HubMsg>,
        apps: Apps,
        rest: Router,
    ) -> Self {
        ConsoleState {
            allowed: config.console_allowed.clone(),
            gate: Gate {
                password: config.console_password.as_deref().map(Arc::from),
                key: Arc::new(rand::random()),
            },
            hub,
            apps,
            assets: Assets::from_env(),
            rest,
            cluster: None,
        }
    }

    /// Serve `/rest/v2/cluster/nodes` for this cluster.
    pub fn with_cluster(mut self, cluster: Option<crate::cluster::Cluster>) -> Self {
        self.cluster = cluster;
        self
    }
}

/// The password and the key that signs login cookies.
#[derive(Clone)]
struct Gate {
    password: Option<Arc<str>>,
    key: Arc<[u8; 32]>,
}

impl Gate {
    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key[..]).expect("any key length")
    }

    /// A cookie value valid until `expires` (Unix seconds).
    fn ticket(&self, expires: u64) -> String {
        let mut mac = self.mac();
        mac.update(format!("console:{expires}").as_bytes());
        format!("{expires}.{}", hex(&mac.finalize().into_bytes()))
    }

    fn ticket_valid(&self, value: &str, now: u64) -> bool {
        let Some((expires, sig)) = value.split_once('.') else {
            return false;
        };
        let Ok(expires) = expires.parse::<u64>() else {
            return false;
        };
        let Some(sig) = unhex(sig) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(format!("console:{expires}").as_bytes());
        expires > now && mac.verify_slice(&sig).is_ok()
    }

    fn password_matches(&self, given: &str) -> bool {
        let Some(expected) = &self.password else {
            return true;
        };
        // Compared as MACs so the time taken says nothing about the password.
        let mut want = self.mac();
        want.update(expected.as_bytes());
        let mut got = self.mac();
        got.update(given.as_bytes());
        got.verify_slice(&want.finalize().into_bytes()).is_ok()
    }

    fn logged_in(&self, req_headers: &axum::http::HeaderMap) -> bool {
        if self.password.is_none() {
            return true;
        }
        cookie(req_headers, COOKIE).is_some_and(|v| self.ticket_valid(&v, unix_now()))
    }
}

pub fn router(state: ConsoleState) -> Router {
    let api = Router::new()
        .route("/console/api/session", get(session))
        .route("/console/api/login", post(login))
        .route("/console/api/logout", post(logout))
        .route("/console/api/events", get(snapshot::events))
        .route("/console/api/rest/{*rest}", any(rest))
        .route("/console/api/{*rest}", any(no_api))
        // Ant Media's server-wide path of the cluster's members.
        .route(
            "/rest/v2/cluster/nodes",
            get(|State(st): State<ConsoleState>| crate::rest::cluster::list(st.cluster)),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api_guard,
        ));
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(page))
        .route("/console/{*file}", get(file))
        .merge(api)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            outer_guard,
        ))
        .with_state(state)
}

/// Every console path: the address filter, and the page's security headers.
async fn outer_guard(
    State(st): State<ConsoleState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    if !st.allowed.contains(peer.ip()) {
        tracing::info!(ip = %peer.ip(), "console refused by console_allowed_cidr");
        return (
            StatusCode::FORBIDDEN,
            "the console is served to the addresses in console_allowed_cidr only\n",
        )
            .into_response();
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// `/console/api/*`: changes need the console's header; everything but the
/// session probe and the login needs a login when a password is set.
async fn api_guard(State(st): State<ConsoleState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let open = path == "/console/api/session" || path == "/console/api/login";
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes && req.headers().get(CSRF_HEADER).is_none() {
        return refuse(
            StatusCode::FORBIDDEN,
            "requests that change something need the header X-Tern-Console: 1",
        );
    }
    if !open && !st.gate.logged_in(req.headers()) {
        return refuse(StatusCode::UNAUTHORIZED, "log in to the console first");
    }
    next.run(req).await
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "success": false, "message": message });
    (status, Json(body)).into_response()
}

async fn page(State(st): State<ConsoleState>) -> Response {
    st.assets.respond("console/index.html")
}

async fn file(State(st): State<ConsoleState>, Path(file): Path<String>) -> Response {
    st.assets.respond(&format!("console/{file}"))
}

async fn no_api() -> Response {
    refuse(StatusCode::NOT_FOUND, "no such console endpoint")
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionState {
    login_required: bool,
    logged_in: bool,
}

async fn session(State(st): State<ConsoleState>, headers: axum::http::HeaderMap) -> Response {
    Json(SessionState {
        login_required: st.gate.password.is_some(),
        logged_in: st.gate.logged_in(&headers),
    })
    .into_response()
}

#[derive(Deserialize)]
struct Login {
    password: String,
}

async fn login(
    State(st): State<ConsoleState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(Login { password }) = serde_json::from_slice::<Login>(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the body must be JSON: {\"password\": \"...\"}",
        );
    };
    if !st.gate.password_matches(&password) {
        tracing::info!(ip = %peer.ip(), "console login refused: wrong password");
        // Slows guessing from one connection; the address filter does the rest.
        tokio::time::sleep(Duration::from_millis(300)).await;
        return refuse(StatusCode::UNAUTHORIZED, "wrong password");
    }
    let expires = unix_now() + SESSION.as_secs();
    let cookie = format!(
        "{COOKIE}={}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}",
        st.gate.ticket(expires),
        SESSION.as_secs()
    );
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

async fn logout() -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    let cookie = format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// `/console/api/rest/{App}/rest/v2/...`: the app's REST API, admitted by the
/// console instead of the app's own filter.
async fn rest(State(st): State<ConsoleState>, mut req: Request) -> Response {
    let path = req
        .uri()
        .path()
        .strip_prefix("/console/api/rest")
        .unwrap_or("/");
    let target = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let Ok(uri) = target.parse::<Uri>() else {
        return refuse(StatusCode::BAD_REQUEST, "not a valid REST path");
    };
    *req.uri_mut() = uri;
    req.extensions_mut().insert(ConsoleCaller);
    match st.rest.clone().oneshot(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    }
}

fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(password: Option<&str>) -> Gate {
        Gate {
            password: password.map(Arc::from),
            key: Arc::new([7; 32]),
        }
    }

    #[test]
    fn tickets_expire_and_cannot_be_forged() {
        let st = state(Some("pw"));
        let t = st.ticket(1000);
        assert!(st.ticket_valid(&t, 999));
        assert!(!st.ticket_valid(&t, 1000), "expired");
        let forged = t.replacen("1000", "9999", 1);
        assert!(!st.ticket_valid(&forged, 999), "another expiry, same MAC");
        assert!(!st.ticket_valid("garbage", 0));
        assert!(!st.ticket_valid("5.zz", 0));
    }

    #[test]
    fn passwords_are_compared_whole() {
        let st = state(Some("secret"));
        assert!(st.password_matches("secret"));
        assert!(!st.password_matches("secre"));
        assert!(!st.password_matches("secret "));
        assert!(state(None).password_matches("anything"));
    }
}
