//! Statistics with Ant Media's paths: a stream's viewer totals, its WebRTC
//! players' figures, and the server's resources.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use tern_core::{LiveStream, PlayerStats};
use utoipa::ToSchema;

use super::extract::ApiPath;
use super::params::{AppPath, StreamPagePath, StreamPath, MAX_PAGE};
use super::reply::{RestError, RestResult};
use super::RestState;
use crate::{admin, db, process};

/// Viewers of one stream by how they watch (Ant Media's `BroadcastStatistics`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BroadcastStatistics {
    /// WebRTC players, WHEP included.
    #[serde(rename = "totalWebRTCWatchersCount")]
    pub total_webrtc_watchers_count: u64,
    /// Of those, WHEP players (Tern's addition).
    #[serde(rename = "totalWHEPWatchersCount")]
    pub total_whep_watchers_count: u64,
    #[serde(rename = "totalHLSWatchersCount")]
    pub total_hls_watchers_count: u64,
    #[serde(rename = "totalRTMPWatchersCount")]
    pub total_rtmp_watchers_count: u64,
    #[serde(rename = "totalDASHWatchersCount")]
    pub total_dash_watchers_count: u64,
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/broadcasts/{id}/broadcast-statistics",
    tag = "broadcasts",
    params(StreamPath),
    responses(
        (status = 200, description = "Viewer totals (zero when the stream is not live)", body = BroadcastStatistics),
        (status = 404, description = "Neither live nor registered", body = super::ApiResult),
    )
)]
pub async fn broadcast_statistics(
    State(st): State<RestState>,
    ApiPath(StreamPath { app, id }): ApiPath<StreamPath>,
) -> RestResult<Json<BroadcastStatistics>> {
    let live = admin::live(&st.hub, &app, &id).await?;
    if live.is_none() && db::lock(&st.store).broadcast(&app, &id)?.is_none() {
        return Err(RestError::not_found(format!(
            "Broadcast with streamId: {id} does not exist"
        )));
    }
    let players = live.map(|l| l.players).unwrap_or_default();
    let whep = players.iter().filter(|p| p.kind == "WHEP").count() as u64;
    Ok(Json(BroadcastStatistics {
        total_webrtc_watchers_count: players.len() as u64,
        total_whep_watchers_count: whep,
        total_hls_watchers_count: st.recordings.hls_viewers(&app, &id),
        total_rtmp_watchers_count: 0,
        total_dash_watchers_count: 0,
    }))
}

/// One WebRTC player's figures (Ant Media's `WebRTCClientStats`, plus RTT,
/// loss and layer).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebRtcClientStats {
    /// The bandwidth estimate towards the player, bits/s (simulcast streams; else 0).
    pub measured_bitrate: u64,
    /// Media sent to it over the last interval, bits/s.
    pub send_bitrate: u64,
    pub client_id: u64,
    pub video_packet_count: u64,
    pub audio_packet_count: u64,
    /// `WebRTC` or `WHEP`.
    pub client_info: String,
    /// The address its media goes to.
    pub client_ip: String,
    pub rtt_ms: Option<u32>,
    pub packets_lost: u64,
    pub loss_percent: Option<f32>,
    /// The simulcast layer it gets, by height.
    pub layer_height: Option<u32>,
}

impl From<&PlayerStats> for WebRtcClientStats {
    fn from(p: &PlayerStats) -> Self {
        let q = p.quality.clone().unwrap_or_default();
        WebRtcClientStats {
            measured_bitrate: p.estimate.unwrap_or(0),
            send_bitrate: q.send_bitrate,
            client_id: p.peer.0,
            video_packet_count: q.video_packets,
            audio_packet_count: q.audio_packets,
            client_info: p.kind.to_owned(),
            client_ip: q.remote.map(|a| a.ip().to_string()).unwrap_or_default(),
            rtt_ms: q.rtt_ms,
            packets_lost: q.packets_lost,
            loss_percent: q.loss_percent,
            layer_height: p.layer_height,
        }
    }
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/broadcasts/{id}/webrtc-client-stats/{offset}/{size}",
    tag = "broadcasts",
    params(StreamPagePath),
    responses(
        (status = 200, description = "A page of the stream's WebRTC players (empty when it is not live)", body = [WebRtcClientStats]),
    )
)]
pub async fn webrtc_client_stats(
    State(st): State<RestState>,
    ApiPath(p): ApiPath<StreamPagePath>,
) -> RestResult<Json<Vec<WebRtcClientStats>>> {
    let live: Option<LiveStream> = admin::live(&st.hub, &p.app, &p.id).await?;
    let page = live
        .map(|l| {
            l.players
                .iter()
                .skip(p.offset as usize)
                .take(p.size.min(MAX_PAGE) as usize)
                .map(WebRtcClientStats::from)
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(page))
}

/// What the server process uses.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemResources {
    /// CPU of this process since the previous call, in percent of one core.
    pub cpu_percent: Option<f64>,
    pub cpu_cores: usize,
    pub rss_bytes: Option<u64>,
    pub total_memory_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    pub uptime_seconds: Option<u64>,
    pub version: String,
}

impl SystemResources {
    pub fn now() -> Self {
        let p = process::sample();
        SystemResources {
            cpu_percent: process::cpu_percent(p.cpu_seconds).map(|v| (v * 10.0).round() / 10.0),
            cpu_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            rss_bytes: p.rss_bytes,
            total_memory_bytes: process::total_memory(),
            open_fds: p.open_fds,
            uptime_seconds: process::uptime_seconds().map(|s| s as u64),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

#[utoipa::path(
    get,
    path = "/{app}/rest/v2/system-resources",
    tag = "server",
    params(AppPath),
    responses((status = 200, description = "CPU, memory, uptime and version of the server", body = SystemResources))
)]
pub async fn system_resources(ApiPath(AppPath { .. }): ApiPath<AppPath>) -> Json<SystemResources> {
    Json(SystemResources::now())
}
