//! `/broadcasts`: create, read, list, update, delete, count and stop streams
//! (PROTOCOL.md §8.2). Status and viewer counts are kept current by the
//! signaling side (`crate::registry`), so reads show them live.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use tern_store::{status, Broadcast, ListQuery, Order, SortBy};
use utoipa::IntoParams;

use super::extract::{parse_json, ApiPath, ApiQuery, RawBody};
use super::params::{AppPath, PagePath, SearchPath, StreamPath, MAX_PAGE};
use super::reply::{ApiResult, Number, RestError, RestResult};
use super::RestState;
use crate::admin;
use crate::db::{self, now_ms};

/// Fields a client cannot set: the id is the resource's name, and the rest is
/// kept by the server as streams come and go.
const SERVER_FIELDS: &[&str] = &[
    "streamId",
    "status",
    "zombi",
    "webRTCViewerCount",
    "hlsViewerCount",
    "dashViewerCount",
    "rtmpViewerCount",
    "anyoneWatching",
    "startTime",
    "absoluteStartTimeMs",
    "duration",
    "date",
    "updateTime",
];

/// Registers a stream. The body (a Broadcast, possibly empty) may name the
/// stream id; otherwise one is generated.
#[utoipa::path(
    post,
    path = "/{app}/rest/v2/broadcasts/create",
    tag = "broadcasts",
    params(AppPath),
    request_body(content = Broadcast, description = "Any subset of Broadcast fields; may be empty"),
    responses(
        (status = 200, description = "The new broadcast", body = Broadcast),
        (status = 400, description = "Invalid JSON, invalid or used stream id", body = ApiResult),
    )
)]
pub async fn create(
    State(st): State<RestState>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> RestResult<Json<Broadcast>> {
    let mut b: Broadcast = if body.iter().all(u8::is_ascii_whitespace) {
        Broadcast::default()
    } else {
        parse_json(&body)?
    };
    if b.stream_id.is_empty() {
        b.stream_id = generated_id();
    } else if !tern_signal::stream_id::is_valid(&b.stream_id) {
        return Err(RestError::bad("Stream id is not valid."));
    }
    let now = now_ms();
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.rsplit_once(':').map_or(h, |(host, _)| host).to_owned())
        .unwrap_or_else(|| "localhost".into());
    let defaults = Broadcast::default();
    b.status = status::CREATED.into();
    b.date = now;
    b.update_time = now;
    b.zombi = false;
    b.webrtc_viewer_count = 0;
    b.anyone_watching = false;
    b.start_time = 0;
    b.duration = 0;
    b.rtmp_url = Some(format!("rtmp://{host}/{app}/{}", b.stream_id));
    b.origin_adress = Some(host);
    if b.user_agent.is_empty() {
        b.user_agent = defaults.user_agent;
    }
    if !db::lock(&st.store).insert_broadcast(&app, &b)? {
        return Err(RestError::bad(
            "Stream id is already being used. Please change stream id or keep it empty",
        ));
    }
    tracing::info!(app, stream = %b.stream_id, "broadcast created");
    Ok(Json(b))
}

/// 16 random letters and digits, then the time: unique without a lookup.
fn generated_id() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let random = Alphanumeric.sample_string(&mut rand::rng(), 16);
    format!("{random}{}{nanos}", now_ms())
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/broadcasts/{id}",
    tag = "broadcasts",
    params(StreamPath),
    responses(
        (status = 200, description = "The broadcast, with live status and viewer count", body = Broadcast),
        (status = 404, description = "No such broadcast", body = ApiResult),
    )
)]
pub async fn get_one(
    State(st): State<RestState>,
    ApiPath(StreamPath { app, id }): ApiPath<StreamPath>,
) -> RestResult<Json<Broadcast>> {
    let mut b = db::lock(&st.store)
        .broadcast(&app, &id)?
        .ok_or_else(|| missing(&id))?;
    // Counted live from segment requests, not stored.
    b.hls_viewer_count = st.recordings.hls_viewers(&app, &id) as i64;
    b.recording_error = st.recordings.error(&app, &id);
    Ok(Json(b))
}

