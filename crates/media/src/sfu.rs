//! The SFU: every peer connection of one media worker behind its UDP socket.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Once};
use std::time::Instant;

use str0m::bwe::{Bitrate, BweKind};
use str0m::change::SdpOffer;
use str0m::config::DtlsCert;
use str0m::format::PayloadParams;
use str0m::media::{KeyframeRequestKind, MediaKind, Mid, Rid};
use str0m::net::{DatagramRecv, Protocol, Receive, Transmit};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};
use tern_core::{
    LocalCandidates, MediaCommand, MediaEvent, MediaProfile, PeerId, PeerRole, PlayerData,
    SdpFailure, SessionId, StreamKey,
};

use crate::player::first_mid;

use crate::layer_selector::Layer;
use crate::layer_switch::Admit;
use crate::local_addrs::LocalAddrs;
use crate::packet_info::{inspect, PacketInfo};
use crate::peer::{Peer, DISCONNECT_GRACE};
use crate::relay::{Mirror, Relay};
use crate::sdp_text::{
    offers_simulcast, publisher_offer_as_sendonly, reject_application, rejected_media,
};
use crate::simulcast::retarget;

/// What the driver must do.
#[derive(Debug)]
pub enum SfuOutput {
    /// Send this datagram from the media socket.
    Transmit(Transmit),
    /// Tell the session logic.
    Event(MediaEvent),
    /// Hand this to media worker `worker` (its [`Sfu::handle_relay`]).
    Relay { worker: usize, relay: Relay },
}

/// One packet from a publisher, with what forwarding needs to know of it.
/// Shared (never copied) by every worker that has players of the publisher.
#[derive(Debug)]
pub struct Ingress {
    pub(crate) mid: Mid,
    pub(crate) rid: Option<Rid>,
    pub(crate) kind: MediaKind,
    pub(crate) params: PayloadParams,
    pub(crate) info: PacketInfo,
    /// Simulcast: the source's layers now, lowest first.
    pub(crate) layers: Vec<(Rid, Layer)>,
    pub(crate) packet: RtpPacket,
}

/// Work one peer's output creates for other peers.
enum Forward {
    Media(Arc<Ingress>),
    /// From a publisher's channel: to its players.
    Data {
        binary: bool,
        data: Vec<u8>,
    },
    /// From a player's channel: per `dataChannelPlayerDistribution`.
    PlayerData {
        binary: bool,
        data: Vec<u8>,
    },
    Keyframe {
        source: PeerId,
        mid: Mid,
        rid: Option<Rid>,
        kind: KeyframeRequestKind,
    },
    /// A player connected: ask its source for keyframes so it starts at once.
    KeyframesFor {
        source: PeerId,
    },
}

pub struct Sfu {
    pub(crate) local: LocalAddrs,
    pub(crate) cert: DtlsCert,
    pub(crate) peers: HashMap<PeerId, Peer>,
    /// Demultiplexing cache: remote address → peer.
    pub(crate) by_addr: HashMap<SocketAddr, PeerId>,
    pub(crate) players_of: HashMap<PeerId, Vec<PeerId>>,
    pub(crate) out: VecDeque<SfuOutput>,
    pub(crate) dirty: Vec<PeerId>,
    /// The latest instant the driver gave, for work deferred to `poll_output`.
    pub(crate) now: Instant,
    /// This SFU's media worker, as other workers address it.
    pub(crate) index: usize,
    /// Publisher → the other workers that have players of it, each with the
    /// epoch of the mirror it was last sent.
    pub(crate) relays: HashMap<PeerId, Vec<(usize, u64)>>,
    /// Numbers mirrors, so a stale `Unmirror` cannot end a newer one.
    pub(crate) epochs: u64,
    /// Publishers of other workers whose players are (partly) here.
    pub(crate) mirrors: HashMap<PeerId, Mirror>,
    /// Each peer's earliest timer, so waking up costs no scan of every peer.
    /// An entry may be early (the peer then finds nothing due), never late.
    timers: BTreeSet<(Instant, PeerId)>,
}

