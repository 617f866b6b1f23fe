//! `play` of a stream or of a room (PROTOCOL.md §2.4, §4.3, §4.5).

use std::time::Instant;

use tern_signal::{ErrorDef, Play, ServerMessage};

use crate::ids::{PeerId, SessionId};
use crate::media_api::{MediaCommand, MediaProfile, PeerRole, Source};
use crate::state::{Phase, RoomView};
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
    pub(crate) fn play(&mut self, now: Instant, session: SessionId, mut req: Play) {
        let Some(key) = self.state.key(session, &req.stream_id) else {
            return;
        };
        let viewers = self.state.streams.get(&key).map_or(0, |s| s.players.len());
        if let Err(r) = self.registry.check_play(&key.app, &req, viewers) {
            tracing::info!(%session, stream = %key, reason = r.reason, "play refused");
            let msg = ServerMessage::error(r.definition, Some(&req.stream_id));
            return self.send(session, msg);
        }
        req.all_layers = self.registry.is_relay(&key.app, &req);
        if self.session_full(session, &req.stream_id) {
            return;
        }
        match self.start_play(now, session, &req) {
            Ok(_) => {}
            Err(PlayError::NotLive) => {
                self.state
                    .waiting
                    .entry(key)
                    .or_default()
                    .insert(session, req.clone());
                if let Some(s) = self.state.sessions.get_mut(&session) {
                    s.waiting.insert(req.stream_id.clone());
                }
                self.send(session, ServerMessage::no_stream_exist(&req.stream_id));
            }
            Err(e) => self.send(
                session,
                ServerMessage::error(e.definition(), Some(&req.stream_id)),
            ),
        }
    }

    /// Creates the player peer and asks the media layer for its offer.
    pub(crate) fn start_play(
        &mut self,
        _now: Instant,
        session: SessionId,
        req: &Play,
    ) -> Result<PeerId, PlayError> {
        let id = req.stream_id.as_str();
        if self
            .state
            .session_peer(session, id, PeerRole::Player)
            .is_some()
        {
            return Err(PlayError::AlreadyPlaying);
        }
        let key = self.state.key(session, id).ok_or(PlayError::NotLive)?;
        let settings = &self.state.sessions[&session].settings;
        let profile = MediaProfile {
            all_layers: req.all_layers,
            ..settings.media_profile()
        };
        let live_source = self
            .state
            .streams
            .get(&key)
            .filter(|s| s.live)
            .map(|s| s.publisher);
        let (sources, view) = match live_source {
            Some(publisher) => (
                vec![Source {
                    peer: publisher,
                    stream_id: id.to_owned(),
                }],
                None,
            ),
            // A player that offers (WHEP) cannot take the renegotiations a room needs.
            None if self.state.rooms.contains_key(&key) && req.offer.is_none() => {
                let mut view = RoomView {
                    exclude: req.user_publish_id.clone(),
                    track_list: req.track_list.clone(),
                    role: req.role.clone().unwrap_or_else(|| "default".into()),
                    disabled: Default::default(),
                    enabled: Default::default(),
                    disabled_by_default: req.disable_tracks_by_default,
                };
                let sources = self.room_sources(&key, &view);
                if sources.is_empty() && !profile.data_channel {
                    return Err(PlayError::NotLive);
                }
                if view.disabled_by_default {
                    view.disabled = sources.iter().map(|s| s.stream_id.clone()).collect();
                }
                (sources, Some(view))
            }
            None => return Err(PlayError::NotLive),
        };
        self.state.unwait(session, &key);
        let peer = self
            .state
            .add_peer(session, key.clone(), PeerRole::Player, Phase::Negotiating);
        let disabled: Vec<String> = view
            .as_ref()
            .map(|v| v.disabled.iter().cloned().collect())
            .unwrap_or_default();
        if let Some(p) = self.state.peers.get_mut(&peer) {
            p.view = view;
        }
        if let Some(stream) = self
            .state
            .streams
            .get_mut(&key)
            .filter(|_| live_source.is_some())
        {
            stream.players.insert(peer);
        } else if let Some(room) = self.state.rooms.get_mut(&key) {
            room.players.insert(peer);
        }
        tracing::info!(%session, %peer, stream = %key, sources = sources.len(), "play");
        let by_id: Vec<(String, PeerId)> = sources
            .iter()
            .map(|s| (s.stream_id.clone(), s.peer))
            .collect();
        self.media(MediaCommand::OpenPlayer {
            peer,
            session,
            stream: key,
            sources,
            profile,
            offer: req.offer.clone(),
        });
        for (stream_id, source) in by_id {
            if disabled.contains(&stream_id) {
                self.media(MediaCommand::SetForwarding {
                    peer,
                    source,
                    audio: Some(false),
                    video: Some(false),
                });
            }
        }
        Ok(peer)
    }
}

impl Core {
    /// True (and the client told) when the session holds as many peers as allowed.
    pub(crate) fn session_full(&mut self, session: SessionId, id: &str) -> bool {
        let Some(s) = self.state.sessions.get(&session) else {
            return true;
        };
        let limit = s.settings.max_peers_per_session;
        if s.peers.len() < limit {
            return false;
        }
        let msg = ServerMessage::error(ErrorDef::LimitReached, Some(id)).with(
            "information",
            format!("this connection already holds {limit} publish/play sessions; stop one first"),
        );
        self.send(session, msg);
        true
    }
}
