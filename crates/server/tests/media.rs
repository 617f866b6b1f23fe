//! Media through the real server with str0m clients: frames arrive intact,
//! data channels and REST data reach players, a dropped publisher is restored,
//! and garbage UDP does not disturb a running stream.

mod common;

use std::time::Duration;

use common::peers::*;
use common::start;
use serde_json::json;
use tern_load::signal::Signal;

#[tokio::test]
async fn frames_data_and_stop_reach_players() {
    let server = start().await;
    let url = server.ws_url("LiveApp");
    let (mut pub_sig, pub_peer) = publisher(&url, "m1", false).await;
    let feeder = feed(pub_peer.cmd.clone(), 0);
    let (mut p1_sig, mut p1) = player(&url, "m1").await;
    let (_p2_sig, mut p2) = player(&url, "m1").await;
    for p in [&mut p1, &mut p2] {
        let seqs = video_frames(p, 20).await;
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    }

    // The publisher's data channel reaches both players.
    send_data(&pub_peer, false, b"hello players").await;
    for p in [&mut p1, &mut p2] {
        let (binary, data) = channel_data(p).await;
        assert!(!binary);
        assert_eq!(data, b"hello players");
    }

    // A 64 KiB binary message arrives whole and marked binary.
    let big: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
    send_data(&pub_peer, true, &big).await;
    let (binary, data) = channel_data(&mut p1).await;
    assert!(binary);
    assert_eq!(data, big);

    // REST data goes to every player too.
    let body = "from the server";
    let res = post(server.http, "/LiveApp/rest/v2/broadcasts/m1/data", body).await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    let (_, data) = channel_data(&mut p1).await;
    assert_eq!(data, body.as_bytes());
    let res = post(server.http, "/LiveApp/rest/v2/broadcasts/nobody/data", body).await;
    assert!(res.starts_with("HTTP/1.1 404"), "{res}");

    // getStreamInfo reports the publisher's VP8 at 640x480.
    pub_sig
        .send(json!({"command":"getStreamInfo","streamId":"m1"}))
        .await
        .unwrap();
    let info = pub_sig.expect("streamInformation", WAIT).await.unwrap();
    assert_eq!(info["streamInfo"][0]["videoCodec"], "VP8");
    assert_eq!(info["streamInfo"][0]["streamHeight"], 480);

    pub_sig
        .send(json!({"command":"stop","streamId":"m1"}))
        .await
        .unwrap();
    p1_sig.expect("play_finished", WAIT).await.unwrap();
    feeder.abort();
    server.stop().await;
}

/// With several media workers, streams spread over them (each worker has its
/// own UDP port) and every stream's frames reach its players intact.
#[tokio::test]
async fn streams_spread_over_media_workers_and_each_flows() {
    let server = common::start_with("media_workers = 3\n").await;
    let url = server.ws_url("LiveApp");
    let mut ports = std::collections::BTreeSet::new();
    let mut running = Vec::new();
    for i in 0..6 {
        let id = format!("w{i}");
        let (sig, publisher) = publisher(&url, &id, false).await;
        let feeder = feed(publisher.cmd.clone(), 0);
        let (psig, mut p, port) = player_at(&url, &id).await;
        let seqs = video_frames(&mut p, 10).await;
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{id}: {seqs:?}");
        ports.insert(port);
        running.push((sig, publisher, feeder, psig, p));
    }
    assert!(ports.len() >= 2, "6 streams on one worker: {ports:?}");
    // Every stream still flows with the others live.
    for (_, _, _, _, p) in &mut running {
        video_frames(p, 5).await;
    }
    for (_, _, feeder, _, _) in running {
        feeder.abort();
    }
    server.stop().await;
}

