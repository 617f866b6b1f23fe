//! Frames: what sinks that cannot use RTP as it comes (recorders, HLS, RTMP
//! out) consume, and what sources that do not speak RTP (RTMP, SRT) give.
//! A stream assembles its packets into frames once, whatever the number of
//! frame sinks, and a frame source is packetized once, whatever the number of
//! players.

pub mod adts;
mod assembler;
mod packetizer;

use std::sync::Arc;
use std::time::Instant;

pub use assembler::{Assembler, AssemblerStats, REORDER_WINDOW};
pub use packetizer::{PacketizeError, Packetized, Packetizer, MAX_PAYLOAD};

/// The codecs Tern carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameCodec {
    Opus,
    Vp8,
    /// H.264 in Annex B form (start codes before each NAL unit).
    H264,
    /// AAC as an encoder sent it, one access unit behind its ADTS header
    /// (which tells a sink its config), ticks counting samples at its own
    /// rate. Frame sinks only: WebRTC carries no AAC, so a source that gives
    /// it gives Opus made from it for the players too.
    Aac,
}

impl FrameCodec {
    pub fn is_video(self) -> bool {
        matches!(self, FrameCodec::Vp8 | FrameCodec::H264)
    }

    /// The RTP codec; none for AAC, which is never sent over RTP.
    pub fn to_str0m(self) -> Option<str0m::format::Codec> {
        match self {
            FrameCodec::Opus => Some(str0m::format::Codec::Opus),
            FrameCodec::Vp8 => Some(str0m::format::Codec::Vp8),
            FrameCodec::H264 => Some(str0m::format::Codec::H264),
            FrameCodec::Aac => None,
        }
    }

    /// From str0m's codec, for the codecs Tern negotiates.
    pub fn from_str0m(codec: str0m::format::Codec) -> Option<FrameCodec> {
        match codec {
            str0m::format::Codec::Opus => Some(FrameCodec::Opus),
            str0m::format::Codec::Vp8 => Some(FrameCodec::Vp8),
            str0m::format::Codec::H264 => Some(FrameCodec::H264),
            _ => None,
        }
    }
}

/// One whole encoded frame (an audio packet's worth for Opus).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub codec: FrameCodec,
    /// Media time in the codec's clock ([`FrameCodec::hz`]), extended past
    /// the RTP 32-bit wrap so it only grows within one source.
    pub ticks: u64,
    /// Video: a frame a decoder can start from.
    pub keyframe: bool,
    /// When its last packet arrived.
    pub arrived: Instant,
    pub data: Arc<[u8]>,
}
