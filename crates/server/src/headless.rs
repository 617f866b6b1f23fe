//! A signaling session with no socket behind it: WHIP and WHEP speak to the
//! session logic with the WebSocket path's own messages, so every rule of
//! publish and play (tokens, limits, stream ids, restore window) holds alike.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::Value;
use tern_core::{AppSettings, SessionId};
use tern_signal::ClientMessage;
use tokio::sync::{mpsc, oneshot};

use crate::hub::{HubMsg, Outbound};
use crate::whip::status::Refused;

/// How long a request waits for the session logic and the media layer.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);

pub struct Headless {
    pub session: SessionId,
    rx: mpsc::Receiver<Outbound>,
    hub: mpsc::Sender<HubMsg>,
}

fn stopping() -> Refused {
    Refused::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "stopping",
        "the server is stopping",
    )
}

impl Headless {
    pub async fn open(
        hub: &mpsc::Sender<HubMsg>,
        app: &str,
        settings: AppSettings,
    ) -> Result<Headless, Refused> {
        let (outbound, rx) = mpsc::channel(64);
        let (reply, session) = oneshot::channel();
        let open = HubMsg::Open {
            app: app.to_owned(),
            settings,
            outbound,
            reply,
            headless: true,
        };
        hub.send(open).await.map_err(|_| stopping())?;
        let session = session.await.map_err(|_| stopping())?;
        Ok(Headless {
            session,
            rx,
            hub: hub.clone(),
        })
    }

    pub async fn send(&self, msg: ClientMessage) -> Result<(), Refused> {
        let frame = HubMsg::Frame {
            session: self.session,
            parsed: Ok(msg),
        };
        self.hub.send(frame).await.map_err(|_| stopping())
    }

    /// The first frame `want` accepts; an `error` frame first is the refusal.
    pub async fn until(
        &mut self,
        had_token: bool,
        want: impl Fn(&Value) -> bool,
    ) -> Result<Value, Refused> {
        let deadline = tokio::time::Instant::now() + ANSWER_WITHIN;
        loop {
            let out = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .map_err(|_| {
                    Refused::new(
                        StatusCode::GATEWAY_TIMEOUT,
                        "timeout",
                        "no answer from the media layer in time",
                    )
                })?;
            let text = match out {
                Some(Outbound::Text(t)) => t,
                Some(Outbound::Watch) => continue,
                Some(Outbound::Close(why)) => {
                    return Err(Refused::new(StatusCode::SERVICE_UNAVAILABLE, "closed", why))
                }
                None => return Err(stopping()),
            };
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if v["command"] == "error" {
                let def = v["definition"].as_str().unwrap_or("");
                return Err(Refused::from_wire(
                    def,
                    v["information"].as_str(),
                    had_token,
                ));
            }
            if want(&v) {
                return Ok(v);
            }
        }
    }

    /// The session's next frame; `None` once the hub has let it go.
    pub async fn recv(&mut self) -> Option<Outbound> {
        self.rx.recv().await
    }

    /// Ends the session (and whatever it holds) now.
    pub async fn close(self) {
        let _ = self
            .hub
            .send(HubMsg::Closed {
                session: self.session,
            })
            .await;
    }

    /// Reads the session's frames until the session logic closes it (its peer
    /// ended), then runs `done`.
    pub fn drain(mut self, done: impl FnOnce() + Send + 'static) {
        tokio::spawn(async move {
            while let Some(out) = self.rx.recv().await {
                if matches!(out, Outbound::Close(_)) {
                    break;
                }
            }
            done();
            self.close().await;
        });
    }
}

/// The `publish` of an encoder or a WHIP client, from its URL's query
/// (`subscriberId`, `streamName`, `metaData`, ... as the WebSocket's fields;
/// empty ones count as absent).
pub fn publish_from_query(
    stream_id: &str,
    token: Option<String>,
    query: &std::collections::HashMap<String, String>,
    publish_type: &str,
) -> tern_signal::Publish {
    let q = |k: &str| query.get(k).filter(|v| !v.is_empty()).cloned();
    tern_signal::Publish {
        stream_id: stream_id.to_owned(),
        token,
        subscriber_id: q("subscriberId"),
        subscriber_code: q("subscriberCode"),
        stream_name: q("streamName"),
        main_track: q("mainTrack"),
        video: true,
        audio: true,
        meta_data: q("metaData"),
        role: q("role"),
        publish_type: Some(publish_type.to_owned()),
    }
}
