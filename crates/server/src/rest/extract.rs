//! Extractors whose rejections are `Result` bodies with a 400 that says what
//! is wrong, instead of axum's plain-text ones.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::reply::RestError;

/// Path parameters.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(RestError::bad(format!("invalid path: {}", e.body_text()))),
        }
    }
}

/// Query parameters.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(RestError::bad(format!("invalid query: {}", e.body_text()))),
        }
    }
}

/// A JSON body. The content type is not checked (Ant Media's clients do not
/// always set it); an empty body is refused.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = RestError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The body as bytes, for handlers that accept an empty one.
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = RestError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(RawBody(b)),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(RestError::TooLarge)
            }
            Err(e) => Err(RestError::bad(format!(
                "cannot read the body: {}",
                e.body_text()
            ))),
        }
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, RestError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(RestError::bad("the request needs a JSON body"));
    }
    serde_json::from_slice(bytes).map_err(|e| RestError::bad(format!("invalid JSON body: {e}")))
}
