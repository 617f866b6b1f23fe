//! TOTP subscribers of a stream (PROTOCOL.md §7.5, §8.2).

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use tern_auth::{totp, Action};
use tern_store::Subscriber;
use utoipa::IntoParams;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::params::{BlockPath, StreamPagePath, StreamPath, SubscriberPath, MAX_PAGE};
use super::reply::{ApiResult, RestError, RestResult};
use super::RestState;
use crate::credentials;
use crate::db::{self, now_ms};

const KINDS: [&str; 3] = ["publish", "play", "publish_play"];

/// Adds or replaces a subscriber of the stream.
#[utoipa::path(
    post,
    path = "/{app}/rest/v2/broadcasts/{id}/subscribers",
    tag = "subscribers",
    params(StreamPath),
    request_body = Subscriber,
    responses(
        (status = 200, description = "Saved", body = ApiResult),
        (status = 400, description = "subscriberId too short, bad b32Secret, type or totpExpiryPeriodSeconds", body = ApiResult),
    )
)]
pub async fn add(
    State(st): State<RestState>,
    ApiPath(StreamPath { app, id }): ApiPath<StreamPath>,
    ApiJson(mut s): ApiJson<Subscriber>,
) -> RestResult<ApiResult> {
    if s.subscriber_id.chars().count() <= 3 {
        return Err(RestError::bad(
            "subscriberId must be longer than 3 characters",
        ));
    }
    if !KINDS.contains(&s.kind.as_str()) {
        return Err(RestError::bad(format!(
            "type must be publish, play or publish_play (got {:?})",
            s.kind
        )));
    }
    if let Some(secret) = s.b32_secret.as_deref().filter(|v| !v.is_empty()) {
        if secret.len() % 8 != 0 || tern_auth::base32::decode(secret).is_err() {
            return Err(RestError::bad(
                "b32Secret must be Base32 (A-Z, 2-7) with a length that is a multiple of 8",
            ));
        }
    }
    if s.totp_expiry_period_seconds != 0 && s.totp_expiry_period_seconds < 10 {
        return Err(RestError::bad(
            "totpExpiryPeriodSeconds must be at least 10",
        ));
    }
    s.stream_id = id;
    db::lock(&st.store).save_subscriber(&app, &s)?;
    Ok(ApiResult::ok())
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/broadcasts/{id}/subscribers/list/{offset}/{size}",
    tag = "subscribers",
    params(StreamPagePath),
    responses(
        (status = 200, description = "A page of the stream's subscribers", body = [Subscriber]),
        (status = 400, description = "Invalid offset or size", body = ApiResult),
    )
)]
pub async fn list(
    State(st): State<RestState>,
    ApiPath(p): ApiPath<StreamPagePath>,
) -> RestResult<Json<Vec<Subscriber>>> {
    let size = p.size.min(MAX_PAGE);
    let subs = db::lock(&st.store).list_subscribers(&p.app, &p.id, p.offset, size)?;
    Ok(Json(subs))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TotpParams {
    /// `publish` or `play`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
}

/// The subscriber's current TOTP code, in `dataId`.
#[utoipa::path(
    get,
    path = "/{app}/rest/v2/broadcasts/{id}/subscribers/{sid}/totp",
    tag = "subscribers",
    params(SubscriberPath, TotpParams),
    responses(
        (status = 200, description = "dataId is the six-digit code", body = ApiResult),
        (status = 400, description = "type missing or invalid, or not allowed for this subscriber", body = ApiResult),
        (status = 404, description = "No such subscriber, and no app secret to derive a code from", body = ApiResult),
    )
)]
pub async fn code(
    State(st): State<RestState>,
    ApiPath(SubscriberPath { app, id, sid }): ApiPath<SubscriberPath>,
    ApiQuery(p): ApiQuery<TotpParams>,
) -> RestResult<ApiResult> {
    let action = p
        .kind
        .as_deref()
        .and_then(Action::parse)
        .ok_or_else(|| RestError::bad("type must be publish or play"))?;
    let settings = st.apps.settings(&app).ok_or(RestError::Internal)?;
    let sub = db::lock(&st.store).subscriber(&app, &id, &sid)?;
    let (key, period) = credentials::totp_key(&settings, sub.as_ref(), &sid, &id, action).map_err(
        |why| match sub {
            Some(_) => RestError::bad(why),
            None => RestError::not_found(why),
        },
    )?;
    Ok(ApiResult::ok_data(totp::code(
        &key,
        period,
        now_ms().max(0) as u64,
    )))
}

#[utoipa::path(
    delete,
    path = "/{app}/rest/v2/broadcasts/{id}/subscribers/{sid}",
    tag = "subscribers",
    params(SubscriberPath),
    responses(
        (status = 200, description = "Deleted", body = ApiResult),
        (status = 404, description = "No such subscriber", body = ApiResult),
    )
)]
pub async fn delete_one(
    State(st): State<RestState>,
    ApiPath(SubscriberPath { app, id, sid }): ApiPath<SubscriberPath>,
) -> RestResult<ApiResult> {
    if db::lock(&st.store).delete_subscriber(&app, &id, &sid)? {
        Ok(ApiResult::ok())
    } else {
        Err(no_subscriber(&id, &sid))
    }
}

fn no_subscriber(id: &str, sid: &str) -> RestError {
    RestError::not_found(format!("stream {id} has no subscriber {sid}"))
}

#[utoipa::path(
    delete,
    path = "/{app}/rest/v2/broadcasts/{id}/subscribers",
    tag = "subscribers",
    params(StreamPath),
    responses((status = 200, description = "Every subscriber of the stream is deleted", body = ApiResult))
)]
pub async fn delete_all(
    State(st): State<RestState>,
    ApiPath(StreamPath { app, id }): ApiPath<StreamPath>,
) -> RestResult<ApiResult> {
    let n = db::lock(&st.store).delete_subscribers(&app, &id)?;
    Ok(ApiResult::ok_message(format!("{n} subscribers deleted")))
}

/// Blocks a subscriber for `seconds`: its publish and/or play attempts get
/// `user_blocked` until then.
#[utoipa::path(
    put,
    path = "/{app}/rest/v2/broadcasts/{id}/subscribers/{sid}/block/{seconds}/{block_type}",
    tag = "subscribers",
    params(BlockPath),
    responses(
        (status = 200, description = "Blocked", body = ApiResult),
        (status = 400, description = "Invalid seconds or type", body = ApiResult),
        (status = 404, description = "No such subscriber", body = ApiResult),
    )
)]
pub async fn block(
    State(st): State<RestState>,
    ApiPath(p): ApiPath<BlockPath>,
) -> RestResult<ApiResult> {
    if !KINDS.contains(&p.block_type.as_str()) {
        return Err(RestError::bad(format!(
            "type must be publish, play or publish_play (got {:?})",
            p.block_type
        )));
    }
    let mut store = db::lock(&st.store);
    let Some(mut sub) = store.subscriber(&p.app, &p.id, &p.sid)? else {
        return Err(no_subscriber(&p.id, &p.sid));
    };
    sub.blocked_type = Some(p.block_type.clone());
    sub.blocked_until_unit_time_stamp_ms = now_ms() + i64::from(p.seconds) * 1000;
    store.save_subscriber(&p.app, &sub)?;
    tracing::info!(
        app = p.app,
        stream = p.id,
        subscriber = p.sid,
        seconds = p.seconds,
        "subscriber blocked"
    );
    Ok(ApiResult::ok())
}
