//! Media workers: each a thread with its own event loop, UDP socket and SFU.
//! A stream's (or room's) publisher and its first players live on one worker,
//! and streams spread over the workers and so over the cores. Players of a
//! stream past `spread_players_after` go to the least loaded worker, which gets
//! the publisher's packets from its worker through a channel, shared, not copied.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::net::Protocol;
use tern_core::{MediaCommand, MediaEvent, PeerId};
use tern_media::{Datagram, Relay, Sfu, SfuOutput};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::ice_tcp::{self, TcpConns, TcpEvent};
use crate::local::{canonical, for_socket};
use crate::metrics::WorkerCounters;
use crate::udp_batch;

/// Largest datagram read; WebRTC keeps packets under the MTU, so more is garbage.
const RECV_BUF: usize = 2048;
/// Datagrams read per wakeup before the loop looks at commands and timers.
const RECV_BATCH: usize = 64;

/// What a worker is handed: by the hub, or by another worker.
#[derive(Debug)]
pub enum WorkerMsg {
    Command(MediaCommand),
    Relay(Relay),
    /// Mirror publisher `source` (on this worker) to worker `to`, then hand
    /// `to` the command that needs the mirror: on one channel, in that order.
    Spread {
        source: PeerId,
        to: usize,
        then: MediaCommand,
    },
    /// A datagram from the built-in TURN server's relay socket `from` to
    /// `to`, one of this worker's addresses, handed over in the process.
    TurnIn {
        from: SocketAddr,
        to: SocketAddr,
        data: Vec<u8>,
    },
    /// Relay socket `relay` of the built-in TURN server opened (with where
    /// its datagrams go) or closed.
    TurnRelay {
        relay: SocketAddr,
        link: Option<mpsc::Sender<ToRelay>>,
    },
    /// One frame of frame source `source` (RTMP, SRT ingest).
    Frame {
        source: PeerId,
        frame: tern_media::frames::Frame,
    },
    /// Give the frames of publisher `source` to `sink` (a recording).
    FrameSink {
        source: PeerId,
        sink: FrameSinkBox,
    },
    /// A UDP socket of one peer's own (a cluster relay's) opened at `local`,
    /// with where that peer's datagrams go, or closed (`None`). What comes
    /// in on it arrives as [`WorkerMsg::TurnIn`] with `to` = `local`.
    OwnSocket {
        local: SocketAddr,
        link: Option<mpsc::Sender<ToSocket>>,
    },
    /// An ICE-TCP connection the shared HTTPS port `port` took for this
    /// worker, with the bytes it read to find the worker.
    AdoptTcp {
        stream: std::net::TcpStream,
        peer: SocketAddr,
        port: u16,
        first: Vec<u8>,
    },
}

/// Where a frame source's frames go: straight to its media worker, in order
/// after the command that opened it.
#[derive(Clone)]
pub struct FrameFeed {
    pub source: PeerId,
    inbox: mpsc::UnboundedSender<WorkerMsg>,
}

impl FrameFeed {
    /// False once the worker has stopped.
    pub fn send(&self, frame: tern_media::frames::Frame) -> bool {
        let msg = WorkerMsg::Frame {
            source: self.source,
            frame,
        };
        self.inbox.send(msg).is_ok()
    }
}

/// A frame sink on its way to a worker (sinks need not be `Debug`).
pub struct FrameSinkBox(pub Box<dyn tern_media::FrameSink>);

impl std::fmt::Debug for FrameSinkBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FrameSink")
    }
}

/// Relayed packets a worker may have waiting before more for it are dropped:
/// a worker that falls behind loses packets, as a congested link would, and
/// its queue stays bounded. About a second of 30 relayed streams.
const MAX_RELAY_BACKLOG: usize = 8192;

/// Every worker's inbox, made before any starts so each can reach the others.
pub struct Inboxes {
    peers: Peers,
    receivers: Vec<Option<mpsc::UnboundedReceiver<WorkerMsg>>>,
}

impl Inboxes {
    pub fn new(workers: usize) -> Inboxes {
        let (senders, receivers) = (0..workers)
            .map(|_| {
                let (tx, rx) = mpsc::unbounded_channel();
                (tx, Some(rx))
            })
            .unzip();
        let backlog = (0..workers)
            .map(|_| Arc::new(AtomicUsize::new(0)))
            .collect();
        Inboxes {
            peers: Peers { senders, backlog },
            receivers,
        }
    }
}

/// A worker's way to every worker's inbox (its own included).
#[derive(Clone)]
struct Peers {
    senders: Vec<mpsc::UnboundedSender<WorkerMsg>>,
    /// Relayed packets sent to each worker and not yet taken by it.
    backlog: Vec<Arc<AtomicUsize>>,
}