static CRYPTO: Once = Once::new();

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
        CRYPTO.call_once(|| str0m::crypto::from_feature_flags().install_process_default());
        let cert = str0m::crypto::from_feature_flags()
            .dtls_provider
            .generate_certificate()
            .ok_or(SfuError::Certificate)?;
        Ok(Sfu {
            local,
            cert,
            peers: HashMap::new(),
            by_addr: HashMap::new(),
            players_of: HashMap::new(),
            out: VecDeque::new(),
            dirty: Vec::new(),
            now: Instant::now(),
            index: 0,
            relays: HashMap::new(),
            epochs: 0,
            mirrors: HashMap::new(),
            timers: BTreeSet::new(),
        })
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
        if self.out.is_empty() && !self.dirty.is_empty() {
            self.drive(self.now);
        }
        self.out.pop_front()
    }

    /// The earliest instant at which [`Sfu::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// Files a peer's earliest timer in the index.
    fn reschedule(&mut self, id: PeerId) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let wake = peer.wake();
        if wake == peer.wake_at {
            return;
        }
        if let Some(old) = peer.wake_at.take() {
            self.timers.remove(&(old, id));
        }
        if let Some(t) = wake {
            self.timers.insert((t, id));
        }
        peer.wake_at = wake;
    }

    pub fn handle_command(&mut self, now: Instant, cmd: MediaCommand) {
        match cmd {
            MediaCommand::OpenPublisher {
                peer,
                session,
                stream,
                profile,
                offer,
                ..
            } => self.open_publisher(now, peer, session, &stream, profile, &offer),
            MediaCommand::OpenPlayer {
                peer,
                session,
                stream,
                sources,
                profile,
            } => self.open_player(now, peer, session, &stream, sources, profile),
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
                }
            }
        }
        self.drive(now);
    }

    /// One datagram from the media socket. Garbage and strangers are dropped.
    pub fn handle_datagram(&mut self, now: Instant, source: SocketAddr, data: &[u8]) {
        let Ok(contents) = DatagramRecv::try_from(data) else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local.local_for(source),
                contents,
            },
        );
        let cached = self
            .by_addr
            .get(&source)
            .copied()
            .filter(|id| self.peers.get(id).is_some_and(|p| p.rtc.accepts(&input)));
        let Some(id) = cached.or_else(|| {
            self.peers
                .iter()
                .find(|(_, p)| p.rtc.accepts(&input))
                .map(|(id, _)| *id)
        }) else {
            return;
        };
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        if cached.is_none() {
            self.by_addr.insert(source, id);
            peer.addrs.push(source);
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

    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<PeerId> = self
            .timers
            .range(..=(now, PeerId(u64::MAX)))
            .map(|(_, id)| *id)
            .collect();
        for &id in &due {
            let Some(peer) = self.peers.get_mut(&id) else {
                continue;
            };
            // Whatever happens below, its timers are filed again.
            self.dirty.push(id);
            if peer.silent_deadline().is_some_and(|t| t <= now) {
                peer.last_media = None;
                self.event(MediaEvent::NoMedia { peer: id });
                continue;
            }
            if peer.deadline.is_some_and(|t| t <= now) {
                let why = if peer.connected {
                    "ICE disconnected"
                } else {
                    "ICE did not connect in time"
                };
                self.fail(id, why.into());
                continue;
            }
            for (mid, rid) in peer.keyframes.take_due(now) {
                peer.ask_keyframe(mid, rid, KeyframeRequestKind::Pli);
            }
            if peer.next_timeout.is_some_and(|t| t <= now) {
                if let Err(e) = peer.rtc.handle_input(Input::Timeout(now)) {
                    self.fail(id, format!("timeout handling failed: {e}"));
                    continue;
                }
            }
        }
        for id in due {
            if self
                .peers
                .get(&id)
                .and_then(|p| p.next_tick)
                .is_some_and(|t| t <= now)
            {
                self.tick(now, id);
            }
        }
        self.drive(now);
    }

    pub(crate) fn new_rtc(&self, profile: MediaProfile, now: Instant, bwe: bool) -> Rtc {
        // RTP mode: packets are forwarded as they come, never reassembled into
        // frames and cut up again, and a payload is shared by every player.
        let mut cfg = RtcConfig::new()
            .set_rtp_mode(true)
            .set_ice_lite(true)
            .set_dtls_cert(self.cert.clone())
            .clear_codecs()
            .enable_opus(true, false)
            .set_send_buffer_video(VIDEO_SEND_BUFFER);
        if bwe {
            cfg = cfg.enable_bwe(Some(Bitrate::bps(INITIAL_ESTIMATE)));
        }
        if profile.vp8 {
            cfg = cfg.enable_vp8(true);
        }
        if profile.h264 {
            cfg = cfg.enable_h264(true);
        }
        let mut rtc = cfg.build(now);
        for addr in self.local.all() {
            if let Ok(c) = Candidate::host(*addr, "udp") {
                rtc.add_local_candidate(c);
            }
        }
        rtc
    }

    pub(crate) fn candidates(&self, mid: String) -> LocalCandidates {
        let lines = self
            .local
            .all()
            .iter()
            .filter_map(|a| Candidate::host(*a, "udp").ok())
            .map(|c| c.to_sdp_string())
            .collect();
        LocalCandidates { mid, lines }
    }

    pub(crate) fn event(&mut self, e: MediaEvent) {
        self.out.push_back(SfuOutput::Event(e));
    }

    pub(crate) fn sdp_failed(&mut self, peer: PeerId, failure: SdpFailure) {
        self.event(MediaEvent::SdpFailed { peer, failure });
    }

    fn open_publisher(
        &mut self,
        now: Instant,
        id: PeerId,
        session: SessionId,
        stream: &StreamKey,
        profile: MediaProfile,
        offer: &str,
    ) {
        let offer = publisher_offer_as_sendonly(offer);
        let parsed = match SdpOffer::from_sdp_string(&offer) {
            Ok(o) => o,
            Err(e) => {
                return self.sdp_failed(
                    id,
                    SdpFailure::Remote(format!("the offer does not parse: {e}")),
                )
            }
        };
        let simulcast = offers_simulcast(&offer);
        let mut rtc = self.new_rtc(profile, now, false);
        let answer = match rtc.sdp_api().accept_offer(parsed) {
            Ok(a) if profile.data_channel => a.to_sdp_string(),
            Ok(a) => reject_application(&a.to_sdp_string()),
            Err(e) => {
                return self.sdp_failed(
                    id,
                    SdpFailure::Remote(format!("the offer was refused: {e}")),
                )
            }
        };
        let rejected = rejected_media(&offer, &answer);
        if !rejected.is_empty() {
            let why = format!(
                "no {} codec in common: stream {} accepts {}",
                rejected.join("/"),
                stream,
                codec_list(profile)
            );
            return self.sdp_failed(id, SdpFailure::Local(why));
        }
        let first_mid = first_mid(&answer);
        let mut peer = Peer::new(rtc, PeerRole::Publisher, session, profile, now);
        peer.simulcast = simulcast;
        self.peers.insert(id, peer);
        self.dirty.push(id);
        let candidates = self.candidates(first_mid);
        self.event(MediaEvent::Answer {
            peer: id,
            sdp: answer,
            candidates,
        });
    }

    fn add_candidate(&mut self, id: PeerId, line: &str) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let line = line.trim().trim_start_matches("a=");
        match Candidate::from_sdp_string(line) {
            // An ICE-lite server only answers checks over UDP; TCP candidates
            // (the SDK sends `tcp ... port 9`) have nothing to pair with.
            Ok(c) if c.proto() == Protocol::Udp => {
                peer.rtc.add_remote_candidate(c);
                self.dirty.push(id);
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(peer = %id, "unusable candidate: {e}"),
        }
    }

    fn remove_peer(&mut self, id: PeerId) -> Option<Peer> {
        let peer = self.peers.remove(&id)?;
        if let Some(t) = peer.wake_at {
            self.timers.remove(&(t, id));
        }
        for addr in &peer.addrs {
            if self.by_addr.get(addr) == Some(&id) {
                self.by_addr.remove(addr);
            }
        }
        self.players_of.remove(&id);
        for source in &peer.sources {
            if let Some(list) = self.players_of.get_mut(&source.peer) {
                list.retain(|p| *p != id);
            }
            self.drop_mirror_if_unused(source.peer);
        }
        self.end_relays(id);
        Some(peer)
    }

    /// Drops a peer and tells the session logic why.
    fn fail(&mut self, id: PeerId, reason: String) {
        if self.remove_peer(id).is_some() {
            self.event(MediaEvent::Disconnected { peer: id, reason });
        }
    }

    /// Drains every peer that got input until each says when it wants time next,
    /// carrying media, data and keyframe requests between peers.
    fn drive(&mut self, now: Instant) {
        self.now = now;
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

    fn drive_peer(&mut self, now: Instant, id: PeerId) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let mut forwards = Vec::new();
        let mut events = Vec::new();
        let dead = drain(now, id, peer, &mut self.out, &mut forwards, &mut events);
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

    fn forward(&mut self, now: Instant, from: PeerId, f: Forward) {
        match f {
            Forward::Media(ingress) => {
                self.relay_media(from, &ingress);
                self.forward_media(now, from, &ingress);
            }
            Forward::Data { binary, data } => {
                let data: Arc<[u8]> = data.into();
                self.relay_data(from, binary, &data);
                self.publisher_data(from, binary, &data);
            }
            Forward::PlayerData { binary, data } => {
                let Some(player) = self.peers.get(&from) else {
                    return;
                };
                let to_others = match player.profile.player_data {
                    PlayerData::None => return,
                    PlayerData::Publisher => false,
                    PlayerData::All => true,
                };
                let session = player.session;
                let sources: Vec<PeerId> = player.sources.iter().map(|s| s.peer).collect();
                let data: Arc<[u8]> = data.into();
                self.relay_player_data(session, &sources, to_others, binary, &data);
                self.player_data(session, &sources, to_others, binary, &data);
            }
            Forward::Keyframe {
                source,
                mid,
                rid,
                kind,
            } => self.request_keyframe(now, source, mid, rid, kind),
            Forward::KeyframesFor { source } => self.request_keyframes(now, source),
        }
    }

    /// A publisher's channel message to its players here.
    pub(crate) fn publisher_data(&mut self, source: PeerId, binary: bool, data: &[u8]) {
        let players = self.players_of.get(&source).cloned().unwrap_or_default();
        for pid in players {
            self.channel_send(pid, binary, data);
        }
    }

    /// A player's channel message (from `session`) to the publishers of
    /// `sources` and, when `to_others`, their other players here.
    pub(crate) fn player_data(
        &mut self,
        session: SessionId,
        sources: &[PeerId],
        to_others: bool,
        binary: bool,
        data: &[u8],
    ) {
        let mut targets = sources.to_vec();
        if to_others {
            for s in sources {
                targets.extend(self.players_of.get(s).into_iter().flatten().copied());
            }
        }
        // One copy per session, on its player channel when it has one:
        // a room participant both publishes and plays the room.
        let mut chosen: Vec<(SessionId, PeerId, bool)> = Vec::new();
        for pid in targets {
            let Some(p) = self.peers.get(&pid) else {
                continue;
            };
            if p.session == session {
                continue;
            }
            let is_player = p.role == PeerRole::Player;
            match chosen.iter_mut().find(|(s, _, _)| *s == p.session) {
                Some(slot) if is_player && !slot.2 => *slot = (p.session, pid, true),
                Some(_) => {}
                None => chosen.push((p.session, pid, is_player)),
            }
        }
        for (_, pid, _) in chosen {
            self.channel_send(pid, binary, data);
        }
    }

    /// One publisher packet to each of its players, rewritten for each: its
    /// payload is shared, not copied.
    pub(crate) fn forward_media(&mut self, now: Instant, from: PeerId, ingress: &Ingress) {
        // Borrowed out and put back: nothing below changes who plays `from`,
        // and a copy per packet would be an allocation.
        let players = self
            .players_of
            .get_mut(&from)
            .map(std::mem::take)
            .unwrap_or_default();
        let layers = &ingress.layers;
        let packet = &ingress.packet;
        let hz = packet.time.denom();
        let ext = relayed_extensions(&packet.header.ext_vals);
        let video = ingress.kind == MediaKind::Video;
        let mut wants = Vec::new();
        for &pid in &players {
            let Some(player) = self.peers.get_mut(&pid) else {
                continue;
            };
            if !player.connected {
                continue;
            }
            let (estimate, pinned) = (player.estimate, player.pinned);
            let Some(track) = player
                .tracks_out
                .iter_mut()
                .find(|t| t.source == from && t.source_mid == ingress.mid && t.enabled)
            else {
                continue;
            };
            if let Some(rid) = ingress.rid {
                if track.layers.target().is_none() {
                    if let Some(want) = retarget(now, track, layers, estimate, pinned) {
                        wants.push(want);
                    }
                }
                match track.layers.admit(rid, ingress.info.keyframe) {
                    Admit::Drop => continue,
                    Admit::Forward => {}
                    Admit::Switched => {
                        track.rewrite.switch();
                        if let Some((_, l)) = layers.iter().find(|(r, _)| *r == rid) {
                            let height = l.height;
                            self.out
                                .push_back(SfuOutput::Event(MediaEvent::LayerChanged {
                                    peer: pid,
                                    height,
                                }));
                        }
                    }
                }
            }
            let source_pt = ingress.params.pt();
            let pt = match track.pt {
                Some((src, out)) if src == source_pt => out,
                _ => {
                    let Some(out) = player.rtc.codec_config().match_params(ingress.params) else {
                        continue;
                    };
                    let out = out.pt();
                    track.pt = Some((source_pt, out));
                    out
                }
            };
            let Some((seq, time)) =
                track
                    .rewrite
                    .map(*packet.seq_no, packet.time.numer(), hz, packet.timestamp)
            else {
                continue;
            };
            let mut write = RtpWrite::new(
                pt,
                seq.into(),
                time,
                packet.timestamp,
                packet.payload.clone(),
            )
            .marker(packet.header.marker)
            .ext_vals(ext.clone())
            .nackable(video);
            if let Some(patch) = ingress.info.vp8.and_then(|d| track.rewrite.vp8.patch(&d)) {
                write = write.vp8_patch(patch);
            }
            let mid = track.mid;
            let bytes = packet.payload.len() as u64;
            let mut api = player.rtc.direct_api();
            if track.tx.is_none() {
                track.tx = api.stream_tx_by_mid(mid, None).map(|s| s.ssrc());
            }
            let Some(tx) = track.tx.and_then(|ssrc| api.stream_tx(&ssrc)) else {
                // Gone with a renegotiation: found again by mid next time.
                track.tx = None;
                continue;
            };
            tx.write_rtp(write);
            match ingress.kind {
                MediaKind::Audio => player.report.audio += bytes,
                _ => player.report.video += bytes,
            }
            self.dirty.push(pid);
        }
        if let Some(slot) = self.players_of.get_mut(&from) {
            *slot = players;
        }
        for rid in wants {
            self.request_keyframe(now, from, ingress.mid, Some(rid), KeyframeRequestKind::Pli);
        }
    }

    /// Writes one message on a peer's data channel, if it has an open one.
    pub(crate) fn channel_send(&mut self, id: PeerId, binary: bool, data: &[u8]) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let Some(mut ch) = peer.channel.and_then(|c| peer.rtc.channel(c)) else {
            return;
        };
        if let Err(e) = ch.write(binary, data) {
            tracing::debug!(peer = %id, "channel write failed: {e}");
        }
        self.dirty.push(id);
    }

    /// Asks a publisher for a keyframe on every video track.
    pub(crate) fn request_keyframes(&mut self, now: Instant, source: PeerId) {
        if self.relay_home(source, || Relay::KeyframesFor { source }) {
            return;
        }
        let mids: Vec<Mid> = self
            .peers
            .get(&source)
            .map(|p| {
                p.tracks_in
                    .iter()
                    .filter(|(_, k)| *k == MediaKind::Video)
                    .map(|(m, _)| *m)
                    .collect()
            })
            .unwrap_or_default();
        let rids: Vec<Option<Rid>> = match self.peers.get(&source) {
            Some(p) if p.simulcast => p.stats.layers(now).iter().map(|(r, _)| Some(*r)).collect(),
            _ => vec![None],
        };
        for mid in mids {
            for rid in &rids {
                self.request_keyframe(now, source, mid, *rid, KeyframeRequestKind::Pli);
            }
        }
    }

    pub(crate) fn request_keyframe(
        &mut self,
        now: Instant,
        source: PeerId,
        mid: Mid,
        rid: Option<Rid>,
        kind: KeyframeRequestKind,
    ) {
        // A mirrored source's requests are throttled where the publisher is.
        let relay = || Relay::Keyframe {
            source,
            mid,
            rid,
            kind,
        };
        if self.relay_home(source, relay) {
            return;
        }
        let Some(src) = self.peers.get_mut(&source) else {
            return;
        };
        if !src.keyframe_allowed(mid, rid, now) {
            return;
        }
        if !src.ask_keyframe(mid, rid, kind) {
            tracing::debug!(peer = %source, %mid, ?rid, "no incoming stream to ask a keyframe of");
        }
        self.dirty.push(source);
    }
}

