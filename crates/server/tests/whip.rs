//! WHIP and WHEP over HTTP against the real server, with str0m clients: each
//! side interchangeable with the WebSocket path, and every status of
//! README.md's "WHIP and WHEP" table.

mod common;

use std::time::{Duration, Instant};

use common::peers::*;
use common::{http, start, start_with, Reply, Server};
use serde_json::Value;
use tern_load::peer::{ClientPeer, PeerEvent, PeerHandle};

const SDP: (&str, &str) = ("Content-Type", "application/sdp");
const FRAG: (&str, &str) = ("Content-Type", "application/trickle-ice-sdpfrag");

thread_local! {
    /// The ICE ufrag of the last WHIP offer `whip_publisher` made on this thread.
    static LAST_UFRAG: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

async fn post(server: &Server, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    http(server.http, "POST", path, headers, Some(body)).await
}

/// A WHIP publisher of `id` on LiveApp, connected and fed: (resource path, etag, peer, feeder).
async fn whip_publisher(
    server: &Server,
    id: &str,
) -> (String, String, PeerHandle, tokio::task::JoinHandle<()>) {
    let mut peer = ClientPeer::new(LOCAL).await.unwrap();
    let offer = peer.publish_offer(id, true, true, false);
    let ufrag = offer
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap_or("")
        .to_owned();
    LAST_UFRAG.with(|u| *u.borrow_mut() = ufrag);
    let r = post(server, &format!("/LiveApp/whip/{id}"), &[SDP], &offer).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/sdp"));
    let location = r.header("location").expect("Location").to_owned();
    assert!(
        location.starts_with(&format!("/LiveApp/whip/{id}/")),
        "{location}"
    );
    let etag = r.header("etag").expect("ETag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    peer.accept_answer(&r.text()).unwrap();
    let mut h = peer.spawn();
    wait_event(&mut h, |e| matches!(e, PeerEvent::Connected)).await;
    let feeder = feed(h.cmd.clone(), 0);
    (location, etag, h, feeder)
}

/// A WHEP player of `id`: (resource path, peer) once it decodes video.
async fn whep_player(server: &Server, id: &str) -> (String, PeerHandle) {
    let mut peer = ClientPeer::new(LOCAL).await.unwrap();
    let offer = peer.play_offer(true, true);
    let r = post(server, &format!("/LiveApp/whep/{id}"), &[SDP], &offer).await;
    assert_eq!(r.status, 201, "{r:?}");
    let location = r.header("location").expect("Location").to_owned();
    assert!(
        location.starts_with(&format!("/LiveApp/whep/{id}/")),
        "{location}"
    );
    let answer = r.text();
    assert!(
        answer.contains("a=candidate:"),
        "the answer carries Tern's candidates"
    );
    // Audio and video in one media stream, so the player plays them in sync.
    for track in [format!("ARDAMSa{id}"), format!("ARDAMSv{id}")] {
        assert!(answer.contains(&format!("a=msid:{id} {track}")), "{answer}");
    }
    peer.accept_answer(&answer).unwrap();
    let mut h = peer.spawn();
    video_frames(&mut h, 5).await;
    (location, h)
}

async fn broadcast(server: &Server, id: &str) -> Value {
    server
        .rest("GET", "LiveApp", &format!("/broadcasts/{id}"), None)
        .await
        .body
}

#[tokio::test]
async fn a_whip_publisher_is_watched_over_the_websocket_and_delete_ends_it() {
    let server = start().await;
    let (location, _, _pub, feeder) = whip_publisher(&server, "w1").await;
    let url = server.ws_url("LiveApp");
    let (mut sig, mut p) = player(&url, "w1").await;
    video_frames(&mut p, 5).await;
    let b = broadcast(&server, "w1").await;
    assert_eq!(b["publishType"], "WHIP", "{b}");
    assert_eq!(b["status"], "broadcasting", "{b}");
    // The WebSocket's stream queries see it too.
    sig.send(serde_json::json!({"command": "getStreamInfo", "streamId": "w1"}))
        .await
        .unwrap();
    let info = sig.expect("streamInformation", WAIT).await.unwrap();
    assert!(
        info["streamInfo"].as_array().is_some_and(|a| !a.is_empty()),
        "{info}"
    );

    let r = http(server.http, "DELETE", &location, &[], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    sig.expect("play_finished", WAIT).await.unwrap();
    let b = broadcast(&server, "w1").await;
    assert_ne!(b["status"], "broadcasting", "{b}");
    let again = http(server.http, "DELETE", &location, &[], None).await;
    assert_eq!(again.status, 404, "{again:?}");
    feeder.abort();
    server.stop().await;
}

#[tokio::test]
async fn a_whep_player_watches_a_websocket_publisher_and_counts_as_a_viewer() {
    let server = start().await;
    let url = server.ws_url("LiveApp");
    let (_sig, pub_peer) = publisher(&url, "w2", false).await;
    let feeder = feed(pub_peer.cmd.clone(), 0);
    let (location, _p) = whep_player(&server, "w2").await;
    let viewers = |b: Value| b["webRTCViewerCount"].as_i64();
    assert_eq!(viewers(broadcast(&server, "w2").await), Some(1));
    let r = http(server.http, "DELETE", &location, &[], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let t0 = Instant::now();
    while viewers(broadcast(&server, "w2").await) != Some(0) {
        assert!(t0.elapsed() < WAIT, "viewer count after DELETE");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    feeder.abort();
    server.stop().await;
}

#[tokio::test]
async fn whip_to_whep_end_to_end() {
    let server = start().await;
    let (_, _, _pub, feeder) = whip_publisher(&server, "w3").await;
    let (_, _p) = whep_player(&server, "w3").await;
    feeder.abort();
    server.stop().await;
}

#[tokio::test]
async fn every_refusal_has_its_status_and_names_its_cause() {
    let server = start().await;
    let mut peer = ClientPeer::new(LOCAL).await.unwrap();
    let offer = peer.publish_offer("x", true, true, false);

    let r = post(
        &server,
        "/LiveApp/whip/s1",
        &[("Content-Type", "application/json")],
        &offer,
    )
    .await;
    assert_eq!(r.status, 415, "{r:?}");
    let r = post(&server, "/LiveApp/whip/s1", &[SDP], "hello").await;
    assert_eq!(
        (r.status, r.text().starts_with("notSetRemoteDescription")),
        (400, true),
        "{r:?}"
    );
    let r = post(
        &server,
        "/LiveApp/whip/s1",
        &[SDP],
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
    )
    .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().contains("no audio or video"), "{r:?}");
    let r = post(&server, "/NoSuchApp/whip/s1", &[SDP], &offer).await;
    assert_eq!(r.status, 404, "{r:?}");
    let r = post(&server, "/LiveApp/whip/bad%20id", &[SDP], &offer).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().starts_with("invalidStreamName"), "{r:?}");

    // WHEP of a stream nobody publishes: 404, try again later.
    let mut player = ClientPeer::new(LOCAL).await.unwrap();
    let play_offer = player.play_offer(true, true);
    let r = post(&server, "/LiveApp/whep/nobody", &[SDP], &play_offer).await;
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.text().starts_with("no_stream_exist"), "{r:?}");
    assert_eq!(r.header("retry-after"), Some("2"));

    // A second publisher of a live id.
    let (location, etag, _pub, feeder) = whip_publisher(&server, "s2").await;
    let offer_ufrag = LAST_UFRAG.with(|u| u.borrow().clone());
    let mut second = ClientPeer::new(LOCAL).await.unwrap();
    let offer2 = second.publish_offer("s2", true, true, false);
    let r = post(&server, "/LiveApp/whip/s2", &[SDP], &offer2).await;
    assert_eq!(r.status, 409, "{r:?}");
    assert!(r.text().starts_with("streamIdInUse"), "{r:?}");

    // CORS preflight from a page of another origin.
    let r = http(
        server.http,
        "OPTIONS",
        "/LiveApp/whip/s3",
        &[
            ("Origin", "http://example.org"),
            ("Access-Control-Request-Method", "POST"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(r.header("accept-post"), Some("application/sdp"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r
        .header("access-control-expose-headers")
        .unwrap()
        .contains("Location"));
    let r = http(server.http, "GET", "/LiveApp/whip/s3", &[], None).await;
    assert_eq!(r.status, 405, "{r:?}");
    let r = http(server.http, "GET", &location, &[], None).await;
    assert_eq!(r.status, 405, "{r:?}");

    // Trickle.
    let patch = |headers: Vec<(&'static str, String)>, body: &str| {
        let location = location.clone();
        let http_addr = server.http;
        let body = body.to_owned();
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            http(http_addr, "PATCH", &location, &h, Some(&body)).await
        }
    };
    let r = patch(
        vec![frag(), ("If-Match", etag.clone())],
        "a=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 9 typ host\r\n",
    )
    .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = patch(
        vec![frag(), ("ETag", etag.clone())],
        "a=candidate:2 1 udp 2122260223 127.0.0.1 10 typ host\r\n",
    )
    .await;
    assert_eq!(r.status, 204, "ETag: in place of If-Match: {r:?}");
    let r = patch(
        vec![frag(), ("If-Match", "\"stale\"".into())],
        "a=candidate:3 1 udp 1 127.0.0.1 11 typ host\r\n",
    )
    .await;
    assert_eq!(r.status, 412, "{r:?}");
    let r = patch(
        vec![frag(), ("If-Match", "*".into())],
        "a=ice-ufrag:new1\r\na=ice-pwd:newnewnewnewnewnewnewnew\r\n",
    )
    .await;
    assert_eq!(r.status, 422, "{r:?}");
    let r = patch(
        vec![frag()],
        "a=ice-ufrag:new1\r\na=ice-pwd:newnewnewnewnewnewnewnew\r\n",
    )
    .await;
    assert_eq!(r.status, 428, "{r:?}");
    // The offer's own credentials with end-of-candidates are no restart.
    let own = format!(
        "a=ice-ufrag:{offer_ufrag}\r\na=ice-pwd:x\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=end-of-candidates\r\n"
    );
    let r = patch(vec![frag()], &own).await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = patch(
        vec![("Content-Type", "application/sdp".into())],
        "a=candidate:4 1 udp 1 127.0.0.1 12 typ host\r\n",
    )
    .await;
    assert_eq!(r.status, 415, "{r:?}");
    let r = patch(vec![frag()], "a=candidate:5 1 udp\r\n").await;
    assert_eq!(r.status, 400, "{r:?}");
    let r = http(
        server.http,
        "PATCH",
        "/LiveApp/whip/s2/nosuchresource",
        &[FRAG],
        Some("a=end-of-candidates\r\n"),
    )
    .await;
    assert_eq!(r.status, 404, "{r:?}");
    feeder.abort();
    server.stop().await;
}

fn frag() -> (&'static str, String) {
    (FRAG.0, FRAG.1.to_owned())
}

#[tokio::test]
async fn whip_and_whep_take_the_websocket_paths_tokens() {
    let server = start_with(
        "[apps.LiveApp]\npublishTokenControlEnabled = true\nplayTokenControlEnabled = true\n",
    )
    .await;
    let mut peer = ClientPeer::new(LOCAL).await.unwrap();
    let offer = peer.publish_offer("t1", true, true, false);
    let path = "/LiveApp/whip/t1";
    let r = post(&server, path, &[SDP], &offer).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.text().starts_with("unauthorized_access"), "{r:?}");
    let r = post(
        &server,
        path,
        &[SDP, ("Authorization", "Bearer undefined")],
        &offer,
    )
    .await;
    assert_eq!(r.status, 401, "an undefined bearer is no token: {r:?}");
    let r = post(
        &server,
        path,
        &[SDP, ("Authorization", "Bearer made-up")],
        &offer,
    )
    .await;
    assert_eq!(r.status, 403, "{r:?}");
    let t = token(&server, "t1", "publish").await;
    let bearer = format!("Bearer {t}");
    let r = post(&server, path, &[SDP, ("Authorization", &bearer)], &offer).await;
    assert_eq!(r.status, 201, "{r:?}");
    peer.accept_answer(&r.text()).unwrap();
    let mut h = peer.spawn();
    wait_event(&mut h, |e| matches!(e, PeerEvent::Connected)).await;
    let feeder = feed(h.cmd.clone(), 0);

    // WHEP with ?token= in the URL, Ant Media's older form.
    let mut player = ClientPeer::new(LOCAL).await.unwrap();
    let play_offer = player.play_offer(true, true);
    let r = post(&server, "/LiveApp/whep/t1", &[SDP], &play_offer).await;
    assert_eq!(r.status, 401, "{r:?}");
    let t = token(&server, "t1", "play").await;
    let r = post(
        &server,
        &format!("/LiveApp/whep/t1?token={t}"),
        &[SDP],
        &play_offer,
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    player.accept_answer(&r.text()).unwrap();
    let mut p = player.spawn();
    video_frames(&mut p, 3).await;
    feeder.abort();
    server.stop().await;
}

async fn token(server: &Server, id: &str, kind: &str) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let path = format!("/broadcasts/{id}/token?expireDate={exp}&type={kind}");
    let r = server.rest("GET", "LiveApp", &path, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["tokenId"].as_str().unwrap().to_owned()
}

/// 200 WHEP players of one WHIP stream at the same time: each gets its answer
/// and connects (10 handshakes at a time: the 200 client peers share this test
/// process's two cores with the server), all 200 count as viewers, and each
/// DELETE is answered.
#[tokio::test]
async fn two_hundred_concurrent_sessions() {
    const N: usize = 200;
    let server = start().await;
    let (_, _, _pub, feeder) = whip_publisher(&server, "many").await;
    // Sessions, not media, are what is counted here: 200 debug-build peers
    // decoding 30 frames a second would starve the handshakes.
    feeder.abort();
    let mut tasks = Vec::new();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(10));
    for _ in 0..N {
        let http_addr = server.http;
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _turn = gate.acquire_owned().await.unwrap();
            let mut peer = ClientPeer::new(LOCAL).await.unwrap();
            let offer = peer.play_offer(true, true);
            let r = http(
                http_addr,
                "POST",
                "/LiveApp/whep/many",
                &[SDP],
                Some(&offer),
            )
            .await;
            assert_eq!(r.status, 201, "{r:?}");
            peer.accept_answer(&r.text()).unwrap();
            let mut h = peer.spawn();
            // 200 DTLS handshakes at once take a while in a debug build.
            let connected = tokio::time::timeout(Duration::from_secs(90), async {
                while let Some(e) = h.events.recv().await {
                    match e {
                        PeerEvent::Connected => return Ok(()),
                        PeerEvent::Closed(why) => return Err(why),
                        _ => {}
                    }
                }
                Err("events ended".to_owned())
            });
            let connected = connected.await.unwrap_or_else(|_| Err("timed out".into()));
            assert!(
                connected.is_ok(),
                "a WHEP player never connected: {connected:?}"
            );
            (r.header("location").unwrap().to_owned(), h)
        }));
    }
    let mut sessions = Vec::new();
    for t in tasks {
        sessions.push(t.await.unwrap());
    }
    // The server counts a viewer when its side of DTLS is up, a moment after the client's.
    let t0 = Instant::now();
    loop {
        let b = broadcast(&server, "many").await;
        if b["webRTCViewerCount"].as_u64() == Some(N as u64) {
            break;
        }
        assert!(t0.elapsed() < WAIT, "viewers: {}", b["webRTCViewerCount"]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (location, _) in &sessions {
        let r = http(server.http, "DELETE", location, &[], None).await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    feeder.abort();
    server.stop().await;
}

/// A player that wants to be the DTLS server (`a=setup:passive` in its offer)
/// is answered `active`, and plays.
#[tokio::test]
async fn a_whep_offer_may_ask_tern_to_be_the_dtls_client() {
    let server = start().await;
    let (_, _, _pub, feeder) = whip_publisher(&server, "w4").await;
    let mut peer = ClientPeer::new(LOCAL).await.unwrap();
    let offer = peer
        .play_offer(true, true)
        .replace("a=setup:actpass", "a=setup:passive");
    let r = post(&server, "/LiveApp/whep/w4", &[SDP], &offer).await;
    assert_eq!(r.status, 201, "{r:?}");
    let answer = r.text();
    assert!(answer.contains("a=setup:active"), "{answer}");
    peer.accept_answer(&answer).unwrap();
    let mut h = peer.spawn();
    video_frames(&mut h, 5).await;
    feeder.abort();
    server.stop().await;
}

/// A WHIP publisher whose connection drops and that POSTs again within the
/// restore window takes its stream back: its players keep playing.
#[tokio::test]
async fn a_whip_publisher_that_comes_back_within_the_window_keeps_its_players() {
    let server = start_with("[apps.LiveApp]\nwebRTCClientStartTimeoutMs = 4000\n").await;
    let (_, _, first, feeder) = whip_publisher(&server, "w5").await;
    let url = server.ws_url("LiveApp");
    let (mut sig, mut p) = player(&url, "w5").await;
    video_frames(&mut p, 5).await;
    feeder.abort();
    first
        .cmd
        .send(tern_load::peer::PeerCmd::Close)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, _, _second, feeder) = whip_publisher(&server, "w5").await;
    video_frames(&mut p, 10).await;
    assert!(
        sig.backlog()
            .iter()
            .all(|v| v["definition"] != "play_finished"),
        "{:?}",
        sig.backlog()
    );
    let quiet = sig.expect("play_finished", Duration::from_secs(5)).await;
    assert!(quiet.is_err(), "play_finished while the stream came back");
    feeder.abort();
    server.stop().await;
}

/// A WHIP client that closes its peer connection before its DELETE (as
/// whip-whep's `stop()` does): the DELETE still ends the stream at once, not
/// after the restore window.
#[tokio::test]
async fn delete_after_the_peer_connection_closed_ends_the_stream_at_once() {
    let server = start().await;
    let (location, _, publisher, feeder) = whip_publisher(&server, "w6").await;
    let url = server.ws_url("LiveApp");
    let (mut sig, mut p) = player(&url, "w6").await;
    video_frames(&mut p, 5).await;
    feeder.abort();
    publisher
        .cmd
        .send(tern_load::peer::PeerCmd::Close)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = Instant::now();
    let r = http(server.http, "DELETE", &location, &[], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    sig.expect("play_finished", Duration::from_secs(3))
        .await
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(3));
    server.stop().await;
}

/// A WHIP publisher joins a conference room with `?mainTrack=`: a room player
/// on the WebSocket gets its tracks, named as Ant Media names them, and
/// decodes them; REST lists it as a room participant.
#[tokio::test]
async fn a_whip_publisher_joins_a_room_by_main_track() {
    let server = start().await;
    let mut peer = ClientPeer::new(LOCAL).await.unwrap();
    let offer = peer.publish_offer("cam", true, true, false);
    let r = post(&server, "/LiveApp/whip/cam?mainTrack=room1", &[SDP], &offer).await;
    assert_eq!(r.status, 201, "{r:?}");
    peer.accept_answer(&r.text()).unwrap();
    let mut h = peer.spawn();
    wait_event(&mut h, |e| matches!(e, PeerEvent::Connected)).await;
    let feeder = feed(h.cmd.clone(), 0);

    let mut sig = tern_load::signal::Signal::connect(&server.ws_url("LiveApp"))
        .await
        .unwrap();
    sig.play("room1").await.unwrap();
    let offer = sig.expect("takeConfiguration", WAIT).await.unwrap();
    let mapping = offer["idMapping"].as_object().unwrap();
    assert!(mapping.values().any(|v| v == "ARDAMSvcam"), "{mapping:?}");
    let mut player = ClientPeer::new(LOCAL).await.unwrap();
    let answer = player.accept_offer(offer["sdp"].as_str().unwrap()).unwrap();
    sig.sdp("room1", "answer", &answer).await.unwrap();
    let mut p = player.spawn();
    video_frames(&mut p, 5).await;
    let b = broadcast(&server, "cam").await;
    assert_eq!(b["mainTrackStreamId"], "room1", "{b}");
    feeder.abort();
    server.stop().await;
}

/// A WHEP player whose offer takes only H.264, of a stream in VP8: 422 with
/// the reason, rather than a connection that never shows a picture.
#[tokio::test]
async fn a_whep_offer_without_the_streams_codec_gets_422() {
    let server = start().await;
    let (_, _, _pub, feeder) = whip_publisher(&server, "w7").await;
    let url = server.ws_url("LiveApp");
    let (_sig, mut p) = player(&url, "w7").await;
    video_frames(&mut p, 3).await;
    let mut h264_only = ClientPeer::with_video_codecs(LOCAL, false, true)
        .await
        .unwrap();
    let offer = h264_only.play_offer(true, true);
    let r = post(&server, "/LiveApp/whep/w7", &[SDP], &offer).await;
    assert_eq!(r.status, 422, "{r:?}");
    assert!(
        r.text().starts_with("notSetLocalDescription") && r.text().contains("(VP8)"),
        "{r:?}"
    );
    feeder.abort();
    server.stop().await;
}
