//! The TURN server's sockets: a UDP and a TCP listener on one port, a TLS
//! listener, and one UDP relay socket per allocation, all driven by one task
//! around the sans-IO [`Relay`].

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use tern_turn::credentials::Secret;
use tern_turn::framing::Framer;
use tern_turn::gate::Gate;
use tern_turn::policy::Policy;
use tern_turn::relay::{Output, Relay, Transport};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{TurnConfig, TurnService};
use crate::local::canonical;
use crate::media_worker::{ToRelay, WorkerMsg};

/// The realm in TURN answers.
const REALM: &str = "tern";
/// Largest datagram read; more is not TURN.
const RECV_BUF: usize = 65_536;
/// Whole messages waiting to be written to one TCP client; more are
/// dropped, as a full UDP buffer would drop them.
const WRITE_QUEUE: usize = 512;
/// TCP connections the listeners hold; more are closed at once.
const MAX_CONNECTIONS: usize = 10_000;
/// A TLS handshake takes this long at most.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// A TCP client that sends nothing this long is gone (a live allocation is
/// refreshed every few minutes, and ICE checks pass every few seconds).
const IDLE: Duration = Duration::from_secs(600);

enum Event {
    Message {
        listener: SocketAddr,
        client: SocketAddr,
        data: Vec<u8>,
    },
    Closed {
        listener: SocketAddr,
        client: SocketAddr,
    },
    Peer {
        relay: SocketAddr,
        peer: SocketAddr,
        data: Vec<u8>,
    },
}

/// A byte stream a client speaks TURN on (TCP, or TLS over it).
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A connection the shared HTTPS port found to speak TURN, with the bytes
/// it read to tell.
pub struct Adopted {
    pub stream: Box<dyn Stream>,
    pub client: SocketAddr,
    pub first: Vec<u8>,
}

