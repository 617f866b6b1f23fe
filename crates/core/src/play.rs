//! `play` (PROTOCOL.md §2.4, §4.3).

use std::time::Instant;

use tern_signal::{ErrorDef, Play, ServerMessage};

use crate::ids::{PeerId, SessionId};
use crate::media_api::{MediaCommand, PeerRole};
use crate::state::Phase;
use crate::Core;

/// Why a `play` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayError {
    /// This session already plays the id; `stop` it first.
    AlreadyPlaying,
    /// Nobody publishes the id yet. The session is kept waiting and gets the
    /// offer as soon as the stream is live.
    NotLive,
}

impl PlayError {
    pub fn definition(self) -> ErrorDef {
        match self {
            PlayError::AlreadyPlaying => ErrorDef::AlreadyPlaying,
            PlayError::NotLive => ErrorDef::NoStreamExist,
        }
    }
}

impl Core {
    pub(crate) fn play(&mut self, now: Instant, session: SessionId, req: Play) {
        let Some(key) = self.state.key(session, &req.stream_id) else {
            return;
        };
        let viewers = self.state.streams.get(&key).map_or(0, |s| s.players.len());
        if let Err(r) = self.registry.check_play(&key.app, &req, viewers) {
            tracing::info!(%session, stream = %key, reason = r.reason, "play refused");
            let msg = ServerMessage::error(r.definition, Some(&req.stream_id));
            return self.send(session, msg);
        }
        let id = req.stream_id;
        match self.start_play(now, session, &id) {
            Ok(_) => {}
            Err(PlayError::NotLive) => {
                if let Some(key) = self.state.key(session, &id) {
                    self.state.waiting.entry(key).or_default().insert(session);
                    if let Some(s) = self.state.sessions.get_mut(&session) {
                        s.waiting.insert(id.clone());
                    }
                }
                self.send(session, ServerMessage::no_stream_exist(&id));
            }
            Err(e) => self.send(session, ServerMessage::error(e.definition(), Some(&id))),
        }
    }

    /// Creates the player peer and asks the media layer for its offer.
    pub(crate) fn start_play(
        &mut self,
        _now: Instant,
        session: SessionId,
        id: &str,
    ) -> Result<PeerId, PlayError> {
        if self
            .state
            .session_peer(session, id, PeerRole::Player)
            .is_some()
        {
            return Err(PlayError::AlreadyPlaying);
        }
        let key = self.state.key(session, id).ok_or(PlayError::NotLive)?;
        let source = match self.state.streams.get(&key) {
            Some(stream) if stream.live => stream.publisher,
            _ => return Err(PlayError::NotLive),
        };
        self.state.unwait(session, &key);
        let profile = self.state.sessions[&session].settings.media_profile();
        let peer = self
            .state
            .add_peer(session, key.clone(), PeerRole::Player, Phase::Negotiating);
        if let Some(stream) = self.state.streams.get_mut(&key) {
            stream.players.insert(peer);
        }
        tracing::info!(%session, %peer, stream = %key, "play");
        self.media(MediaCommand::OpenPlayer {
            peer,
            stream: key,
            source,
            profile,
        });
        Ok(peer)
    }
}
