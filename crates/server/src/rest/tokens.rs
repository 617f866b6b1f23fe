//! One-time tokens and stream JWTs (PROTOCOL.md §7.2, §7.3, §8.2).

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use tern_auth::{stream_jwt, Action};
use tern_store::Token;
use utoipa::IntoParams;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::params::{AppPath, StreamPagePath, StreamPath, MAX_PAGE};
use super::reply::{ApiResult, RestError, RestResult};
use super::RestState;
use crate::credentials::{self, Request};
use crate::db::{self, now_ms};

/// Shortest `jwtStreamSecretKey` Tern mints JWTs with (HS256 wants 256 bits).
const MIN_JWT_KEY: usize = 32;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct TokenParams {
    /// Unix second after which the token is refused.
    pub expire_date: Option<i64>,
    /// `publish` or `play`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// A room token is reusable for every stream of the room (play).
    pub room_id: Option<String>,
}

impl TokenParams {
    fn validate(&self) -> RestResult<(Action, i64)> {
        let (Some(exp), Some(kind)) = (self.expire_date, self.kind.as_deref()) else {
            return Err(RestError::bad(
                "Define Stream ID, Token Type and Expire Date (unix time)",
            ));
        };
        let action = Action::parse(kind).ok_or_else(|| {
            RestError::bad("Invalid token type. Supported types are 'play' and 'publish'")
        })?;
        if exp <= now_ms() / 1000 {
            return Err(RestError::bad(
                "Expire Date (unix time) must be in the future",
            ));
        }
        Ok((action, exp))
    }
}

/// Mints a one-time token: it lets one `publish` or `play` of the stream in,
/// once, until `expireDate`.
#[utoipa::path(
    get,
    path = "/{app}/rest/v2/broadcasts/{id}/token",
    tag = "tokens",
    params(StreamPath, TokenParams),
    responses(
        (status = 200, description = "The token", body = Token),
        (status = 400, description = "Missing or invalid expireDate or type", body = ApiResult),
    )
)]
pub async fn one_time(
    State(st): State<RestState>,
    ApiPath(StreamPath { app, id }): ApiPath<StreamPath>,
    ApiQuery(p): ApiQuery<TokenParams>,
) -> RestResult<Json<Token>> {
    let (action, exp) = p.validate()?;
    let mut store = db::lock(&st.store);
    for _ in 0..3 {
        let token = Token {
            token_id: random_token_id(),
            stream_id: id.clone(),
            expire_date: exp,
            kind: action.as_str().into(),
            room_id: p.room_id.clone().filter(|r| !r.is_empty()),
        };
        if store.insert_token(&app, &token)? {
            tracing::info!(
                app,
                stream = id,
                kind = action.as_str(),
                "one-time token minted"
            );
            return Ok(Json(token));
        }
    }
    tracing::error!(
        app,
        "three random token ids collided; the random source is broken"
    );
    Err(RestError::Internal)
}

/// 32 letters and digits: about 190 bits of randomness.
fn random_token_id() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// Mints a JWT stream token signed with `jwtStreamSecretKey`; it is reusable
/// until `expireDate` and is not stored.
#[utoipa::path(
    get,
    path = "/{app}/rest/v2/broadcasts/{id}/jwt-token",
    tag = "tokens",
    params(StreamPath, TokenParams),
    responses(
        (status = 200, description = "The token; tokenId is the JWT", body = Token),
        (status = 400, description = "Missing or invalid parameters, or jwtStreamSecretKey shorter than 32 characters", body = ApiResult),
    )
)]
pub async fn jwt(
    State(st): State<RestState>,
    ApiPath(StreamPath { app, id }): ApiPath<StreamPath>,
    ApiQuery(p): ApiQuery<TokenParams>,
) -> RestResult<Json<Token>> {
    let (action, exp) = p.validate()?;
    let settings = st.apps.settings(&app).ok_or(RestError::Internal)?;
    let key = settings.jwt_stream_secret_key.as_bytes();
    if key.len() < MIN_JWT_KEY {
        return Err(RestError::bad(format!(
            "jwtStreamSecretKey must be at least {MIN_JWT_KEY} characters to mint JWTs"
        )));
    }
    // The key's length was checked above, so it is not empty.
    let jwt =
        stream_jwt::mint(&id, action, exp.max(0) as u64, key).map_err(|_| RestError::Internal)?;
    Ok(Json(Token {
        token_id: jwt,
        stream_id: id,
        expire_date: exp,
        kind: action.as_str().into(),
        room_id: p.room_id.filter(|r| !r.is_empty()),
    }))
}

/// Checks a one-time token as `publish`/`play` would, and consumes it when it
/// is valid and not a room token.
#[utoipa::path(
    post,
    path = "/{app}/rest/v2/broadcasts/validate-token",
    tag = "tokens",
    params(AppPath),
    request_body = Token,
    responses(
        (status = 200, description = "success tells whether the token is valid", body = ApiResult),
        (status = 400, description = "tokenId, streamId or type missing or invalid", body = ApiResult),
    )
)]
pub async fn validate(
    State(st): State<RestState>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
    ApiJson(t): ApiJson<Token>,
) -> RestResult<ApiResult> {
    if t.token_id.is_empty() || t.stream_id.is_empty() {
        return Err(RestError::bad("tokenId and streamId are required"));
    }
    let action = Action::parse(&t.kind).ok_or_else(|| {
        RestError::bad("Invalid token type. Supported types are 'play' and 'publish'")
    })?;
    let req = Request {
        action,
        stream_id: &t.stream_id,
        token: Some(&t.token_id),
        room: t.room_id.as_deref().filter(|r| !r.is_empty()),
        subscriber_id: None,
        subscriber_code: None,
    };
    let mut store = db::lock(&st.store);
    let verdict = match credentials::one_time_token(&mut **store, &app, &req, now_ms()) {
        Ok(Some(id)) => match store.take_token(&app, &id)? {
            Some(_) => Ok(()),
            None => Err("one-time token already used".to_owned()),
        },
        Ok(None) => Ok(()),
        Err(credentials::CredentialError::Unauthorized(why)) => Err(why),
        Err(other) => {
            tracing::error!("token validation failed: {other:?}");
            return Err(RestError::Internal);
        }
    };
    Ok(match verdict {
        Ok(()) => ApiResult::ok(),
        Err(why) => ApiResult::no(why),
    })
}

#[utoipa::path(
    delete,
    path = "/{app}/rest/v2/broadcasts/{id}/tokens",
    tag = "tokens",
    params(StreamPath),
    responses((status = 200, description = "The stream's one-time tokens are deleted", body = ApiResult))
)]
pub async fn delete_all(
    State(st): State<RestState>,
    ApiPath(StreamPath { app, id }): ApiPath<StreamPath>,
) -> RestResult<ApiResult> {
    let n = db::lock(&st.store).delete_tokens(&app, &id)?;
    Ok(ApiResult::ok_message(format!("{n} tokens deleted")))
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/broadcasts/{id}/tokens/list/{offset}/{size}",
    tag = "tokens",
    params(StreamPagePath),
    responses(
        (status = 200, description = "A page of the stream's one-time tokens", body = [Token]),
        (status = 400, description = "Invalid offset or size", body = ApiResult),
    )
)]
pub async fn list(
    State(st): State<RestState>,
    ApiPath(p): ApiPath<StreamPagePath>,
) -> RestResult<Json<Vec<Token>>> {
    let size = p.size.min(MAX_PAGE);
    let tokens = db::lock(&st.store).list_tokens(&p.app, &p.id, p.offset, size)?;
    Ok(Json(tokens))
}
