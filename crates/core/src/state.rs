//! The tables the session logic keeps. Plain data; the rules live in the
//! command files.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use tern_signal::{Play, StreamInfo};

use crate::ids::{PeerId, SessionId, StreamKey};
use crate::media_api::PeerRole;
use crate::settings::AppSettings;

#[derive(Default)]
pub(crate) struct State {
    next_session: u64,
    next_peer: u64,
    pub sessions: HashMap<SessionId, Session>,
    pub peers: HashMap<PeerId, Peer>,
    /// Streams that have a publisher (live or still negotiating).
    pub streams: HashMap<StreamKey, Stream>,
    /// Sessions that asked to play a stream before it went live, with their
    /// request (a room player's view depends on it).
    pub waiting: HashMap<StreamKey, BTreeMap<SessionId, Play>>,
    /// Conference rooms (main tracks) by room id.
    pub rooms: HashMap<StreamKey, Room>,
    /// Peer-to-peer pairs by id: at most two sessions each.
    pub p2p: HashMap<StreamKey, Vec<P2pPeer>>,
    /// Seed of the id generator (randomness is an input: see `Core::seed`).
    pub rng: u64,
    /// Headless sessions whose one peer just ended: to be closed.
    pub headless_done: Vec<SessionId>,
}

pub(crate) struct Session {
    pub app: String,
    pub settings: AppSettings,
    /// This session's peers by (stream id, role).
    pub peers: HashMap<(String, PeerRole), PeerId>,
    /// Stream ids this session waits to play.
    pub waiting: BTreeSet<String>,
    /// Peer-to-peer ids this session joined.
    pub p2p: BTreeSet<String>,
    /// The room of `joinRoom` and the stream id it assigned, so a later
    /// `publish` without `mainTrack` (legacy conference) joins that room.
    pub joined_room: Option<(String, String)>,
    /// No socket behind it (WHIP, WHEP): it lives as long as its one peer.
    pub headless: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Publisher: `start` sent, waiting for the client's offer.
    AwaitingOffer,
    /// The media layer builds or applies an SDP.
    Negotiating,
    /// Player: offer sent, waiting for the client's answer.
    AwaitingAnswer,
    /// Offer and answer applied (media may or may not be connected).
    Negotiated,
}

pub(crate) struct Peer {
    pub session: SessionId,
    pub stream: StreamKey,
    pub role: PeerRole,
    pub phase: Phase,
    /// ICE and DTLS are up.
    pub connected: bool,
    /// Room players: what this player wants to see of the room.
    pub view: Option<RoomView>,
    /// Publishers: media must be up by then (`publishTimeoutError`).
    pub deadline: Option<Instant>,
    /// What the media layer last measured of it (REST statistics, console).
    pub measured: Measured,
}

/// A peer's last reported figures.
#[derive(Debug, Clone, Default)]
pub(crate) struct Measured {
    pub quality: Option<crate::media_api::PeerQuality>,
    /// Players of simulcast streams: the layer they get and their estimate.
    pub layer_height: Option<u32>,
    pub estimate: Option<u64>,
}

/// What a room player receives (PROTOCOL.md §4.5.4).
#[derive(Debug, Clone, Default)]
pub(crate) struct RoomView {
    /// The player's own publish id, never sent back to it.
    pub exclude: Option<String>,
    /// Non-empty: only these participants; `!id` entries excluded.
    pub track_list: Vec<String>,
    pub role: String,
    /// Participants negotiated but not forwarded (`enableTrack` false or
    /// `disableTracksByDefault`).
    pub disabled: BTreeSet<String>,
    /// Participants enabled with `enableTrack` (matters with
    /// `disabled_by_default`).
    pub enabled: BTreeSet<String>,
    pub disabled_by_default: bool,
}

