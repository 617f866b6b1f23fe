//! The SFU: every peer connection of one media worker behind its UDP socket.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use str0m::config::DtlsCert;
use str0m::net::{DatagramRecv, Protocol, Receive};
use str0m::Input;
use tern_core::{MediaCommand, MediaEvent, PeerId, SdpFailure};

use crate::egress::outbox::Datagram;
use crate::local_addrs::LocalAddrs;
use crate::mirror::msg::Mirror;
use crate::output::SfuOutput;
use crate::peer::events::drain;
use crate::peer::Peer;
use crate::stream::local::LocalStream;

/// Maps keyed by the ids the session logic gives peers (not by anything a
/// peer sends): a plain multiplicative hash, looked up several times per
/// player per packet, where SipHash was 9 % of forwarding's instructions.
pub(crate) type PeerMap<V> = HashMap<PeerId, V, rustc_hash::FxBuildHasher>;

/// The sans-IO loop of one media worker: its peers, the streams they form,
/// and the timers, behind one UDP socket.
pub struct Sfu {
    pub(crate) local: LocalAddrs,
    pub(crate) cert: DtlsCert,
    pub(crate) peers: PeerMap<Peer>,
    /// Demultiplexing cache: remote address → peer.
    pub(crate) by_addr: HashMap<SocketAddr, PeerId>,
    /// Peers with a UDP address of their own (cluster relays), by it: their
    /// datagrams are told apart by where they went, not where they came from.
    pub(crate) by_local: HashMap<SocketAddr, PeerId>,
    /// Per source here (or mirrored): its sinks on this worker.
    pub(crate) streams: PeerMap<LocalStream>,
    pub(crate) out: VecDeque<SfuOutput>,
    pub(crate) dirty: Vec<PeerId>,
    /// Players with media sealed by Tern since the last drive (`egress/`).
    pub(crate) direct_dirty: Vec<PeerId>,
    /// Players whose sealed media waits for the driver ([`Sfu::sealed`]).
    pub(crate) direct_ready: Vec<PeerId>,
    /// Packets of one source not yet given to its players (`stream::fanout`).
    pub(crate) pending: crate::stream::pending::Pending,
    /// The latest instant the driver gave, for work deferred to `poll_output`.
    pub(crate) now: Instant,
    /// This SFU's media worker, as other workers address it.
    pub(crate) index: usize,
    /// Publisher → the other workers that have players of it, each with the
    /// epoch of the mirror it was last sent.
    pub(crate) relays: PeerMap<Vec<(usize, u64)>>,
    /// Numbers mirrors, so a stale `Unmirror` cannot end a newer one.
    pub(crate) epochs: u64,
    /// Publishers of other workers whose players are (partly) here.
    pub(crate) mirrors: PeerMap<Mirror>,
    /// Sources here that give frames (RTMP, SRT).
    pub(crate) frame_sources: PeerMap<crate::source::frames::state::FrameSource>,
    /// Each peer's earliest timer, so waking up costs no scan of every peer.
    /// An entry may be early (the peer then finds nothing due), never late.
    pub(crate) timers: BTreeSet<(Instant, PeerId)>,
    /// Peers report their connection quality (str0m statistics); off only to
    /// measure what it costs.
    pub(crate) peer_stats: bool,
    /// Passive TCP candidates beside the UDP ones: the driver listens on TCP
    /// at the media address.
    pub(crate) ice_tcp: bool,
    /// Passive TCP candidates on this port too: the HTTPS port, which hands
    /// ICE-TCP connections to their worker (one port for everything).
    pub(crate) shared_tcp_port: Option<u16>,
    /// Players' media sealed by Tern itself (`egress/`).
    pub(crate) direct_egress: bool,
}

/// Why the SFU could not start.
#[derive(Debug)]
pub enum SfuError {
    /// The crypto provider could not make a DTLS certificate.
    Certificate,
}

impl std::fmt::Display for SfuError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SfuError::Certificate => write!(f, "could not generate a DTLS certificate"),
        }
    }
}

impl std::error::Error for SfuError {}

