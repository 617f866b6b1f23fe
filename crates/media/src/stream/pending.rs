//! Packets of a source held for a moment so that its players get them one
//! player at a time (`stream::fanout` fills and flushes it).

use std::sync::Arc;

use tern_core::PeerId;

use crate::rtp::packet::Ingress;

/// Packets of one source that its players have not been given yet.
///
/// A wakeup reads a whole video frame, and every player gets all of its
/// packets in a row: the player's state (its track, keys, history and
/// outbox) is fetched into the cache once per frame, not once per packet
/// (with 1,200 players this halved the egress writer's share of the CPU).
/// Held only until the driver polls, or until anything else happens that
/// the packets must go out before.
#[derive(Default)]
pub(crate) struct Pending {
    pub(crate) from: Option<PeerId>,
    pub(crate) packets: Vec<Arc<Ingress>>,
}

/// Packets held for one flush at most: a wakeup reads at most 64.
pub(crate) const MAX_PENDING: usize = 64;

impl Pending {
    pub(crate) fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }
}
