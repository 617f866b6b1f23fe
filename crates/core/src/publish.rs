//! `publish` (PROTOCOL.md §2.3, §4.2).

use std::time::Instant;

use tern_signal::{ErrorDef, NotificationDef, Publish, ServerMessage};

use crate::ids::{PeerId, SessionId, StreamKey};
use crate::media_api::{MediaCommand, PeerRole};
use crate::registry::StreamEvent;
use crate::state::{Phase, Stream, StreamMeta};
use crate::Core;

/// Why a `publish` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishError {
    /// This session already publishes the id; a retry must `stop` first.
    AlreadyPublishing,
    /// Another session publishes the id; pick another id or stop that publisher.
    StreamIdInUse,
}

impl PublishError {
    pub fn definition(self) -> ErrorDef {
        match self {
            PublishError::AlreadyPublishing => ErrorDef::AlreadyPublishing,
            PublishError::StreamIdInUse => ErrorDef::StreamIdInUse,
        }
    }
}

impl Core {
    pub(crate) fn publish(&mut self, now: Instant, session: SessionId, req: Publish) {
        let app = self.state.sessions[&session].app.clone();
        if let Err(r) = self.registry.check_publish(&app, &req) {
            tracing::info!(%session, stream = %req.stream_id, reason = r.reason, "publish refused");
            let msg = ServerMessage::error(r.definition, Some(&req.stream_id));
            return self.send(session, msg);
        }
        let id = req.stream_id.clone();
        if self.session_full(session, &id) {
            return;
        }
        match self.try_publish(now, session, &req) {
            Ok(peer) => {
                tracing::info!(%session, %peer, stream = %id, "publish");
                self.registry
                    .stream_event(&app, &id, StreamEvent::Preparing);
                self.send(session, ServerMessage::Start { stream_id: id });
            }
            Err(e) => self.send(session, ServerMessage::error(e.definition(), Some(&id))),
        }
    }

    fn try_publish(
        &mut self,
        now: Instant,
        session: SessionId,
        req: &Publish,
    ) -> Result<PeerId, PublishError> {
        let id = req.stream_id.as_str();
        if self
            .state
            .session_peer(session, id, PeerRole::Publisher)
            .is_some()
        {
            return Err(PublishError::AlreadyPublishing);
        }
        let Some(key) = self.state.key(session, id) else {
            return Err(PublishError::StreamIdInUse);
        };
        let window = self.state.sessions[&session].settings.client_start_timeout;
        let relayed = self
            .state
            .streams
            .get(&key)
            .filter(|s| s.live && s.orphaned_until.is_none() && s.restoring_from.is_none())
            .map(|s| s.publisher);
        if let Some(relay) = relayed {
            if self.registry.takes_over_relay(&key.app, &key.id) {
                self.yield_publisher(now, relay);
            }
        }
        if let Some(stream) = self.state.streams.get(&key) {
            // A dropped publisher's stream takes a republish of its id within the
            // window (a network change gives the page a new socket).
            if stream.orphaned_until.is_none() || stream.restoring_from.is_some() {
                return Err(PublishError::StreamIdInUse);
            }
            let old = stream.publisher;
            let peer = self.new_publisher(session, &key, now + window);
            let stream = self.state.streams.get_mut(&key).expect("checked above");
            stream.publisher = peer;
            stream.restoring_from = Some(old);
            tracing::info!(%session, %peer, stream = %key, "republish within the restore window");
            return Ok(peer);
        }
        // Legacy conference: a publish after `joinRoom` belongs to that room.
        let main_track = req.main_track.clone().or_else(|| {
            self.state.sessions[&session]
                .joined_room
                .as_ref()
                .map(|(room, _)| room.clone())
        });
        let peer = self.new_publisher(session, &key, now + window);
        let meta = StreamMeta {
            name: req.stream_name.clone(),
            meta_data: req.meta_data.clone(),
            role: req.role.clone().unwrap_or_else(|| "default".into()),
            main_track: main_track.clone(),
            publish_type: req.publish_type.clone().unwrap_or_else(|| "WebRTC".into()),
        };
        self.state.streams.insert(
            key.clone(),
            Stream {
                publisher: peer,
                orphaned_until: None,
                orphaned_by: None,
                restoring_from: None,
                restore_window: window,
                live: false,
                players: Default::default(),
                info: Vec::new(),
                meta,
            },
        );
        if let Some(room) = main_track {
            self.join_room_as_participant(&key, &room);
        }
        Ok(peer)
    }

    /// A publisher peer waiting for its offer, which must reach media by `deadline`.
    fn new_publisher(&mut self, session: SessionId, key: &StreamKey, deadline: Instant) -> PeerId {
        let peer = self.state.add_peer(
            session,
            key.clone(),
            PeerRole::Publisher,
            Phase::AwaitingOffer,
        );
        if let Some(p) = self.state.peers.get_mut(&peer) {
            p.deadline = Some(deadline);
        }
        peer
    }

    /// The publisher's connection is up: tell it, and start every waiting player.
    pub(crate) fn publisher_connected(&mut self, now: Instant, peer: PeerId) {
        let Some(p) = self.state.peers.get(&peer) else {
            return;
        };
        let (session, key) = (p.session, p.stream.clone());
        let mut restored = None;
        if let Some(stream) = self.state.streams.get_mut(&key) {
            stream.live = true;
            stream.orphaned_until = None;
            if let Some(old) = stream.orphaned_by.take() {
                self.state.headless_done.push(old);
            }
            restored = stream.restoring_from.take();
        }
        // The registry hears `Broadcasting` again after a restore: the republish
        // was reported `Preparing` like any publish.
        self.registry
            .stream_event(&key.app, &key.id, StreamEvent::Broadcasting);
        if let Some(old) = restored {
            tracing::info!(%session, %peer, stream = %key, "session restored");
            self.send(
                session,
                ServerMessage::notification(NotificationDef::SessionRestored, &key.id),
            );
            let players: Vec<PeerId> = self.state.streams[&key].players.iter().copied().collect();
            for player in players {
                self.media(MediaCommand::SwitchSource {
                    peer: player,
                    from: old,
                    to: peer,
                });
            }
        } else {
            tracing::info!(%session, %peer, stream = %key, "publish started");
            self.send(
                session,
                ServerMessage::notification(NotificationDef::PublishStarted, &key.id),
            );
        }
        self.wake_waiting(now, &key);
        let room = self
            .state
            .streams
            .get(&key)
            .and_then(|s| s.meta.main_track.clone());
        if let Some(room) = room {
            self.participant_changed(now, &key, &room, true);
        }
    }

    /// Starts every player that waited for `key` to go live.
    pub(crate) fn wake_waiting(&mut self, now: Instant, key: &crate::ids::StreamKey) {
        let waiting = self.state.waiting.remove(key).unwrap_or_default();
        for (player_session, req) in waiting {
            if let Some(s) = self.state.sessions.get_mut(&player_session) {
                s.waiting.remove(&key.id);
            } else {
                continue;
            }
            self.send(
                player_session,
                ServerMessage::notification(NotificationDef::StreamingStarted, &key.id),
            );
            if let Err(e) = self.start_play(now, player_session, &req) {
                self.send(
                    player_session,
                    ServerMessage::error(e.definition(), Some(&key.id)),
                );
            }
        }
    }
}
