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
        }
    }
}
