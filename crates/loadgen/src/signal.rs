//! One signaling WebSocket with bounded waits.

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Signal {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames read while waiting for another one, handed out first later.
    backlog: Vec<Value>,
}

impl Signal {
    pub async fn connect(url: &str) -> anyhow::Result<Signal> {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .with_context(|| format!("cannot open {url}"))?;
        Ok(Signal {
            ws,
            backlog: Vec::new(),
        })
    }

    pub async fn send(&mut self, v: Value) -> anyhow::Result<()> {
        self.ws.send(Message::Text(v.to_string().into())).await?;
        Ok(())
    }

    /// Next frame within `wait`.
    pub async fn recv(&mut self, wait: Duration) -> anyhow::Result<Value> {
        if !self.backlog.is_empty() {
            return Ok(self.backlog.remove(0));
        }
        tokio::time::timeout(wait, next_json(&mut self.ws))
            .await
            .map_err(|_| anyhow!("no frame within {wait:?}"))?
    }

    /// The next frame whose `command` or `definition` is `what` (others are kept
    /// for later), within `wait`.
    pub async fn expect(&mut self, what: &str, wait: Duration) -> anyhow::Result<Value> {
        if let Some(i) = self
            .backlog
            .iter()
            .position(|v| v["command"] == what || v["definition"] == what)
        {
            return Ok(self.backlog.remove(i));
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let v = tokio::time::timeout(left, self.next_raw())
                .await
                .map_err(|_| anyhow!("no {what} within {wait:?}; saw {:?}", self.backlog))??;
            if v["command"] == what || v["definition"] == what {
                return Ok(v);
            }
            if v["command"] == "error" {
                bail!("error while waiting for {what}: {v}");
            }
            self.backlog.push(v);
        }
    }

    async fn next_raw(&mut self) -> anyhow::Result<Value> {
        next_json(&mut self.ws).await
    }

    /// Frames already received and not yet handed out.
    pub fn backlog(&self) -> &[Value] {
        &self.backlog
    }

    /// Sends a raw text frame, whatever it holds.
    pub async fn send_text(&mut self, text: &str) -> anyhow::Result<()> {
        self.ws.send(Message::Text(text.into())).await?;
        Ok(())
    }

    pub async fn publish(&mut self, id: &str) -> anyhow::Result<()> {
        self.send(json!({"command": "publish", "streamId": id, "video": true, "audio": true}))
            .await
    }

    pub async fn play(&mut self, id: &str) -> anyhow::Result<()> {
        self.send(json!({"command": "play", "streamId": id})).await
    }

    pub async fn sdp(&mut self, id: &str, kind: &str, sdp: &str) -> anyhow::Result<()> {
        self.send(json!({"command": "takeConfiguration", "streamId": id, "type": kind, "sdp": sdp}))
            .await
    }

    /// Keeps the session open: reads and drops frames and sends `ping` every
    /// 5 s, until `stop`; then closes the socket.
    pub async fn keep(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                f = self.ws.next() => if !matches!(f, Some(Ok(_))) { return },
                _ = tick.tick() => {
                    if self.send(json!({"command": "ping"})).await.is_err() {
                        return;
                    }
                }
                _ = crate::stopped(&mut stop) => break,
            }
        }
        self.close().await;
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The next text frame of `ws` as JSON, skipping pings; an error when it closes.
pub(crate) async fn next_json(
    ws: &mut WebSocketStream<MaybeTlsStream<TcpStream>>,
) -> anyhow::Result<Value> {
    loop {
        match ws.next().await.ok_or_else(|| anyhow!("socket closed"))?? {
            Message::Text(t) => return Ok(serde_json::from_str(t.as_str())?),
            Message::Close(f) => bail!("socket closed: {f:?}"),
            _ => continue,
        }
    }
}
