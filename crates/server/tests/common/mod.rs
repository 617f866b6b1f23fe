//! Helpers shared by the integration tests: a real server on free ports and a
//! real WebSocket client.

#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tern_server::config::Config;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Server {
    pub running: Option<tern_server::Running>,
    pub http: std::net::SocketAddr,
    pub media: std::net::SocketAddr,
    _dir: tempdir::Dir,
}

mod tempdir {
    /// A directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub async fn start_with(toml: &str) -> Server {
    let dir = std::env::temp_dir().join(format!(
        "tern-test-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    // Tests stop servers with clients still connected: keep the drain short.
    let drain = if toml.contains("shutdown_drain_ms") {
        ""
    } else {
        "shutdown_drain_ms = 100\n"
    };
    let text = format!(
        "http_addr = \"127.0.0.1:0\"\nmedia_addr = \"127.0.0.1:0\"\ndata_dir = {:?}\n{drain}{toml}",
        dir.display().to_string()
    );
    let config = Config::from_toml(&text).expect("test config");
    let running = tern_server::start(config).await.expect("server starts");
    Server {
        http: running.http_addr,
        media: running.media_addr,
        running: Some(running),
        _dir: tempdir::Dir(dir),
    }
}

pub async fn start() -> Server {
    start_with("").await
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0)
}

impl Server {
    pub fn ws_url(&self, app: &str) -> String {
        format!("ws://{}/{app}/websocket?target=origin", self.http)
    }

    pub async fn client(&self) -> Client {
        Client::connect(&self.ws_url("LiveApp")).await
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket connects");
        Client { ws }
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// Next JSON frame, failing the test after 5 s.
    pub async fn recv(&mut self) -> Value {
        self.try_recv(Duration::from_secs(5))
            .await
            .expect("a frame within 5 s")
    }

    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(wait, self.ws.next())
                .await
                .ok()??
                .ok()?;
            match msg {
                Message::Text(t) => {
                    return Some(serde_json::from_str(t.as_str()).expect("server sends JSON"))
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Next frame whose command (or definition) is `what`, skipping others.
    pub async fn expect(&mut self, what: &str) -> Value {
        for _ in 0..50 {
            let v = self.recv().await;
            if v["command"] == what || v["definition"] == what {
                return v;
            }
        }
        panic!("no {what} within 50 frames");
    }
}
