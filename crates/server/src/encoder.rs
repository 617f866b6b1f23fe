//! A publish from an encoder (RTMP, SRT): a headless session of the session
//! logic publishes the stream, so every rule of a WebSocket publisher holds
//! (app, stream id, tokens, `streamIdInUse`, restore window); its frames go
//! straight to the stream's media worker once the first ones are ready.

use std::collections::HashMap;
use std::net::SocketAddr;

use anyhow::Context;

use tern_core::SessionId;
use tern_media::frames::Frame;
use tern_signal::ClientMessage;
use tokio::sync::{mpsc, oneshot, watch};

use crate::headless::Headless;
use crate::hub::HubMsg;
use crate::media_worker::FrameFeed;

/// Where an encoder protocol listens (`rtmp_addr`, `srt_addr`).
#[derive(Debug, Clone)]
pub struct ListenConfig {
    /// `None` turns it off.
    pub addr: Option<SocketAddr>,
    /// Not configured: a busy port is a warning, not a failed start.
    pub defaulted: bool,
}

impl ListenConfig {
    /// From the flag or file value of `key`: an address, or "" / "off" for
    /// none; unset, `default`.
    pub fn build(value: Option<String>, default: &str, key: &str) -> anyhow::Result<ListenConfig> {
        let defaulted = value.is_none();
        let value = value.unwrap_or_else(|| default.to_owned());
        if value.trim().is_empty() || value == "off" {
            return Ok(ListenConfig {
                addr: None,
                defaulted,
            });
        }
        let addr = value
            .trim()
            .parse()
            .with_context(|| format!("{key} {value:?} is not an address such as {default}"))?;
        Ok(ListenConfig {
            addr: Some(addr),
            defaulted,
        })
    }
}

/// Why an encoder's publish was refused.
#[derive(Debug)]
pub struct Refusal {
    /// The WebSocket path's error definition (e.g. `streamIdInUse`), or
    /// `stopping`.
    pub wire: String,
    pub why: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.why.is_empty() {
            write!(f, "{}", self.wire)
        } else {
            write!(f, "{}: {}", self.wire, self.why)
        }
    }
}

/// Why frames could not be passed on.
#[derive(Debug)]
pub enum FeedError {
    /// The session logic ended the publish (REST stop, the server stopping).
    Ended,
    /// The stream's media worker has stopped.
    WorkerGone,
}

impl std::fmt::Display for FeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeedError::Ended => write!(f, "the publish ended"),
            FeedError::WorkerGone => write!(f, "the media worker has stopped"),
        }
    }
}

/// One encoder's live publish.
pub struct EncoderPublish {
    pub app: String,
    pub stream_id: String,
    pub session: SessionId,
    hub: mpsc::Sender<HubMsg>,
    feed: Option<FrameFeed>,
    /// Set when the session logic ended the session.
    pub ended: watch::Receiver<bool>,
}

impl EncoderPublish {
    /// Publishes `stream_id` of `app` (whose settings are `settings`) as
    /// `publish_type`, with the credentials of `query` (`token`,
    /// `subscriberId`, ...).
    pub async fn open(
        hub: &mpsc::Sender<HubMsg>,
        app: &str,
        mut settings: tern_core::AppSettings,
        stream_id: &str,
        query: &HashMap<String, String>,
        publish_type: &str,
    ) -> Result<EncoderPublish, Refusal> {
        let refusal = |e: crate::whip::status::Refused| Refusal {
            wire: e.wire,
            why: e.why,
        };
        settings.max_peers_per_session = 1;
        let mut s = Headless::open(hub, app, settings).await.map_err(refusal)?;
        let token = query.get("token").cloned();
        let publish =
            crate::headless::publish_from_query(stream_id, token.clone(), query, publish_type);
        let session = s.session;
        let started = match s.send(ClientMessage::Publish(publish)).await {
            Ok(()) => s.until(token.is_some(), |v| v["command"] == "start").await,
            Err(e) => Err(e),
        };
        if let Err(e) = started {
            s.close().await;
            return Err(refusal(e));
        }
        let (tx, ended) = watch::channel(false);
        s.drain(move || {
            let _ = tx.send(true);
        });
        Ok(EncoderPublish {
            app: app.to_owned(),
            stream_id: stream_id.to_owned(),
            session,
            hub: hub.clone(),
            feed: None,
            ended,
        })
    }

    /// Whether the media has been opened (frames flow).
    pub fn is_open(&self) -> bool {
        self.feed.is_some()
    }

    /// Opens the media with these tracks, before the first frames.
    pub async fn open_media(&mut self, audio: bool, video: bool) -> Result<(), FeedError> {
        if self.feed.is_some() {
            return Ok(());
        }
        let (reply, feed) = oneshot::channel();
        let open = HubMsg::FrameSource {
            session: self.session,
            stream_id: self.stream_id.clone(),
            audio,
            video,
            reply,
        };
        self.hub.send(open).await.map_err(|_| FeedError::Ended)?;
        let feed = feed.await.map_err(|_| FeedError::Ended)?;
        self.feed = Some(feed.ok_or(FeedError::Ended)?);
        Ok(())
    }

    /// Frames to the stream (after `open_media`).
    pub fn send(&self, frames: Vec<Frame>) -> Result<(), FeedError> {
        let Some(feed) = &self.feed else {
            return Ok(());
        };
        for f in frames {
            if !feed.send(f) {
                return Err(FeedError::WorkerGone);
            }
        }
        Ok(())
    }

    /// Ends the publish: `clean` (the encoder unpublished) ends the stream;
    /// otherwise it waits in the restore window, as a dropped WebSocket's.
    pub async fn end(self, clean: bool) {
        if clean {
            let stop = ClientMessage::Stop {
                stream_id: self.stream_id.clone(),
            };
            let frame = HubMsg::Frame {
                session: self.session,
                parsed: Ok(stop),
            };
            let _ = self.hub.send(frame).await;
        }
        let closed = HubMsg::Closed {
            session: self.session,
        };
        let _ = self.hub.send(closed).await;
    }
}