/// The running TURN server.
pub struct Started {
    pub service: Arc<TurnService>,
    pub task: JoinHandle<()>,
    pub udp_addr: Option<SocketAddr>,
    pub tls_addr: Option<SocketAddr>,
    /// Where the shared HTTPS port hands TURN connections.
    pub adopt: Option<mpsc::Sender<Adopted>>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Tern's media workers as the relay sees them: each address a client may
/// be told of, with its worker, and the workers' inboxes. What the relay
/// sends there is handed over in the process.
pub struct MediaWorkers {
    pub addrs: Vec<(SocketAddr, usize)>,
    pub inboxes: Vec<mpsc::UnboundedSender<WorkerMsg>>,
    pub counters: crate::metrics::TurnCounters,
}

/// Binds the listeners and starts the relay; `shared` is the HTTPS port when
/// it also takes TURN connections (one port for everything).
pub async fn start(
    config: &TurnConfig,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    media: MediaWorkers,
    media_ip: IpAddr,
    shared: Option<SocketAddr>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Option<Started>> {
    let bind = |what: &str, addr: SocketAddr, r: std::io::Result<()>| -> anyhow::Result<bool> {
        match r {
            Ok(()) => Ok(true),
            Err(e) if config.defaulted => {
                tracing::warn!("the TURN server does not listen on {what} {addr}: {e} (set [turn] addr, or \"\" to turn it off)");
                Ok(false)
            }
            Err(e) => Err(e).with_context(|| format!("cannot listen for TURN on {what} {addr}")),
        }
    };
    let mut udp = None;
    let mut tcp = None;
    if let Some(addr) = config.addr {
        // Port 0 picks a UDP port, and TCP needs the same number free too:
        // another process may hold it on TCP, so try a few picks.
        let tries = if addr.port() == 0 { 20 } else { 1 };
        for attempt in 1..=tries {
            let u = crate::local::bind_udp(addr).and_then(|s| {
                s.set_nonblocking(true)?;
                UdpSocket::from_std(s)
            });
            let (ok, u) = match u {
                Ok(u) => (true, Some(u)),
                Err(e) => (bind("UDP", addr, Err(e))?, None),
            };
            if !ok {
                break;
            }
            // TCP on the port UDP got (it may have been 0).
            let port = u
                .as_ref()
                .and_then(|u| u.local_addr().ok())
                .map_or(addr.port(), |a| a.port());
            let taddr = SocketAddr::new(addr.ip(), port);
            match TcpListener::bind(taddr).await {
                Ok(t) => tcp = Some(t),
                Err(e) if attempt < tries && e.kind() == std::io::ErrorKind::AddrInUse => continue,
                Err(e) => {
                    bind("TCP", taddr, Err(e))?;
                }
            }
            udp = u;
            break;
        }
    }
    let mut tls_listener = None;
    if let (Some(addr), Some(tls)) = (config.tls_addr, tls.as_ref()) {
        match TcpListener::bind(addr).await {
            Ok(t) => tls_listener = Some((t, tls.clone())),
            Err(e) => {
                bind("TLS", addr, Err(e))?;
            }
        }
    }
    if config.addr.is_none() && config.tls_addr.is_none() {
        return Ok(None);
    }
    let shared = shared.filter(|_| tls.is_some());
    if udp.is_none() && tcp.is_none() && tls_listener.is_none() && shared.is_none() {
        return Ok(None);
    }
    let udp_addr = udp.as_ref().map(|u| u.local_addr()).transpose()?;
    let tcp_addr = tcp.as_ref().map(|t| t.local_addr()).transpose()?;
    let tls_addr = tls_listener
        .as_ref()
        .map(|t| t.0.local_addr())
        .transpose()?;
    let mut listeners = Vec::new();
    listeners.extend(udp_addr.map(|a| (Transport::Udp, a)));
    listeners.extend(tcp_addr.map(|a| (Transport::Tcp, a)));
    listeners.extend(tls_addr.map(|a| (Transport::Tcp, a)));
    listeners.extend(shared.map(|a| (Transport::Tcp, a)));
    let policy = Policy::new(
        media.addrs.iter().map(|a| a.0),
        config.allowed_peers.clone(),
    );
    let gate = Gate::new(Secret::new(config.secret.as_bytes()), REALM.into());
    let relay = Relay::new(
        &listeners,
        gate,
        policy,
        config.limits,
        Instant::now(),
        unix_now(),
    );
    let relay_ip = config.relay_ip.unwrap_or(if media_ip.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        media_ip
    });
    let service = Arc::new(TurnService {
        secret: Secret::new(config.secret.as_bytes()),
        ttl_secs: config.credential_ttl_secs,
        udp: udp_addr.map(|a| a.port()),
        tcp: tcp_addr.map(|a| a.port()),
        tls: tls_addr.map(|a| a.port()),
        shared: shared.map(|a| a.port()),
        host: config.host.clone(),
    });
    tracing::info!(udp = ?udp_addr, tcp = ?tcp_addr, tls = ?tls_addr, https = ?shared, %relay_ip, "TURN server listening");
    let (adopt, adopted) = mpsc::channel(256);
    let task = tokio::spawn(run(
        relay,
        Listeners {
            udp,
            tcp,
            tls: tls_listener,
            shared: shared.map(|a| (a, adopted)),
        },
        media,
        relay_ip,
        shutdown,
    ));
    Ok(Some(Started {
        service,
        task,
        udp_addr,
        tls_addr,
        adopt: shared.map(|_| adopt),
    }))
}

/// A TCP or TLS client: its write queue and its task, by (listener, client).
type Conns = HashMap<(SocketAddr, SocketAddr), (mpsc::Sender<Vec<u8>>, JoinHandle<()>)>;

struct Io {
    udp: Option<UdpSocket>,
    /// Worker of each media address, and the workers' inboxes.
    media: HashMap<SocketAddr, usize>,
    workers: Vec<mpsc::UnboundedSender<WorkerMsg>>,
    /// Where workers hand datagrams for relay sockets.
    to_relay: mpsc::Sender<ToRelay>,
    counters: crate::metrics::TurnCounters,
    relays: HashMap<SocketAddr, (Arc<UdpSocket>, JoinHandle<()>)>,
    conns: Conns,
    events: mpsc::Sender<Event>,
    relay_ip: IpAddr,
}

struct Listeners {
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
    tls: Option<(TcpListener, axum_server::tls_rustls::RustlsConfig)>,
    /// The HTTPS port's address and the connections it hands over.
    shared: Option<(SocketAddr, mpsc::Receiver<Adopted>)>,
}

async fn run(
    mut relay: Relay,
    listeners: Listeners,
    media: MediaWorkers,
    relay_ip: IpAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    let Listeners {
        udp,
        tcp,
        tls,
        shared,
    } = listeners;
    let (shared_addr, mut adopted) = match shared {
        Some((a, rx)) => (Some(a), Some(rx)),
        None => (None, None),
    };
    let (events, mut events_rx) = mpsc::channel(4096);
    let udp_addr = udp.as_ref().and_then(|u| u.local_addr().ok());
    // The relay knows listeners by their bound address (maybe 0.0.0.0), not
    // by the local address of each connection.
    let tcp_addr = tcp.as_ref().and_then(|t| t.local_addr().ok());
    let tls_addr = tls.as_ref().and_then(|t| t.0.local_addr().ok());
    let (to_relay, mut from_workers) = mpsc::channel(8192);
    let mut io = Io {
        udp,
        media: media
            .addrs
            .into_iter()
            .map(|(a, w)| (canonical(a), w))
            .collect(),
        workers: media.inboxes,
        to_relay,
        counters: media.counters,
        relays: HashMap::new(),
        conns: HashMap::new(),
        events,
        relay_ip,
    };
    let mut buf = vec![0u8; RECV_BUF];
    // The relay's counts go to /metrics once a second, not per packet.
    let mut stats = tokio::time::interval(Duration::from_secs(1));
    let mut published = tern_turn::relay::Stats::default();
    loop {
        let wake = relay.poll_timeout();
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => break,
            r = recv(io.udp.as_ref(), &mut buf) => {
                if let (Ok((n, from)), Some(listener)) = (r, udp_addr) {
                    relay.from_client(Instant::now(), Transport::Udp, listener, canonical(from), &buf[..n]);
                }
            }
            a = accept(tcp.as_ref()) => {
                if let (Ok((stream, from)), Some(listener)) = (a, tcp_addr) {
                    io.serve(stream, listener, canonical(from));
                }
            }
            a = accept(tls.as_ref().map(|t| &t.0)) => {
                if let (Ok((stream, from)), Some((_, config)), Some(listener)) = (a, tls.as_ref(), tls_addr) {
                    io.serve_tls(stream, listener, canonical(from), config);
                }
            }
            Some(a) = recv_adopted(adopted.as_mut()) => {
                if let Some(listener) = shared_addr {
                    io.serve_stream(a.stream, listener, a.client, a.first);
                }
            }
            Some(r) = from_workers.recv() => {
                relay.from_peer(Instant::now(), r.relay, r.from, &r.data);
                let mut n = 1;
                // Media comes in bursts: take what is there.
                for _ in 1..64 {
                    match from_workers.try_recv() {
                        Ok(r) => {
                            relay.from_peer(Instant::now(), r.relay, r.from, &r.data);
                            n += 1;
                        }
                        Err(_) => break,
                    }
                }
                io.counters.in_process.inc_by(n);
            }
            _ = stats.tick() => io.publish(relay.stats(), &mut published),
            Some(ev) = events_rx.recv() => match ev {
                Event::Message { listener, client, data } => {
                    relay.from_client(Instant::now(), Transport::Tcp, listener, client, &data);
                }
                Event::Closed { listener, client } => {
                    io.conns.remove(&(listener, client));
                    relay.client_closed(Instant::now(), listener, client);
                }
                Event::Peer { relay: at, peer, data } => {
                    relay.from_peer(Instant::now(), at, canonical(peer), &data);
                }
            },
            _ = tokio::time::sleep_until(wake.into()) => relay.handle_timeout(Instant::now()),
        }
        io.carry_out(&mut relay);
    }
    for (_, (_, task)) in io.relays.drain() {
        task.abort();
    }
    for (_, (_, task)) in io.conns.drain() {
        task.abort();
    }
}

