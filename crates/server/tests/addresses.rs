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
