//! The relay: one protocol core per listener (UDP, TCP, TLS), with Tern's
//! gate, quotas and bandwidth limits around them. Sans-IO: the caller feeds
//! what its sockets read, with the time, and carries out [`Output`]s.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use turn_server_proto::api::{
    SocketAllocateError, TcpConnectError, TurnServerApi, TurnServerPollRet,
};
use turn_server_proto::server::TurnServer;
use turn_server_proto::stun::agent::Transmit;
use turn_server_proto::types::{AddressFamily, TransportType};

use crate::gate::{Context, Gate, Verdict};
use crate::policy::Policy;

/// How a client reaches a listener. TLS is TCP to the core: the caller
/// terminates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    fn core(self) -> TransportType {
        match self {
            Transport::Udp => TransportType::Udp,
            Transport::Tcp => TransportType::Tcp,
        }
    }
}

/// Quotas and limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Allocations the whole relay holds; more get 508.
    pub max_allocations: usize,
    /// Allocations one client IP holds; more get 486.
    pub allocations_per_ip: usize,
    /// Bits per second each way through one allocation; more is dropped, as
    /// a congested link would.
    pub bitrate: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_allocations: 10_000,
            allocations_per_ip: 1000,
            bitrate: 20_000_000,
        }
    }
}

/// What the caller must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// Send `data`: from a listener to a client (a datagram, or whole
    /// messages on the TCP connection `to`), or from relay socket `from` to
    /// a peer.
    Transmit {
        transport: Transport,
        from: SocketAddr,
        to: SocketAddr,
        data: Vec<u8>,
    },
    /// Bind a UDP relay socket of `ipv6`'s family for `client`, then call
    /// [`Relay::relay_bound`].
    BindRelay {
        transport: Transport,
        listener: SocketAddr,
        client: SocketAddr,
        ipv6: bool,
    },
    /// The allocation of this relay socket ended: close it.
    CloseRelay(SocketAddr),
    /// Close the TCP connection from `remote` on listener `local`.
    CloseTcp {
        local: SocketAddr,
        remote: SocketAddr,
    },
}

#[derive(Debug)]
struct Allocation {
    server: usize,
    client: SocketAddr,
    /// Peer → client bytes.
    down: Bucket,
}

/// A token bucket of bytes, one second deep.
#[derive(Debug)]
struct Bucket {
    bytes_per_sec: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(bitrate: u64, now: Instant) -> Bucket {
        let bytes_per_sec = bitrate as f64 / 8.0;
        Bucket {
            bytes_per_sec,
            tokens: bytes_per_sec,
            at: now,
        }
    }

    fn take(&mut self, n: usize, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + dt * self.bytes_per_sec).min(self.bytes_per_sec);
        if self.tokens >= n as f64 {
            self.tokens -= n as f64;
            true
        } else {
            false
        }
    }
}

/// Counts the caller may export.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub allocations: usize,
    pub refused: u64,
    pub dropped_over_bitrate: u64,
    pub dropped_by_policy: u64,
    pub relayed_bytes: u64,
}

