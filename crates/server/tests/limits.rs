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

/// A WebSocket upgrade request on a raw connection: the status and headers of
/// the answer, and the connection (kept open when it was accepted).
async fn upgrade(addr: std::net::SocketAddr) -> (u16, String, tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let req = "GET /LiveApp/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
               Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
               Sec-WebSocket-Version: 13\r\n\r\n";
    s.write_all(req.as_bytes()).await.expect("sends");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut byte))
            .await
            .expect("an answer within 10 s")
            .expect("reads");
        assert!(n == 1, "closed before the header ended: {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).expect("ASCII header");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head, s)
}

/// Lifts this process's open-file limit to its hard limit: the test holds
/// both ends of a thousand sockets.
fn more_files() {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

#[tokio::test]
async fn a_thousand_websockets_from_one_address_are_held_with_the_defaults() {
    more_files();
    let server = start_with("").await;
    let mut held = Vec::new();
    // Opened at the default rate (100 a second after a burst of 200).
    let started = Instant::now();
    for wave in 0..10u64 {
        let due = started + Duration::from_millis(wave * 1000);
        tokio::time::sleep_until(due.into()).await;
        let n = if wave == 0 { 190 } else { 90 };
        let opened = futures_util::future::join_all((0..n).map(|_| upgrade(server.http))).await;
        for (status, head, s) in opened {
            assert_eq!(status, 101, "socket {} refused: {head}", held.len());
            held.push(s);
        }
    }
    assert_eq!(held.len(), 1000);
    // All of them are sessions: the last one opened answers a ping.
    let mut c = server.client().await;
    c.send(json!({"command": "ping"})).await;
    c.expect("pong").await;
    server.stop().await;
}

#[tokio::test]
async fn a_burst_of_a_thousand_connection_attempts_from_one_address_is_cut() {
    more_files();
    let server = start_with("").await;
    let started = Instant::now();
    let answers = futures_util::future::join_all((0..1000).map(|_| upgrade(server.http))).await;
    let secs = started.elapsed().as_secs_f64();
    let accepted = answers.iter().filter(|(s, _, _)| *s == 101).count();
    let refused: Vec<&String> = answers
        .iter()
        .filter(|(s, _, _)| *s == 429)
        .map(|(_, h, _)| h)
        .collect();
    assert_eq!(accepted + refused.len(), 1000, "only 101 or 429");
    println!("burst: {accepted} of 1000 accepted in {secs:.2} s");
    // The burst of 200, and 100 a second while the attempts came.
    let most = 200 + (secs * 100.0).ceil() as usize + 1;
    assert!(
        (200..=most).contains(&accepted),
        "{accepted} accepted in {secs:.2} s"
    );
    assert!(
        refused
            .iter()
            .all(|h| h.to_ascii_lowercase().contains("retry-after: 1")),
        "{}",
        refused[0]
    );
    drop(answers);
    // The bucket refills: a moment later the address may connect again.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, head, _s) = upgrade(server.http).await;
    assert_eq!(status, 101, "{head}");
    server.stop().await;
}