impl Io {
    fn publish(&self, now: tern_turn::relay::Stats, before: &mut tern_turn::relay::Stats) {
        let c = &self.counters;
        c.allocations
            .set(i64::try_from(now.allocations).unwrap_or(i64::MAX));
        c.refused.inc_by(now.refused.saturating_sub(before.refused));
        c.relayed_bytes
            .inc_by(now.relayed_bytes.saturating_sub(before.relayed_bytes));
        c.dropped_over_bitrate.inc_by(
            now.dropped_over_bitrate
                .saturating_sub(before.dropped_over_bitrate),
        );
        c.dropped_by_policy.inc_by(
            now.dropped_by_policy
                .saturating_sub(before.dropped_by_policy),
        );
        *before = now;
    }

    fn carry_out(&mut self, relay: &mut Relay) {
        while let Some(out) = relay.poll_output() {
            match out {
                Output::Transmit {
                    transport: Transport::Udp,
                    from,
                    to,
                    data,
                } => {
                    // From a relay socket to a media worker: handed over in
                    // the process, not through the kernel twice.
                    if let (Some(&w), true) = (
                        self.media.get(&canonical(to)),
                        self.relays.contains_key(&from),
                    ) {
                        if let Some(inbox) = self.workers.get(w) {
                            let _ = inbox.send(WorkerMsg::TurnIn { from, to, data });
                            self.counters.in_process.inc();
                            continue;
                        }
                    }
                    let socket = match self.relays.get(&from) {
                        Some((s, _)) => Some(&**s),
                        None => self.udp.as_ref(),
                    };
                    // A full socket buffer drops, as the network would.
                    if let Some(s) = socket {
                        let _ = s.try_send_to(&data, to);
                    }
                }
                Output::Transmit {
                    transport: Transport::Tcp,
                    from,
                    to,
                    data,
                } => {
                    if let Some((w, _)) = self.conns.get(&(from, to)) {
                        let _ = w.try_send(data);
                    }
                }
                Output::BindRelay {
                    transport,
                    listener,
                    client,
                    ipv6,
                } => {
                    let bound = self.bind_relay(ipv6);
                    if let Err(e) = &bound {
                        tracing::warn!(%client, "TURN relay socket not bound: {e}");
                    }
                    relay.relay_bound(
                        Instant::now(),
                        transport,
                        listener,
                        client,
                        ipv6,
                        bound.map_err(|_| ()),
                    );
                }
                Output::CloseRelay(addr) => {
                    if let Some((_, task)) = self.relays.remove(&addr) {
                        task.abort();
                    }
                    self.tell_workers(addr, None);
                }
                Output::CloseTcp { local, remote } => {
                    if let Some((_, task)) = self.conns.remove(&(local, remote)) {
                        task.abort();
                    }
                }
            }
        }
    }

