//! One WebSocket: frames in → parsed messages to the hub; hub output → frames out.

use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tern_core::AppSettings;
use tern_signal::ParseError;
use tokio::sync::{mpsc, oneshot};

use crate::config::Limits;
use crate::hub::{HubMsg, Outbound};
use crate::metrics::CommandLabel;

/// RFC 6455 close codes used here.
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;

/// A watched socket (see [`Outbound::Watch`]) is pinged this often...
const PING_EVERY: Duration = Duration::from_secs(1);
/// ...and is gone after this long with nothing from it, as long as the media
/// layer waits for a silent peer.
const SILENT_AFTER: Duration = Duration::from_secs(4);

pub async fn serve(
    socket: WebSocket,
    app: String,
    settings: AppSettings,
    limits: Limits,
    hub: mpsc::Sender<HubMsg>,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    cluster: Option<crate::cluster::Cluster>,
) {
    let app_name = app.clone();
    let (out_tx, mut out_rx) = mpsc::channel(limits.session_queue);
    let (reply_tx, reply_rx) = oneshot::channel();
    let open = HubMsg::Open {
        app,
        settings,
        outbound: out_tx,
        reply: reply_tx,
        headless: false,
    };
    if hub.send(open).await.is_err() {
        return;
    }
    let Ok(session) = reply_rx.await else {
        return;
    };
    let (mut sink, mut stream) = socket.split();
    let mut bucket = RateLimit::new(limits.messages_per_second, Instant::now());
    let idle = tokio::time::sleep(limits.idle_timeout);
    tokio::pin!(idle);
    let mut watched = false;
    let mut pings = tokio::time::interval(PING_EVERY);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            _ = pings.tick(), if watched => {
                if heard.elapsed() > SILENT_AFTER {
                    tracing::info!(%session, "socket silent for {} s: closed", SILENT_AFTER.as_secs());
                    break;
                }
                if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
            _ = &mut idle => {
                let reason = format!("no message for {} s; send ping to keep the socket open", limits.idle_timeout.as_secs());
                let _ = sink.send(close(CLOSE_POLICY, &reason)).await;
                break;
            }
            out = out_rx.recv() => match out {
                Some(Outbound::Text(t)) => {
                    if sink.send(Message::Text(t.into())).await.is_err() {
                        break;
                    }
                }
                Some(Outbound::Close(reason)) => {
                    let _ = sink.send(close(CLOSE_POLICY, &reason)).await;
                    break;
                }
                Some(Outbound::Watch) => {
                    watched = true;
                    heard = Instant::now();
                }
                None => break,
            },
            inc = stream.next() => {
                heard = Instant::now();
                // Answers to our pings show the socket is there, not that the client is busy.
                if !matches!(inc, Some(Ok(Message::Pong(_)))) {
                    idle.as_mut().reset(tokio::time::Instant::now() + limits.idle_timeout);
                }
                if matches!(inc, Some(Ok(Message::Text(_) | Message::Binary(_)))) && !bucket.take(Instant::now()) {
                    let reason = format!("more than {} messages per second", limits.messages_per_second);
                    let _ = sink.send(close(CLOSE_POLICY, &reason)).await;
                    tracing::info!(%session, "message rate limit: socket closed");
                    break;
                }
                match inc {
                Some(Ok(Message::Text(text))) => {
                    let parsed = tern_signal::parse(text.as_str());
                    let command = parsed.as_ref().map_or("malformed", |m| m.command());
                    metrics.messages.get_or_create(&CommandLabel { command }).inc();
                    if let (Some(c), Ok(tern_signal::ClientMessage::Play(p))) = (&cluster, &parsed) {
                        c.prepare_play(&app_name, &p.stream_id).await;
                    }
                    if hub.send(HubMsg::Frame { session, parsed }).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let parsed = Err(ParseError::Malformed {
                        reason: "binary frames are not part of the protocol; send JSON text".into(),
                    });
                    if hub.send(HubMsg::Frame { session, parsed }).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) => {
                    // Flushes the library's queued reply so the client sees a clean close.
                    let _ = sink.close().await;
                    break;
                }
                None => break,
                Some(Ok(_)) => {} // ping/pong are answered by the library
                Some(Err(e)) => {
                    let text = e.to_string();
                    if text.contains("too long") || text.contains("Space limit") {
                        let reason = format!(
                            "message too big: the limit is {} bytes",
                            limits.max_message_bytes
                        );
                        let _ = sink.send(close(CLOSE_TOO_BIG, &reason)).await;
                    }
                    tracing::debug!(%session, "websocket error: {text}");
                    break;
                }
            }},
        }
    }
    let _ = hub.send(HubMsg::Closed { session }).await;
}

/// A token bucket: `rate` messages per second, bursts of twice that.
struct RateLimit {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    fn new(rate: u32, now: Instant) -> Self {
        let rate = f64::from(rate);
        RateLimit {
            rate,
            tokens: rate * 2.0,
            at: now,
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate * 2.0);
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

fn close(code: u16, reason: &str) -> Message {
    // Close reasons are limited to 123 bytes by RFC 6455.
    let mut reason = reason.to_owned();
    while reason.len() > 123 {
        reason.pop();
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_bursts_then_the_rate() {
        let t0 = Instant::now();
        let mut b = RateLimit::new(10, t0);
        assert_eq!(
            (0..30).filter(|_| b.take(t0)).count(),
            20,
            "burst of twice the rate"
        );
        assert!(!b.take(t0));
        assert!(
            b.take(t0 + Duration::from_millis(100)),
            "one more after 1/rate s"
        );
        assert!(!b.take(t0 + Duration::from_millis(100)));
    }
}
