//! Real str0m peers against the server: publishers and players made over the
//! WebSocket protocol, media fed and read back.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::json;
use str0m::media::MediaKind;
use tern_load::peer::{ClientPeer, PeerCmd, PeerEvent, PeerHandle};
use tern_load::signal::Signal;
use tern_load::synth;

pub const WAIT: Duration = Duration::from_secs(10);
pub const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// Publishes `id` with audio, video and a data channel; returns when live.
pub async fn publisher(url: &str, id: &str, restored: bool) -> (Signal, PeerHandle) {
    let mut sig = Signal::connect(url).await.unwrap();
    sig.publish(id).await.unwrap();
    sig.expect("start", WAIT).await.unwrap();
    let mut peer = ClientPeer::new(LOCAL).await.unwrap();
    let offer = peer.publish_offer(id, true, true, true);
    sig.sdp(id, "offer", &offer).await.unwrap();
    let answer = sig.expect("takeConfiguration", WAIT).await.unwrap();
    assert_eq!(answer["type"], "answer");
    peer.accept_answer(answer["sdp"].as_str().unwrap()).unwrap();
    let mut handle = peer.spawn();
    wait_event(&mut handle, |e| matches!(e, PeerEvent::Connected)).await;
    wait_event(&mut handle, |e| matches!(e, PeerEvent::ChannelOpen { .. })).await;
    let started = if restored {
        "session_restored"
    } else {
        "publish_started"
    };
    sig.expect(started, WAIT).await.unwrap();
    (sig, handle)
}

pub async fn player(url: &str, id: &str) -> (Signal, PeerHandle) {
    let (sig, handle, _) = player_at(url, id).await;
    (sig, handle)
}

/// Like `player`, with the server's media port from its offer's candidates.
pub async fn player_at(url: &str, id: &str) -> (Signal, PeerHandle, u16) {
    let mut sig = Signal::connect(url).await.unwrap();
    sig.play(id).await.unwrap();
    let offer = sig.expect("takeConfiguration", WAIT).await.unwrap();
    assert_eq!(offer["type"], "offer");
    assert!(offer["idMapping"]
        .as_object()
        .unwrap()
        .values()
        .any(|v| v == &json!(format!("ARDAMSv{id}"))));
    let sdp = offer["sdp"].as_str().unwrap();
    let port = sdp
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.strip_prefix("a=candidate:")?.split(' ').collect();
            f.get(5)?.parse().ok()
        })
        .expect("a host candidate in the offer");
    let mut peer = ClientPeer::new(LOCAL).await.unwrap();
    let answer = peer.accept_offer(sdp).unwrap();
    sig.sdp(id, "answer", &answer).await.unwrap();
    let mut handle = peer.spawn();
    wait_event(&mut handle, |e| matches!(e, PeerEvent::Connected)).await;
    // The server opens every player's data channel right after DTLS.
    wait_event(&mut handle, |e| matches!(e, PeerEvent::ChannelOpen { .. })).await;
    sig.expect("play_started", WAIT).await.unwrap();
    (sig, handle, port)
}

pub async fn wait_event(h: &mut PeerHandle, mut pred: impl FnMut(&PeerEvent) -> bool) -> PeerEvent {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, h.events.recv()).await {
            Ok(Some(e)) if pred(&e) => return e,
            Ok(Some(PeerEvent::Closed(why))) => panic!("peer closed: {why}"),
            Ok(Some(_)) => continue,
            _ => panic!("no matching peer event within {WAIT:?}"),
        }
    }
}

/// Sends one message on a peer's data channel.
pub async fn send_data(h: &PeerHandle, binary: bool, data: &[u8]) {
    let data = data.to_vec();
    h.cmd.send(PeerCmd::Data { binary, data }).await.unwrap();
}

/// The next message on a peer's data channel: (binary, bytes).
pub async fn channel_data(h: &mut PeerHandle) -> (bool, Vec<u8>) {
    match wait_event(h, |e| matches!(e, PeerEvent::ChannelData { .. })).await {
        PeerEvent::ChannelData { binary, data } => (binary, data),
        _ => unreachable!(),
    }
}

/// Sends video frames (seq from `first`) every 33 ms and audio every 20 ms
/// until aborted.
pub fn feed(cmd: tokio::sync::mpsc::Sender<PeerCmd>, first: u64) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seq = first;
        let mut tick = tokio::time::interval(Duration::from_millis(33));
        loop {
            tick.tick().await;
            seq += 1;
            let video = PeerCmd::Frame {
                kind: MediaKind::Video,
                data: synth::frame(seq, 3000),
            };
            let audio = PeerCmd::Frame {
                kind: MediaKind::Audio,
                data: synth::frame(seq, 60),
            };
            if cmd.send(video).await.is_err() || cmd.send(audio).await.is_err() {
                return;
            }
        }
    })
}

/// Collects intact video frames until `n` arrived; returns their seqs.
pub async fn video_frames(h: &mut PeerHandle, n: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    while seqs.len() < n {
        if let PeerEvent::Media { data, .. } = wait_event(h, |e| {
            matches!(
                e,
                PeerEvent::Media {
                    kind: MediaKind::Video,
                    ..
                }
            )
        })
        .await
        {
            let (seq, _) = synth::read(&data).expect("frames arrive intact");
            seqs.push(seq);
        }
    }
    seqs
}
