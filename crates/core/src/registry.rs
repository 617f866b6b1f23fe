//! The registry of broadcasts and credentials the session logic consults before
//! it accepts a `publish` or `play`, and tells about stream lifecycles.
//!
//! It is the one injected edge of the core: the server backs it with the store
//! (SQLite by default), tests with plain values. Calls are synchronous and made
//! in message order, so a one-time token checked here is used exactly once.

use tern_signal::{ErrorDef, Play, Publish};

/// A refusal and the error the client gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub definition: ErrorDef,
    /// Why, for the server log; never contains a token or secret.
    pub reason: String,
}

impl Refusal {
    pub fn new(definition: ErrorDef, reason: impl Into<String>) -> Self {
        Refusal {
            definition,
            reason: reason.into(),
        }
    }
}

/// Where a stream is in its life, for broadcast status and viewer counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// A publish was accepted; media not up yet.
    Preparing,
    /// The publisher's media is up.
    Broadcasting,
    /// The stream ended.
    Finished,
    /// The number of connected WebRTC players changed.
    Viewers(usize),
    /// The publisher changed the stream's `metaData` (`updateStreamMetaData`).
    MetaData(Option<String>),
    /// A publish did not reach media in time (`publishTimeoutError`).
    PublishTimeout,
    /// The publisher dropped without `stop`: the stream and its players wait
    /// for a republish within the restore window (then `Broadcasting`
    /// again, or `Finished`).
    Orphaned,
}

pub trait Registry: Send {
    /// May this `publish` of `app` go ahead?
    fn check_publish(&mut self, app: &str, req: &Publish) -> Result<(), Refusal>;
    /// May this `play` go ahead? `viewers` is the stream's current player count.
    fn check_play(&mut self, app: &str, req: &Play, viewers: usize) -> Result<(), Refusal>;
    fn stream_event(&mut self, app: &str, stream_id: &str, event: StreamEvent);
    /// Does an accepted `publish` of this id take the stream over from the
    /// relay that publishes it here now (its origin's publisher dropped and
    /// came back on this node)? The relay's publisher then yields as a
    /// dropped one would, and the publish restores its stream.
    fn takes_over_relay(&mut self, _app: &str, _stream_id: &str) -> bool {
        false
    }
    /// Is this accepted `play` another node's relay of the stream (which
    /// gets every simulcast layer, to choose among on its own node)?
    fn is_relay(&mut self, _app: &str, _req: &Play) -> bool {
        false
    }
    /// May a session join `room` now (`room_not_active_or_expired` when its
    /// planned window does not contain now)? Rooms have no window by default.
    fn check_room(&mut self, _app: &str, _room: &str) -> Result<(), Refusal> {
        Ok(())
    }
}

/// Allows everything and remembers nothing: a server with no security settings.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenRegistry;

impl Registry for OpenRegistry {
    fn check_publish(&mut self, _app: &str, _req: &Publish) -> Result<(), Refusal> {
        Ok(())
    }

    fn check_play(&mut self, _app: &str, _req: &Play, _viewers: usize) -> Result<(), Refusal> {
        Ok(())
    }

    fn stream_event(&mut self, _app: &str, _stream_id: &str, _event: StreamEvent) {}
}
