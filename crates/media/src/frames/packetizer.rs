//! Frames into RTP payloads, once per source that gives frames (RTMP, SRT),
//! with str0m's packetizers: VP8 descriptors, H.264 single NAL units, STAP-A
//! (SPS and PPS kept and sent before every IDR) and FU-A.

use std::sync::Arc;

use str0m::unversioned::{H264Packetizer, OpusPacketizer, Packetizer as _, Vp8Packetizer};

use super::{Frame, FrameCodec};

/// Largest RTP payload made: with the RTP header, SRTP and header extensions
/// the datagram stays under a 1,280-byte path MTU.
pub const MAX_PAYLOAD: usize = 1100;

/// One packet made from a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packetized {
    /// Extended sequence number, continuous over the source's frames.
    pub seq: u64,
    pub ticks: u64,
    pub marker: bool,
    pub payload: Arc<[u8]>,
}

#[derive(Debug)]
enum Inner {
    Opus(OpusPacketizer),
    Vp8(Vp8Packetizer),
    H264(H264Packetizer),
    NotRtp,
}

/// One track's packetizer.
#[derive(Debug)]
pub struct Packetizer {
    codec: FrameCodec,
    inner: Inner,
    next_seq: u64,
}

/// Why a frame gave no packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketizeError {
    /// The frame is of another codec than the track's.
    WrongCodec,
    /// The frame has no data, or none the codec's packetizer could use.
    Empty,
    /// The codec's packetizer refused the frame.
    Refused(String),
    /// The codec is not sent over RTP (AAC).
    NotRtp,
}

impl std::fmt::Display for PacketizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PacketizeError::WrongCodec => write!(f, "the frame's codec is not the track's"),
            PacketizeError::Empty => write!(f, "the frame has no data to send"),
            PacketizeError::Refused(why) => write!(f, "the frame could not be packetized: {why}"),
            PacketizeError::NotRtp => write!(f, "the frame's codec is not sent over RTP"),
        }
    }
}

impl std::error::Error for PacketizeError {}

impl Packetizer {
    /// `first_seq`: where this track's sequence numbers start.
    pub fn new(codec: FrameCodec, first_seq: u64) -> Self {
        let inner = match codec {
            FrameCodec::Opus => Inner::Opus(OpusPacketizer),
            FrameCodec::Vp8 => Inner::Vp8(Vp8Packetizer::default()),
            FrameCodec::H264 => Inner::H264(H264Packetizer::default()),
            FrameCodec::Aac => Inner::NotRtp,
        };
        Packetizer {
            codec,
            inner,
            next_seq: first_seq,
        }
    }

    /// The packets of one frame, in order.
    pub fn packetize(&mut self, frame: &Frame) -> Result<Vec<Packetized>, PacketizeError> {
        if frame.codec != self.codec {
            return Err(PacketizeError::WrongCodec);
        }
        let made = match &mut self.inner {
            Inner::Opus(p) => p.packetize(MAX_PAYLOAD, &frame.data),
            Inner::Vp8(p) => p.packetize(MAX_PAYLOAD, &frame.data),
            Inner::H264(p) => p.packetize(MAX_PAYLOAD, &frame.data),
            Inner::NotRtp => return Err(PacketizeError::NotRtp),
        }
        .map_err(|e| PacketizeError::Refused(e.to_string()))?;
        if made.is_empty() {
            return Err(PacketizeError::Empty);
        }
        let last = made.len() - 1;
        let video = self.codec.is_video();
        let packets = made
            .into_iter()
            .enumerate()
            .map(|(i, payload)| {
                let seq = self.next_seq;
                self.next_seq += 1;
                Packetized {
                    seq,
                    ticks: frame.ticks,
                    // Video marks a frame's last packet; Opus sends none here
                    // (talkspurt starts are the source's to mark).
                    marker: video && i == last,
                    payload: payload.into(),
                }
            })
            .collect();
        Ok(packets)
    }
}