    fn bind_relay(&mut self, ipv6: bool) -> anyhow::Result<SocketAddr> {
        let ip = match (ipv6, self.relay_ip) {
            (false, ip @ IpAddr::V4(_)) => ip,
            (true, ip @ IpAddr::V6(_)) => ip,
            (true, IpAddr::V4(v4)) if v4.is_loopback() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            _ => anyhow::bail!("no relay address of the family asked for"),
        };
        let socket = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
        socket.set_nonblocking(true)?;
        let socket = Arc::new(UdpSocket::from_std(socket)?);
        let addr = socket.local_addr()?;
        let reader = Arc::clone(&socket);
        let events = self.events.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; RECV_BUF];
            while let Ok((n, peer)) = reader.recv_from(&mut buf).await {
                let ev = Event::Peer {
                    relay: addr,
                    peer,
                    data: buf[..n].to_vec(),
                };
                if events.send(ev).await.is_err() {
                    break;
                }
            }
        });
        self.relays.insert(addr, (socket, task));
        self.tell_workers(addr, Some(self.to_relay.clone()));
        Ok(addr)
    }

    /// Every worker learns of a relay socket, so that what it sends there
    /// comes here in the process.
    fn tell_workers(&self, relay: SocketAddr, link: Option<mpsc::Sender<ToRelay>>) {
        for inbox in &self.workers {
            let link = link.clone();
            let _ = inbox.send(WorkerMsg::TurnRelay { relay, link });
        }
    }

    fn serve(&mut self, stream: tokio::net::TcpStream, listener: SocketAddr, client: SocketAddr) {
        let _ = stream.set_nodelay(true);
        self.serve_stream(Box::new(stream), listener, client, Vec::new());
    }

    /// A client's stream (TCP, or TLS the caller terminated) whose first
    /// bytes `first` were already read.
    fn serve_stream(
        &mut self,
        stream: Box<dyn Stream>,
        listener: SocketAddr,
        client: SocketAddr,
        first: Vec<u8>,
    ) {
        if self.conns.len() >= MAX_CONNECTIONS {
            return;
        }
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let events = self.events.clone();
        let task = tokio::spawn(connection(stream, listener, client, first, rx, events));
        self.conns.insert((listener, client), (tx, task));
    }

    fn serve_tls(
        &mut self,
        stream: tokio::net::TcpStream,
        listener: SocketAddr,
        client: SocketAddr,
        config: &axum_server::tls_rustls::RustlsConfig,
    ) {
        if self.conns.len() >= MAX_CONNECTIONS {
            return;
        }
        let _ = stream.set_nodelay(true);
        // The HTTPS configuration (reloaded with the certificate) without its
        // ALPN list: TURN clients offer none, or "stun.turn".
        let mut tls = (*config.get_inner()).clone();
        tls.alpn_protocols.clear();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let events = self.events.clone();
        let task = tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
                Ok(Ok(s)) => connection(s, listener, client, Vec::new(), rx, events).await,
                _ => {
                    tracing::debug!(%client, "TURN over TLS: no handshake");
                    let _ = events.send(Event::Closed { listener, client }).await;
                }
            }
        });
        self.conns.insert((listener, client), (tx, task));
    }
}

