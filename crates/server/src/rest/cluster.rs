//! `cluster/nodes`: the members of the cluster with their load.

use axum::extract::State;
use axum::Json;

use super::extract::ApiPath;
use super::params::AppPath;
use super::reply::RestError;
use super::RestState;
use crate::cluster::NodeInfo;

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/cluster/nodes",
    tag = "cluster",
    params(AppPath),
    responses(
        (status = 200, description = "Live members, by id, with their last announced load", body = [NodeInfo]),
        (status = 404, description = "The server does not run in cluster mode"),
        (status = 500, description = "Redis cannot be reached"),
    )
)]
pub async fn nodes(
    State(state): State<RestState>,
    ApiPath(AppPath { .. }): ApiPath<AppPath>,
) -> Result<Json<Vec<NodeInfo>>, RestError> {
    list(state.cluster).await
}

/// The members, for the app's route above and the server-wide
/// `/rest/v2/cluster/nodes` (behind the console's guard).
pub async fn list(
    cluster: Option<crate::cluster::Cluster>,
) -> Result<Json<Vec<NodeInfo>>, RestError> {
    let Some(cluster) = cluster else {
        return Err(RestError::not_found(
            "not in cluster mode (--cluster-redis)",
        ));
    };
    match tokio::task::spawn_blocking(move || cluster.nodes()).await {
        Ok(Ok(nodes)) => Ok(Json(nodes)),
        Ok(Err(e)) => {
            tracing::error!("cannot list cluster nodes: {e}");
            Err(RestError::Internal)
        }
        Err(_) => Err(RestError::Internal),
    }
}