impl Sfu {
    /// One DTLS certificate serves every peer: generating a key per peer would
    /// cost milliseconds on every publish and play.
    pub fn new(local: LocalAddrs) -> Result<Self, SfuError> {
        crate::shared_dtls::install();
        let cert = str0m::crypto::from_feature_flags()
            .dtls_provider
            .generate_certificate()
            .ok_or(SfuError::Certificate)?;
        Ok(Sfu {
            local,
            cert,
            peers: PeerMap::default(),
            by_addr: HashMap::new(),
            by_local: HashMap::new(),
            streams: PeerMap::default(),
            out: VecDeque::new(),
            dirty: Vec::new(),
            direct_dirty: Vec::new(),
            direct_ready: Vec::new(),
            pending: Default::default(),
            now: Instant::now(),
            index: 0,
            relays: PeerMap::default(),
            epochs: 0,
            mirrors: PeerMap::default(),
            frame_sources: PeerMap::default(),
            timers: BTreeSet::new(),
            peer_stats: true,
            ice_tcp: false,
            shared_tcp_port: None,
            direct_egress: true,
        })
    }

    /// Offers passive ICE-TCP candidates (RFC 6544) on the media address; the
    /// driver must accept TCP there and feed [`Sfu::handle_tcp_packet`].
    pub fn with_ice_tcp(mut self) -> Self {
        self.ice_tcp = true;
        self
    }

    /// Also offers passive TCP candidates on `port` (the HTTPS port); the
    /// driver feeds what arrives there to [`Sfu::handle_tcp_packet_on`].
    pub fn with_shared_tcp_port(mut self, port: u16) -> Self {
        self.shared_tcp_port = Some(port);
        self
    }

    /// Whether players' media goes past str0m's per-packet poll (`egress/`).
    pub fn with_direct_egress(mut self, on: bool) -> Self {
        self.direct_egress = on;
        self
    }

    /// No per-peer quality reports: the forwarding benchmark's baseline.
    pub fn without_peer_stats(mut self) -> Self {
        self.peer_stats = false;
        self
    }

    /// Names this SFU as media worker `index`, for relays between workers.
    pub fn with_worker_index(mut self, index: usize) -> Self {
        self.index = index;
        self
    }

    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Players that got media from the datagrams handled since the last call
    /// are drained here, once each for the whole batch: fewer polls, and a
    /// player's packets leave together (one GSO send).
    pub fn poll_output(&mut self) -> Option<SfuOutput> {
        let idle = self.dirty.is_empty() && self.direct_dirty.is_empty() && self.pending.is_empty();
        if self.out.is_empty() && !idle {
            self.drive(self.now);
        }
        self.out.pop_front()
    }

