//! Helpers shared by the integration tests: a real server on free ports and a
//! real WebSocket client.

#![allow(dead_code)]

pub mod encoder;
pub mod peers;

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
    start_at(dir, toml).await
}

/// As [`start_with`], on data directory `dir` (removed with the server).
pub async fn start_at(dir: std::path::PathBuf, toml: &str) -> Server {
    // Tests stop servers with clients still connected: keep the drain short.
    let drain = if toml.contains("shutdown_drain_ms") {
        ""
    } else {
        "shutdown_drain_ms = 100\n"
    };
    // TURN is off unless a test configures it: its default port would be
    // shared by the servers of tests that run side by side.
    let turn = if toml.contains("[turn]") {
        ""
    } else {
        "\n[turn]\naddr = \"\"\n"
    };
    // RTMP and SRT likewise, unless the test sets their address.
    let mut rtmp = String::new();
    for key in ["rtmp_addr", "srt_addr"] {
        if !toml.contains(key) {
            rtmp.push_str(&format!("{key} = \"\"\n"));
        }
    }
    let text = format!(
        "http_addr = \"127.0.0.1:0\"\nmedia_addr = \"127.0.0.1:0\"\n{rtmp}data_dir = {:?}\n{drain}{toml}{turn}",
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

/// A server on a data directory the caller keeps, so that a test can stop it
/// and start another on the same data (a restart).
pub async fn start_in(dir: &std::path::Path, toml: &str) -> tern_server::Running {
    let text = format!(
        "http_addr = \"127.0.0.1:0\"\nmedia_addr = \"127.0.0.1:0\"\ndata_dir = {:?}\n{toml}",
        dir.display().to_string()
    );
    let config = Config::from_toml(&text).expect("test config");
    tern_server::start(config).await.expect("server starts")
}

/// A directory under the system temp dir, removed on drop.
pub fn temp_dir(name: &str) -> tempdir::Dir {
    tempdir::Dir(std::env::temp_dir().join(format!(
        "tern-test-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    )))
}

/// One HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: Value,
}

/// One HTTP/1.1 request on a fresh connection.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.expect("connects");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    let typed = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        if !typed {
            req.push_str("Content-Type: application/json\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.expect("sends");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut raw))
        .await
        .expect("an answer within 5 s")
        .expect("reads");
    let raw = String::from_utf8(raw).expect("UTF-8 response");
    let (head, rest) = raw.split_once("\r\n\r\n").expect("a header block");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let text = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers: head.to_owned(),
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

impl Reply {
    /// The value of header `name` (the first one), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        match &self.body {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            v => v.to_string(),
        }
    }
}

impl Server {
    /// A REST call to `/{app}/rest/v2{path}` from 127.0.0.1.
    pub async fn rest(&self, method: &str, app: &str, path: &str, body: Option<&str>) -> Reply {
        http(
            self.http,
            method,
            &format!("/{app}/rest/v2{path}"),
            &[],
            body,
        )
        .await
    }
}
