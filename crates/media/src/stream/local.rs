//! One source's stream on this worker: its sinks here and what it keeps for
//! new ones. Found with one lookup per packet.

use crate::sink::frame_tap::FrameTap;
use crate::stream::gop::GopCache;
use tern_core::PeerId;

#[derive(Default)]
pub struct LocalStream {
    /// Its WebRTC players on this worker.
    pub players: Vec<PeerId>,
    /// What a new player starts from.
    pub gop: GopCache,
    /// Its frame sinks, if it has any.
    pub tap: Option<FrameTap>,
}

impl LocalStream {
    /// Nothing here needs its packets.
    pub fn unused(&self) -> bool {
        self.players.is_empty() && self.tap.is_none()
    }
}
