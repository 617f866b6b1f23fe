//! RTMP ingest against misbehaving clients, on a real server: a broken
//! handshake, a chunk stream rml_rtmp chokes on, an unknown application. Each
//! costs only its own connection; Debian's ffmpeg then still publishes. A
//! publisher that sends B-frames is told so in its status.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
};
use rml_rtmp::time::RtmpTimestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn server() -> (common::Server, SocketAddr) {
    let s = common::start_with("rtmp_addr = \"127.0.0.1:0\"\n").await;
    let rtmp = s
        .running
        .as_ref()
        .and_then(|r| r.rtmp_addr)
        .expect("RTMP listens");
    (s, rtmp)
}

/// The client side of the handshake; the bytes that came after it.
async fn handshake(tcp: &mut TcpStream) -> Vec<u8> {
    let mut hs = Handshake::new(PeerType::Client);
    let c0c1 = hs.generate_outbound_p0_and_p1().expect("C0 and C1");
    tcp.write_all(&c0c1).await.unwrap();
    let mut buf = vec![0; 8192];
    loop {
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed during the handshake");
        match hs.process_bytes(&buf[..n]).expect("a valid handshake") {
            HandshakeProcessResult::InProgress { response_bytes } => {
                tcp.write_all(&response_bytes).await.unwrap();
            }
            HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            } => {
                tcp.write_all(&response_bytes).await.unwrap();
                return remaining_bytes;
            }
        }
    }
}

/// True if the server closes the connection within `within`.
async fn closed_within(tcp: &mut TcpStream, within: Duration) -> bool {
    let mut buf = vec![0; 8192];
    let read_all = async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read_all).await.is_ok()
}

/// A command message whose second chunk says the message is shorter than
/// what its first chunk already carried.
fn shrinking_message() -> Vec<u8> {
    let mut b = vec![0x03, 0, 0, 0, 0, 0x01, 0x2c, 0x14, 0, 0, 0, 0];
    b.extend([0x02; 128]);
    b.extend([0x43, 0, 0, 0, 0, 0, 0x0a, 0x14]);
    b.extend([0x05; 10]);
    b
}

