//! `POST /broadcasts/{id}/data`: a text message to every player of a stream
//! over its data channel (PROTOCOL.md §6.4).

use axum::extract::State;

use super::extract::ApiPath;
use super::params::StreamPath;
use super::reply::{ApiResult, RestError, RestResult};
use super::RestState;
use crate::admin;

#[utoipa::path(
    post,
    path = "/{app}/rest/v2/broadcasts/{id}/data",
    tag = "broadcasts",
    params(StreamPath),
    request_body(content = String, content_type = "text/plain", description = "The message"),
    responses(
        (status = 200, description = "Sent; `message` says to how many players", body = ApiResult),
        (status = 400, description = "Empty body", body = ApiResult),
        (status = 404, description = "The stream is not live", body = ApiResult),
    )
)]
pub async fn send(
    State(st): State<RestState>,
    ApiPath(StreamPath { app, id }): ApiPath<StreamPath>,
    body: String,
) -> RestResult<axum::Json<ApiResult>> {
    if body.is_empty() {
        return Err(RestError::bad(
            "the body is the message to send, and it is empty",
        ));
    }
    match admin::data(&st.hub, &app, &id, body.into_bytes()).await? {
        Some(n) => Ok(axum::Json(ApiResult::ok_message(format!(
            "sent to {n} players"
        )))),
        None => Err(RestError::not_found(format!("stream {id} is not live"))),
    }
}