    /// The datagrams Tern sealed itself (players on the direct path), in
    /// place, once `poll_output` has nothing more: the driver sends them and
    /// then calls [`Sfu::sealed_sent`].
    pub fn sealed(&self) -> impl Iterator<Item = Datagram<'_>> {
        self.direct_ready
            .iter()
            .filter_map(|id| self.peers.get(id))
            .flat_map(|p| p.direct.waiting())
    }

    /// Everything [`Sfu::sealed`] gave was handed to the socket (or dropped).
    pub fn sealed_sent(&mut self) {
        for id in self.direct_ready.drain(..) {
            if let Some(p) = self.peers.get_mut(&id) {
                p.direct.sent();
            }
        }
    }

    pub fn handle_command(&mut self, now: Instant, cmd: MediaCommand) {
        // Media already in goes out before anything changes who gets it.
        self.flush_fan_out(now);
        match cmd {
            MediaCommand::OpenPublisher {
                peer,
                session,
                stream,
                profile,
                offer,
                ..
            } => self.open_publisher(now, peer, session, &stream, profile, &offer),
            MediaCommand::OpenFrameSource {
                peer,
                session,
                stream,
                audio,
                video,
                ..
            } => self.open_frame_source(peer, session, &stream, audio, video),
            MediaCommand::OpenPlayer {
                peer,
                session,
                stream,
                sources,
                profile,
                offer: None,
            } => self.open_player(now, peer, session, &stream, sources, profile),
            MediaCommand::OpenPlayer {
                peer,
                session,
                stream,
                sources,
                profile,
                offer: Some(offer),
            } => self.answer_player(now, peer, session, &stream, sources, profile, &offer),
            MediaCommand::UpdateSources { peer, sources } => {
                self.update_sources(now, peer, sources)
            }
            MediaCommand::PinLayer { peer, height } => self.pin_layer(now, peer, height),
            MediaCommand::SetForwarding {
                peer,
                source,
                audio,
                video,
            } => self.set_forwarding(peer, source, audio, video),
            MediaCommand::SwitchSource { peer, from, to } => {
                self.switch_source(now, peer, from, to)
            }
            MediaCommand::ChannelSend { peer, binary, data } => {
                self.channel_send(peer, binary, &data);
            }
            MediaCommand::ApplyAnswer { peer, answer } => self.apply_answer(now, peer, &answer),
            MediaCommand::AddCandidate { peer, candidate } => self.add_candidate(peer, &candidate),
            MediaCommand::Close { peer } => {
                if let Some(mut p) = self.remove_peer(peer) {
                    p.rtc.disconnect();
                } else {
                    self.close_frame_source(peer);
                }
            }
        }
        self.drive(now);
    }

    /// Whether a peer here has `addr` as its own address (a cluster relay).
    pub fn has_own_address(&self, addr: SocketAddr) -> bool {
        self.by_local.contains_key(&addr)
    }

    /// One datagram from the media socket. Garbage and strangers are dropped.
    pub fn handle_datagram(&mut self, now: Instant, source: SocketAddr, data: &[u8]) {
        self.receive(now, Protocol::Udp, source, None, data);
    }

    /// One packet of an ICE-TCP connection from `source` (already cut from
    /// the stream). Answers go out as transmits with `proto` TCP.
    pub fn handle_tcp_packet(&mut self, now: Instant, source: SocketAddr, data: &[u8]) {
        self.receive(now, Protocol::Tcp, source, None, data);
    }

    /// A packet of an ICE-TCP connection that came in on `port` (the shared
    /// HTTPS port) rather than the media port.
    pub fn handle_tcp_packet_on(
        &mut self,
        now: Instant,
        source: SocketAddr,
        port: u16,
        data: &[u8],
    ) {
        let destination = SocketAddr::new(self.local.local_for(source).ip(), port);
        self.receive(now, Protocol::Tcp, source, Some(destination), data);
    }

    /// A datagram handed over in the process by the built-in TURN server:
    /// from its relay socket `source` to `destination`, one of this worker's
    /// addresses.
    pub fn handle_datagram_to(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        self.receive(now, Protocol::Udp, source, Some(destination), data);
    }

    fn receive(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: Option<SocketAddr>,
        data: &[u8],
    ) {
        let Ok(contents) = DatagramRecv::try_from(data) else {
            return;
        };
        let destination = destination.unwrap_or_else(|| self.local.local_for(source));
        let input = Input::Receive(
            now,
            Receive {
                proto,
                source,
                destination,
                contents,
            },
        );
        // A peer with an address of its own takes what is sent there; the
        // others never take it (they may share its remote address).
        let own = self.by_local.get(&destination).copied();
        let cached = own.or_else(|| {
            self.by_addr.get(&source).copied().filter(|id| {
                self.peers
                    .get(id)
                    .is_some_and(|p| p.profile.local.is_none() && p.rtc.accepts(&input))
            })
        });
        let Some(id) = cached.or_else(|| {
            self.peers
                .iter()
                .find(|(_, p)| p.profile.local.is_none() && p.rtc.accepts(&input))
                .map(|(id, _)| *id)
        }) else {
            return;
        };
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        if cached.is_none() && own.is_none() {
            self.by_addr.insert(source, id);
            peer.addrs.push(source);
        }
        peer.last_heard = now;
        if peer.hold_early_dtls(proto, source, data) {
            return;
        }
        if let Err(e) = peer.rtc.handle_input(input) {
            self.fail(id, format!("bad input: {e}"));
            return;
        }
        // This peer now, since str0m holds one received packet at a time; the
        // players it feeds when output is polled.
        self.now = now;
        self.drive_peer(now, id);
    }

    /// A player's answer is in and its DTLS started: the handshake records
    /// that came before it are handled now, not lost until the browser sends
    /// them again (50 ms later in Chromium).
    pub(crate) fn replay_early_dtls(&mut self, now: Instant, id: PeerId) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        if let Some((proto, source, data)) = peer.early_dtls.take() {
            let Ok(contents) = DatagramRecv::try_from(data.as_slice()) else {
                return;
            };
            let receive = Receive {
                proto,
                source,
                destination: self.local.local_for(source),
                contents,
            };
            if let Err(e) = peer.rtc.handle_input(Input::Receive(now, receive)) {
                tracing::debug!(peer = %id, "early DTLS record refused: {e}");
            }
        }
        self.dirty.push(id);
    }

    pub(crate) fn event(&mut self, e: MediaEvent) {
        self.out.push_back(SfuOutput::Event(e));
    }

    pub(crate) fn sdp_failed(&mut self, peer: PeerId, failure: SdpFailure) {
        self.event(MediaEvent::SdpFailed { peer, failure });
    }

    pub(crate) fn remove_peer(&mut self, id: PeerId) -> Option<Peer> {
        let peer = self.peers.remove(&id)?;
        if let Some(t) = peer.wake_at {
            self.timers.remove(&(t, id));
        }
        for addr in &peer.addrs {
            if self.by_addr.get(addr) == Some(&id) {
                self.by_addr.remove(addr);
            }
        }
        self.by_local.retain(|_, p| *p != id);
        self.end_stream(id);
        for source in &peer.sources {
            if let Some(s) = self.streams.get_mut(&source.peer) {
                s.players.retain(|p| *p != id);
            }
            self.drop_mirror_if_unused(source.peer);
        }
        self.end_relays(id);
        Some(peer)
    }

    /// Drops a peer and tells the session logic why.
    pub(crate) fn fail(&mut self, id: PeerId, reason: String) {
        if self.remove_peer(id).is_some() {
            self.event(MediaEvent::Disconnected { peer: id, reason });
        }
    }

    /// Drains every peer that got input until each says when it wants time next,
    /// carrying media, data and keyframe requests between peers.
    pub(crate) fn drive(&mut self, now: Instant) {
        self.now = now;
        self.flush_fan_out(now);
        // Each player's sealed packets wait together in its outbox: one GSO
        // send per player.
        let mut direct = std::mem::take(&mut self.direct_dirty);
        direct.sort_unstable();
        direct.dedup();
        for &id in &direct {
            let Some(p) = self.peers.get_mut(&id) else {
                continue;
            };
            // Its first packet of a stream sets a report timer; other
            // packets leave its timers as they were.
            let timer = p.direct.take_new_timer();
            if p.direct.list() {
                self.direct_ready.push(id);
            }
            if timer {
                self.reschedule(id);
            }
        }
        direct.clear();
        self.direct_dirty = direct;
        while !self.dirty.is_empty() {
            // A player is marked once per packet written to it; one drain
            // takes them all.
            let mut batch = std::mem::take(&mut self.dirty);
            batch.sort_unstable();
            batch.dedup();
            for id in batch {
                self.drive_peer(now, id);
            }
        }
    }

    pub(crate) fn drive_peer(&mut self, now: Instant, id: PeerId) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let mut forwards = Vec::new();
        let mut events = Vec::new();
        let dead = drain(now, id, peer, &mut self.out, &mut forwards, &mut events);
        // Retransmissions it asked for.
        if peer.direct.has_waiting() && peer.direct.list() {
            self.direct_ready.push(id);
        }
        if let Some(info) = peer.stats.poll(now) {
            events.push(MediaEvent::SourceInfo { peer: id, info });
        }
        for e in events {
            self.event(e);
        }
        if let Some(reason) = dead {
            self.fail(id, reason);
            return;
        }
        self.reschedule(id);
        for f in forwards {
            self.forward(now, id, f);
        }
    }
}
