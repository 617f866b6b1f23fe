//! RTMP ingest (issue #16): encoders (OBS, FFmpeg, vMix) publish to
//! `rtmp://host/{App}/{streamId}`, the token in the stream key
//! (`{streamId}?token=...`). Each connection is a headless publisher of the
//! session logic (`conn.rs`); its tags become frames (`tern_ingest`) that go
//! straight to the stream's media worker. H.264 passes through; AAC is
//! transcoded to Opus for WebRTC players.

mod conn;
mod key;
mod status;

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::apps::Apps;
use crate::encoder::ListenConfig;
use crate::hub::HubMsg;
use crate::socket_limits::{Rules, SocketCounts};

/// Ant Media's (and every encoder's) RTMP port.
pub const DEFAULT_ADDR: &str = "0.0.0.0:1935";

/// What every connection needs.
#[derive(Clone)]
pub struct RtmpState {
    pub apps: Apps,
    pub hub: mpsc::Sender<HubMsg>,
    /// Shared with the WebSockets: one budget of connections per address.
    pub sockets: SocketCounts,
    pub rules: Rules,
}

/// Listens, when configured; the bound address and the accept task.
pub async fn start(
    config: &ListenConfig,
    state: RtmpState,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Option<(SocketAddr, JoinHandle<()>)>> {
    let Some(addr) = config.addr else {
        return Ok(None);
    };
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) if config.defaulted => {
            tracing::warn!("RTMP is off: cannot listen on {addr}: {e} (set --rtmp-addr)");
            return Ok(None);
        }
        Err(e) => return Err(e).with_context(|| format!("cannot listen for RTMP on {addr}")),
    };
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((tcp, peer)) = accepted else { continue };
                    let slot = state.sockets.acquire(peer.ip(), state.rules, Instant::now());
                    let Ok(slot) = slot else {
                        tracing::info!(%peer, "RTMP connection refused: too many from this address");
                        continue;
                    };
                    let state = state.clone();
                    tokio::spawn(async move {
                        conn::serve(tcp, peer, state).await;
                        drop(slot);
                    });
                }
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
        }
    });
    Ok(Some((bound, task)))
}
