//! The ways a peer leaves, through the real server with str0m clients, each
//! with its outcome and timing (the table in README.md, "When a peer leaves"): a
//! network that vanishes, a closed peer connection, and a player whose answer
//! takes no codec of the stream.

mod common;

use std::time::{Duration, Instant};

use common::peers::*;
use common::{start, start_with};
use tern_load::peer::{ClientPeer, PeerCmd, PeerEvent, PeerHandle};
use tern_load::signal::Signal;

/// An app whose dropped publishers are waited for 1.5 s (`webRTCClientStartTimeoutMs`).
const SHORT_WINDOW: &str = "[apps.ShortApp]\nwebRTCClientStartTimeoutMs = 1500\n";

fn between(took: Duration, low_ms: u64, high_ms: u64) {
    assert!(
        took >= Duration::from_millis(low_ms) && took <= Duration::from_millis(high_ms),
        "took {took:?}, expected {low_ms}..{high_ms} ms"
    );
}

/// A publisher fed with media and a player decoding it, on `app`.
struct Live {
    _pub_sig: Signal,
    pub_peer: PeerHandle,
    feeder: tokio::task::JoinHandle<()>,
    p_sig: Signal,
    p: PeerHandle,
}

async fn live(url: &str, id: &str) -> Live {
    let (_pub_sig, pub_peer) = publisher(url, id, false).await;
    let feeder = feed(pub_peer.cmd.clone(), 0);
    let (p_sig, mut p) = player(url, id).await;
    video_frames(&mut p, 5).await;
    Live {
        _pub_sig,
        pub_peer,
        feeder,
        p_sig,
        p,
    }
}

/// Seconds from now until `s` gets `play_finished`.
async fn until_play_finished(s: &mut Signal, wait: Duration) -> Duration {
    let t0 = Instant::now();
    s.expect("play_finished", wait).await.unwrap();
    t0.elapsed()
}

#[tokio::test]
async fn a_publisher_whose_network_vanishes_is_noticed_within_5_s() {
    let server = start_with(SHORT_WINDOW).await;
    let url = server.ws_url("ShortApp");
    let mut s = live(&url, "gone1").await;
    // Not one more packet, while its WebSocket stays open.
    s.feeder.abort();
    s.pub_peer.task.abort();
    let took = until_play_finished(&mut s.p_sig, Duration::from_secs(15)).await;
    // 4 s of silence, then the 1.5 s restore window.
    between(took, 5_300, 7_500);
    server.stop().await;
}

#[tokio::test]
async fn a_player_whose_network_vanishes_is_ended_within_5_s() {
    let server = start().await;
    let url = server.ws_url("LiveApp");
    let mut s = live(&url, "gone2").await;
    s.p.task.abort();
    let took = until_play_finished(&mut s.p_sig, Duration::from_secs(10)).await;
    between(took, 3_800, 5_500);
    s.feeder.abort();
    server.stop().await;
}

#[tokio::test]
async fn a_closed_peer_connection_starts_the_restore_window_at_once() {
    let server = start_with(SHORT_WINDOW).await;
    let url = server.ws_url("ShortApp");
    let mut s = live(&url, "closed1").await;
    // pc.close(): RTCP BYE and DTLS close_notify; the socket stays open.
    s.feeder.abort();
    s.pub_peer.cmd.send(PeerCmd::Close).await.unwrap();
    let took = until_play_finished(&mut s.p_sig, Duration::from_secs(10)).await;
    // The 1.5 s window from the close, not from a silence noticed later.
    between(took, 1_300, 3_000);
    server.stop().await;
}

#[tokio::test]
async fn a_player_that_takes_no_codec_of_the_stream_gets_an_error_and_no_media() {
    let server = start().await;
    let url = server.ws_url("LiveApp");
    // The test publisher sends VP8.
    let (_pub_sig, pub_peer) = publisher(&url, "codec1", false).await;
    let feeder = feed(pub_peer.cmd.clone(), 0);

    let mut sig = Signal::connect(&url).await.unwrap();
    sig.play("codec1").await.unwrap();
    let offer = sig.expect("takeConfiguration", WAIT).await.unwrap();
    let mut peer = ClientPeer::with_video_codecs(LOCAL, false, true)
        .await
        .unwrap();
    let answer = peer.accept_offer(offer["sdp"].as_str().unwrap()).unwrap();
    assert!(answer.contains("H264") && !answer.contains("VP8"));
    sig.sdp("codec1", "answer", &answer).await.unwrap();
    let mut handle = peer.spawn();

    let error = sig.expect("notSetRemoteDescription", WAIT).await.unwrap();
    let why = error["information"].as_str().unwrap_or_default();
    assert!(why.contains("no codec") && why.contains("VP8"), "{error}");
    // No video ever reaches it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while let Ok(Some(e)) = tokio::time::timeout_at(deadline, handle.events.recv()).await {
        assert!(
            !matches!(
                e,
                PeerEvent::Media {
                    kind: str0m::media::MediaKind::Video,
                    ..
                }
            ),
            "video reached a player that cannot decode it"
        );
    }
    feeder.abort();
    server.stop().await;
}

/// A peer-to-peer peer whose network vanishes is seen only by its socket: it
/// stops answering pings, and after 4 s the other peer is told to `stop`.
#[tokio::test]
async fn a_p2p_peer_that_stops_answering_pings_leaves_the_call_within_5_s() {
    let server = start().await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    let join = serde_json::json!({"command": "join", "streamId": "call", "mode": "both"});
    a.send(join.clone()).await;
    a.expect("joined").await;
    b.send(join).await;
    b.expect("joined").await;
    a.expect("start").await;
    // From here b's socket is never read, so its pings go unanswered; a reads and answers.
    let t0 = Instant::now();
    let stop = loop {
        let v = a
            .try_recv(Duration::from_secs(8))
            .await
            .expect("a frame before a's socket goes quiet");
        if v["command"] == "stop" {
            break v;
        }
    };
    assert_eq!(stop["streamId"], "call");
    between(t0.elapsed(), 3_500, 6_500);
    server.stop().await;
}

/// Peers that answer pings stay in their call however long they say nothing.
#[tokio::test]
async fn p2p_peers_that_answer_pings_stay_while_silent() {
    let server = start().await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    let join = serde_json::json!({"command": "join", "streamId": "quiet", "mode": "both"});
    a.send(join.clone()).await;
    a.expect("joined").await;
    b.send(join).await;
    b.expect("joined").await;
    a.expect("start").await;
    let quiet = Duration::from_secs(7);
    let (fa, fb) = tokio::join!(
        tokio::time::timeout(quiet, a.try_recv(quiet)),
        tokio::time::timeout(quiet, b.try_recv(quiet))
    );
    // Timing out is the expected end: no frame came, and the socket did not close (None).
    assert!(
        fa.is_err() && fb.is_err(),
        "while both were silent: {fa:?} {fb:?}"
    );
    // Both still joined: a relayed message reaches the other.
    a.send(serde_json::json!({"command": "peerMessageCommand", "streamId": "quiet", "definition": "hi", "data": "x"}))
        .await;
    assert_eq!(b.expect("peerMessageCommand").await["data"], "x");
    server.stop().await;
}