fn missing(id: &str) -> RestError {
    RestError::not_found(format!("Broadcast with streamId: {id} does not exist"))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only broadcasts of this `type` (e.g. `liveStream`).
    pub type_by: Option<String>,
    /// `name`, `date` (default) or `status`.
    pub sort_by: Option<String>,
    /// `asc` (default) or `desc`.
    pub order_by: Option<String>,
    /// Case-insensitive part of the stream id or name.
    pub search: Option<String>,
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/broadcasts/list/{offset}/{size}",
    tag = "broadcasts",
    params(PagePath, ListParams),
    responses(
        (status = 200, description = "A page of broadcasts (at most 50)", body = [Broadcast]),
        (status = 400, description = "Invalid offset, size, sort_by or order_by", body = ApiResult),
    )
)]
pub async fn list(
    State(st): State<RestState>,
    ApiPath(PagePath { app, offset, size }): ApiPath<PagePath>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> RestResult<Json<Vec<Broadcast>>> {
    let sort_by = match p.sort_by.as_deref().filter(|s| !s.is_empty()) {
        None | Some("date") => SortBy::Date,
        Some("name") => SortBy::Name,
        Some("status") => SortBy::Status,
        Some(other) => {
            return Err(RestError::bad(format!(
                "sort_by must be name, date or status (got {other:?})"
            )))
        }
    };
    let order = match p.order_by.as_deref().filter(|s| !s.is_empty()) {
        None | Some("asc") => Order::Asc,
        Some("desc") => Order::Desc,
        Some(other) => {
            return Err(RestError::bad(format!(
                "order_by must be asc or desc (got {other:?})"
            )))
        }
    };
    let q = ListQuery {
        offset,
        size: size.min(MAX_PAGE),
        sort_by,
        order,
        search: p.search.filter(|s| !s.is_empty()),
        type_by: p.type_by.filter(|s| !s.is_empty()),
    };
    Ok(Json(db::lock(&st.store).list_broadcasts(&app, &q)?))
}

/// Changes the fields the body names; `null` values and server-kept fields
/// (id, status, counters, times) are ignored.
#[utoipa::path(
    put,
    path = "/{app}/rest/v2/broadcasts/{id}",
    tag = "broadcasts",
    params(StreamPath),
    request_body(content = Broadcast, description = "Any subset of Broadcast fields"),
    responses(
        (status = 200, description = "Updated", body = ApiResult),
        (status = 400, description = "Not a JSON object, or a field has the wrong type", body = ApiResult),
        (status = 404, description = "No such broadcast", body = ApiResult),
    )
)]
pub async fn update(
    State(st): State<RestState>,
    ApiPath(StreamPath { app, id }): ApiPath<StreamPath>,
    RawBody(body): RawBody,
) -> RestResult<ApiResult> {
    let Value::Object(mut patch) = parse_json::<Value>(&body)? else {
        return Err(RestError::bad(
            "the body must be a JSON object of Broadcast fields",
        ));
    };
    patch.retain(|k, v| !v.is_null() && !SERVER_FIELDS.contains(&k.as_str()));
    let now = now_ms();
    let mut problem = None;
    let updated =
        db::lock(&st.store).modify_broadcast(&app, &id, &mut |b| match merge(b, &patch) {
            Ok(mut new) => {
                new.update_time = now;
                *b = new;
            }
            Err(e) => problem = Some(e),
        });
    // On a bad field nothing changed: the closure left the record as it was,
    // and writing it back is harmless.
    match (updated?, problem) {
        (None, _) => Err(missing(&id)),
        (Some(_), Some(e)) => Err(RestError::bad(format!("invalid broadcast field: {e}"))),
        (Some(_), None) => Ok(ApiResult::ok()),
    }
}

/// `b` with the fields of `patch`, or which field is wrong and why.
fn merge(b: &Broadcast, patch: &serde_json::Map<String, Value>) -> Result<Broadcast, String> {
    let with = |fields: &mut dyn Iterator<Item = (&String, &Value)>| {
        // A Broadcast always serialises to an object.
        let mut merged = match serde_json::to_value(b) {
            Ok(Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        merged.extend(fields.map(|(k, v)| (k.clone(), v.clone())));
        serde_json::from_value::<Broadcast>(Value::Object(merged))
    };
    with(&mut patch.iter()).map_err(|e| {
        // Name the first field that does not fit on its own.
        patch
            .iter()
            .find_map(|(k, v)| {
                with(&mut std::iter::once((k, v)))
                    .err()
                    .map(|e| format!("{k}: {e}"))
            })
            .unwrap_or_else(|| e.to_string())
    })
}

/// Deletes a broadcast (stopping it first when live) with its tokens and subscribers.
#[utoipa::path(
    delete,
    path = "/{app}/rest/v2/broadcasts/{id}",
    tag = "broadcasts",
    params(StreamPath),
    responses(
        (status = 200, description = "Deleted", body = ApiResult),
        (status = 404, description = "No such broadcast", body = ApiResult),
    )
)]
pub async fn delete_one(
    State(st): State<RestState>,
    ApiPath(StreamPath { app, id }): ApiPath<StreamPath>,
) -> RestResult<ApiResult> {
    if delete(&st, &app, &id).await? {
        Ok(ApiResult::ok())
    } else {
        Err(missing(&id))
    }
}

