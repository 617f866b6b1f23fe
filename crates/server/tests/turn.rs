//! The built-in TURN server against a real third-party client: coturn's
//! `turnutils_uclient` allocates and relays over UDP, TCP and TLS (on the
//! TURN ports and on the HTTPS port) with TURN REST API credentials to `turnutils_peer` (an echo peer the configuration
//! allows); wrong or expired credentials get 401, a peer that is not Tern's
//! gets 403, and Tern's own media socket is reachable with no configuration.

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

const SECRET: &str = "s3cret";

fn tool(name: &str) -> Command {
    let mut c = Command::new(name);
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

/// Runs `turnutils_uclient` with `args` against `server`; (success, output).
async fn uclient(server: SocketAddr, args: &[&str]) -> (bool, String) {
    let port = server.port().to_string();
    let mut cmd = tool("turnutils_uclient");
    cmd.args(["-p", &port, "-n", "10", "-m", "1", "-z", "5"])
        .args(args)
        .arg(server.ip().to_string());
    let out = tokio::time::timeout(Duration::from_secs(40), cmd.output())
        .await
        .expect("turnutils_uclient finishes within 40 s")
        .expect("turnutils_uclient runs (Debian package coturn; scripts/test.sh installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The messages the client got back, from its summary line.
fn received(output: &str) -> (u64, u64) {
    let line = output
        .lines()
        .rfind(|l| l.contains("tot_send_msgs=") && !l.contains("msz="))
        .unwrap_or_else(|| panic!("no summary in:\n{output}"));
    let num = |key: &str| -> u64 {
        let rest = &line[line.find(key).unwrap() + key.len()..];
        rest.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    };
    (num("tot_send_msgs="), num("tot_recv_msgs="))
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn echo_peer(port: u16) -> Child {
    tool("turnutils_peer")
        .args(["-L", "127.0.0.1", "-p", &port.to_string()])
        .spawn()
        .expect("turnutils_peer runs (Debian package coturn)")
}

struct Cert {
    dir: std::path::PathBuf,
}

impl Drop for Cert {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn cert() -> Cert {
    let dir = std::env::temp_dir().join(format!("tern-turn-cert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), ck.signing_key.serialize_pem()).unwrap();
    Cert { dir }
}

#[tokio::test]
async fn a_third_party_client_relays_over_udp_tcp_and_tls_with_rest_credentials() {
    let cert = cert();
    let server = common::start_with(&format!(
        "tls_cert = {:?}\ntls_key = {:?}\n[turn]\naddr = \"127.0.0.1:0\"\ntls_addr = \"127.0.0.1:0\"\n\
         secret = \"{SECRET}\"\nallowed_peers = \"127.0.0.1/32\"\n",
        cert.dir.join("cert.pem").display().to_string(),
        cert.dir.join("key.pem").display().to_string(),
    ))
    .await;
    let running = server.running.as_ref().unwrap();
    let (plain, tls) = (running.turn_addr.unwrap(), running.turn_tls_addr.unwrap());
    let peer_port = free_udp_port();
    let _peer = echo_peer(peer_port);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let peer = ["-e", "127.0.0.1", "-r", &peer_port.to_string()];
    // With TLS, the HTTPS port takes TURN too (one port for everything).
    let https = server.http;
    for (name, addr, flags) in [
        ("UDP", plain, &[][..]),
        ("TCP", plain, &["-t"][..]),
        ("TLS", tls, &["-t", "-S"][..]),
        ("TLS on the HTTPS port", https, &["-t", "-S"][..]),
        ("TCP on the HTTPS port", https, &["-t"][..]),
    ] {
        let mut args = vec!["-W", SECRET, "-u", "alice"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&peer);
        let (ok, out) = uclient(addr, &args).await;
        assert!(ok, "TURN over {name} failed:\n{out}");
        let (sent, got) = received(&out);
        assert!(
            sent > 0 && got * 2 >= sent,
            "over {name}: {got} of {sent} echoed:\n{out}"
        );
    }
}

#[tokio::test]
async fn wrong_or_expired_credentials_and_foreign_peers_are_refused() {
    // Two media workers on ports P and P + 1: the client binds its second
    // allocation's channel to the peer port after the one it is given.
    let base = free_udp_pair();
    let dir = common::temp_dir("turn-refusals");
    let text = format!(
        "http_addr = \"127.0.0.1:0\"\nmedia_addr = \"127.0.0.1:{base}\"\nmedia_workers = 2\n\
         shutdown_drain_ms = 100\ndata_dir = {:?}\n[turn]\naddr = \"127.0.0.1:0\"\nsecret = \"{SECRET}\"\n",
        dir.0.display().to_string()
    );
    let running = tern_server::start(tern_server::config::Config::from_toml(&text).unwrap())
        .await
        .unwrap();
    let turn = running.turn_addr.unwrap();
    let peer_port = free_udp_port();
    let _peer = echo_peer(peer_port);
    let peer_port = peer_port.to_string();
    let peer = ["-e", "127.0.0.1", "-r", peer_port.as_str()];

    let (ok, out) = uclient(
        turn,
        &[&["-W", "not-the-secret", "-u", "alice"][..], &peer].concat(),
    )
    .await;
    assert!(!ok && out.contains("Cannot complete Allocation"), "{out}");

    // A REST username whose expiry (Unix second 1000) has long passed, with
    // the password that would otherwise be right.
    let password = tern_turn::credentials::Secret::new(SECRET.as_bytes()).password("1000:alice");
    let expired = ["-v", "-u", "1000:alice", "-w", password.as_str()];
    let (ok, out) = uclient(turn, &[&expired[..], &peer].concat()).await;
    assert!(!ok && out.contains("error 401"), "{out}");

    // Right credentials, but the peer is not a Tern media socket.
    let (ok, out) = uclient(turn, &[&["-W", SECRET, "-u", "alice"][..], &peer].concat()).await;
    assert!(!ok && out.contains("error 403"), "{out}");

    // Tern's own media socket needs no configuration (it answers nothing to
    // the client's test bytes, so only the channel binding is checked).
    let media_port = running.media_addr.port().to_string();
    let media = [
        "-v",
        "-W",
        SECRET,
        "-u",
        "alice",
        "-e",
        "127.0.0.1",
        "-r",
        media_port.as_str(),
    ];
    let (_, out) = uclient(turn, &media).await;
    assert!(
        out.contains("cb response received") && !out.contains("error 403"),
        "{out}"
    );
    running.stop().await;
}

/// A port P with P + 1 also free.
fn free_udp_pair() -> u16 {
    for _ in 0..50 {
        let p = free_udp_port();
        if p < 65_535 && std::net::UdpSocket::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
    panic!("no two consecutive free UDP ports");
}

/// The credentials signaling hands out work with a third-party TURN client.
#[tokio::test]
async fn ice_server_config_hands_out_our_turn_with_credentials_that_work() {
    let server = common::start_with(&format!(
        "[turn]\naddr = \"127.0.0.1:0\"\nsecret = \"{SECRET}\"\nallowed_peers = \"127.0.0.1/32\"\n"
    ))
    .await;
    let turn = server.running.as_ref().unwrap().turn_addr.unwrap();
    let mut c = server.client().await;
    c.send(serde_json::json!({"command": "getIceServerConfig"}))
        .await;
    let reply = c.recv().await;
    assert_eq!(reply["command"], "iceServerConfig");
    // The official SDK's one URI: our TURN over UDP, at the host the client used.
    assert_eq!(
        reply["stunServerUri"],
        format!("turn:127.0.0.1:{}", turn.port())
    );
    let user = reply["turnServerUsername"].as_str().unwrap().to_owned();
    let password = reply["turnServerCredential"].as_str().unwrap().to_owned();
    assert!(user.ends_with(":tern"), "{reply}");
    let urls: Vec<&str> = reply["iceServers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["urls"].as_str().unwrap())
        .collect();
    assert!(urls.contains(&format!("turn:127.0.0.1:{}?transport=udp", turn.port()).as_str()));
    assert!(urls.contains(&format!("turn:127.0.0.1:{}?transport=tcp", turn.port()).as_str()));

    let peer_port = free_udp_port();
    let _peer = echo_peer(peer_port);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let peer_port = peer_port.to_string();
    let (ok, out) = uclient(
        turn,
        &[
            "-u",
            &user,
            "-w",
            &password,
            "-e",
            "127.0.0.1",
            "-r",
            &peer_port,
        ],
    )
    .await;
    assert!(ok, "{out}");
    let (sent, got) = received(&out);
    assert!(
        sent > 0 && got * 2 >= sent,
        "{got} of {sent} echoed:\n{out}"
    );
}