pub struct Relay {
    servers: Vec<(Transport, SocketAddr, TurnServer)>,
    gate: Gate,
    policy: Policy,
    limits: Limits,
    allocations: HashMap<SocketAddr, Allocation>,
    /// Client → relay socket, for the client → peer bucket.
    by_client: HashMap<(usize, SocketAddr), (SocketAddr, Bucket)>,
    /// Allocations (made or being made) per client IP.
    per_ip: HashMap<IpAddr, usize>,
    pending: usize,
    out: VecDeque<Output>,
    epoch: Instant,
    epoch_unix: u64,
    wake: Instant,
    stats: Stats,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("listeners", &self.servers.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Relay {
    /// A relay on `listeners`; `now` is `now_unix` in Unix seconds.
    pub fn new(
        listeners: &[(Transport, SocketAddr)],
        gate: Gate,
        policy: Policy,
        limits: Limits,
        now: Instant,
        now_unix: u64,
    ) -> Relay {
        let servers = listeners
            .iter()
            .map(|&(t, addr)| {
                let server = TurnServer::new(t.core(), addr, gate.realm().to_owned());
                (t, addr, server)
            })
            .collect();
        Relay {
            servers,
            gate,
            policy,
            limits,
            allocations: HashMap::new(),
            by_client: HashMap::new(),
            per_ip: HashMap::new(),
            pending: 0,
            out: VecDeque::new(),
            epoch: now,
            epoch_unix: now_unix,
            wake: now,
            stats: Stats::default(),
        }
    }

    pub fn stats(&self) -> Stats {
        Stats {
            allocations: self.allocations.len(),
            ..self.stats
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Is `addr` one of this relay's sockets?
    pub fn is_relay(&self, addr: SocketAddr) -> bool {
        self.allocations.contains_key(&addr)
    }

    /// When [`Relay::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Instant {
        self.wake
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn t(&self, now: Instant) -> turn_server_proto::types::Instant {
        let nanos = now.saturating_duration_since(self.epoch).as_nanos();
        turn_server_proto::types::Instant::from_nanos(i64::try_from(nanos).unwrap_or(i64::MAX))
    }

    fn unix(&self, now: Instant) -> u64 {
        self.epoch_unix + now.saturating_duration_since(self.epoch).as_secs()
    }

    /// One datagram (UDP) or one whole message (TCP, see
    /// [`crate::framing`]) from `client` on `listener`.
    pub fn from_client(
        &mut self,
        now: Instant,
        transport: Transport,
        listener: SocketAddr,
        client: SocketAddr,
        data: &[u8],
    ) {
        let Some(idx) = self.server(transport, listener) else {
            return;
        };
        if let Some((_, up)) = self.by_client.get_mut(&(idx, client)) {
            if !up.take(data.len(), now) {
                self.stats.dropped_over_bitrate += 1;
                return;
            }
        }
        let ip_count = self.per_ip.get(&client.ip()).copied().unwrap_or(0);
        let quota_full = ip_count >= self.limits.allocations_per_ip
            || self.allocations.len() + self.pending >= self.limits.max_allocations;
        let cx = Context {
            now_unix: self.unix(now),
            policy: &self.policy,
            quota_full,
        };
        let (verdict, new_user) = self.gate.inspect(data, cx);
        if let Some(user) = new_user {
            // The gate learns a user once for the whole relay: every
            // listener's core learns it then.
            for (_, _, server) in &mut self.servers {
                server.add_user(user.username.clone(), user.password.clone());
            }
        }
        match verdict {
            Verdict::Refuse {
                code,
                response,
                peer,
            } => {
                self.stats.refused += 1;
                match peer {
                    Some(peer) => {
                        tracing::info!(%client, %peer, "TURN: 403, the relay reaches only Tern's media sockets (and [turn] allowed_peers)")
                    }
                    None => tracing::info!(%client, code, "TURN request refused"),
                }
                self.out.push_back(Output::Transmit {
                    transport,
                    from: listener,
                    to: client,
                    data: response,
                });
            }
            Verdict::Pass => {
                let t = self.t(now);
                let msg = Transmit::new(data, transport.core(), client, listener);
                if let Some(reply) = self.servers[idx].2.recv(msg, t) {
                    self.route(reply.build());
                }
            }
        }
        self.drain(now);
    }

    /// The TCP connection from `client` on `listener` closed.
    pub fn client_closed(&mut self, now: Instant, listener: SocketAddr, client: SocketAddr) {
        let Some(idx) = self.server(Transport::Tcp, listener) else {
            return;
        };
        self.by_client.remove(&(idx, client));
        let t = self.t(now);
        // An empty read is how the core learns of a close.
        let msg = Transmit::new(&[][..], TransportType::Tcp, client, listener);
        if let Some(reply) = self.servers[idx].2.recv(msg, t) {
            self.route(reply.build());
        }
        self.drain(now);
    }

    /// A datagram from `peer` to relay socket `relay`.
    pub fn from_peer(&mut self, now: Instant, relay: SocketAddr, peer: SocketAddr, data: &[u8]) {
        let Some(alloc) = self.allocations.get_mut(&relay) else {
            return;
        };
        if !alloc.down.take(data.len(), now) {
            self.stats.dropped_over_bitrate += 1;
            return;
        }
        let idx = alloc.server;
        let t = self.t(now);
        let msg = Transmit::new(data, TransportType::Udp, peer, relay);
        if let Some(out) = self.servers[idx].2.recv(msg, t) {
            self.route(out.build());
        }
        self.drain(now);
    }

    /// The relay socket asked for by [`Output::BindRelay`] is bound (or not).
    pub fn relay_bound(
        &mut self,
        now: Instant,
        transport: Transport,
        listener: SocketAddr,
        client: SocketAddr,
        ipv6: bool,
        bound: Result<SocketAddr, ()>,
    ) {
        self.pending = self.pending.saturating_sub(1);
        let Some(idx) = self.server(transport, listener) else {
            return;
        };
        match bound {
            Ok(addr) => {
                self.allocations.insert(
                    addr,
                    Allocation {
                        server: idx,
                        client,
                        down: Bucket::new(self.limits.bitrate, now),
                    },
                );
                self.by_client
                    .insert((idx, client), (addr, Bucket::new(self.limits.bitrate, now)));
            }
            Err(()) => self.release_ip(client.ip()),
        }
        let family = if ipv6 {
            AddressFamily::IPV6
        } else {
            AddressFamily::IPV4
        };
        let t = self.t(now);
        self.servers[idx].2.allocated_socket(
            transport.core(),
            listener,
            client,
            TransportType::Udp,
            family,
            bound.map_err(|()| SocketAllocateError::InsufficientCapacity),
            t,
        );
        self.drain(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.drain(now);
    }

    /// UDP and TCP listeners may share an address: the transport tells them apart.
    fn server(&self, transport: Transport, listener: SocketAddr) -> Option<usize> {
        self.servers
            .iter()
            .position(|s| s.0 == transport && s.1 == listener)
    }

    fn release_ip(&mut self, ip: IpAddr) {
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }

    /// Sends a transmit of the core's where it goes; what a relay socket
    /// would send to a peer the policy forbids is dropped.
    fn route(&mut self, t: Transmit<Vec<u8>>) {
        let from_relay = self.allocations.contains_key(&t.from);
        if from_relay {
            if !self.policy.allows(t.to) {
                self.stats.dropped_by_policy += 1;
                return;
            }
            self.stats.relayed_bytes += t.data.len() as u64;
        }
        let mut data = t.data;
        let transport = match t.transport {
            TransportType::Udp => Transport::Udp,
            TransportType::Tcp => {
                // Over TCP, ChannelData is padded to four bytes (RFC 8656
                // §12.5), which the core leaves out; clients that read the
                // stream by it (browsers) lose their place without it.
                if data.first().is_some_and(|b| b >> 6 == 1) {
                    data.resize(data.len().div_ceil(4) * 4, 0);
                }
                Transport::Tcp
            }
        };
        self.out.push_back(Output::Transmit {
            transport,
            from: t.from,
            to: t.to,
            data,
        });
    }

    fn drain(&mut self, now: Instant) {
        let t = self.t(now);
        let mut wake = now + Duration::from_secs(60);
        for idx in 0..self.servers.len() {
            loop {
                match self.servers[idx].2.poll(t) {
                    TurnServerPollRet::WaitUntil(at) => {
                        let until = at.saturating_duration_since(t);
                        wake = wake.min(now + until);
                        break;
                    }
                    TurnServerPollRet::AllocateSocket {
                        transport,
                        listen_addr,
                        client_addr,
                        allocation_transport,
                        family,
                    } => {
                        let full =
                            self.allocations.len() + self.pending >= self.limits.max_allocations;
                        if full || allocation_transport != TransportType::Udp {
                            // TCP relays (RFC 6062) reach TCP peers; Tern's
                            // media is UDP, so there is nothing to reach.
                            self.stats.refused += 1;
                            self.servers[idx].2.allocated_socket(
                                transport,
                                listen_addr,
                                client_addr,
                                allocation_transport,
                                family,
                                Err(SocketAllocateError::InsufficientCapacity),
                                t,
                            );
                            continue;
                        }
                        self.pending += 1;
                        *self.per_ip.entry(client_addr.ip()).or_default() += 1;
                        self.out.push_back(Output::BindRelay {
                            transport: self.servers[idx].0,
                            listener: listen_addr,
                            client: client_addr,
                            ipv6: family == AddressFamily::IPV6,
                        });
                    }
                    TurnServerPollRet::TcpConnect {
                        relayed_addr,
                        peer_addr,
                        listen_addr,
                        client_addr,
                    } => self.servers[idx].2.tcp_connected(
                        relayed_addr,
                        peer_addr,
                        listen_addr,
                        client_addr,
                        Err(TcpConnectError::Forbidden),
                        t,
                    ),
                    TurnServerPollRet::TcpClose {
                        local_addr,
                        remote_addr,
                    } => self.out.push_back(Output::CloseTcp {
                        local: local_addr,
                        remote: remote_addr,
                    }),
                    TurnServerPollRet::SocketClose { listen_addr, .. } => {
                        if let Some(alloc) = self.allocations.remove(&listen_addr) {
                            self.by_client.remove(&(alloc.server, alloc.client));
                            self.release_ip(alloc.client.ip());
                            self.out.push_back(Output::CloseRelay(listen_addr));
                        }
                    }
                }
            }
            while let Some(tx) = self.servers[idx].2.poll_transmit(t) {
                self.route(tx);
            }
        }
        self.wake = wake;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Secret;
    use turn_server_proto::types::attribute::RequestedTransport;
    use turn_server_proto::types::message::ALLOCATE;
    use turn_server_proto::types::stun::attribute::{ErrorCode, Nonce, Realm, Username};
    use turn_server_proto::types::stun::message::{
        IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass,
        MessageIntegrityCredentials, MessageWrite, MessageWriteExt, MessageWriteVec,
    };

    const NOW_UNIX: u64 = 1_800_000_000;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn relay(limits: Limits) -> (Relay, Instant) {
        let now = Instant::now();
        let r = Relay::new(
            &[
                (Transport::Udp, a("10.0.0.1:3478")),
                (Transport::Tcp, a("10.0.0.1:3478")),
            ],
            Gate::new(Secret::new(b"k"), "tern".into()),
            Policy::new([a("10.0.0.2:50000")], vec![]),
            limits,
            now,
            NOW_UNIX,
        );
        (r, now)
    }

    fn allocate(user: Option<(&str, &str, &str)>) -> Vec<u8> {
        let mut b = Message::builder_request(ALLOCATE, MessageWriteVec::new());
        b.add_attribute(&RequestedTransport::new(RequestedTransport::UDP))
            .unwrap();
        if let Some((username, password, nonce)) = user {
            b.add_attribute(&Username::new(username).unwrap()).unwrap();
            b.add_attribute(&Realm::new("tern").unwrap()).unwrap();
            b.add_attribute(&Nonce::new(nonce).unwrap()).unwrap();
            let key: MessageIntegrityCredentials =
                LongTermKeyCredentials::new(username.into(), password.into(), "tern".into()).into();
            b.add_message_integrity(&key, IntegrityAlgorithm::Sha1)
                .unwrap();
        }
        b.finish()
    }

    /// The responses the relay sent to `client`.
    fn replies(r: &mut Relay, client: SocketAddr) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(o) = r.poll_output() {
            match o {
                Output::Transmit { to, data, .. } if to == client => out.push(data),
                Output::BindRelay {
                    transport,
                    listener,
                    client,
                    ipv6,
                } => {
                    let relay =
                        SocketAddr::new([10, 0, 0, 1].into(), 40_000 + r.allocations.len() as u16);
                    r.relay_bound(Instant::now(), transport, listener, client, ipv6, Ok(relay));
                }
                _ => {}
            }
        }
        out
    }

    fn error_code(data: &[u8]) -> Option<u16> {
        let m = Message::from_bytes(data).ok()?;
        m.has_class(MessageClass::Error)
            .then(|| m.attribute::<ErrorCode>().ok().map(|e| e.code()))
            .flatten()
    }

    /// Allocates for `client` on `transport` with minted credentials; the
    /// final response's error code (None: success).
    fn allocate_as(
        r: &mut Relay,
        now: Instant,
        transport: Transport,
        client: SocketAddr,
    ) -> Option<u16> {
        let listener = a("10.0.0.1:3478");
        let m = r.gate.secret().mint("tern", NOW_UNIX, 3600);
        r.from_client(now, transport, listener, client, &allocate(None));
        let challenge = replies(r, client).pop().expect("a 401 challenge");
        assert_eq!(error_code(&challenge), Some(401));
        let msg = Message::from_bytes(&challenge).unwrap();
        let nonce = msg.attribute::<Nonce>().unwrap().nonce().to_owned();
        r.from_client(
            now,
            transport,
            listener,
            client,
            &allocate(Some((&m.username, &m.password, &nonce))),
        );
        let mut out = replies(r, client);
        // The success comes once the relay socket is bound (replies() binds it).
        out.extend(replies(r, client));
        error_code(&out.pop().expect("an answer"))
    }

    #[test]
    fn a_user_learnt_on_udp_allocates_on_tcp_too() {
        let (mut r, now) = relay(Limits::default());
        assert_eq!(
            allocate_as(&mut r, now, Transport::Udp, a("192.0.2.1:5000")),
            None
        );
        assert_eq!(
            allocate_as(&mut r, now, Transport::Tcp, a("192.0.2.1:5001")),
            None
        );
        assert_eq!(r.stats().allocations, 2);
    }

    #[test]
    fn quotas_per_address_and_in_total() {
        let (mut r, now) = relay(Limits {
            max_allocations: 3,
            allocations_per_ip: 2,
            ..Limits::default()
        });
        assert_eq!(
            allocate_as(&mut r, now, Transport::Udp, a("192.0.2.1:1")),
            None
        );
        assert_eq!(
            allocate_as(&mut r, now, Transport::Udp, a("192.0.2.1:2")),
            None
        );
        assert_eq!(
            allocate_as(&mut r, now, Transport::Udp, a("192.0.2.1:3")),
            Some(486)
        );
        assert_eq!(
            allocate_as(&mut r, now, Transport::Udp, a("192.0.2.2:1")),
            None
        );
        assert_eq!(
            allocate_as(&mut r, now, Transport::Udp, a("192.0.2.3:1")),
            Some(486)
        );
        assert_eq!(r.stats().allocations, 3);
    }

    #[test]
    fn tcp_channel_data_to_a_client_is_padded() {
        let (mut r, _) = relay(Limits::default());
        r.route(Transmit::new(
            vec![0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5],
            TransportType::Tcp,
            a("10.0.0.1:3478"),
            a("192.0.2.1:5000"),
        ));
        let Some(Output::Transmit { data, .. }) = r.poll_output() else {
            panic!("nothing sent");
        };
        assert_eq!(data, [0x40, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0]);
    }
}