async fn delete(st: &RestState, app: &str, id: &str) -> RestResult<bool> {
    if db::lock(&st.store).broadcast(app, id)?.is_none() {
        return Ok(false);
    }
    admin::stop(&st.hub, app, id).await?;
    let mut store = db::lock(&st.store);
    let deleted = store.delete_broadcast(app, id)?;
    store.delete_tokens(app, id)?;
    store.delete_subscribers(app, id)?;
    tracing::info!(app, stream = id, "broadcast deleted");
    Ok(deleted)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IdsParams {
    /// Comma-separated stream ids.
    pub ids: Option<String>,
}

#[utoipa::path(
    delete,
    path = "/{app}/rest/v2/broadcasts",
    tag = "broadcasts",
    params(AppPath, IdsParams),
    responses(
        (status = 200, description = "All deleted", body = ApiResult),
        (status = 400, description = "ids is blank", body = ApiResult),
        (status = 404, description = "Some ids do not exist (the others are deleted)", body = ApiResult),
    )
)]
pub async fn delete_many(
    State(st): State<RestState>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
    ApiQuery(p): ApiQuery<IdsParams>,
) -> RestResult<ApiResult> {
    let ids: Vec<String> = p
        .ids
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.is_empty() {
        return Err(RestError::bad("ids parameter is blank"));
    }
    let mut absent = Vec::new();
    for id in &ids {
        if !delete(&st, &app, id).await? {
            absent.push(id.as_str());
        }
    }
    if absent.is_empty() {
        Ok(ApiResult::ok())
    } else {
        Err(RestError::not_found(format!(
            "no broadcast with streamId: {}",
            absent.join(",")
        )))
    }
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/broadcasts/count",
    tag = "broadcasts",
    params(AppPath),
    responses((status = 200, description = "Number of broadcasts", body = Number))
)]
pub async fn count(
    State(st): State<RestState>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
) -> RestResult<Json<Number>> {
    let number = db::lock(&st.store).count_broadcasts(&app, None)?;
    Ok(Json(Number { number }))
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/broadcasts/count/{search}",
    tag = "broadcasts",
    params(SearchPath),
    responses((status = 200, description = "Number of broadcasts whose id or name contains search", body = Number))
)]
pub async fn count_search(
    State(st): State<RestState>,
    ApiPath(SearchPath { app, search }): ApiPath<SearchPath>,
) -> RestResult<Json<Number>> {
    let number = db::lock(&st.store).count_broadcasts(&app, Some(&search))?;
    Ok(Json(Number { number }))
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/broadcasts/active-live-stream-count",
    tag = "broadcasts",
    params(AppPath),
    responses((status = 200, description = "Number of broadcasting streams", body = Number))
)]
pub async fn active_count(
    State(st): State<RestState>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
) -> RestResult<Json<Number>> {
    let number = db::lock(&st.store).count_with_status(&app, status::BROADCASTING)?;
    Ok(Json(Number { number }))
}

/// Ends a live stream: the publisher gets `publish_finished`, players `play_finished`.
#[utoipa::path(
    post,
    path = "/{app}/rest/v2/broadcasts/{id}/stop",
    tag = "broadcasts",
    params(StreamPath),
    responses(
        (status = 200, description = "Stopped", body = ApiResult),
        (status = 404, description = "No such stream", body = ApiResult),
        (status = 409, description = "The broadcast exists but is not being published", body = ApiResult),
    )
)]
pub async fn stop(
    State(st): State<RestState>,
    ApiPath(StreamPath { app, id }): ApiPath<StreamPath>,
) -> RestResult<ApiResult> {
    if admin::stop(&st.hub, &app, &id).await? {
        tracing::info!(app, stream = id, "broadcast stopped through REST");
        return Ok(ApiResult::ok());
    }
    if db::lock(&st.store).broadcast(&app, &id)?.is_some() {
        Err(RestError::Conflict(format!(
            "Stream {id} is not being published"
        )))
    } else {
        Err(missing(&id))
    }
}