/// Polls one peer until it names its next timeout. Returns why it died, if it did.
fn drain(
    now: Instant,
    id: PeerId,
    peer: &mut Peer,
    out: &mut VecDeque<SfuOutput>,
    forwards: &mut Vec<Forward>,
    events: &mut Vec<MediaEvent>,
) -> Option<String> {
    let mut flushes = 0;
    loop {
        if !peer.rtc.is_alive() {
            return Some("connection closed".into());
        }
        let output = match peer.rtc.poll_output() {
            Ok(o) => o,
            Err(e) => return Some(format!("media error: {e}")),
        };
        match output {
            // Written media waits in str0m's queue for a timeout; handing it
            // the time now sends it in this pass instead of the next wakeup.
            Output::Timeout(t) if t <= now && flushes < MAX_FLUSHES => {
                flushes += 1;
                if let Err(e) = peer.rtc.handle_input(Input::Timeout(now)) {
                    return Some(format!("timeout handling failed: {e}"));
                }
            }
            Output::Timeout(t) => {
                peer.next_timeout = Some(t);
                return None;
            }
            Output::Transmit(t) => out.push_back(SfuOutput::Transmit(t)),
            Output::Event(e) => on_event(now, id, peer, e, forwards, events),
        }
    }
}

fn on_event(
    now: Instant,
    id: PeerId,
    peer: &mut Peer,
    event: Event,
    forwards: &mut Vec<Forward>,
    events: &mut Vec<MediaEvent>,
) {
    match event {
        Event::Connected => {
            peer.connected = true;
            peer.deadline = None;
            events.push(MediaEvent::Connected { peer: id });
            for source in &peer.sources {
                forwards.push(Forward::KeyframesFor {
                    source: source.peer,
                });
            }
        }
        Event::IceConnectionStateChange(state) if peer.connected => match state {
            IceConnectionState::Disconnected => {
                peer.deadline.get_or_insert(now + DISCONNECT_GRACE);
            }
            _ => peer.deadline = None,
        },
        Event::MediaAdded(m) if peer.role == PeerRole::Publisher => {
            peer.tracks_in.push((m.mid, m.kind));
        }
        Event::RtpPacket(packet) => {
            if let Some(ingress) = ingress(now, peer, packet) {
                forwards.push(Forward::Media(Arc::new(ingress)));
            }
        }
        Event::KeyframeRequest(req) => {
            if let Some(track) = peer.tracks_out.iter().find(|t| t.mid == req.mid) {
                forwards.push(Forward::Keyframe {
                    source: track.source,
                    mid: track.source_mid,
                    rid: track.layers.current(),
                    kind: req.kind,
                });
            }
        }
        Event::EgressBitrateEstimate(
            BweKind::Twcc {
                estimate,
                can_probe: true,
            }
            | BweKind::Remb { estimate, .. },
        ) => {
            peer.estimate = Some(estimate.as_u64());
        }
        // A player keeps the channel the server opened; a page's own channel
        // (object-form play) is used only when there is none.
        Event::ChannelOpen(cid, _label) => {
            peer.channel.get_or_insert(cid);
        }
        Event::ChannelData(d) if peer.role == PeerRole::Publisher => {
            forwards.push(Forward::Data {
                binary: d.binary,
                data: d.data,
            });
        }
        Event::ChannelData(d) => {
            forwards.push(Forward::PlayerData {
                binary: d.binary,
                data: d.data,
            });
        }
        _ => {}
    }
}