impl Peers {
    fn send(&self, worker: usize, msg: WorkerMsg) {
        if let Some(peer) = self.senders.get(worker) {
            let _ = peer.send(msg);
        }
    }

    /// A relayed packet, unless `worker` is too far behind.
    fn relay(&self, worker: usize, relay: Relay) {
        let Some(backlog) = self.backlog.get(worker) else {
            return;
        };
        if matches!(relay, Relay::Media { .. }) {
            if backlog.load(Ordering::Relaxed) >= MAX_RELAY_BACKLOG {
                tracing::debug!(worker, "relay backlog full: packet dropped");
                return;
            }
            backlog.fetch_add(1, Ordering::Relaxed);
        }
        self.send(worker, WorkerMsg::Relay(relay));
    }
}

/// The hub's end of a worker.
pub struct Worker {
    inbox: mpsc::UnboundedSender<WorkerMsg>,
    pub addr: SocketAddr,
}

impl Worker {
    /// The feed of frame source `source`, on this worker.
    pub fn feed(&self, source: PeerId) -> FrameFeed {
        FrameFeed {
            source,
            inbox: self.inbox.clone(),
        }
    }

    /// Starts worker `index` on `socket` (bound, not yet registered with any
    /// event loop). Its events go to `events`; it stops when the hub drops it.
    pub fn spawn(
        index: usize,
        socket: std::net::UdpSocket,
        tcp: Option<std::net::TcpListener>,
        sfu: Sfu,
        inboxes: &mut Inboxes,
        events: mpsc::UnboundedSender<MediaEvent>,
        counters: WorkerCounters,
    ) -> anyhow::Result<Worker> {
        let addr = socket.local_addr()?;
        socket.set_nonblocking(true)?;
        let rx = inboxes.receivers[index]
            .take()
            .ok_or_else(|| anyhow::anyhow!("media worker {index} started twice"))?;
        let peers = inboxes.peers.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let sfu = sfu.with_worker_index(index);
        std::thread::Builder::new()
            .name(format!("tern-media-{index}"))
            .spawn(move || {
                runtime.block_on(run(index, socket, tcp, sfu, rx, peers, events, counters))
            })?;
        Ok(Worker {
            inbox: inboxes.peers.senders[index].clone(),
            addr,
        })
    }

    /// The worker's inbox, for others that hand it work.
    pub fn inbox(&self) -> mpsc::UnboundedSender<WorkerMsg> {
        self.inbox.clone()
    }

    /// False when the worker has stopped.
    pub fn send(&self, msg: WorkerMsg) -> bool {
        self.inbox.send(msg).is_ok()
    }
}

/// The worker for a stream group (`app` and the room or stream id): a hash,
/// so every peer of a group lands on the same worker without a table.
pub fn worker_for(app: &str, group: &str, workers: usize) -> usize {
    let mut h = DefaultHasher::new();
    (app, group).hash(&mut h);
    (h.finish() % workers.max(1) as u64) as usize
}

/// A datagram for a relay socket of the built-in TURN server, handed over in
/// the process: from `from`, one of a worker's addresses.
#[derive(Debug)]
pub struct ToRelay {
    pub relay: SocketAddr,
    pub from: SocketAddr,
    pub data: Vec<u8>,
}

/// A datagram for a peer's own socket to send.
#[derive(Debug)]
pub struct ToSocket {
    pub to: SocketAddr,
    pub data: Vec<u8>,
    /// The worker that sent it: the one holding the socket's peer.
    pub worker: usize,
}

/// Where a worker's packets go out.
struct Exits {
    /// This worker's index.
    index: usize,
    udp: UdpSocket,
    tcp: TcpConns,
    /// The socket is dual-stack ([::]): IPv4 destinations go as mapped addresses.
    v6: bool,
    /// Relay sockets of the built-in TURN server: what goes there is handed
    /// over in the process, not sent through the kernel twice.
    turn: HashMap<SocketAddr, mpsc::Sender<ToRelay>>,
    /// Peers' own sockets, by their address: what a peer sends from there
    /// goes through that socket.
    own: HashMap<SocketAddr, mpsc::Sender<ToSocket>>,
}

