//! Every limit refuses with a clear error and leaves other sessions alone;
//! shutdown tells every session first.

mod common;

use std::time::{Duration, Instant};

use common::{start_with, Client};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// The close frame's code and reason, waiting at most 10 s.
async fn close_reason(c: &mut Client) -> Option<(u16, String)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(10), c.ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(f))))) => {
                return Some((u16::from(f.code), f.reason.to_string()))
            }
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
    None
}

#[tokio::test]
async fn sockets_per_ip() {
    let server = start_with("sockets_per_ip = 2\n").await;
    let a = server.client().await;
    let _b = server.client().await;
    let err = tokio_tungstenite::connect_async(server.ws_url("LiveApp"))
        .await
        .expect_err("third socket refused")
        .to_string();
    assert!(err.contains("429"), "{err}");
    drop(a);
    // The slot frees when the first socket's task ends.
    let mut ok = false;
    for _ in 0..50 {
        if tokio_tungstenite::connect_async(server.ws_url("LiveApp"))
            .await
            .is_ok()
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "a freed slot can be used again");
    server.stop().await;
}

#[tokio::test]
async fn message_rate() {
    let server = start_with("messages_per_second = 10\n").await;
    let mut flood = server.client().await;
    let mut calm = server.client().await;
    for _ in 0..40 {
        if flood
            .ws
            .send(Message::Text(r#"{"command":"ping"}"#.into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let (code, reason) = close_reason(&mut flood)
        .await
        .expect("closed with a reason");
    assert_eq!(code, 1008);
    assert!(reason.contains("messages per second"), "{reason}");
    calm.send(json!({"command":"ping"})).await;
    assert_eq!(calm.recv().await["command"], "pong");
    server.stop().await;
}

#[tokio::test]
async fn peers_per_socket() {
    let server = start_with("peers_per_socket = 2\n").await;
    let mut c = server.client().await;
    for id in ["a", "b"] {
        c.send(json!({"command":"publish","streamId":id})).await;
        assert_eq!(c.recv().await["command"], "start");
    }
    c.send(json!({"command":"publish","streamId":"c"})).await;
    let v = c.recv().await;
    assert_eq!(v["definition"], "limit_reached");
    assert!(
        v["information"].as_str().unwrap().contains("stop one"),
        "{v}"
    );
    c.send(json!({"command":"play","streamId":"c"})).await;
    assert_eq!(c.recv().await["definition"], "limit_reached");
    c.send(json!({"command":"stop","streamId":"a"})).await;
    assert_eq!(c.recv().await["definition"], "publish_finished");
    c.send(json!({"command":"publish","streamId":"c"})).await;
    assert_eq!(c.recv().await["command"], "start");
    server.stop().await;
}

#[tokio::test]
async fn idle_sockets_are_closed() {
    let server = start_with("idle_timeout_secs = 5\n").await;
    let mut idle = server.client().await;
    let mut busy = server.client().await;
    let t0 = Instant::now();
    let pinger = async {
        for _ in 0..8 {
            busy.send(json!({"command":"ping"})).await;
            assert_eq!(busy.recv().await["command"], "pong");
            tokio::time::sleep(Duration::from_millis(900)).await;
        }
        busy
    };
    let (closed, mut busy) = tokio::join!(close_reason(&mut idle), pinger);
    let (code, reason) = closed.expect("idle socket closed");
    assert_eq!(code, 1008);
    assert!(reason.contains("no message for 5 s"), "{reason}");
    assert!(t0.elapsed() >= Duration::from_secs(5));
    busy.send(json!({"command":"ping"})).await;
    assert_eq!(
        busy.recv().await["command"],
        "pong",
        "a pinging socket stays"
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_tells_every_session() {
    let server = start_with("shutdown_drain_ms = 500\n").await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    a.send(json!({"command":"publish","streamId":"s"})).await;
    assert_eq!(a.recv().await["command"], "start");
    let stopping = tokio::spawn(server.stop());
    for c in [&mut a, &mut b] {
        let v = c.expect("server_will_stop").await;
        assert_eq!(v["command"], "notification");
    }
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("stops within the drain period")
        .unwrap();
    assert!(close_reason(&mut a)
        .await
        .is_some_and(|(_, r)| r.contains("stopping")));
}