/// Reads one incoming packet of a publisher: its track and layer, codec,
/// keyframe start and frame size, counted in the source's stats.
fn ingress(now: Instant, peer: &mut Peer, packet: RtpPacket) -> Option<Ingress> {
    // Padding (bandwidth probes) carries no media.
    if packet.payload.is_empty() {
        return None;
    }
    let (mid, rid) = peer.ingest_stream(packet.header.ssrc)?;
    let pt = packet.header.payload_type;
    let params = *peer.rtc.codec_config().find(|p| p.pt() == pt)?;
    let codec = params.spec().codec;
    let kind = if codec.is_audio() {
        MediaKind::Audio
    } else {
        MediaKind::Video
    };
    let info = inspect(codec, &packet.payload);
    let len = packet.payload.len();
    peer.stats.on_packet(now, kind, codec, rid, len, info.size);
    let layers = match rid {
        Some(_) => peer.stats.layers(now),
        None => Vec::new(),
    };
    peer.last_media = Some(now);
    if let Some(rid) = rid {
        // `TERN_LOG=tern::frames=trace` records simulcast ingest.
        tracing::trace!(target: "tern::frames", %rid, ticks = packet.time.numer(),
            seq = *packet.seq_no, key = info.keyframe, marker = packet.header.marker, len, "packet");
    }
    Some(Ingress {
        mid,
        rid,
        kind,
        params,
        info,
        layers,
        packet,
    })
}

/// The header extensions a player gets from the publisher's packet; the rest
/// (transport-wide sequence numbers, mid, rid) are the player's own.
fn relayed_extensions(from: &ExtensionValues) -> ExtensionValues {
    ExtensionValues {
        audio_level: from.audio_level,
        voice_activity: from.voice_activity,
        video_orientation: from.video_orientation,
        ..Default::default()
    }
}

/// Video packets kept per player for retransmission (NACK) and probing: about
/// 2 s at 1.5 Mbit/s. str0m's default of 1,000 made its cache most of a
/// player's memory (1.2 MB), for NACKs that come within a round trip.
const VIDEO_SEND_BUFFER: usize = 300;

/// Bounds the timeouts one drain hands a peer, should str0m keep asking.
const MAX_FLUSHES: usize = 4;

/// Where a player's bandwidth estimate starts: enough for a middle layer, so
/// the first frames come quickly and probing finds out the rest.
const INITIAL_ESTIMATE: u64 = 2_500_000;

fn codec_list(p: MediaProfile) -> String {
    let mut v = vec!["Opus"];
    if p.vp8 {
        v.push("VP8");
    }
    if p.h264 {
        v.push("H264");
    }
    v.join(", ")
}
