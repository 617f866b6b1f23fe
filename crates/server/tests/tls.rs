//! HTTPS/WSS with a certificate the test makes; startup errors; reload.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::Client;
use futures_util::{SinkExt, StreamExt};
use tern_server::config::Config;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

struct Pair {
    cert_pem: String,
    key_pem: String,
}

fn make_pair() -> Pair {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("certificate");
    Pair {
        cert_pem: ck.cert.pem(),
        key_pem: ck.signing_key.serialize_pem(),
    }
}

fn write(dir: &Path, p: &Pair) {
    std::fs::write(dir.join("cert.pem"), &p.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &p.key_pem).unwrap();
}

fn config(dir: &Path) -> Config {
    let text = format!(
        "http_addr = \"127.0.0.1:0\"\nmedia_addr = \"127.0.0.1:0\"\nshutdown_drain_ms = 100\n\
         data_dir = {:?}\ntls_cert = {:?}\ntls_key = {:?}\n",
        dir.join("data").display().to_string(),
        dir.join("cert.pem").display().to_string(),
        dir.join("key.pem").display().to_string()
    );
    Config::from_toml(&text).unwrap()
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tern-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A WSS client that trusts only `trusted`.
async fn connect(addr: std::net::SocketAddr, trusted: &Pair) -> Result<Client, String> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    let der =
        rustls::pki_types::CertificateDer::from_pem_slice(trusted.cert_pem.as_bytes()).unwrap();
    roots.add(der).unwrap();
    let cfg = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let url = format!("wss://localhost:{}/LiveApp/websocket", addr.port());
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let (ws, _) = tokio_tungstenite::client_async_tls_with_config(
        url,
        tcp,
        None,
        Some(Connector::Rustls(Arc::new(cfg))),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(Client { ws })
}

use rustls::pki_types::pem::PemObject;

#[tokio::test]
async fn wss_works_and_certificates_reload_without_dropping_sessions() {
    let dir = tmpdir("reload");
    let first = make_pair();
    write(&dir, &first);
    let running = tern_server::start(config(&dir))
        .await
        .expect("starts with TLS");
    assert!(running.tls);
    let mut old = connect(running.http_addr, &first)
        .await
        .expect("WSS with the first certificate");
    old.send(serde_json::json!({"command":"ping"})).await;
    assert_eq!(old.recv().await["command"], "pong");

    let second = make_pair();
    write(&dir, &second);
    let mut switched = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if connect(running.http_addr, &second).await.is_ok() {
            switched = true;
            break;
        }
    }
    assert!(switched, "new connections get the new certificate");
    assert!(
        connect(running.http_addr, &first).await.is_err(),
        "the old one is gone"
    );
    old.ws
        .send(Message::Text(r#"{"command":"ping"}"#.into()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), old.ws.next())
        .await
        .unwrap();
    assert!(
        matches!(reply, Some(Ok(Message::Text(t))) if t.contains("pong")),
        "old session kept"
    );
    running.stop().await;
}

#[tokio::test]
async fn mismatched_or_unreadable_files_are_clear_startup_errors() {
    let dir = tmpdir("bad");
    let a = make_pair();
    let b = make_pair();
    std::fs::write(dir.join("cert.pem"), &a.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &b.key_pem).unwrap();
    let err = format!(
        "{:#}",
        tern_server::start(config(&dir))
            .await
            .err()
            .expect("refused")
    );
    assert!(err.contains("does not belong"), "{err}");

    std::fs::remove_file(dir.join("key.pem")).unwrap();
    let err = format!(
        "{:#}",
        tern_server::start(config(&dir))
            .await
            .err()
            .expect("refused")
    );
    assert!(err.contains("cannot read"), "{err}");

    std::fs::write(dir.join("key.pem"), "not pem").unwrap();
    let err = format!(
        "{:#}",
        tern_server::start(config(&dir))
            .await
            .err()
            .expect("refused")
    );
    assert!(err.contains("key.pem"), "{err}");
}

#[test]
fn both_files_or_neither() {
    let err = Config::from_toml("tls_cert = \"a.pem\"\n").unwrap_err();
    assert!(format!("{err:#}").contains("both"));
}