/// Past `spread_players_after` peers on its worker, a stream's next player
/// goes to another worker, which gets the publisher's packets relayed: frames
/// arrive intact there too, channel messages cross both ways, and a restored
/// publisher reaches the relayed player.
#[tokio::test]
async fn players_past_a_busy_worker_get_the_stream_relayed_from_it() {
    let server = common::start_with("media_workers = 2\nspread_players_after = 1\n").await;
    let url = server.ws_url("LiveApp");
    let (pub_sig, mut pub_peer) = publisher(&url, "s1", false).await;
    let feeder = feed(pub_peer.cmd.clone(), 0);
    // The publisher's worker holds one peer: the first player goes elsewhere,
    // the second (both workers at one) back to the publisher's.
    let (mut s1, mut relayed, port1) = player_at(&url, "s1").await;
    let (_s2, mut local, port2) = player_at(&url, "s1").await;
    assert_ne!(port1, port2, "one player per worker");
    for p in [&mut relayed, &mut local] {
        let seqs = video_frames(p, 20).await;
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    }

    // The publisher's channel reaches both players ...
    send_data(&pub_peer, false, b"to everyone").await;
    for p in [&mut relayed, &mut local] {
        assert_eq!(channel_data(p).await.1, b"to everyone");
    }
    // ... and the relayed player's reaches the publisher and the other player.
    send_data(&relayed, true, &vec![7; 3000]).await;
    for p in [&mut pub_peer, &mut local] {
        assert_eq!(channel_data(p).await, (true, vec![7; 3000]));
    }
    // So does the other way: the publisher's worker passes it on.
    send_data(&local, false, b"from beside the publisher").await;
    for p in [&mut pub_peer, &mut relayed] {
        assert_eq!(channel_data(p).await.1, b"from beside the publisher");
    }

    // A restored publisher (the same worker, by its stream) feeds the relayed
    // player as well.
    feeder.abort();
    drop(pub_sig);
    pub_peer.task.abort();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (mut sig2, peer2) = publisher(&url, "s1", true).await;
    let feeder2 = feed(peer2.cmd.clone(), 1_000_000);
    for p in [&mut relayed, &mut local] {
        loop {
            if video_frames(p, 1).await[0] > 1_000_000 {
                break;
            }
        }
        let seqs = video_frames(p, 10).await;
        assert!(seqs.iter().all(|s| *s > 1_000_000), "{seqs:?}");
    }
    sig2.send(json!({"command":"stop","streamId":"s1"}))
        .await
        .unwrap();
    s1.expect("play_finished", WAIT).await.unwrap();
    feeder2.abort();
    server.stop().await;
}

#[tokio::test]
async fn a_dropped_publisher_is_restored_and_players_keep_playing() {
    let server = start().await;
    let url = server.ws_url("LiveApp");
    let (pub_sig, pub_peer) = publisher(&url, "r1", false).await;
    let feeder = feed(pub_peer.cmd.clone(), 0);
    let (mut p_sig, mut p) = player(&url, "r1").await;
    video_frames(&mut p, 10).await;

    // Network change: the socket and the peer connection vanish.
    feeder.abort();
    drop(pub_sig);
    pub_peer.task.abort();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (_sig2, peer2) = publisher(&url, "r1", true).await;
    let feeder2 = feed(peer2.cmd.clone(), 1_000_000);
    let seqs = loop {
        let s = video_frames(&mut p, 1).await;
        if s[0] >= 1_000_000 {
            break video_frames(&mut p, 10).await;
        }
    };
    assert!(
        seqs.iter().all(|s| *s > 1_000_000),
        "frames of the new publisher"
    );
    assert!(
        !p_sig
            .backlog()
            .iter()
            .any(|v| v["definition"] == "play_finished"),
        "no play_finished during the restore"
    );
    assert!(
        tokio::time::timeout(
            Duration::from_millis(300),
            p_sig.expect("play_finished", WAIT)
        )
        .await
        .is_err(),
        "the player was not ended"
    );
    feeder2.abort();
    server.stop().await;
}

#[tokio::test]
async fn random_udp_and_websocket_garbage_leave_a_stream_running() {
    let server = start().await;
    let url = server.ws_url("LiveApp");
    let (_pub_sig, pub_peer) = publisher(&url, "g1", false).await;
    let feeder = feed(pub_peer.cmd.clone(), 0);
    let (_p_sig, mut p) = player(&url, "g1").await;
    let before = *video_frames(&mut p, 5).await.iter().max().unwrap();

    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..10_000u64 {
        let len = (next() % 1400) as usize + 1;
        let mut d: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Some look like STUN, DTLS and RTP so they get past the first byte.
        match i % 4 {
            0 => d[0] = 0,
            1 => d[0] = 22,
            2 => d[0] = 0x80,
            _ => {}
        }
        let _ = sock.send_to(&d, server.media);
    }
    let mut junk = Signal::connect(&url).await.unwrap();
    for i in 0..1_000u64 {
        let text: String = (0..(next() % 300))
            .map(|_| (32 + next() % 95) as u8 as char)
            .collect();
        let frame = if i % 2 == 0 {
            text
        } else {
            format!("{{\"command\":\"{text}\",\"streamId\":\"g1\"}}")
        };
        if junk.send_text(&frame).await.is_err() {
            break;
        }
    }
    // The flood may cost some packets (and so reorder repaired frames), but new
    // intact frames keep coming.
    let seqs = video_frames(&mut p, 20).await;
    assert!(
        seqs.iter().filter(|s| **s > before + 5).count() >= 10,
        "{seqs:?}"
    );
    feeder.abort();
    server.stop().await;
}

async fn post(addr: std::net::SocketAddr, path: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}
