//! REST API v2 under `/{App}/rest/v2` (PROTOCOL.md §8), with the paths and JSON
//! shapes of Ant Media. Every route is declared with `#[utoipa::path]` and
//! registered through `utoipa_axum`, so the OpenAPI document served at
//! `/{App}/rest/v2/openapi.json` is generated from the same declarations that
//! route requests.

mod broadcasts;
pub(crate) mod cluster;
mod data;
mod extract;
mod guard;
mod info;
mod params;
mod reply;
mod settings;
pub(crate) mod stats;
mod subscribers;
mod tokens;
mod vods;

use std::sync::Arc;

use axum::routing::{any, get};
use axum::{Json, Router};
use tokio::sync::mpsc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::apps::Apps;
use crate::db::SharedStore;
use crate::hub::HubMsg;

pub use reply::ApiResult;

#[derive(Clone)]
pub struct RestState {
    pub apps: Apps,
    pub store: SharedStore,
    pub hub: mpsc::Sender<HubMsg>,
    pub recordings: crate::record::Recordings,
    pub cluster: Option<crate::cluster::Cluster>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tern REST API v2",
        description = "Ant Media Server-compatible management API. Every path starts with the application name. \
                       Calls are accepted from remoteAllowedCIDR when ipFilterEnabled, and need \
                       `Authorization: Bearer <JWT>` when jwtControlEnabled: HS256 signed with jwtSecretKey, or \
                       RS256/ES256 signed by the key of jwtPublicKey or of the jwksURL set."
    ),
    tags(
        (name = "broadcasts", description = "Registered streams"),
        (name = "tokens", description = "One-time tokens and JWT stream tokens"),
        (name = "subscribers", description = "TOTP subscribers"),
        (name = "settings", description = "Application settings"),
        (name = "vods", description = "Recordings"),
        (name = "server", description = "Server information"),
        (name = "cluster", description = "Cluster members (--cluster-redis)"),
    )
)]
struct ApiDoc;

/// The routes and their OpenAPI document.
fn routes() -> (Router<RestState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(broadcasts::create))
        .routes(routes!(
            broadcasts::get_one,
            broadcasts::update,
            broadcasts::delete_one
        ))
        .routes(routes!(broadcasts::list))
        .routes(routes!(broadcasts::delete_many))
        .routes(routes!(broadcasts::count))
        .routes(routes!(broadcasts::count_search))
        .routes(routes!(broadcasts::active_count))
        .routes(routes!(broadcasts::stop))
        .routes(routes!(info::stream_info))
        .routes(routes!(data::send))
        .routes(routes!(tokens::one_time))
        .routes(routes!(tokens::jwt))
        .routes(routes!(tokens::validate))
        .routes(routes!(tokens::delete_all))
        .routes(routes!(tokens::list))
        .routes(routes!(subscribers::add, subscribers::delete_all))
        .routes(routes!(subscribers::list))
        .routes(routes!(subscribers::code))
        .routes(routes!(subscribers::delete_one))
        .routes(routes!(subscribers::block))
        .routes(routes!(settings::get_settings, settings::put_settings))
        .routes(routes!(info::version))
        .routes(routes!(stats::broadcast_statistics))
        .routes(routes!(stats::webrtc_client_stats))
        .routes(routes!(stats::system_resources))
        .routes(routes!(vods::list))
        .routes(routes!(vods::count))
        .routes(routes!(vods::get_one, vods::delete_one))
        .routes(routes!(vods::recording))
        .routes(routes!(cluster::nodes))
        .split_for_parts()
}

/// The OpenAPI document, for tests and tools.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

pub fn router(state: RestState) -> Router {
    let (api, doc) = routes();
    let doc = Arc::new(doc);
    api.route(
        "/{app}/rest/v2/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { Json((*doc).clone()) }
        }),
    )
    .route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        guard::guard,
    ))
    .route("/{app}/rest/{*rest}", any(no_endpoint))
    .layer(axum::middleware::map_response(explain_405))
    .layer(cors())
    .with_state(state)
}

/// CORS as Ant Media sets it for `/rest/*`: any origin, the methods the API
/// uses. The layer is outermost so that preflights are answered before the IP
/// and JWT filters: browsers send them without credentials.
fn cors() -> tower_http::cors::CorsLayer {
    use axum::http::{header, Method};
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::HEAD,
            Method::OPTIONS,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
}

/// axum answers a known path with the wrong method by an empty 405; give it a
/// `Result` body like every other refusal.
async fn explain_405(res: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse;
    if res.status() == axum::http::StatusCode::METHOD_NOT_ALLOWED {
        let allow = res.headers().get(axum::http::header::ALLOW).cloned();
        let mut fixed = reply::RestError::MethodNotAllowed.into_response();
        if let Some(allow) = allow {
            fixed.headers_mut().insert(axum::http::header::ALLOW, allow);
        }
        return fixed;
    }
    res
}

async fn no_endpoint() -> reply::RestError {
    reply::RestError::not_found("no such REST endpoint; see /{App}/rest/v2/openapi.json")
}
