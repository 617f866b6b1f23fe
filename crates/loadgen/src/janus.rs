//! The second adapter: Janus's VideoRoom plugin over its WebSocket API
//! (subprotocol `janus-protocol`), so the same scenario can run against Janus.
//!
//! One Janus session with one plugin handle per client, each on its own
//! WebSocket, as a browser page would have.

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const PLUGIN: &str = "janus.plugin.videoroom";

pub struct JanusClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: u64,
    handle: u64,
    next_tx: u64,
}

impl JanusClient {
    /// Opens a socket, creates a session and attaches the VideoRoom plugin.
    pub async fn connect(url: &str, wait: Duration) -> anyhow::Result<JanusClient> {
        let mut req = url.into_client_request()?;
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", "janus-protocol".parse()?);
        let (ws, _) = tokio::time::timeout(wait, tokio_tungstenite::connect_async(req))
            .await
            .map_err(|_| anyhow!("no connection to {url} within {wait:?}"))?
            .with_context(|| format!("cannot open {url}"))?;
        let mut c = JanusClient {
            ws,
            session: 0,
            handle: 0,
            next_tx: 0,
        };
        let created = c.request(json!({"janus": "create"}), wait).await?;
        c.session = created["data"]["id"]
            .as_u64()
            .context("create: no session id")?;
        let attached = c
            .request(json!({"janus": "attach", "plugin": PLUGIN}), wait)
            .await?;
        c.handle = attached["data"]["id"]
            .as_u64()
            .context("attach: no handle id")?;
        Ok(c)
    }

    /// Sends a Janus request and returns its `success` or plugin `event` reply.
    async fn request(&mut self, mut msg: Value, wait: Duration) -> anyhow::Result<Value> {
        self.next_tx += 1;
        let tx = format!("t{}", self.next_tx);
        msg["transaction"] = json!(tx);
        if self.session != 0 {
            msg["session_id"] = json!(self.session);
        }
        if self.handle != 0 {
            msg["handle_id"] = json!(self.handle);
        }
        self.ws.send(Message::Text(msg.to_string().into())).await?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let v = tokio::time::timeout(left, self.next_frame())
                .await
                .map_err(|_| anyhow!("janus: no reply to {tx} within {wait:?}"))??;
            if v["transaction"] != json!(tx) {
                continue;
            }
            match v["janus"].as_str() {
                Some("ack") => continue,
                Some("success") | Some("event") => {
                    if let Some(err) = v["plugindata"]["data"].get("error") {
                        bail!("janus plugin error: {err}");
                    }
                    return Ok(v);
                }
                _ => bail!("janus: {v}"),
            }
        }
    }

    async fn next_frame(&mut self) -> anyhow::Result<Value> {
        crate::signal::next_json(&mut self.ws).await
    }

    /// A plugin message, optionally with a JSEP; returns the event.
    pub async fn message(
        &mut self,
        body: Value,
        jsep: Option<Value>,
        wait: Duration,
    ) -> anyhow::Result<Value> {
        let mut msg = json!({"janus": "message", "body": body});
        if let Some(j) = jsep {
            msg["jsep"] = j;
        }
        self.request(msg, wait).await
    }

    /// Joins `room` as a publisher; returns the publisher's feed id.
    pub async fn join_publisher(&mut self, room: u64, wait: Duration) -> anyhow::Result<u64> {
        let ev = self
            .message(
                json!({"request": "join", "ptype": "publisher", "room": room}),
                None,
                wait,
            )
            .await?;
        ev["plugindata"]["data"]["id"]
            .as_u64()
            .context("join: no publisher id")
    }

    /// Publishes with `offer`; returns Janus's answer.
    pub async fn publish(&mut self, offer: &str, wait: Duration) -> anyhow::Result<String> {
        let ev = self
            .message(
                json!({"request": "configure", "audio": true, "video": true}),
                Some(json!({"type": "offer", "sdp": offer})),
                wait,
            )
            .await?;
        self.trickle_done().await?;
        jsep_sdp(&ev, "answer")
    }

    /// Subscribes to `feed` in `room`; returns Janus's offer.
    pub async fn subscribe(
        &mut self,
        room: u64,
        feed: u64,
        wait: Duration,
    ) -> anyhow::Result<String> {
        let ev = self
            .message(
                json!({"request": "join", "ptype": "subscriber", "room": room, "streams": [{"feed": feed}]}),
                None,
                wait,
            )
            .await?;
        jsep_sdp(&ev, "offer")
    }

    /// Answers the subscription offer.
    pub async fn start(&mut self, answer: &str, wait: Duration) -> anyhow::Result<()> {
        self.message(
            json!({"request": "start"}),
            Some(json!({"type": "answer", "sdp": answer})),
            wait,
        )
        .await?;
        self.trickle_done().await
    }

    /// Our candidates are in the SDP: tell Janus there are no more.
    async fn trickle_done(&mut self) -> anyhow::Result<()> {
        self.next_tx += 1;
        let msg = json!({
            "janus": "trickle",
            "candidate": {"completed": true},
            "transaction": format!("t{}", self.next_tx),
            "session_id": self.session,
            "handle_id": self.handle,
        });
        self.ws.send(Message::Text(msg.to_string().into())).await?;
        Ok(())
    }

    /// Keeps the session: reads and drops events, sends a keepalive every
    /// 20 s, until `stop`; then destroys the session.
    pub async fn keep(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_secs(20));
        loop {
            tokio::select! {
                f = self.ws.next() => if !matches!(f, Some(Ok(_))) { return },
                _ = tick.tick() => {
                    let ka = json!({"janus": "keepalive", "session_id": self.session, "transaction": "ka"});
                    if self.ws.send(Message::Text(ka.to_string().into())).await.is_err() {
                        return;
                    }
                }
                _ = crate::stopped(&mut stop) => break,
            }
        }
        let bye = json!({"janus": "destroy", "session_id": self.session, "transaction": "bye"});
        let _ = self.ws.send(Message::Text(bye.to_string().into())).await;
        let _ = self.ws.close(None).await;
    }
}

fn jsep_sdp(ev: &Value, kind: &str) -> anyhow::Result<String> {
    let jsep = &ev["jsep"];
    if jsep["type"] != kind {
        bail!("janus: expected a JSEP {kind}, got {ev}");
    }
    jsep["sdp"]
        .as_str()
        .map(str::to_owned)
        .context("janus: JSEP without sdp")
}
