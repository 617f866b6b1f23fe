//! The packet a source hands its stream's sinks, whatever the source's kind:
//! shared (one `Arc`) by every sink and every worker, never copied.

use std::sync::Arc;
use std::time::Instant;

use str0m::format::PayloadParams;
use str0m::media::{MediaKind, Mid, Rid};
use str0m::rtp::ExtensionValues;

use crate::frames::Packetized;
use crate::rtp::packet_info::{inspect, PacketInfo};
use crate::simulcast::selector::Layer;

#[derive(Debug)]
pub struct Ingress {
    /// The source's track and simulcast layer.
    pub(crate) mid: Mid,
    pub(crate) rid: Option<Rid>,
    pub(crate) kind: MediaKind,
    pub(crate) params: PayloadParams,
    pub(crate) info: PacketInfo,
    /// Simulcast: the source's layers now, lowest first.
    pub(crate) layers: Vec<(Rid, Layer)>,
    /// Extended sequence number and RTP time, in the source's numbering.
    pub(crate) seq: u64,
    pub(crate) ticks: u64,
    pub(crate) hz: u32,
    pub(crate) marker: bool,
    /// When it reached Tern.
    pub(crate) arrived: Instant,
    /// The header extensions every sink gets (audio level, orientation); the
    /// rest are each sink's own.
    pub(crate) ext: ExtensionValues,
    pub(crate) payload: Arc<[u8]>,
    /// Its stream keeps a whole group of pictures for new players: it comes
    /// from a source that cannot be asked for a keyframe (one that gives
    /// frames, or a cluster relay of one).
    pub(crate) whole_gop: bool,
}

impl Ingress {
    /// A packet made from a frame (a source that gives frames packetizes
    /// each once; see [`crate::frames::Packetizer`]), on the source's track
    /// `mid` with payload type and codec `params`.
    pub fn from_packetized(
        mid: Mid,
        params: PayloadParams,
        packet: &Packetized,
        arrived: Instant,
    ) -> Ingress {
        let codec = params.spec().codec;
        let kind = if codec.is_audio() {
            MediaKind::Audio
        } else {
            MediaKind::Video
        };
        Ingress {
            mid,
            rid: None,
            kind,
            params,
            info: inspect(codec, &packet.payload),
            layers: Vec::new(),
            seq: packet.seq,
            ticks: packet.ticks,
            hz: params.spec().clock_rate.get(),
            marker: packet.marker,
            arrived,
            ext: ExtensionValues::default(),
            payload: Arc::clone(&packet.payload),
            whole_gop: false,
        }
    }

    /// Marks it as from a source that cannot be asked for keyframes.
    pub(crate) fn made_from_frames(mut self) -> Ingress {
        self.whole_gop = true;
        self
    }

    #[cfg(test)]
    pub(crate) fn made_from_rtp(mut self) -> Ingress {
        self.whole_gop = false;
        self
    }

    /// The same packet at another RTP time: a group of pictures replayed to a
    /// new player is squeezed to just before the live edge.
    pub(crate) fn at_ticks(&self, ticks: u64, arrived: Instant) -> Ingress {
        Ingress {
            mid: self.mid,
            rid: self.rid,
            kind: self.kind,
            params: self.params,
            info: self.info,
            layers: self.layers.clone(),
            seq: self.seq,
            ticks,
            hz: self.hz,
            marker: self.marker,
            arrived,
            ext: self.ext.clone(),
            payload: Arc::clone(&self.payload),
            whole_gop: self.whole_gop,
        }
    }
}
