//! Webhooks against a receiver this test runs (axum on loopback): every
//! action arrives once with Ant Media's fields and Tern's signature, a
//! receiver that answers 500 gets the retry, a hanging one delays nothing.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::peers::*;
use common::start_with;
use serde_json::{json, Value};

#[derive(Clone, Default)]
struct Received {
    hooks: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    /// Answer 500 to this many requests first.
    fail_first: Arc<Mutex<usize>>,
    hang: bool,
}

async fn receiver(r: Received) -> String {
    let state = r.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let state = state.clone();
            async move {
                state.hooks.lock().unwrap().push((headers, body));
                if state.hang {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                let mut fail = state.fail_first.lock().unwrap();
                if *fail > 0 {
                    *fail -= 1;
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/hook")
}

/// Actions received so far, with their JSON bodies.
fn actions(r: &Received) -> Vec<Value> {
    r.hooks
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_str(b).unwrap_or(Value::String(b.clone())))
        .collect()
}

async fn until(r: &Received, n: usize) {
    let t0 = Instant::now();
    while r.hooks.lock().unwrap().len() < n {
        assert!(t0.elapsed() < WAIT, "hooks so far: {:?}", actions(r));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn every_action_arrives_once_with_its_fields_and_signature() {
    let r = Received::default();
    let url = receiver(r.clone()).await;
    let server = start_with(&format!(
        "[apps.LiveApp]\nlistenerHookURL = \"{url}\"\nwebhookSecret = \"s3cret\"\n"
    ))
    .await;
    let ws = server.ws_url("LiveApp");
    let (mut pub_sig, pub_peer) = publisher(&ws, "hooked", false).await;
    let feeder = feed(pub_peer.cmd.clone(), 0);
    let (mut p_sig, mut p) = player(&ws, "hooked").await;
    video_frames(&mut p, 3).await;
    p_sig
        .send(json!({"command": "stop", "streamId": "hooked"}))
        .await
        .unwrap();
    p_sig.expect("play_finished", WAIT).await.unwrap();
    pub_sig
        .send(json!({"command": "stop", "streamId": "hooked"}))
        .await
        .unwrap();
    until(&r, 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = actions(&r);
    let names: Vec<&str> = got.iter().map(|v| v["action"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "liveStreamStarted",
            "playStarted",
            "playStopped",
            "liveStreamEnded"
        ]
    );
    for v in &got {
        assert_eq!(v["id"], "hooked");
        for f in ["streamName", "category", "metadata", "timestamp"] {
            assert!(v.get(f).is_some(), "{f} missing in {v}");
        }
    }
    for (headers, body) in r.hooks.lock().unwrap().iter() {
        assert_eq!(headers["content-type"], "application/json");
        let sig = headers["x-tern-signature"].to_str().unwrap();
        assert_eq!(sig, tern_server_signature("s3cret", body));
    }
    feeder.abort();
    server.stop().await;
}

/// The signature as a receiver computes it: HMAC-SHA256 of the body.
fn tern_server_signature(secret: &str, body: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[tokio::test]
async fn a_receiver_that_answers_500_gets_the_retry_as_a_form() {
    let r = Received::default();
    *r.fail_first.lock().unwrap() = 1;
    let url = receiver(r.clone()).await;
    let server = start_with(&format!(
        "[apps.LiveApp]\nlistenerHookURL = \"{url}\"\nwebhookRetryCount = 2\nwebhookRetryDelay = 100\n\
         webhookContentType = \"application/x-www-form-urlencoded\"\n"
    ))
    .await;
    let (_sig, _peer) = publisher(&server.ws_url("LiveApp"), "retried", false).await;
    until(&r, 2).await;
    let hooks = r.hooks.lock().unwrap().clone();
    assert_eq!(hooks[0].1, hooks[1].1, "the retry carries the same body");
    assert!(
        hooks[0]
            .1
            .starts_with("id=retried&action=liveStreamStarted&"),
        "{}",
        hooks[0].1
    );
    assert_eq!(
        hooks[0].0["content-type"],
        "application/x-www-form-urlencoded"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_hanging_receiver_delays_nothing_and_a_publish_timeout_is_told() {
    let r = Received {
        hang: true,
        ..Received::default()
    };
    let url = receiver(r.clone()).await;
    let server = start_with(&format!(
        "[apps.LiveApp]\nlistenerHookURL = \"{url}\"\nwebRTCClientStartTimeoutMs = 1000\n"
    ))
    .await;
    let ws = server.ws_url("LiveApp");
    let t0 = Instant::now();
    let (_sig, _peer) = publisher(&ws, "first", false).await;
    let (_sig2, _peer2) = publisher(&ws, "second", false).await;
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    // A publish that never sends its offer: publishTimeoutError after 1 s.
    let mut c = server.client().await;
    c.send(json!({"command": "publish", "streamId": "late"}))
        .await;
    c.expect("start").await;
    c.expect("publishTimeoutError").await;
    until(&r, 3).await;
    let names: Vec<String> = actions(&r)
        .iter()
        .map(|v| {
            format!(
                "{}:{}",
                v["id"].as_str().unwrap(),
                v["action"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        names.contains(&"late:publishTimeoutError".to_owned()),
        "{names:?}"
    );
    server.stop().await;
}