#[allow(clippy::too_many_arguments)]
async fn run(
    index: usize,
    socket: std::net::UdpSocket,
    tcp: Option<std::net::TcpListener>,
    mut sfu: Sfu,
    mut inbox: mpsc::UnboundedReceiver<WorkerMsg>,
    peers: Peers,
    events: mpsc::UnboundedSender<MediaEvent>,
    counters: WorkerCounters,
) {
    // This worker's own count of relayed packets waiting for it.
    let me = Arc::clone(&peers.backlog[index]);
    let udp = match UdpSocket::from_std(socket) {
        Ok(u) => u,
        Err(e) => {
            tracing::error!("media worker cannot use its socket: {e}");
            return;
        }
    };
    let listener = tcp.and_then(|l| match tokio::net::TcpListener::from_std(l) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!("ICE-TCP is off for media worker {index}: {e}");
            None
        }
    });
    let (tcp, mut tcp_events) = TcpConns::new();
    let v6 = udp.local_addr().is_ok_and(|a| a.is_ipv6());
    let mut out = Exits {
        index,
        udp,
        tcp,
        v6,
        turn: HashMap::new(),
        own: HashMap::new(),
    };
    let mut buf = vec![0u8; RECV_BUF];
    loop {
        let idle = Instant::now() + Duration::from_secs(1);
        let wake = sfu.poll_timeout().unwrap_or(idle).min(idle);
        tokio::select! {
            msg = inbox.recv() => match msg {
                Some(msg) => {
                    handle(&mut sfu, msg, &mut out, &peers, &me, &events, &counters);
                    // Relayed packets come in bursts: take what is there.
                    for _ in 1..RECV_BATCH {
                        match inbox.try_recv() {
                            Ok(msg) => handle(&mut sfu, msg, &mut out, &peers, &me, &events, &counters),
                            Err(_) => break,
                        }
                    }
                }
                None => break,
            },
            res = out.udp.recv_from(&mut buf) => {
                if let Ok((n, src)) = res {
                    sfu.handle_datagram(Instant::now(), canonical(src), &buf[..n]);
                    let (mut count, mut bytes) = (1, n as u64);
                    for _ in 1..RECV_BATCH {
                        match out.udp.try_recv_from(&mut buf) {
                            Ok((n, src)) => {
                                sfu.handle_datagram(Instant::now(), canonical(src), &buf[..n]);
                                count += 1;
                                bytes += n as u64;
                            }
                            Err(_) => break,
                        }
                    }
                    // Once per batch: the forwarding path pays no per-packet cost.
                    counters.datagrams_in.inc_by(count);
                    counters.bytes_in.inc_by(bytes);
                }
            }
            accepted = ice_tcp::accept(listener.as_ref()) => {
                if let Ok((stream, from)) = accepted {
                    out.tcp.accept(stream, canonical(from));
                }
            }
            Some(event) = tcp_events.recv() => match event {
                TcpEvent::Packet { from, port, data } => {
                    match port {
                        Some(port) => sfu.handle_tcp_packet_on(Instant::now(), from, port, &data),
                        None => sfu.handle_tcp_packet(Instant::now(), from, &data),
                    }
                    counters.datagrams_in.inc();
                    counters.bytes_in.inc_by(data.len() as u64);
                }
                TcpEvent::Closed(from) => out.tcp.closed(from),
            },
            _ = tokio::time::sleep_until(wake.into()) => sfu.handle_timeout(Instant::now()),
        }
        pump(&mut sfu, &out, &peers, &events, Some(&counters));
    }
}

fn handle(
    sfu: &mut Sfu,
    msg: WorkerMsg,
    out: &mut Exits,
    peers: &Peers,
    backlog: &AtomicUsize,
    events: &mpsc::UnboundedSender<MediaEvent>,
    counters: &WorkerCounters,
) {
    match msg {
        WorkerMsg::Command(cmd) => sfu.handle_command(Instant::now(), cmd),
        WorkerMsg::Relay(relay) => {
            if matches!(relay, Relay::Media { .. }) {
                backlog.fetch_sub(1, Ordering::Relaxed);
            }
            sfu.handle_relay(Instant::now(), relay);
        }
        WorkerMsg::Spread { source, to, then } => {
            if !sfu.mirror_to(source, to) {
                tracing::debug!(%source, to, "no publisher here to mirror");
            }
            // The mirror's description goes out first, then the command.
            pump(sfu, out, peers, events, None);
            peers.send(to, WorkerMsg::Command(then));
        }
        WorkerMsg::AdoptTcp {
            stream,
            peer,
            port,
            first,
        } => match tokio::net::TcpStream::from_std(stream) {
            Ok(stream) => out.tcp.adopt(stream, canonical(peer), Some(port), first),
            Err(e) => tracing::debug!(%peer, "ICE-TCP connection from the shared port lost: {e}"),
        },
        WorkerMsg::Frame { source, frame } => sfu.handle_frame(Instant::now(), source, &frame),
        WorkerMsg::FrameSink { source, sink } => {
            if !sfu.add_frame_sink(Instant::now(), source, sink.0) {
                tracing::warn!(%source, "the stream to record has no media on its worker");
            }
        }
        WorkerMsg::TurnIn { from, to, data } => {
            // A relay's own socket hands what it gets to every worker: only
            // the one holding its peer looks at it.
            if out.own.contains_key(&to) && !sfu.has_own_address(to) {
                return;
            }
            sfu.handle_datagram_to(Instant::now(), from, to, &data);
            counters.datagrams_in.inc();
            counters.bytes_in.inc_by(data.len() as u64);
        }
        WorkerMsg::OwnSocket { local, link } => match link {
            Some(link) => {
                out.own.insert(local, link);
            }
            None => {
                out.own.remove(&local);
            }
        },
        WorkerMsg::TurnRelay { relay, link } => match link {
            Some(link) => {
                out.turn.insert(relay, link);
            }
            None => {
                out.turn.remove(&relay);
            }
        },
    }
}

