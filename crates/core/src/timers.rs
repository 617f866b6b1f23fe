//! Deadlines: publishes that never reach media, and dropped publishers that do
//! not come back within the restore window.

use std::time::Instant;

use tern_signal::{ErrorDef, ServerMessage};

use crate::ids::{PeerId, StreamKey};
use crate::Core;

impl Core {
    /// The earliest instant at which [`Core::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let peers = self.state.peers.values().filter_map(|p| p.deadline);
        let streams = self.state.streams.values().filter_map(|s| s.orphaned_until);
        peers.chain(streams).min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let late: Vec<PeerId> = self
            .state
            .peers
            .iter()
            .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for peer in late {
            let Some(p) = self.state.peers.get(&peer) else {
                continue;
            };
            let (session, id) = (p.session, p.stream.id.clone());
            tracing::info!(%session, %peer, stream = id, "publish did not reach media in time");
            let app = p.stream.app.clone();
            self.registry
                .stream_event(&app, &id, crate::registry::StreamEvent::PublishTimeout);
            self.send(
                session,
                ServerMessage::error(ErrorDef::PublishTimeoutError, Some(&id)),
            );
            self.end_publisher(now, peer, false);
        }
        let expired: Vec<StreamKey> = self
            .state
            .streams
            .iter()
            .filter(|(_, s)| {
                s.orphaned_until.is_some_and(|d| d <= now) && s.restoring_from.is_none()
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            tracing::info!(stream = %key, "publisher did not come back; stream ends");
            let by = self.state.streams.get(&key).and_then(|s| s.orphaned_by);
            self.end_stream(now, &key);
            // A headless session kept for the window closes now.
            self.state.headless_done.extend(by);
        }
    }
}
