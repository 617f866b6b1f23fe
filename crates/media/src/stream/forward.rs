//! The work one peer's output creates for the rest of its stream.

use std::sync::Arc;

use str0m::media::{KeyframeRequestKind, Mid, Rid};
use tern_core::PeerId;

use crate::rtp::packet::Ingress;

pub enum Forward {
    /// A source's packet, for its sinks.
    Media(Arc<Ingress>),
    /// From a publisher's channel: to its players.
    Data { binary: bool, data: Vec<u8> },
    /// From a player's channel: per `dataChannelPlayerDistribution`.
    PlayerData { binary: bool, data: Vec<u8> },
    /// A sink needs a keyframe of one of the source's tracks.
    Keyframe {
        source: PeerId,
        mid: Mid,
        rid: Option<Rid>,
        kind: KeyframeRequestKind,
    },
    /// This player's connection is up: start its media.
    Started,
}
