//! One port for everything: with TLS configured, the HTTPS port also takes
//! TURN (over TLS and plain TCP) and ICE-TCP, so a deployment that opens only
//! 443 serves pages, signaling, WHIP/WHEP and media. Each connection is told
//! apart by its first bytes: a TLS ClientHello (then, inside TLS, ALPN
//! `stun.turn` or a STUN header means TURN, anything else HTTP), a STUN
//! header (TURN over TCP), or an RFC 4571 length before a STUN header
//! (ICE-TCP, handed to the media worker its ufrag names).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::local::canonical;
use crate::media_worker::WorkerMsg;
use crate::turn::Adopted;
use tern_turn::demux::{classify, stun_username, Kind, HEAD};

/// A client has this long to show what it speaks (and to finish a TLS
/// handshake).
const FIRST_BYTES: Duration = Duration::from_secs(10);
const ALPN_TURN: &[u8] = b"stun.turn";

/// Where connections that are not HTTP go.
pub struct Handoffs {
    /// Every media worker's inbox, by index.
    pub workers: Vec<mpsc::UnboundedSender<WorkerMsg>>,
    pub turn: Option<mpsc::Sender<Adopted>>,
    /// The port itself, as ICE candidates name it.
    pub port: u16,
}

/// Serves `listener` until `shutdown`; open connections then get a second.
pub async fn serve(
    listener: TcpListener,
    tls: RustlsConfig,
    app: Router,
    handoffs: Handoffs,
    mut shutdown: watch::Receiver<bool>,
) {
    let handoffs = Arc::new(handoffs);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => break,
            accepted = listener.accept() => {
                if let Ok((stream, peer)) = accepted {
                    let (tls, app, h) = (tls.clone(), app.clone(), Arc::clone(&handoffs));
                    conns.spawn(handle(stream, canonical(peer), tls, app, h));
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    let drain = async { while conns.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
    conns.abort_all();
}

async fn handle(
    stream: TcpStream,
    peer: SocketAddr,
    tls: RustlsConfig,
    app: Router,
    handoffs: Arc<Handoffs>,
) {
    let _ = stream.set_nodelay(true);
    let kind = match tokio::time::timeout(FIRST_BYTES, sniff(&stream)).await {
        Ok(Ok(kind)) => kind,
        _ => return,
    };
    match kind {
        Kind::Tls => tls_connection(stream, peer, tls, app, &handoffs).await,
        Kind::Turn => adopt_turn(&handoffs, Box::new(stream), peer, Vec::new()).await,
        Kind::IceTcp => adopt_ice(stream, peer, &handoffs).await,
        Kind::Other | Kind::NeedMore => {
            tracing::debug!(%peer, "closed: neither TLS, TURN nor ICE-TCP on the HTTPS port");
        }
    }
}

/// Peeks until the first bytes tell what the connection is.
async fn sniff(stream: &TcpStream) -> std::io::Result<Kind> {
    let mut head = [0u8; HEAD];
    loop {
        let n = stream.peek(&mut head).await?;
        if n == 0 {
            return Ok(Kind::Other);
        }
        match classify(&head[..n]) {
            // Peek returns what is there at once: wait a little for more.
            Kind::NeedMore => tokio::time::sleep(Duration::from_millis(5)).await,
            kind => return Ok(kind),
        }
    }
}

async fn tls_connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: RustlsConfig,
    app: Router,
    handoffs: &Handoffs,
) {
    // The HTTPS configuration (reloaded with the certificate), which also
    // agrees to TURN's ALPN, first: TURN clients (coturn's) offer
    // `http/1.1` too, and a browser never offers `stun.turn`.
    let mut config = (*tls.get_inner()).clone();
    config.alpn_protocols.insert(0, ALPN_TURN.to_vec());
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let mut tls_stream = match tokio::time::timeout(FIRST_BYTES, acceptor.accept(stream)).await {
        Ok(Ok(s)) => s,
        _ => return,
    };
    let alpn = tls_stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    match alpn.as_deref() {
        Some(ALPN_TURN) => {
            return adopt_turn(handoffs, Box::new(tls_stream), peer, Vec::new()).await
        }
        Some(b"h2") => return serve_http(tls_stream, peer, app).await,
        _ => {}
    }
    // HTTP/1.1 or no ALPN (TURN clients, some HTTP ones): the first bytes tell.
    let mut first = vec![0u8; 2048];
    let n = match tokio::time::timeout(FIRST_BYTES, tls_stream.read(&mut first)).await {
        Ok(Ok(n)) if n > 0 => n,
        _ => return,
    };
    first.truncate(n);
    if classify(&first) == Kind::Turn || (n < 8 && first[0] >> 6 == 0) {
        adopt_turn(handoffs, Box::new(tls_stream), peer, first).await;
    } else {
        serve_http(Prefixed::new(first, tls_stream), peer, app).await;
    }
}

async fn serve_http<S>(stream: S, peer: SocketAddr, app: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let app = app.layer(axum::Extension(ConnectInfo(peer)));
    let service = hyper_util::service::TowerToHyperService::new(app);
    let builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    let io = hyper_util::rt::TokioIo::new(stream);
    if let Err(e) = builder.serve_connection_with_upgrades(io, service).await {
        tracing::debug!(%peer, "HTTPS connection: {e}");
    }
}

async fn adopt_turn(
    handoffs: &Handoffs,
    stream: Box<dyn crate::turn::Stream>,
    peer: SocketAddr,
    first: Vec<u8>,
) {
    tracing::debug!(%peer, "TURN on the HTTPS port");
    let Some(turn) = &handoffs.turn else {
        tracing::debug!(%peer, "TURN on the HTTPS port, but TURN is off: closed");
        return;
    };
    let _ = turn
        .send(Adopted {
            stream,
            client: peer,
            first,
        })
        .await;
}

/// Reads the first RFC 4571 frame, finds the worker its STUN check's
/// USERNAME names, and hands the connection there.
async fn adopt_ice(mut stream: TcpStream, peer: SocketAddr, handoffs: &Handoffs) {
    let mut len = [0u8; 2];
    let read = async {
        stream.read_exact(&mut len).await?;
        let mut frame = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut frame).await?;
        Ok::<_, std::io::Error>(frame)
    };
    let Ok(Ok(frame)) = tokio::time::timeout(FIRST_BYTES, read).await else {
        return;
    };
    let worker = stun_username(&frame).and_then(|u| tern_media::worker_of_username(&u));
    let Some(inbox) = worker.and_then(|w| handoffs.workers.get(w)) else {
        tracing::debug!(%peer, "ICE-TCP on the HTTPS port names no media worker: closed");
        return;
    };
    tracing::debug!(%peer, worker = ?worker, "ICE-TCP on the HTTPS port");
    let Ok(stream) = stream.into_std() else {
        return;
    };
    let mut first = len.to_vec();
    first.extend_from_slice(&frame);
    let _ = inbox.send(WorkerMsg::AdoptTcp {
        stream,
        peer,
        port: handoffs.port,
        first,
    });
}

/// A stream whose first bytes were already read: they are read again first.
struct Prefixed<S> {
    prefix: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    fn new(prefix: Vec<u8>, inner: S) -> Self {
        Prefixed {
            prefix,
            at: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.at < self.prefix.len() {
            let n = (self.prefix.len() - self.at).min(buf.remaining());
            let at = self.at;
            buf.put_slice(&self.prefix[at..at + n]);
            self.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
