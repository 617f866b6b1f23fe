//! `version` and `stream-info`.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiPath;
use super::params::{AppPath, StreamPath};
use super::reply::{ApiResult, RestError, RestResult};
use super::RestState;
use crate::admin;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    pub version_name: String,
    pub version_type: String,
    pub build_number: String,
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/version",
    tag = "server",
    params(AppPath),
    responses((status = 200, description = "The server's version", body = Version))
)]
pub async fn version(ApiPath(AppPath { .. }): ApiPath<AppPath>) -> Json<Version> {
    Json(Version {
        version_name: env!("CARGO_PKG_VERSION").into(),
        version_type: "Tern".into(),
        build_number: String::new(),
    })
}

/// One rendition of a live stream.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamInfoJson {
    pub video_height: u32,
    pub video_width: u32,
    pub video_bitrate: u64,
    pub audio_bitrate: u64,
    pub video_codec: String,
    /// Frames per second (Tern's addition; 0 before it is measured).
    pub fps: u32,
    /// The source sends B-frames, which WebRTC players show out of order
    /// (Tern's addition: an RTMP or SRT encoder to set to no B-frames).
    pub b_frames: bool,
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/broadcasts/{id}/stream-info",
    tag = "broadcasts",
    params(StreamPath),
    responses(
        (status = 200, description = "The live stream's renditions", body = [StreamInfoJson]),
        (status = 404, description = "The stream is not live", body = ApiResult),
    )
)]
pub async fn stream_info(
    State(st): State<RestState>,
    ApiPath(StreamPath { app, id }): ApiPath<StreamPath>,
) -> RestResult<Json<Vec<StreamInfoJson>>> {
    let Some(infos) = admin::stream_info(&st.hub, &app, &id).await? else {
        return Err(RestError::not_found(format!("stream {id} is not live")));
    };
    Ok(Json(
        infos
            .into_iter()
            .map(|i| StreamInfoJson {
                video_height: i.height,
                video_width: i.width,
                video_bitrate: i.video_bitrate,
                audio_bitrate: i.audio_bitrate,
                video_codec: i.video_codec,
                fps: i.fps,
                b_frames: i.b_frames,
            })
            .collect(),
    ))
}
