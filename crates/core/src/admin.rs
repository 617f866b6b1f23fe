//! What the operator's side (REST) asks of live streams: stop one, read its
//! renditions. The driver calls these on the same task as everything else, so
//! they are ordered with the sessions' messages.

use std::time::Instant;

use tern_signal::StreamInfo;

use crate::ids::StreamKey;
use crate::Core;

impl Core {
    /// Ends the stream `app`/`id` as if its publisher had sent `stop`: the
    /// publisher gets `publish_finished` and every player `play_finished`.
    /// Returns false when nobody publishes it.
    pub fn stop_stream(&mut self, now: Instant, app: &str, id: &str) -> bool {
        let key = StreamKey {
            app: app.to_owned(),
            id: id.to_owned(),
        };
        let Some(stream) = self.state.streams.get(&key) else {
            return false;
        };
        let publisher = stream.publisher;
        tracing::debug!(stream = %key, "stopped by the operator");
        if self.state.peers.contains_key(&publisher) {
            self.end_publisher(now, publisher, true);
        } else {
            // Dropped and waiting for a republish: end it now.
            self.end_stream(now, &key);
        }
        true
    }

    /// Ends `app`/`id` if its publisher dropped and none came back yet (its
    /// players get `play_finished`); a stream that is live or being
    /// restored is left alone. Returns whether it ended.
    pub fn end_orphaned(&mut self, now: Instant, app: &str, id: &str) -> bool {
        let key = StreamKey {
            app: app.to_owned(),
            id: id.to_owned(),
        };
        let waiting = self
            .state
            .streams
            .get(&key)
            .is_some_and(|s| s.orphaned_until.is_some() && s.restoring_from.is_none());
        if waiting {
            tracing::debug!(stream = %key, "its publisher is not coming back");
            self.end_stream(now, &key);
        }
        waiting
    }

    /// The renditions of a live stream (what `getStreamInfo` answers); `None`
    /// when the stream is not live.
    pub fn live_stream_info(&self, app: &str, id: &str) -> Option<Vec<StreamInfo>> {
        let key = StreamKey {
            app: app.to_owned(),
            id: id.to_owned(),
        };
        self.state
            .streams
            .get(&key)
            .filter(|s| s.live)
            .map(|s| s.info.clone())
    }
}
