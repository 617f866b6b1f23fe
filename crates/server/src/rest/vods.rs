//! Recordings: the VoD records of finished recordings, and recording a live
//! stream on demand (issue #17), with Ant Media's paths.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use tern_record::Container;
use tern_store::Vod;
use utoipa::IntoParams;

use super::extract::{ApiPath, ApiQuery};
use super::params::{AppPath, PagePath, MAX_PAGE};
use super::reply::{ApiResult, Number, RestError, RestResult};
use super::RestState;
use crate::db;
use crate::record::files::{is_safe_name, streams_dir};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct VodPath {
    /// Application name.
    pub app: String,
    /// VoD id.
    pub id: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RecordingPath {
    /// Application name.
    pub app: String,
    /// Stream id.
    pub id: String,
    /// `true` to record, `false` to stop.
    pub enabled: bool,
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct RecordType {
    /// `mp4` (the default) or `webm` (VP8 streams).
    #[serde(rename = "recordType")]
    pub record_type: Option<String>,
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/vods/list/{offset}/{size}",
    tag = "vods",
    params(PagePath),
    responses((status = 200, description = "Recordings, newest first", body = [Vod]))
)]
pub async fn list(
    State(st): State<RestState>,
    ApiPath(PagePath { app, offset, size }): ApiPath<PagePath>,
) -> RestResult<Json<Vec<Vod>>> {
    let vods = db::lock(&st.store).list_vods(&app, offset, size.min(MAX_PAGE))?;
    Ok(Json(vods))
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/vods/count",
    tag = "vods",
    params(AppPath),
    responses((status = 200, description = "Number of recordings", body = Number))
)]
pub async fn count(
    State(st): State<RestState>,
    ApiPath(AppPath { app }): ApiPath<AppPath>,
) -> RestResult<Json<Number>> {
    let number = db::lock(&st.store).count_vods(&app)?;
    Ok(Json(Number { number }))
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/vods/{id}",
    tag = "vods",
    params(VodPath),
    responses(
        (status = 200, description = "The recording", body = Vod),
        (status = 404, description = "No such VoD", body = ApiResult),
    )
)]
pub async fn get_one(
    State(st): State<RestState>,
    ApiPath(VodPath { app, id }): ApiPath<VodPath>,
) -> RestResult<Json<Vod>> {
    match db::lock(&st.store).vod(&app, &id)? {
        Some(v) => Ok(Json(v)),
        None => Err(RestError::not_found(format!("no VoD with id {id}"))),
    }
}

/// Deletes the record and its file.
#[utoipa::path(
    delete,
    path = "/{app}/rest/v2/vods/{id}",
    tag = "vods",
    params(VodPath),
    responses(
        (status = 200, description = "Deleted", body = ApiResult),
        (status = 404, description = "No such VoD", body = ApiResult),
    )
)]
pub async fn delete_one(
    State(st): State<RestState>,
    ApiPath(VodPath { app, id }): ApiPath<VodPath>,
) -> RestResult<ApiResult> {
    let Some(vod) = db::lock(&st.store).vod(&app, &id)? else {
        return Err(RestError::not_found(format!("no VoD with id {id}")));
    };
    if is_safe_name(&vod.vod_name) {
        let path = streams_dir(st.recordings.data_dir(), &app).join(&vod.vod_name);
        if let Err(e) = std::fs::remove_file(&path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(RestError::bad(format!(
                    "cannot delete {}: {e}",
                    vod.vod_name
                )));
            }
        }
    }
    db::lock(&st.store).delete_vod(&app, &id)?;
    tracing::info!(
        app,
        vod = id,
        file = vod.vod_name,
        "VoD deleted through REST"
    );
    Ok(ApiResult::ok())
}

/// Records the stream from now on (`true`) or stops its recording
/// (`false`), as MP4 or WebM (`recordType`); the choice is kept in the
/// broadcast's `mp4Enabled` or `webMEnabled` for its next publish too.
#[utoipa::path(
    put,
    path = "/{app}/rest/v2/broadcasts/{id}/recording/{enabled}",
    tag = "vods",
    params(RecordingPath, RecordType),
    responses(
        (status = 200, description = "Done; `message` says whether a live recording started or stopped", body = ApiResult),
        (status = 400, description = "A recordType other than mp4 or webm", body = ApiResult),
        (status = 404, description = "No such broadcast", body = ApiResult),
    )
)]
pub async fn recording(
    State(st): State<RestState>,
    ApiPath(RecordingPath { app, id, enabled }): ApiPath<RecordingPath>,
    ApiQuery(q): ApiQuery<RecordType>,
) -> RestResult<ApiResult> {
    let container = match q.record_type.as_deref().unwrap_or("mp4") {
        "mp4" => Container::Mp4,
        "webm" => Container::WebM,
        other => {
            return Err(RestError::bad(format!(
                "recordType {other} is not available: mp4 or webm"
            )))
        }
    };
    let flag = if enabled { 1 } else { -1 };
    let saved = db::lock(&st.store).modify_broadcast(&app, &id, &mut |b| match container {
        Container::Mp4 => b.mp4_enabled = flag,
        Container::WebM => b.web_m_enabled = flag,
    })?;
    if saved.is_none() {
        return Err(RestError::not_found(format!(
            "Broadcast with streamId: {id} does not exist"
        )));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let msg = crate::hub::HubMsg::Record {
        app: app.clone(),
        id: id.clone(),
        container,
        on: enabled,
        reply: tx,
    };
    st.hub.send(msg).await.map_err(|_| RestError::Unavailable)?;
    let changed = rx.await.map_err(|_| RestError::Unavailable)?;
    tracing::info!(
        app,
        stream = id,
        enabled,
        changed,
        "recording switched through REST"
    );
    Ok(ApiResult::ok_message(match (enabled, changed) {
        (true, true) => "recording started",
        (true, false) => "recording on for the next publish (not live, or recorded already)",
        (false, true) => "recording stopped",
        (false, false) => "recording off (none was running)",
    }))
}
