//! SRT ingest (issue #16): encoders send MPEG-TS over SRT to `srt_addr` with
//! Ant Media's stream id, `{App}/{streamId}` and the token after a comma
//! (`srt://host:4200?streamid=LiveApp/cam1,TOKEN`). The SRT protocol is
//! `srt-tokio`'s; the transport stream becomes frames in `tern_ingest::ts`,
//! published like RTMP's (`crate::encoder`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use srt_tokio::access::{RejectReason, ServerRejectReason};
use srt_tokio::{ConnectionRequest, SrtListener};
use tern_ingest::ts::TsToFrames;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::apps::Apps;
use crate::encoder::{EncoderPublish, ListenConfig};
use crate::hub::HubMsg;
use crate::socket_limits::{Rules, SocketCounts};

/// Ant Media's SRT port.
pub const DEFAULT_ADDR: &str = "0.0.0.0:4200";
/// A publisher that sends nothing for this long is gone (its stream waits in
/// the restore window).
const MEDIA_TIMEOUT: Duration = Duration::from_secs(10);
/// SRT's receive latency: what it waits for retransmissions.
const LATENCY: Duration = Duration::from_millis(120);

#[derive(Clone)]
pub struct SrtState {
    pub apps: Apps,
    pub hub: mpsc::Sender<HubMsg>,
    pub sockets: SocketCounts,
    pub rules: Rules,
}

/// `%XX` escapes decoded: some encoders send the stream id URL-encoded, as
/// they took it from the `srt://` URL.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%')
            .then(|| s.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `{App}/{streamId}` and the token after a comma; `None` if not that form.
fn parse_stream_id(sid: &str) -> Option<(String, String, HashMap<String, String>)> {
    let sid = unescape(sid);
    let (path, token) = match sid.split_once(',') {
        Some((p, t)) => (p, Some(t)),
        None => (sid.as_str(), None),
    };
    let (app, stream) = path.trim_start_matches('/').split_once('/')?;
    let mut query = HashMap::new();
    if let Some(t) = token.filter(|t| !t.is_empty()) {
        query.insert("token".to_owned(), t.to_owned());
    }
    Some((app.to_owned(), stream.to_owned(), query))
}

/// Listens, when configured; the bound address and the accept task.
pub async fn start(
    config: &ListenConfig,
    state: SrtState,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Option<(SocketAddr, JoinHandle<()>)>> {
    let Some(addr) = config.addr else {
        return Ok(None);
    };
    // Bound here, so that port 0 tells which port it got.
    let socket = match tokio::net::UdpSocket::bind(addr).await {
        Ok(s) => s,
        Err(e) if config.defaulted => {
            tracing::warn!("SRT is off: cannot listen on {addr}: {e} (set --srt-addr)");
            return Ok(None);
        }
        Err(e) => return Err(e).with_context(|| format!("cannot listen for SRT on {addr}")),
    };
    let local = socket.local_addr()?;
    let (mut listener, mut incoming) = SrtListener::builder()
        .latency(LATENCY)
        .socket(socket)
        .bind(local)
        .await
        .with_context(|| format!("cannot listen for SRT on {local}"))?;
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                request = incoming.incoming().next() => {
                    let Some(request) = request else { break };
                    tokio::spawn(serve(request, state.clone()));
                }
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
        }
        listener.close().await;
    });
    Ok(Some((local, task)))
}

async fn reject(request: ConnectionRequest, reason: ServerRejectReason, why: &str) {
    let peer = request.remote();
    tracing::info!(%peer, why, "SRT publish refused");
    let _ = request.reject(RejectReason::Server(reason)).await;
}