/// A conference room: a main track whose subtracks are participants' streams.
#[derive(Debug, Default)]
pub(crate) struct Room {
    /// Participants' stream ids in join order.
    pub participants: Vec<String>,
    /// Room players (plays of the room id).
    pub players: BTreeSet<PeerId>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct P2pPeer {
    pub session: SessionId,
    pub play_only: bool,
}

pub(crate) struct Stream {
    pub publisher: PeerId,
    /// The publisher dropped (socket closed or ICE failed): the stream and its
    /// players wait until this instant for a republish (PROTOCOL.md §4.9).
    pub orphaned_until: Option<Instant>,
    /// The session of the publisher that dropped, whose `stop` still ends the
    /// stream (a page closes its peer connection just before sending `stop`).
    pub orphaned_by: Option<SessionId>,
    /// A republish is attaching to this stream; its players move over when the
    /// new publisher connects.
    pub restoring_from: Option<PeerId>,
    /// `webRTCClientStartTimeoutMs` of the app, for the restore window.
    pub restore_window: std::time::Duration,
    /// The publisher's ICE and DTLS are up; players may join.
    pub live: bool,
    pub players: BTreeSet<PeerId>,
    pub info: Vec<StreamInfo>,
    /// Broadcast fields clients read back (`getBroadcastObject`).
    pub meta: StreamMeta,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct StreamMeta {
    pub name: Option<String>,
    pub meta_data: Option<String>,
    /// Participant role; `default` when none was given.
    pub role: String,
    /// The room this stream is a subtrack of.
    pub main_track: Option<String>,
    /// REST's `publishType`: `WebRTC`, or the ingest that set it (`WHIP`).
    pub publish_type: String,
}

impl State {
    pub fn new_session_id(&mut self) -> SessionId {
        self.next_session += 1;
        SessionId(self.next_session)
    }

    pub fn add_peer(
        &mut self,
        session: SessionId,
        stream: StreamKey,
        role: PeerRole,
        phase: Phase,
    ) -> PeerId {
        self.next_peer += 1;
        let id = PeerId(self.next_peer);
        if let Some(s) = self.sessions.get_mut(&session) {
            s.peers.insert((stream.id.clone(), role), id);
        }
        self.peers.insert(
            id,
            Peer {
                session,
                stream,
                role,
                phase,
                connected: false,
                view: None,
                deadline: None,
                measured: Measured::default(),
            },
        );
        id
    }

    /// A fresh id for streams the server names (`joinRoom` without `streamId`).
    pub fn random_id(&mut self, prefix: &str) -> String {
        // xorshift64*: ids need to be unlikely to collide, not unpredictable.
        let mut x = self.rng | 1;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        let n = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        format!("{prefix}{:012x}", n >> 16)
    }

    /// Removes a peer from every table that names it.
    pub fn remove_peer(&mut self, id: PeerId) -> Option<Peer> {
        let peer = self.peers.remove(&id)?;
        if let Some(s) = self.sessions.get_mut(&peer.session) {
            s.peers.remove(&(peer.stream.id.clone(), peer.role));
            if s.headless && s.peers.is_empty() {
                self.headless_done.push(peer.session);
            }
        }
        if peer.role == PeerRole::Player {
            if let Some(stream) = self.streams.get_mut(&peer.stream) {
                stream.players.remove(&id);
            }
            if let Some(room) = self.rooms.get_mut(&peer.stream) {
                room.players.remove(&id);
            }
        }
        Some(peer)
    }

    pub fn session_peer(
        &self,
        session: SessionId,
        stream_id: &str,
        role: PeerRole,
    ) -> Option<PeerId> {
        self.sessions
            .get(&session)?
            .peers
            .get(&(stream_id.to_owned(), role))
            .copied()
    }

    pub fn key(&self, session: SessionId, stream_id: &str) -> Option<StreamKey> {
        Some(StreamKey {
            app: self.sessions.get(&session)?.app.clone(),
            id: stream_id.to_owned(),
        })
    }

    pub fn unwait(&mut self, session: SessionId, key: &StreamKey) {
        if let Some(s) = self.sessions.get_mut(&session) {
            s.waiting.remove(&key.id);
        }
        if let Some(set) = self.waiting.get_mut(key) {
            set.remove(&session);
            if set.is_empty() {
                self.waiting.remove(key);
            }
        }
    }
}