/// Reads whole messages from a client's stream and writes what the relay
/// sends it, until either side ends.
async fn connection<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    listener: SocketAddr,
    client: SocketAddr,
    first: Vec<u8>,
    mut out: mpsc::Receiver<Vec<u8>>,
    events: mpsc::Sender<Event>,
) {
    let (mut read, mut write) = tokio::io::split(stream);
    let writer = async {
        while let Some(data) = out.recv().await {
            if write.write_all(&data).await.is_err() {
                break;
            }
        }
    };
    let reader = async {
        let mut framer = Framer::default();
        framer.push(&first);
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            loop {
                match framer.next_message() {
                    Ok(Some(data)) => {
                        let ev = Event::Message {
                            listener,
                            client,
                            data,
                        };
                        if events.send(ev).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!(%client, "TURN over TCP: {e}");
                        return;
                    }
                }
            }
            let n = match tokio::time::timeout(IDLE, read.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => n,
                _ => break,
            };
            framer.push(&buf[..n]);
        }
    };
    tokio::select! {
        _ = writer => {}
        _ = reader => {}
    }
    let _ = events.send(Event::Closed { listener, client }).await;
}

async fn recv_adopted(rx: Option<&mut mpsc::Receiver<Adopted>>) -> Option<Adopted> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv(socket: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

async fn accept(
    listener: Option<&TcpListener>,
) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}
