//! The SDK and sample pages are served from the binary.

mod common;

use common::start;

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out[9..12].parse().unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[tokio::test]
async fn sdk_and_samples_are_served_per_app() {
    let server = start().await;
    let (status, head, body) = get(server.http, "/LiveApp/js/webrtc_adaptor.js").await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/javascript"), "{head}");
    assert!(body.contains("WebRTCAdaptor"));
    let (status, head, _) = get(server.http, "/WebRTCAppEE/").await;
    assert_eq!(status, 200);
    assert!(head.contains("text/html"), "{head}");
    server.stop().await;
}

#[tokio::test]
async fn unknown_apps_and_escapes_are_404() {
    let server = start().await;
    for path in [
        "/NoApp/js/webrtc_adaptor.js",
        "/NoApp/",
        "/LiveApp/js/../../Cargo.toml",
        "/LiveApp/js/%2e%2e/%2e%2e/Cargo.toml",
        "/LiveApp/no-such-page.html",
    ] {
        let (status, _, _) = get(server.http, path).await;
        assert_eq!(status, 404, "{path}");
    }
    server.stop().await;
}
