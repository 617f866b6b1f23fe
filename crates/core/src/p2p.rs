//! Peer-to-peer calls: the server pairs two sessions on an id and relays their
//! SDP, candidates and app messages (PROTOCOL.md §2.8, §2.9, §2.18, §4.4).

use serde_json::{json, Value};
use tern_signal::{ErrorDef, NotificationDef, SdpKind, ServerMessage, TakeCandidate};

use crate::ids::{SessionId, StreamKey};
use crate::state::P2pPeer;
use crate::Core;

impl Core {
    pub(crate) fn join(&mut self, session: SessionId, id: &str, play_only: bool) {
        let Some(key) = self.state.key(session, id) else {
            return;
        };
        let pair = self.state.p2p.entry(key.clone()).or_default();
        if pair.iter().any(|p| p.session == session) {
            // A repeated join is answered again but changes nothing.
            return self.send(
                session,
                ServerMessage::notification(NotificationDef::Joined, id),
            );
        }
        if pair.len() >= 2 {
            let msg = ServerMessage::error(ErrorDef::StreamIdInUse, Some(id))
                .with("information", "this peer-to-peer id already has two peers");
            return self.send(session, msg);
        }
        pair.push(P2pPeer { session, play_only });
        let pair = pair.clone();
        if let Some(s) = self.state.sessions.get_mut(&session) {
            s.p2p.insert(id.to_owned());
        }
        tracing::info!(%session, stream = %key, "p2p join");
        self.out.push_back(crate::Output::WatchSocket { session });
        self.send(
            session,
            ServerMessage::notification(NotificationDef::Joined, id),
        );
        if pair.len() == 2 {
            // The offerer must be able to send: the first `both` peer.
            let offerer = pair
                .iter()
                .find(|p| !p.play_only)
                .unwrap_or(&pair[0])
                .session;
            self.send(
                offerer,
                ServerMessage::Start {
                    stream_id: id.to_owned(),
                },
            );
        }
    }

    pub(crate) fn leave(&mut self, session: SessionId, id: &str, notify_self: bool) {
        let Some(key) = self.state.key(session, id) else {
            return;
        };
        let Some(pair) = self.state.p2p.get_mut(&key) else {
            return;
        };
        let before = pair.len();
        pair.retain(|p| p.session != session);
        if pair.len() == before {
            return;
        }
        let others: Vec<SessionId> = pair.iter().map(|p| p.session).collect();
        if pair.is_empty() {
            self.state.p2p.remove(&key);
        }
        if let Some(s) = self.state.sessions.get_mut(&session) {
            s.p2p.remove(id);
        }
        tracing::info!(%session, stream = %key, "p2p leave");
        if notify_self {
            self.send(
                session,
                ServerMessage::notification(NotificationDef::Leaved, id),
            );
        }
        for other in others {
            self.send(
                other,
                ServerMessage::Stop {
                    stream_id: id.to_owned(),
                },
            );
        }
    }

    /// The partner of `session` on a P2P id: `Ok(None)` when the session did not
    /// join it, `Err(())` when it joined but is alone.
    fn partner(&self, session: SessionId, key: &StreamKey) -> Result<Option<SessionId>, ()> {
        let Some(pair) = self.state.p2p.get(key) else {
            return Ok(None);
        };
        if !pair.iter().any(|p| p.session == session) {
            return Ok(None);
        }
        pair.iter()
            .map(|p| p.session)
            .find(|s| *s != session)
            .map(Some)
            .ok_or(())
    }

    /// Relays a message to the P2P partner. Returns false when the id is not a
    /// P2P id of this session (the message is then for the SFU).
    pub(crate) fn relay(&mut self, session: SessionId, id: &str, msg: Value) -> bool {
        let Some(key) = self.state.key(session, id) else {
            return false;
        };
        match self.partner(session, &key) {
            Ok(None) => false,
            Ok(Some(other)) => {
                self.send(other, ServerMessage::Relay(msg));
                true
            }
            Err(()) => {
                self.no_peer(session, id);
                true
            }
        }
    }

    pub(crate) fn no_peer(&mut self, session: SessionId, id: &str) {
        self.send(
            session,
            ServerMessage::error(ErrorDef::NoPeerAssociatedBefore, Some(id)),
        );
    }

    pub(crate) fn relay_sdp(
        &mut self,
        session: SessionId,
        id: &str,
        kind: SdpKind,
        sdp: &str,
    ) -> bool {
        let msg = json!({
            "command": "takeConfiguration",
            "streamId": id,
            "type": kind.as_str(),
            "sdp": sdp,
            "idMapping": {},
        });
        self.relay(session, id, msg)
    }

    pub(crate) fn relay_candidate(&mut self, session: SessionId, c: &TakeCandidate) -> bool {
        let msg = json!({
            "command": "takeCandidate",
            "streamId": c.stream_id,
            "label": c.label,
            "id": c.mid,
            "candidate": c.candidate.clone().unwrap_or_default(),
        });
        self.relay(session, &c.stream_id, msg)
    }

    pub(crate) fn peer_message(&mut self, session: SessionId, id: &str, raw: Value) {
        if !self.relay(session, id, raw) {
            self.no_peer(session, id);
        }
    }
}
