//! Statistics REST and the console's server side against the real server: a
//! player's figures appear in `webrtc-client-stats` and in the console's
//! event stream; the console's address filter, login and change header hold.

mod common;

use std::time::{Duration, Instant};

use common::peers::*;
use common::{http, start, start_with};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads the console's event stream until `pred` holds for a `state` event
/// (at most `wait`); returns that state.
async fn console_state_until(
    addr: std::net::SocketAddr,
    cookie: Option<&str>,
    wait: Duration,
    mut pred: impl FnMut(&Value) -> bool,
) -> Value {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "GET /console/api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n{cookie}\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let deadline = Instant::now() + wait;
    let mut buf = Vec::new();
    let mut last = Value::Null;
    loop {
        let mut chunk = [0u8; 16384];
        let left = deadline.saturating_duration_since(Instant::now());
        let n = match tokio::time::timeout(left, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => panic!("no matching console state within {wait:?}; last: {last}"),
        };
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        // Chunked framing splits lines; the data lines are whole JSON objects.
        for line in text.lines().filter_map(|l| l.strip_prefix("data: ")) {
            if let Ok(v) = serde_json::from_str::<Value>(line) {
                if pred(&v) {
                    return v;
                }
                last = v;
            }
        }
    }
}

fn stream_of<'a>(state: &'a Value, app: &str, id: &str) -> Option<&'a Value> {
    state["apps"]
        .as_array()?
        .iter()
        .find(|a| a["name"] == app)?["streams"]
        .as_array()?
        .iter()
        .find(|s| s["streamId"] == id)
}

#[tokio::test]
async fn a_players_figures_reach_rest_statistics_and_the_console() {
    let server = start().await;
    let url = server.ws_url("LiveApp");
    let (_sig, pub_peer) = publisher(&url, "stats1", false).await;
    let feeder = feed(pub_peer.cmd.clone(), 0);
    let (_psig, mut player) = player(&url, "stats1").await;
    video_frames(&mut player, 5).await;

    // Figures come every 2 s; the first with a rate takes two reports.
    let deadline = Instant::now() + Duration::from_secs(15);
    let stats = loop {
        let r = server
            .rest(
                "GET",
                "LiveApp",
                "/broadcasts/stats1/webrtc-client-stats/0/10",
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        let list = r.body.as_array().cloned().unwrap_or_default();
        if let Some(p) = list.first() {
            if p["sendBitrate"].as_u64() > Some(0) && p["videoPacketCount"].as_u64() > Some(0) {
                break p.clone();
            }
        }
        assert!(Instant::now() < deadline, "no player figures: {:?}", r.body);
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(stats["clientIp"], "127.0.0.1", "{stats}");
    assert_eq!(stats["clientInfo"], "WebRTC");
    assert!(stats["audioPacketCount"].as_u64() > Some(0), "{stats}");
    // ~3 kB of video every 33 ms: some hundreds of kbit/s, not megabits.
    let sent = stats["sendBitrate"].as_u64().unwrap();
    assert!((200_000..3_000_000).contains(&sent), "sendBitrate {sent}");

    let totals = server
        .rest(
            "GET",
            "LiveApp",
            "/broadcasts/stats1/broadcast-statistics",
            None,
        )
        .await;
    assert_eq!(totals.body["totalWebRTCWatchersCount"], 1, "{totals:?}");
    let info = server
        .rest("GET", "LiveApp", "/broadcasts/stats1/stream-info", None)
        .await;
    let fps = info.body[0]["fps"].as_u64().unwrap_or(0);
    assert!(
        (20..=40).contains(&fps),
        "a frame every 33 ms: {:?}",
        info.body
    );
    let unknown = server
        .rest(
            "GET",
            "LiveApp",
            "/broadcasts/nope/broadcast-statistics",
            None,
        )
        .await;
    assert_eq!(unknown.status, 404);

    let state = console_state_until(server.http, None, Duration::from_secs(5), |v| {
        stream_of(v, "LiveApp", "stats1").is_some_and(|s| s["viewers"] == 1)
    })
    .await;
    let s = stream_of(&state, "LiveApp", "stats1").unwrap();
    assert_eq!(s["publishType"], "WebRTC");
    assert_eq!(s["players"][0]["clientIp"], "127.0.0.1");
    assert!(state["system"]["rssBytes"].as_u64() > Some(0), "{state}");

    let res = server
        .rest("GET", "LiveApp", "/system-resources", None)
        .await;
    assert_eq!(res.body["version"], env!("CARGO_PKG_VERSION"));
    feeder.abort();
    server.stop().await;
}

#[tokio::test]
async fn the_console_is_refused_outside_its_addresses() {
    let server = start_with("console_allowed_cidr = \"10.9.9.0/24\"\n").await;
    for path in [
        "/",
        "/console/",
        "/console/console.js",
        "/console/api/events",
    ] {
        let r = http(server.http, "GET", path, &[], None).await;
        assert_eq!(r.status, 403, "{path}: {r:?}");
    }
    let r = http(
        server.http,
        "GET",
        "/console/api/rest/LiveApp/rest/v2/broadcasts/list/0/5",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 403);
    server.stop().await;
}

#[tokio::test]
async fn the_console_needs_its_password_and_its_header() {
    let server = start_with("console_password = \"s3cret\"\n").await;
    let page = http(server.http, "GET", "/console/", &[], None).await;
    assert_eq!(page.status, 200, "the page itself loads, to show the login");
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    let session = http(server.http, "GET", "/console/api/session", &[], None).await;
    assert_eq!(session.body["loginRequired"], true);
    assert_eq!(session.body["loggedIn"], false);
    let events = http(server.http, "GET", "/console/api/events", &[], None).await;
    assert_eq!(events.status, 401);

    let csrf = [("X-Tern-Console", "1")];
    let wrong = http(
        server.http,
        "POST",
        "/console/api/login",
        &csrf,
        Some(r#"{"password":"nope"}"#),
    )
    .await;
    assert_eq!(wrong.status, 401);
    let no_header = http(
        server.http,
        "POST",
        "/console/api/login",
        &[],
        Some(r#"{"password":"s3cret"}"#),
    )
    .await;
    assert_eq!(no_header.status, 403, "a change without X-Tern-Console");
    let ok = http(
        server.http,
        "POST",
        "/console/api/login",
        &csrf,
        Some(r#"{"password":"s3cret"}"#),
    )
    .await;
    assert_eq!(ok.status, 204, "{ok:?}");
    let set = ok.header("set-cookie").unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();

    let create = "/console/api/rest/LiveApp/rest/v2/broadcasts/create";
    let body = Some(r#"{"streamId":"c1","name":"<img src=x onerror=alert(1)>"}"#);
    let refused = http(server.http, "POST", create, &[("Cookie", &cookie)], body).await;
    assert_eq!(refused.status, 403, "no X-Tern-Console header");
    let headers = [("Cookie", cookie.as_str()), ("X-Tern-Console", "1")];
    let made = http(server.http, "POST", create, &headers, body).await;
    assert_eq!(made.status, 200, "{made:?}");
    let back = server.rest("GET", "LiveApp", "/broadcasts/c1", None).await;
    assert_eq!(back.body["name"], "<img src=x onerror=alert(1)>");

    let forged = "tern_console=99999999999.00ff";
    let r = http(
        server.http,
        "GET",
        "/console/api/events",
        &[("Cookie", forged)],
        None,
    )
    .await;
    assert_eq!(r.status, 401, "a made-up cookie");
    console_state_until(server.http, Some(&cookie), Duration::from_secs(5), |v| {
        v["apps"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    server.stop().await;
}
