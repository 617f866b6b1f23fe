//! What media workers tell each other about a publisher they share.

use std::sync::Arc;

use str0m::media::{KeyframeRequestKind, MediaKind, Mid, Rid};
use tern_core::{PeerId, SessionId};

use crate::rtp::packet::Ingress;
use crate::simulcast::selector::Layer;

/// What media workers tell each other about a publisher.
#[derive(Debug)]
pub enum Relay {
    /// From home: mirror `source` from now on. Comes before anything else of it.
    Source {
        source: PeerId,
        home: usize,
        epoch: u64,
        tracks: Vec<(Mid, MediaKind)>,
        simulcast: bool,
        rids: Vec<Rid>,
    },
    /// From home: one packet of `source`.
    Media {
        source: PeerId,
        ingress: Arc<Ingress>,
    },
    /// From home: a message on `source`'s data channel.
    Data {
        source: PeerId,
        binary: bool,
        data: Arc<[u8]>,
    },
    /// From home: `source` is gone; drop its mirror.
    Gone { source: PeerId },
    /// From home: a player (of `session`) sent this on its channel, for the
    /// other players of `source` here.
    ToPlayers {
        source: PeerId,
        session: SessionId,
        binary: bool,
        data: Arc<[u8]>,
    },
    /// To home: a player of `source` on worker `origin` sent this on its channel.
    PlayerData {
        source: PeerId,
        session: SessionId,
        origin: usize,
        to_others: bool,
        binary: bool,
        data: Arc<[u8]>,
    },
    /// To home: a player of `source` needs a keyframe.
    Keyframe {
        source: PeerId,
        mid: Mid,
        rid: Option<Rid>,
        kind: KeyframeRequestKind,
    },
    /// To home: a player of `source` connected; ask for keyframes of every track.
    KeyframesFor { source: PeerId },
    /// To home: `worker` has no players of `source` left (as of the mirror of
    /// `epoch`: a newer one, sent meanwhile for a new player, stays).
    Unmirror {
        source: PeerId,
        worker: usize,
        epoch: u64,
    },
}

/// A publisher of another worker, as players here need to know it.
#[derive(Debug)]
pub struct Mirror {
    pub home: usize,
    pub epoch: u64,
    pub tracks: Vec<(Mid, MediaKind)>,
    pub simulcast: bool,
    /// Simulcast: its video's rids, as offered.
    pub rids: Vec<Rid>,
    /// Simulcast: its layers as of its last packet, lowest first.
    pub layers: Vec<(Rid, Layer)>,
}