/// Sends what the SFU produced: datagrams in one batch, events to the hub,
/// relays to the other workers.
fn pump(
    sfu: &mut Sfu,
    out: &Exits,
    peers: &Peers,
    events: &mpsc::UnboundedSender<MediaEvent>,
    counters: Option<&WorkerCounters>,
) {
    let mut transmits = Vec::new();
    while let Some(o) = sfu.poll_output() {
        match o {
            SfuOutput::Transmit(t) => transmits.push(t),
            SfuOutput::Event(e) => {
                let _ = events.send(e);
            }
            SfuOutput::Relay { worker, relay } => peers.relay(worker, relay),
        }
    }
    // str0m's datagrams, then those Tern sealed itself, read in place.
    let datagrams: Vec<Datagram> = transmits
        .iter()
        .map(|t| Datagram {
            proto: t.proto,
            source: t.source,
            destination: t.destination,
            contents: &t.contents,
        })
        .chain(sfu.sealed())
        .collect();
    send(out, &datagrams, counters);
    drop(datagrams);
    sfu.sealed_sent();
}

/// Sends each datagram its way: in the process to the built-in TURN server
/// or a peer's own socket, over ICE-TCP, or (most) in one batch from the
/// media socket.
fn send(out: &Exits, datagrams: &[Datagram], counters: Option<&WorkerCounters>) {
    let mut dropped = 0;
    let mut udp: Vec<(SocketAddr, &[u8])> = Vec::with_capacity(datagrams.len());
    let mut tcp_bytes = 0;
    let mut tcp_count = 0;
    for d in datagrams {
        if let Some(link) = out.turn.get(&d.destination) {
            // Peers behind the built-in TURN server get theirs in the process.
            let to = ToRelay {
                relay: d.destination,
                from: d.source,
                data: d.contents.to_vec(),
            };
            if link.try_send(to).is_err() {
                dropped += 1;
            }
        } else if let Some(link) = out.own.get(&d.source) {
            let to = ToSocket {
                to: d.destination,
                data: d.contents.to_vec(),
                worker: out.index,
            };
            if link.try_send(to).is_err() {
                dropped += 1;
            }
        } else if d.proto == Protocol::Tcp {
            if !out.tcp.send(d.destination, d.contents) {
                dropped += 1;
            }
            tcp_count += 1;
            tcp_bytes += d.contents.len();
        } else {
            udp.push((for_socket(d.destination, out.v6), d.contents));
        }
    }
    // A full send buffer drops datagrams, as the network would; RTP recovers
    // through NACK and keyframes.
    let sent = udp_batch::send_counted(&out.udp, &udp);
    dropped += sent.dropped;
    let count = udp.len() + tcp_count;
    if let Some(c) = counters.filter(|_| count > 0) {
        let bytes = udp.iter().map(|(_, b)| b.len()).sum::<usize>() + tcp_bytes;
        c.datagrams_out
            .inc_by((count.saturating_sub(dropped)) as u64);
        c.bytes_out.inc_by(bytes as u64);
        c.sends.inc_by((sent.messages + tcp_count) as u64);
        c.dropped.inc_by(dropped as u64);
    }
    if dropped > 0 {
        tracing::debug!(dropped, "media socket dropped datagrams");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_always_lands_on_one_worker_and_groups_spread() {
        assert_eq!(
            worker_for("LiveApp", "room1", 4),
            worker_for("LiveApp", "room1", 4)
        );
        assert_eq!(worker_for("LiveApp", "anything", 1), 0);
        let used: std::collections::BTreeSet<usize> = (0..64)
            .map(|i| worker_for("LiveApp", &format!("stream{i}"), 4))
            .collect();
        assert_eq!(used.len(), 4, "64 streams use all 4 workers");
    }
}
