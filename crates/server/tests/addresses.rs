//! The addresses Tern announces: configured public addresses (with a 1:1 NAT's
//! port) in the candidates of a WHIP answer, UDP and passive TCP.

mod common;

use common::peers::LOCAL;
use common::{http, start_with};
use tern_load::peer::ClientPeer;

#[tokio::test]
async fn public_addresses_and_their_nat_port_are_the_candidates() {
    let server =
        start_with("public_ip = [\"203.0.113.7:40000\", \"198.51.100.2\"]\nmedia_workers = 1\n")
            .await;
    let mut peer = ClientPeer::new(LOCAL).await.unwrap();
    let offer = peer.publish_offer("pubaddr", true, true, false);
    let r = http(
        server.http,
        "POST",
        "/LiveApp/whip/pubaddr",
        &[("Content-Type", "application/sdp")],
        Some(&offer),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let answer = r.text();
    let candidates: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .collect();
    let port = server.media.port();
    // UDP and passive TCP on each address; the NAT's port for the first.
    for (proto, addr) in [
        ("udp", "203.0.113.7 40000".to_owned()),
        ("tcp", "203.0.113.7 40000".to_owned()),
        ("udp", format!("198.51.100.2 {port}")),
        ("tcp", format!("198.51.100.2 {port}")),
    ] {
        let found = candidates
            .iter()
            .any(|c| c.contains(&format!(" {proto} ")) && c.contains(&format!("{addr} typ host")));
        assert!(found, "no {proto} {addr} in {candidates:#?}");
    }
    assert_eq!(
        candidates.len(),
        4,
        "only the public addresses: {candidates:#?}"
    );
    server.stop().await;
}

/// A media socket on `[::]` is dual-stack: an IPv4 publisher and an IPv6
/// player meet on one worker, each answered in its own family.
#[tokio::test]
async fn a_dual_stack_media_socket_serves_ipv4_and_ipv6_peers() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here: skipped");
        return;
    }
    let dir = common::temp_dir("dualstack");
    let text = format!(
        "http_addr = \"127.0.0.1:0\"\nmedia_addr = \"[::]:0\"\nmedia_workers = 1\n\
         shutdown_drain_ms = 100\ndata_dir = {:?}\n",
        dir.0.display().to_string()
    );
    let config = tern_server::config::Config::from_toml(&text).unwrap();
    let running = tern_server::start(config).await.unwrap();
    let url = format!("ws://{}/LiveApp/websocket", running.http_addr);
    let (_sig, pub_peer) = common::peers::publisher(&url, "dual", false).await;
    let feeder = common::peers::feed(pub_peer.cmd.clone(), 0);

    let v6: std::net::IpAddr = "::1".parse().unwrap();
    let mut peer = ClientPeer::new(v6).await.unwrap();
    let offer = peer.play_offer(true, true);
    let r = http(
        running.http_addr,
        "POST",
        "/LiveApp/whep/dual",
        &[("Content-Type", "application/sdp")],
        Some(&offer),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let answer = r.text();
    assert!(
        answer
            .lines()
            .any(|l| l.starts_with("a=candidate:") && l.contains(" ::1 ")),
        "an IPv6 loopback candidate: {answer}"
    );
    peer.accept_answer(&answer).unwrap();
    let mut p = peer.spawn();
    common::peers::video_frames(&mut p, 5).await;
    feeder.abort();
    running.stop().await;
}