#[tokio::test]
async fn broken_clients_cost_only_their_own_connection() {
    let (server, rtmp) = server().await;

    // Not RTMP at all.
    let mut garbage = TcpStream::connect(rtmp).await.unwrap();
    garbage.write_all(&[0x47; 3000]).await.unwrap();
    assert!(
        closed_within(&mut garbage, Duration::from_secs(5)).await,
        "a client that is not RTMP is closed"
    );

    // A chunk stream that makes rml_rtmp panic: caught, that connection ends.
    let mut broken = TcpStream::connect(rtmp).await.unwrap();
    handshake(&mut broken).await;
    broken.write_all(&shrinking_message()).await.unwrap();
    assert!(
        closed_within(&mut broken, Duration::from_secs(5)).await,
        "a malformed chunk stream ends its connection"
    );

    // Another client connecting meanwhile is served.
    let url = format!("rtmp://{rtmp}/LiveApp/after_garbage");
    common::encoder::ffmpeg_publishes(&server, &url, "flv", "after_garbage", "RTMP").await;
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_application_is_rejected_at_connect() {
    let (server, rtmp) = server().await;
    let mut tcp = TcpStream::connect(rtmp).await.unwrap();
    let left = handshake(&mut tcp).await;
    let (mut session, first) = ClientSession::new(ClientSessionConfig::new()).unwrap();
    let mut out: Vec<ClientSessionResult> = first;
    out.push(session.request_connection("NoSuchApp".into()).unwrap());
    for r in out {
        if let ClientSessionResult::OutboundResponse(p) = r {
            tcp.write_all(&p.bytes).await.unwrap();
        }
    }
    let mut pending = left;
    let mut buf = vec![0; 8192];
    let mut rejected = None;
    for _ in 0..20 {
        for r in session.handle_input(&pending).unwrap() {
            if let ClientSessionResult::RaisedEvent(
                ClientSessionEvent::ConnectionRequestRejected { description },
            ) = r
            {
                rejected = Some(description);
            }
        }
        if rejected.is_some() {
            break;
        }
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
            .await
            .expect("the server answers connect")
            .unwrap();
        if n == 0 {
            break;
        }
        pending = buf[..n].to_vec();
    }
    let why = rejected.expect("connect to an unknown app is rejected");
    assert!(why.contains("NoSuchApp"), "{why}");
    server.stop().await;
}

/// The video tags of an FLV file Debian's ffmpeg makes: H.264 with B-frames.
fn b_frame_tags() -> Vec<(u32, Vec<u8>)> {
    let dir = common::temp_dir("rtmp-bframes");
    std::fs::create_dir_all(&dir.0).unwrap();
    let file = dir.0.join("b.flv");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=320x240:rate=30")
        .args([
            "-t", "2", "-c:v", "libx264", "-bf", "2", "-g", "30", "-f", "flv",
        ])
        .arg(&file)
        .status()
        .expect("ffmpeg runs")
        .success();
    assert!(ok, "ffmpeg made the FLV file");
    let flv = std::fs::read(&file).unwrap();
    let mut tags = Vec::new();
    let mut at = 9 + 4; // header, first previous-tag size
    while at + 11 <= flv.len() {
        let size = u32::from_be_bytes([0, flv[at + 1], flv[at + 2], flv[at + 3]]) as usize;
        let ms = u32::from_be_bytes([flv[at + 7], flv[at + 4], flv[at + 5], flv[at + 6]]);
        let body = at + 11..at + 11 + size;
        if flv[at] == 9 && body.end <= flv.len() {
            tags.push((ms, flv[body].to_vec()));
        }
        at += 11 + size + 4;
    }
    tags
}

#[tokio::test]
async fn a_publisher_sending_b_frames_gets_a_warning_status_once() {
    let (server, rtmp) = server().await;
    let tags = b_frame_tags();
    assert!(tags.len() > 30, "{} video tags", tags.len());
    let mut tcp = TcpStream::connect(rtmp).await.unwrap();
    let mut pending = handshake(&mut tcp).await;
    let (mut session, mut out) = ClientSession::new(ClientSessionConfig::new()).unwrap();
    out.push(session.request_connection("LiveApp".into()).unwrap());
    let mut buf = vec![0; 65536];
    let mut warnings = Vec::new();
    let mut sent = false;
    for _ in 0..200 {
        for r in out.drain(..) {
            if let ClientSessionResult::OutboundResponse(p) = r {
                tcp.write_all(&p.bytes).await.unwrap();
            }
        }
        for r in session.handle_input(&pending).unwrap() {
            match r {
                ClientSessionResult::OutboundResponse(p) => tcp.write_all(&p.bytes).await.unwrap(),
                ClientSessionResult::RaisedEvent(ClientSessionEvent::ConnectionRequestAccepted) => {
                    out.push(
                        session
                            .request_publishing("bframes".into(), PublishRequestType::Live)
                            .unwrap(),
                    );
                }
                ClientSessionResult::RaisedEvent(ClientSessionEvent::PublishRequestAccepted) => {
                    for (ms, tag) in &tags {
                        let data = bytes::Bytes::from(tag.clone());
                        out.push(
                            session
                                .publish_video_data(data, RtmpTimestamp::new(*ms), false)
                                .unwrap(),
                        );
                    }
                    sent = true;
                }
                ClientSessionResult::RaisedEvent(
                    ClientSessionEvent::UnhandleableOnStatusCode { code },
                ) => warnings.push(code),
                _ => {}
            }
        }
        pending.clear();
        if !out.is_empty() {
            continue;
        }
        match tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => pending = buf[..n].to_vec(),
            Ok(_) => break,
            Err(_) if sent => break, // quiet: everything was said
            Err(_) => panic!("the server went quiet before the publish was accepted"),
        }
    }
    assert!(sent, "the publish was accepted");
    assert_eq!(warnings, vec!["NetStream.Publish.BFrames".to_string()]);
    server.stop().await;
}
