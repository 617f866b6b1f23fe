//! The console's live state: every app with its live streams, their
//! renditions and viewers, and the server's resources, sent as a `state`
//! Server-Sent Event every second.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tern_core::LiveStream;

use super::{ConsoleState, TICK};
use crate::rest::stats::{SystemResources, WebRtcClientStats};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConsoleSnapshot {
    system: SystemResources,
    apps: Vec<AppView>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppView {
    name: String,
    streams: Vec<StreamView>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StreamView {
    stream_id: String,
    name: Option<String>,
    publish_type: String,
    status: &'static str,
    tracks: Vec<TrackView>,
    viewers: usize,
    players: Vec<PlayerView>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TrackView {
    video_codec: String,
    video_width: u32,
    video_height: u32,
    video_bitrate: u64,
    audio_bitrate: u64,
    fps: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlayerView {
    client_id: String,
    kind: String,
    client_ip: Option<String>,
    send_bitrate: u64,
    measured_bitrate: Option<u64>,
    rtt_ms: Option<u32>,
    packets_lost: u64,
    loss_percent: Option<f32>,
    layer_height: Option<u32>,
}

fn snapshot(apps: Vec<String>, live: Vec<LiveStream>) -> ConsoleSnapshot {
    let mut views: Vec<AppView> = apps
        .into_iter()
        .map(|name| AppView {
            name,
            streams: Vec::new(),
        })
        .collect();
    for s in live {
        let Some(app) = views.iter_mut().find(|a| a.name == s.app) else {
            continue;
        };
        let players: Vec<PlayerView> = s
            .players
            .iter()
            .map(|p| {
                let c = WebRtcClientStats::from(p);
                PlayerView {
                    client_id: c.client_id.to_string(),
                    kind: c.client_info,
                    client_ip: Some(c.client_ip).filter(|ip| !ip.is_empty()),
                    send_bitrate: c.send_bitrate,
                    measured_bitrate: p.estimate,
                    rtt_ms: c.rtt_ms,
                    packets_lost: c.packets_lost,
                    loss_percent: c.loss_percent,
                    layer_height: c.layer_height,
                }
            })
            .collect();
        app.streams.push(StreamView {
            stream_id: s.stream_id,
            name: s.name,
            publish_type: s.publish_type,
            status: "broadcasting",
            tracks: s
                .tracks
                .into_iter()
                .map(|t| TrackView {
                    video_codec: t.video_codec,
                    video_width: t.width,
                    video_height: t.height,
                    video_bitrate: t.video_bitrate,
                    audio_bitrate: t.audio_bitrate,
                    fps: t.fps,
                })
                .collect(),
            viewers: players.len(),
            players,
        });
    }
    ConsoleSnapshot {
        system: SystemResources::now(),
        apps: views,
    }
}

/// `GET /console/api/events`: the state every second, as `state` events.
pub(super) async fn events(State(st): State<ConsoleState>) -> Response {
    let stream = futures_util::stream::unfold((st, true), |(st, first)| async move {
        if !first {
            tokio::time::sleep(TICK).await;
        }
        let live = crate::admin::all_live(&st.hub).await.ok()?;
        let snap = snapshot(st.apps.names(), live);
        let event = Event::default().event("state").json_data(&snap).ok()?;
        Some((Ok::<_, Infallible>(event), (st, false)))
    });
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
