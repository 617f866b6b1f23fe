//! The tables the session logic keeps. Plain data; the rules live in the
//! command files.

use std::collections::{BTreeSet, HashMap};

use tern_signal::StreamInfo;

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
    /// Sessions that asked to play a stream before it went live.
    pub waiting: HashMap<StreamKey, BTreeSet<SessionId>>,
}

pub(crate) struct Session {
    pub app: String,
    pub settings: AppSettings,
    /// This session's peers by (stream id, role).
    pub peers: HashMap<(String, PeerRole), PeerId>,
    /// Stream ids this session waits to play.
    pub waiting: BTreeSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Publisher: `start` sent, waiting for the client's offer.
    AwaitingOffer,
    /// The media layer builds or applies an SDP.
    Negotiating,
    /// Player: offer sent, waiting for the client's answer.
    AwaitingAnswer,
    /// SDP done, waiting for ICE and DTLS.
    Connecting,
    Connected,
}

pub(crate) struct Peer {
    pub session: SessionId,
    pub stream: StreamKey,
    pub role: PeerRole,
    pub phase: Phase,
}

pub(crate) struct Stream {
    pub publisher: PeerId,
    /// The publisher's ICE and DTLS are up; players may join.
    pub live: bool,
    pub players: BTreeSet<PeerId>,
    pub info: Vec<StreamInfo>,
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
            },
        );
        id
    }

    /// Removes a peer from every table that names it.
    pub fn remove_peer(&mut self, id: PeerId) -> Option<Peer> {
        let peer = self.peers.remove(&id)?;
        if let Some(s) = self.sessions.get_mut(&peer.session) {
            s.peers.remove(&(peer.stream.id.clone(), peer.role));
        }
        if peer.role == PeerRole::Player {
            if let Some(stream) = self.streams.get_mut(&peer.stream) {
                stream.players.remove(&id);
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
