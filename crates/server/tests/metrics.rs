//! `GET /metrics` against the real server: the exposition parses, and its
//! figures follow what happens (signaling messages, errors, a WebSocket
//! publisher, a WHEP player, HTTP statuses, datagrams).

mod common;

use std::collections::HashMap;

use common::peers::*;
use common::{http, start, start_with};
use tern_load::peer::ClientPeer;

/// Every sample line as `name{labels}` → value; checks each line's shape.
fn samples(text: &str) -> HashMap<String, f64> {
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (key, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let v: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        out.insert(key.to_owned(), v);
    }
    out
}

async fn scrape(server: &common::Server) -> HashMap<String, f64> {
    let accept = [("Accept", "application/openmetrics-text; version=1.0.0")];
    let r = http(server.http, "GET", "/metrics", &accept, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    // Without asking for OpenMetrics: the classic text format.
    let plain = http(server.http, "GET", "/metrics", &[], None).await;
    assert!(plain
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = plain.text();
    assert!(
        text.contains("# TYPE tern_signaling_messages_total counter") && !text.contains("# EOF"),
        "{text}"
    );
    samples(&r.text())
}

#[tokio::test]
async fn metrics_follow_what_the_server_does() {
    let server = start().await;
    let url = server.ws_url("LiveApp");
    let (_sig, pub_peer) = publisher(&url, "m1", false).await;
    let feeder = feed(pub_peer.cmd.clone(), 0);
    let mut peer = ClientPeer::new(LOCAL).await.unwrap();
    let offer = peer.play_offer(true, true);
    let r = http(
        server.http,
        "POST",
        "/LiveApp/whep/m1",
        &[("Content-Type", "application/sdp")],
        Some(&offer),
    )
    .await;
    assert_eq!(r.status, 201);
    peer.accept_answer(&r.text()).unwrap();
    let mut p = peer.spawn();
    video_frames(&mut p, 5).await;
    // An error a client caused, and a refused WHEP request.
    let mut c = server.client().await;
    c.send(serde_json::json!({"command": "play", "streamId": "nobody"}))
        .await;
    c.expect("no_stream_exist").await;
    let r = http(
        server.http,
        "POST",
        "/LiveApp/whep/m1",
        &[("Content-Type", "text/plain")],
        Some("x"),
    )
    .await;
    assert_eq!(r.status, 415);

    let m = scrape(&server).await;
    let get = |k: &str| {
        m.get(k)
            .copied()
            .unwrap_or_else(|| panic!("no {k} in {m:?}"))
    };
    assert_eq!(
        get(r#"tern_streams_live{app="LiveApp",kind="WebRTC"}"#),
        1.0
    );
    assert_eq!(
        get(r#"tern_players_connected{app="LiveApp",kind="WHEP"}"#),
        1.0
    );
    assert_eq!(get(r#"tern_sessions{app="LiveApp",kind="whip_whep"}"#), 1.0);
    assert!(get(r#"tern_sessions{app="LiveApp",kind="websocket"}"#) >= 2.0);
    assert_eq!(
        get(r#"tern_signaling_messages_total{command="publish"}"#),
        1.0
    );
    assert!(get(r#"tern_signaling_messages_total{command="play"}"#) >= 1.0);
    assert!(get(r#"tern_signaling_errors_total{definition="no_stream_exist"}"#) >= 1.0);
    assert_eq!(
        get(r#"tern_http_requests_total{api="whip_whep",status="201"}"#),
        1.0
    );
    assert_eq!(
        get(r#"tern_http_requests_total{api="whip_whep",status="415"}"#),
        1.0
    );
    // A counter's total over all its labels (one series per media worker).
    let total = |name: &str| -> f64 {
        m.iter()
            .filter(|(k, _)| k.starts_with(name))
            .map(|(_, v)| v)
            .sum()
    };
    let sent = total("tern_media_datagrams_sent_total");
    let sends = total("tern_media_sends_total");
    // GSO puts several datagrams in one message, never the other way.
    assert!(
        sends >= 1.0 && sends <= sent,
        "{sends} sends for {sent} datagrams"
    );
    let received = total("tern_media_datagrams_received_total");
    assert!(
        received > 10.0 && sent > 10.0,
        "datagrams in {received}, out {sent}"
    );
    assert!(get("process_resident_memory_bytes") > 1e6);
    assert!(get("process_open_fds") > 5.0);
    assert!(get("process_cpu_seconds_total") > 0.0);
    feeder.abort();
    server.stop().await;
}

#[tokio::test]
async fn metrics_are_refused_outside_the_allowed_addresses() {
    let server = start_with("metrics_allowed_cidr = \"10.0.0.0/8\"\n").await;
    let r = http(server.http, "GET", "/metrics", &[], None).await;
    assert_eq!(r.status, 403, "{r:?}");
    server.stop().await;
}
