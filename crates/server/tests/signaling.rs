//! The real server over a real WebSocket: everything that needs no media.

mod common;

use std::time::Duration;

use common::{start, start_with, Client};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn healthz_answers() {
    let server = start().await;
    let body = http_get(server.http, "/healthz").await;
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn unknown_app_is_404() {
    let server = start().await;
    let res = tokio_tungstenite::connect_async(server.ws_url("NoSuchApp")).await;
    let err = res.expect_err("no socket for an unknown app").to_string();
    assert!(err.contains("404"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn apps_from_config_exist() {
    let server = start_with("[apps.Custom]\nstunServerURI = \"stun:127.0.0.1:3478\"\n").await;
    let mut c = Client::connect(&server.ws_url("Custom")).await;
    c.send(json!({"command":"getIceServerConfig"})).await;
    let v = c.recv().await;
    assert_eq!(v["command"], "iceServerConfig");
    assert_eq!(v["stunServerUri"], "stun:127.0.0.1:3478");
    server.stop().await;
}

#[tokio::test]
async fn ping_pong_and_ice_config() {
    let server = start().await;
    let mut c = server.client().await;
    c.send(json!({"command":"ping"})).await;
    assert_eq!(c.recv().await, json!({"command":"pong"}));
    c.send(json!({"command":"getIceServerConfig"})).await;
    let v = c.recv().await;
    assert_eq!(v["command"], "iceServerConfig");
    assert!(v["stunServerUri"].as_str().unwrap().starts_with("stun:"));
    server.stop().await;
}

#[tokio::test]
async fn publish_answers_start_and_errors_follow_the_protocol() {
    let server = start().await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    a.send(json!({"command":"publish","streamId":"s1","video":true,"audio":true}))
        .await;
    assert_eq!(a.recv().await["command"], "start");
    a.send(json!({"command":"publish","streamId":"s1"})).await;
    assert_eq!(a.recv().await["definition"], "already_publishing");
    b.send(json!({"command":"publish","streamId":"s1"})).await;
    let v = b.recv().await;
    assert_eq!(v["definition"], "streamIdInUse");
    assert_eq!(v["streamId"], "s1");
    b.send(json!({"command":"publish","streamId":""})).await;
    let v = b.recv().await;
    assert_eq!(v["definition"], "noStreamNameSpecified");
    b.send(json!({"command":"publish","streamId":"no spaces"}))
        .await;
    assert_eq!(b.recv().await["definition"], "invalidStreamName");
    b.send(json!({"command":"play","streamId":"nothing-here"}))
        .await;
    let v = b.recv().await;
    assert_eq!(v["definition"], "no_stream_exist");
    assert_eq!(v["error_code"], "404");
    // stop frees the id at once for the SDK's retry.
    a.send(json!({"command":"stop","streamId":"s1"})).await;
    assert_eq!(a.recv().await["definition"], "publish_finished");
    b.send(json!({"command":"publish","streamId":"s1"})).await;
    assert_eq!(b.recv().await["command"], "start");
    server.stop().await;
}

#[tokio::test]
async fn closing_a_socket_frees_its_stream() {
    let server = start().await;
    let mut a = server.client().await;
    a.send(json!({"command":"publish","streamId":"gone"})).await;
    assert_eq!(a.recv().await["command"], "start");
    drop(a);
    let mut b = server.client().await;
    let mut ok = false;
    for _ in 0..50 {
        b.send(json!({"command":"publish","streamId":"gone"})).await;
        let v = b.recv().await;
        if v["command"] == "start" {
            ok = true;
            break;
        }
        assert_eq!(v["definition"], "streamIdInUse");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "the id was freed when the first socket closed");
    server.stop().await;
}

#[tokio::test]
async fn bad_sdp_is_not_set_remote_description() {
    let server = start().await;
    let mut c = server.client().await;
    c.send(json!({"command":"publish","streamId":"s"})).await;
    assert_eq!(c.recv().await["command"], "start");
    c.send(json!({"command":"takeConfiguration","streamId":"s","type":"offer","sdp":"this is not SDP"}))
        .await;
    let v = c.recv().await;
    assert_eq!(v["definition"], "notSetRemoteDescription");
    assert_eq!(v["streamId"], "s");
    // The session is fine afterwards.
    c.send(json!({"command":"ping"})).await;
    assert_eq!(c.recv().await["command"], "pong");
    server.stop().await;
}

#[tokio::test]
async fn offer_without_common_codec_is_not_set_local_description() {
    let server = start().await;
    let mut c = server.client().await;
    c.send(json!({"command":"publish","streamId":"vp9"})).await;
    assert_eq!(c.recv().await["command"], "start");
    c.send(json!({"command":"takeConfiguration","streamId":"vp9","type":"offer","sdp": VP9_ONLY_OFFER}))
        .await;
    let v = c.recv().await;
    assert_eq!(v["definition"], "notSetLocalDescription", "{v}");
    assert!(v["information"].as_str().unwrap().contains("codec"), "{v}");
    server.stop().await;
}

#[tokio::test]
async fn malformed_frames_get_errors_and_the_socket_stays_usable() {
    let server = start().await;
    let mut c = server.client().await;
    for bad in ["{", "[]", "null", r#"{"command":7}"#, "\u{0}\u{1}"] {
        c.send_text(bad).await;
        let v = c.recv().await;
        assert_eq!(v["definition"], "malformed_message", "{bad}");
    }
    c.ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(c.recv().await["definition"], "malformed_message");
    c.send(json!({"command":"someFutureCommand","streamId":"x"}))
        .await;
    c.send(json!({"command":"ping"})).await;
    assert_eq!(
        c.recv().await["command"],
        "pong",
        "unknown commands get no reply"
    );
    server.stop().await;
}

#[tokio::test]
async fn oversized_frames_close_the_socket_with_a_reason() {
    let server = start().await;
    let mut big = server.client().await;
    let mut other = server.client().await;
    let huge = format!(r#"{{"command":"ping","pad":"{}"}}"#, "x".repeat(2 << 20));
    let _ = big.ws.send(Message::Text(huge.into())).await;
    let mut reason = None;
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(5), big.ws.next()).await {
        match msg {
            Ok(Message::Close(Some(frame))) => {
                reason = Some((u16::from(frame.code), frame.reason.to_string()));
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    let (code, text) = reason.expect("a close frame with a reason");
    assert_eq!(code, 1009);
    assert!(text.contains("limit"), "{text}");
    other.send(json!({"command":"ping"})).await;
    assert_eq!(
        other.recv().await["command"],
        "pong",
        "other sessions unaffected"
    );
    server.stop().await;
}

#[tokio::test]
async fn garbage_udp_does_not_hurt() {
    let server = start().await;
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut x: u32 = 12345;
    for i in 0..2000 {
        let len = (i % 1400) + 1;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let _ = sock.send_to(&data, server.media);
    }
    // STUN-looking and DTLS-looking garbage too.
    let _ = sock.send_to(&[0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3], server.media);
    let _ = sock.send_to(&[22, 254, 253, 0, 0, 0, 0], server.media);
    let mut c = server.client().await;
    c.send(json!({"command":"ping"})).await;
    assert_eq!(c.recv().await["command"], "pong");
    server.stop().await;
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

const VP9_ONLY_OFFER: &str = "v=0\r\n\
o=- 1 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0\r\n\
a=msid-semantic: WMS\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 98\r\n\
c=IN IP4 0.0.0.0\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:abcd\r\n\
a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n\
a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
a=setup:actpass\r\n\
a=mid:0\r\n\
a=sendonly\r\n\
a=rtcp-mux\r\n\
a=rtpmap:98 VP9/90000\r\n\
a=fmtp:98 profile-id=0\r\n\
a=ssrc:1111 cname:x\r\n";

#[tokio::test]
async fn a_client_close_is_answered_with_a_close_frame() {
    let server = start().await;
    let mut c = server.client().await;
    c.ws.send(Message::Close(None)).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), c.ws.next())
        .await
        .unwrap();
    assert!(matches!(reply, Some(Ok(Message::Close(_)))), "{reply:?}");
    server.stop().await;
}

#[tokio::test]
async fn update_stream_meta_data_reaches_rest() {
    let server = start().await;
    let mut a = server.client().await;
    a.send(json!({"command":"publish","streamId":"meta1","metaData":"before"}))
        .await;
    assert_eq!(a.recv().await["command"], "start");
    let path = "/LiveApp/rest/v2/broadcasts/meta1";
    let r = common::http(server.http, "GET", path, &[], None).await;
    assert_eq!(r.body["metaData"], "before", "{}", r.body);
    a.send(json!({"command":"updateStreamMetaData","streamId":"meta1","metaData":"after"}))
        .await;
    // No reply comes to updateStreamMetaData: poll REST, bounded.
    let mut seen = Value::Null;
    for _ in 0..50 {
        seen = common::http(server.http, "GET", path, &[], None).await.body;
        if seen["metaData"] == "after" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen["metaData"], "after", "{seen}");
    server.stop().await;
}
