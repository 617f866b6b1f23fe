//! ICE over TCP (RFC 6544, passive side): each media worker also listens on
//! TCP at its UDP address, for viewers whose network blocks UDP. A connection
//! carries RFC 4571 frames; each is handed to the worker's SFU like a
//! datagram, and the SFU's TCP transmits go back framed on the connection of
//! their destination.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use tern_media::tcp_framing::{encode, FrameDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Connections one worker holds; more are closed at once.
const MAX_CONNECTIONS: usize = 4096;
/// Framed packets waiting to be written to one connection; more are dropped,
/// as a full UDP buffer would drop them.
const WRITE_QUEUE: usize = 256;
/// A connection that sends nothing this long is closed (ICE consent checks
/// come every few seconds on a live one).
const IDLE: Duration = Duration::from_secs(30);

/// What the connections tell their worker. `port` is the shared HTTPS port
/// for a connection that came in there (None: the media port).
#[derive(Debug)]
pub enum TcpEvent {
    Packet {
        from: SocketAddr,
        port: Option<u16>,
        data: Vec<u8>,
    },
    Closed(SocketAddr),
}

/// Binds TCP on the worker's UDP address, or says why it cannot.
pub fn bind(addr: SocketAddr) -> Option<std::net::TcpListener> {
    match std::net::TcpListener::bind(addr).and_then(|l| l.set_nonblocking(true).map(|_| l)) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(%addr, "ICE-TCP is off for this media worker: cannot listen on TCP {addr}: {e}");
            None
        }
    }
}

/// A worker's live connections, by the peer's address.
pub struct TcpConns {
    writers: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    events: mpsc::Sender<TcpEvent>,
}

impl TcpConns {
    pub fn new() -> (TcpConns, mpsc::Receiver<TcpEvent>) {
        let (events, rx) = mpsc::channel(1024);
        let conns = TcpConns {
            writers: HashMap::new(),
            events,
        };
        (conns, rx)
    }

    /// Takes a new connection: a task reads its frames, another writes.
    pub fn accept(&mut self, stream: TcpStream, peer: SocketAddr) {
        self.adopt(stream, peer, None, Vec::new());
    }

    /// Takes a connection accepted elsewhere (the shared HTTPS port, `port`),
    /// whose first bytes `first` were read there.
    pub fn adopt(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        port: Option<u16>,
        first: Vec<u8>,
    ) {
        if self.writers.len() >= MAX_CONNECTIONS {
            tracing::debug!(%peer, "ICE-TCP connection refused: too many");
            return;
        }
        let _ = stream.set_nodelay(true);
        let (mut read, mut write) = stream.into_split();
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
        self.writers.insert(peer, tx);
        tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if write.write_all(&frame).await.is_err() {
                    break;
                }
            }
        });
        let events = self.events.clone();
        tokio::spawn(async move {
            let mut decoder = FrameDecoder::default();
            decoder.push(&first);
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                while let Some(packet) = decoder.next_frame() {
                    // Waits when the worker is behind: this connection slows,
                    // the others and UDP do not.
                    let ev = TcpEvent::Packet {
                        from: peer,
                        port,
                        data: packet.to_vec(),
                    };
                    if events.send(ev).await.is_err() {
                        return;
                    }
                }
                let n = match tokio::time::timeout(IDLE, read.read(&mut buf)).await {
                    Ok(Ok(n)) if n > 0 => n,
                    _ => break,
                };
                decoder.push(&buf[..n]);
            }
            let _ = events.send(TcpEvent::Closed(peer)).await;
        });
    }

    pub fn closed(&mut self, peer: SocketAddr) {
        self.writers.remove(&peer);
    }

    /// Frames `packet` onto the connection of `to`; false when there is none
    /// or its queue is full.
    pub fn send(&self, to: SocketAddr, packet: &[u8]) -> bool {
        let Some(w) = self.writers.get(&to) else {
            return false;
        };
        let mut frame = Vec::with_capacity(packet.len() + 2);
        if encode(packet, &mut frame).is_err() {
            return false;
        }
        w.try_send(frame).is_ok()
    }
}

/// Accepts on `listener` when there is one; never resolves otherwise.
pub async fn accept(listener: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}
