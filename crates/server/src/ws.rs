//! One WebSocket: frames in → parsed messages to the hub; hub output → frames out.

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tern_core::AppSettings;
use tern_signal::ParseError;
use tokio::sync::{mpsc, oneshot};

use crate::config::Limits;
use crate::hub::{HubMsg, Outbound};

/// RFC 6455 close codes used here.
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;

pub async fn serve(
    socket: WebSocket,
    app: String,
    settings: AppSettings,
    limits: Limits,
    hub: mpsc::Sender<HubMsg>,
) {
    let (out_tx, mut out_rx) = mpsc::channel(limits.session_queue);
    let (reply_tx, reply_rx) = oneshot::channel();
    let open = HubMsg::Open {
        app,
        settings,
        outbound: out_tx,
        reply: reply_tx,
    };
    if hub.send(open).await.is_err() {
        return;
    }
    let Ok(session) = reply_rx.await else {
        return;
    };
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
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
                None => break,
            },
            inc = stream.next() => match inc {
                Some(Ok(Message::Text(text))) => {
                    let parsed = tern_signal::parse(text.as_str());
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
                Some(Ok(Message::Close(_))) | None => break,
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
            },
        }
    }
    let _ = hub.send(HubMsg::Closed { session }).await;
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