async fn serve(request: ConnectionRequest, state: SrtState) {
    let peer = request.remote();
    let sid = request
        .stream_id()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    let Ok(slot) = state
        .sockets
        .acquire(peer.ip(), state.rules, Instant::now())
    else {
        return reject(
            request,
            ServerRejectReason::Overload,
            "too many from this address",
        )
        .await;
    };
    let Some((app, stream_id, query)) = parse_stream_id(&sid) else {
        let why = format!("stream id {sid:?} is not {{App}}/{{streamId}}[,token]");
        return reject(request, ServerRejectReason::BadRequest, &why).await;
    };
    let Some(settings) = state.apps.get(&app) else {
        let why = format!("no application named {app:?}");
        return reject(request, ServerRejectReason::Notfound, &why).await;
    };
    if !tern_signal::stream_id::is_valid(&stream_id) {
        let why = format!("invalidStreamName: {stream_id:?}");
        return reject(request, ServerRejectReason::BadRequest, &why).await;
    }
    let publish = EncoderPublish::open(&state.hub, &app, settings, &stream_id, &query, "SRT").await;
    let mut publish = match publish {
        Ok(p) => p,
        Err(refusal) => {
            let reason = match refusal.wire.as_str() {
                "streamIdInUse" | "alreadyPublishing" => ServerRejectReason::Conflict,
                "unauthorized_access" => ServerRejectReason::Unauthorized,
                _ => ServerRejectReason::Forbidden,
            };
            return reject(request, reason, &refusal.to_string()).await;
        }
    };
    let mut socket = match request.accept(None).await {
        Ok(s) => s,
        Err(e) => {
            tracing::info!(%peer, "SRT connection failed: {e}");
            publish.end(false).await;
            return;
        }
    };
    tracing::info!(%peer, app, stream = stream_id, session = %publish.session, "SRT publish");
    let mut ts = TsToFrames::default();
    let mut told_ignored = 0;
    let mut told_b_frames = false;
    let mut ended = publish.ended.clone();
    let clean = loop {
        let item = tokio::select! {
            item = tokio::time::timeout(MEDIA_TIMEOUT, socket.next()) => item,
            _ = ended.wait_for(|e| *e) => break false,
        };
        let bytes = match item {
            Ok(Some(Ok((_, bytes)))) => bytes,
            Ok(Some(Err(e))) => {
                tracing::info!(%peer, stream = stream_id, "SRT connection failed: {e}");
                break false;
            }
            // The encoder closed the connection: it stopped publishing.
            Ok(None) => break true,
            Err(_) => {
                tracing::info!(%peer, stream = stream_id, "nothing received for {} s", MEDIA_TIMEOUT.as_secs());
                break false;
            }
        };
        let (frames, errors) = ts.push(Instant::now(), &bytes);
        for e in errors {
            tracing::debug!(%peer, stream = stream_id, "skipped: {e}");
        }
        if ts.ignored().len() > told_ignored {
            told_ignored = ts.ignored().len();
            tracing::warn!(%peer, stream = stream_id, types = ?ts.ignored(),
                "the transport stream carries streams Tern does not take (only H.264 video and AAC audio): they are dropped");
        }
        if ts.b_frames && !told_b_frames {
            told_b_frames = true;
            tracing::warn!(%peer, stream = stream_id,
                "the encoder sends B-frames: WebRTC players show them out of order; set the encoder to no B-frames (x264: bframes=0)");
        }
        if frames.is_empty() {
            continue;
        }
        if !publish.is_open() {
            if let Err(e) = publish.open_media(true, true).await {
                tracing::info!(%peer, stream = stream_id, "SRT publish ended: {e}");
                break false;
            }
        }
        if let Err(e) = publish.send(frames) {
            tracing::info!(%peer, stream = stream_id, "SRT publish ended: {e}");
            break false;
        }
    };
    tracing::info!(%peer, stream = stream_id, clean, "SRT publish finished");
    publish.end(clean).await;
    drop(slot);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ant_media_stream_ids() {
        let (app, id, q) = parse_stream_id("LiveApp/cam1,abc").unwrap();
        assert_eq!((app.as_str(), id.as_str()), ("LiveApp", "cam1"));
        assert_eq!(q["token"], "abc");
        let (_, id, q) = parse_stream_id("/LiveApp/cam2").unwrap();
        assert_eq!(id, "cam2");
        assert!(q.is_empty());
        assert!(parse_stream_id("cam3").is_none());
        let (app, id, _) = parse_stream_id("LiveApp%2Fcam4%2").unwrap();
        assert_eq!((app.as_str(), id.as_str()), ("LiveApp", "cam4%2"));
    }
}
