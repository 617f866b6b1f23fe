//! ICE-TCP's listener against garbage: a peer that sends anything on the media
//! port's TCP side hurts only its own connection; UDP sessions go on. (A real
//! browser connecting over TCP is e2e/tests/ice-tcp.test.mjs.)

mod common;

use std::time::Duration;

use common::peers::*;
use common::{start, start_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn garbage_on_the_tcp_media_port_harms_nobody() {
    let server = start().await;
    let url = server.ws_url("LiveApp");
    let (_sig, pub_peer) = publisher(&url, "tcp1", false).await;
    let feeder = feed(pub_peer.cmd.clone(), 0);
    let (_psig, mut player) = player(&url, "tcp1").await;
    video_frames(&mut player, 3).await;

    let attempts: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        vec![0, 0, 0, 0, 0, 0],                    // empty frames
        vec![0xff, 0xff, 1, 2, 3],                 // a 64 KiB frame that never ends
        [&[0u8, 20][..], &[0u8; 20][..]].concat(), // a STUN-sized frame of zeros
        (0..4000u32).map(|i| (i * 7919 % 251) as u8).collect(),
    ];
    for bytes in attempts {
        let mut s = TcpStream::connect(server.media)
            .await
            .expect("TCP on the media port");
        s.write_all(&bytes).await.unwrap();
        // Nothing valid came: no answer, and the server keeps the socket or drops it.
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await;
        assert!(!matches!(read, Ok(Ok(n)) if n > 0), "an answer to garbage");
    }
    // The UDP session never noticed.
    video_frames(&mut player, 10).await;
    feeder.abort();
    server.stop().await;
}

#[tokio::test]
async fn ice_tcp_can_be_turned_off() {
    let server = start_with("ice_tcp = false\n").await;
    let refused = TcpStream::connect(server.media).await;
    assert!(
        refused.is_err(),
        "nothing listens on TCP with ice_tcp = false"
    );
    server.stop().await;
}
