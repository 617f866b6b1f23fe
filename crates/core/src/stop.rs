//! `stop` and every other way a peer ends (PROTOCOL.md §2.7, §4.7).

use std::time::Instant;

use tern_signal::{NotificationDef, ServerMessage};

use crate::ids::{PeerId, SessionId, StreamKey};
use crate::media_api::{MediaCommand, PeerRole};
use crate::registry::StreamEvent;
use crate::Core;

impl Core {
    /// Frees state at once so that the SDK's `publish`/`play` retry 500 ms later is
    /// accepted. A stop for an id the session does not hold gets no reply: the SDK's
    /// retry loop sends such stops routinely.
    pub(crate) fn stop(&mut self, now: Instant, session: SessionId, id: &str) {
        if let Some(peer) = self.state.session_peer(session, id, PeerRole::Publisher) {
            self.end_publisher(now, peer, true);
        } else if let Some(key) = self.state.key(session, id) {
            let dropped_here = self
                .state
                .streams
                .get(&key)
                .is_some_and(|s| s.orphaned_by == Some(session) && s.restoring_from.is_none());
            if dropped_here {
                self.send(
                    session,
                    ServerMessage::notification(NotificationDef::PublishFinished, id),
                );
                self.end_stream(now, &key);
            }
        }
        if let Some(peer) = self.state.session_peer(session, id, PeerRole::Player) {
            self.end_player(peer, true);
        }
        if let Some(key) = self.state.key(session, id) {
            self.state.unwait(session, &key);
        }
    }

    /// Ends a publisher and its stream; every player gets `play_finished`.
    pub(crate) fn end_publisher(&mut self, now: Instant, peer: PeerId, notify_self: bool) {
        let Some(p) = self.state.remove_peer(peer) else {
            return;
        };
        self.media(MediaCommand::Close { peer });
        if notify_self {
            self.send(
                p.session,
                ServerMessage::notification(NotificationDef::PublishFinished, &p.stream.id),
            );
        }
        tracing::info!(session = %p.session, %peer, stream = %p.stream, "publish finished");
        if self
            .state
            .streams
            .get(&p.stream)
            .is_some_and(|s| s.publisher == peer)
        {
            self.end_stream(now, &p.stream);
        }
    }

    /// Ends a stream whose publisher is gone; every player gets `play_finished`.
    pub(crate) fn end_stream(&mut self, now: Instant, key: &StreamKey) {
        let Some(stream) = self.state.streams.remove(key) else {
            return;
        };
        self.registry
            .stream_event(&key.app, &key.id, StreamEvent::Finished);
        for player in stream.players {
            self.end_player(player, true);
        }
        if let Some(room) = stream.meta.main_track {
            self.participant_changed(now, key, &room, false);
        }
    }

    /// A live publisher dropped without `stop` (socket closed or ICE failed):
    /// its stream and players wait for a republish (PROTOCOL.md §4.9).
    pub(crate) fn orphan_publisher(&mut self, now: Instant, peer: PeerId, reason: &str) {
        if let Some(key) = self.drop_publisher(now, peer, reason) {
            self.registry
                .stream_event(&key.app, &key.id, StreamEvent::Orphaned);
        }
    }

    /// A relay's publisher gives its stream up to a local publish that
    /// restores it at once: as a dropped publisher, but this node keeps
    /// publishing the stream (no `Orphaned` for the registry).
    pub(crate) fn yield_publisher(&mut self, now: Instant, peer: PeerId) {
        self.drop_publisher(now, peer, "a local publisher takes the stream over");
    }

    /// Takes a live publisher out, its stream and players left waiting for a
    /// republish; the stream's key, unless it was not live (then it ended).
    fn drop_publisher(&mut self, now: Instant, peer: PeerId, reason: &str) -> Option<StreamKey> {
        let live = self.state.peers.get(&peer).and_then(|p| {
            let s = self.state.streams.get(&p.stream)?;
            (s.live && s.publisher == peer).then_some(s.restore_window)
        });
        let Some(window) = live else {
            self.end_publisher(now, peer, false);
            return None;
        };
        let p = self.state.remove_peer(peer)?;
        self.media(MediaCommand::Close { peer });
        tracing::info!(session = %p.session, %peer, stream = %p.stream, reason, "publisher dropped, waiting for it to come back");
        if let Some(s) = self.state.streams.get_mut(&p.stream) {
            s.live = false;
            s.orphaned_until = Some(now + window);
            s.orphaned_by = Some(p.session);
        }
        Some(p.stream)
    }

    /// Ends one player; its session gets `play_finished` when `notify_self`.
    pub(crate) fn end_player(&mut self, peer: PeerId, notify_self: bool) {
        let Some(p) = self.state.remove_peer(peer) else {
            return;
        };
        self.media(MediaCommand::Close { peer });
        if p.connected {
            self.report_viewers(&p.stream);
        }
        if notify_self {
            self.send(
                p.session,
                ServerMessage::notification(NotificationDef::PlayFinished, &p.stream.id),
            );
        }
        tracing::info!(session = %p.session, %peer, stream = %p.stream, "play finished");
    }
}

impl Core {
    /// Tells the registry how many players are connected to `key`.
    pub(crate) fn report_viewers(&mut self, key: &StreamKey) {
        let Some(stream) = self.state.streams.get(key) else {
            return;
        };
        let n = stream
            .players
            .iter()
            .filter(|p| self.state.peers.get(p).is_some_and(|p| p.connected))
            .count();
        self.registry
            .stream_event(&key.app, &key.id, StreamEvent::Viewers(n));
    }
}
