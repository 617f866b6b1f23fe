//! What REST handlers answer: Ant Media's `Result` object, and errors that map
//! to a 4xx (the caller's mistake, said in `message`) or a 5xx (ours, logged,
//! with no internals in the body).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Ant Media's `Result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiResult {
    pub success: bool,
    pub message: Option<String>,
    pub data_id: Option<String>,
    /// 0 on success; the HTTP status of a refusal otherwise.
    pub error_id: i32,
}

impl ApiResult {
    pub fn ok() -> ApiResult {
        ApiResult {
            success: true,
            message: None,
            data_id: None,
            error_id: 0,
        }
    }

    pub fn ok_message(message: impl Into<String>) -> ApiResult {
        ApiResult {
            message: Some(message.into()),
            ..ApiResult::ok()
        }
    }

    pub fn ok_data(data_id: impl Into<String>) -> ApiResult {
        ApiResult {
            data_id: Some(data_id.into()),
            ..ApiResult::ok()
        }
    }

    /// A well-formed request whose answer is "no" (e.g. `validate-token`).
    pub fn no(message: impl Into<String>) -> ApiResult {
        ApiResult {
            success: false,
            message: Some(message.into()),
            data_id: None,
            error_id: 0,
        }
    }
}

impl IntoResponse for ApiResult {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// `{"number": n}` of the count endpoints.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Number {
    pub number: u64,
}

/// Why a REST request failed.
#[derive(Debug)]
pub enum RestError {
    /// 400: the request is malformed or a value is out of range; the message says which.
    BadRequest(String),
    /// 403: the IP filter or the JWT filter refused the caller.
    Forbidden(String),
    /// 404: the application, broadcast, subscriber or endpoint does not exist.
    NotFound(String),
    /// 405: the path exists but not with this method; see the OpenAPI document.
    MethodNotAllowed,
    /// 413: the body is larger than the server accepts (2 MB).
    TooLarge,
    /// 409: the request is valid but the resource's state does not allow it.
    Conflict(String),
    /// 500: the store failed; details are in the server log only.
    Internal,
    /// 503: the server is shutting down.
    Unavailable,
}

impl RestError {
    pub fn bad(message: impl Into<String>) -> RestError {
        RestError::BadRequest(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> RestError {
        RestError::NotFound(message.into())
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            RestError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            RestError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            RestError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            RestError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "this path does not take this method; see /{App}/rest/v2/openapi.json".to_owned(),
            ),
            RestError::Conflict(m) => (StatusCode::CONFLICT, m),
            RestError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large".to_owned(),
            ),
            RestError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the server log".to_owned(),
            ),
            RestError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is stopping".to_owned(),
            ),
        };
        let body = ApiResult {
            success: false,
            message: Some(message),
            data_id: None,
            error_id: i32::from(status.as_u16()),
        };
        (status, Json(body)).into_response()
    }
}

impl From<tern_store::StoreError> for RestError {
    fn from(e: tern_store::StoreError) -> Self {
        tracing::error!("store error in REST: {e}");
        RestError::Internal
    }
}

impl From<crate::admin::HubGone> for RestError {
    fn from(_: crate::admin::HubGone) -> Self {
        RestError::Unavailable
    }
}

pub type RestResult<T> = Result<T, RestError>;
