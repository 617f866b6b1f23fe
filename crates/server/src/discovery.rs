//! `GET /{App}/discovery`: the SDK's HTTP discovery (PROTOCOL.md §1.3, the
//! adaptor's `httpEndpointUrl`). Any node answers with the least loaded
//! serving node of the cluster; a single node answers with itself. The SDK
//! then sends `HEAD` to `http_url` (this same route on the chosen node) and
//! opens `websocket_url`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::cluster::{Cluster, NodeInfo};
use crate::http::AppState;

#[derive(Debug, Serialize, PartialEq)]
struct Endpoint {
    fqdn: String,
    websocket_url: String,
    http_url: String,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/{app}/discovery", get(discover))
        // The SDK fetches it from the page's origin, which is seldom Tern's.
        .layer(tower_http::cors::CorsLayer::new().allow_origin(tower_http::cors::Any))
        .with_state(state)
}

async fn discover(
    Path(app): Path<String>,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    if state.apps.get(&app).is_none() {
        return (
            StatusCode::NOT_FOUND,
            format!("no application named {app:?} on this server\n"),
        )
            .into_response();
    }
    let own = || {
        let host = crate::http::request_host(&headers)
            .unwrap_or("localhost")
            .to_owned();
        let scheme = if state.tls { "https" } else { "http" };
        endpoint(&format!("{scheme}://{host}"), &app)
    };
    let Some(cluster) = state.cluster.clone() else {
        return Json(own()).into_response();
    };
    match least_loaded(cluster).await {
        Some(node) => Json(endpoint(&node.http_url, &app)).into_response(),
        // Redis is away: this node still serves.
        None => Json(own()).into_response(),
    }
}

async fn least_loaded(cluster: Cluster) -> Option<NodeInfo> {
    let nodes = tokio::task::spawn_blocking(move || cluster.nodes())
        .await
        .ok()?
        .ok()?;
    pick(nodes)
}

/// The serving node with the fewest peers; of equals, the least busy CPU.
fn pick(nodes: Vec<NodeInfo>) -> Option<NodeInfo> {
    nodes
        .into_iter()
        .filter(|n| n.state == "serving")
        .min_by(|a, b| {
            (a.publishers + a.players)
                .cmp(&(b.publishers + b.players))
                .then(a.cpu_percent.total_cmp(&b.cpu_percent))
        })
}

fn endpoint(base: &str, app: &str) -> Endpoint {
    let base = base.trim_end_matches('/');
    let (ws, rest) = match base.split_once("://") {
        Some(("https", rest)) => ("wss", rest),
        Some((_, rest)) => ("ws", rest),
        None => ("ws", base),
    };
    let host = rest.rsplit_once(':').map_or(rest, |(h, _)| h);
    Endpoint {
        fqdn: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
        websocket_url: format!("{ws}://{rest}/{app}/websocket"),
        http_url: format!("{base}/{app}/discovery"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, peers: u64, cpu: f64, state: &str) -> NodeInfo {
        NodeInfo {
            id: id.into(),
            epoch: 1,
            http_url: format!("http://{id}:5080"),
            state: state.into(),
            cpu_percent: cpu,
            egress_bits_per_second: 0,
            publishers: 0,
            players: peers,
            origins: 0,
            media_addresses: Vec::new(),
            relay_ip: String::new(),
            started_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_least_loaded_serving_node_is_chosen() {
        let nodes = vec![
            node("a", 3, 1.0, "serving"),
            node("b", 1, 9.0, "serving"),
            node("c", 0, 0.0, "draining"),
            node("d", 1, 2.0, "serving"),
        ];
        assert_eq!(pick(nodes).unwrap().id, "d");
        assert!(pick(vec![node("c", 0, 0.0, "draining")]).is_none());
    }

    #[test]
    fn endpoints_name_the_websocket_and_this_route() {
        assert_eq!(
            endpoint("https://[::1]:5443/", "LiveApp"),
            Endpoint {
                fqdn: "::1".into(),
                websocket_url: "wss://[::1]:5443/LiveApp/websocket".into(),
                http_url: "https://[::1]:5443/LiveApp/discovery".into(),
            }
        );
        assert_eq!(
            endpoint("http://10.0.0.7:5080", "x").websocket_url,
            "ws://10.0.0.7:5080/x/websocket"
        );
    }
}
