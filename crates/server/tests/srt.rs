//! SRT ingest on a real server: garbage datagrams and a caller for an unknown
//! application cost nothing else; Debian's ffmpeg then publishes MPEG-TS.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use srt_tokio::SrtSocket;

async fn server() -> (common::Server, SocketAddr) {
    let s = common::start_with("srt_addr = \"127.0.0.1:0\"\n").await;
    let srt = s
        .running
        .as_ref()
        .and_then(|r| r.srt_addr)
        .expect("SRT listens");
    (s, srt)
}

#[tokio::test]
async fn garbage_and_refused_callers_cost_nothing_else() {
    let (server, srt) = server().await;
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for n in 0..200u32 {
        let junk: Vec<u8> = (0..(n % 1400)).map(|i| (i * 31 + n) as u8).collect();
        udp.send_to(&junk, srt).await.unwrap();
    }
    let refused = tokio::time::timeout(
        Duration::from_secs(10),
        SrtSocket::builder().call(srt, Some("NoSuchApp/cam1")),
    )
    .await
    .expect("the caller hears back");
    assert!(refused.is_err(), "a caller of an unknown app is rejected");

    let id = "srt_after_garbage";
    let url = format!("srt://{srt}?streamid=LiveApp/{id}&mode=caller");
    common::encoder::ffmpeg_publishes(&server, &url, "mpegts", id, "SRT").await;
    server.stop().await;
}
