//! Sources: what feeds a stream.
//! - `webrtc`: a WebRTC publisher (str0m peer); its packets read once into an
//!   [`crate::Ingress`] (`webrtc::ingest`) that every sink shares.
//! - `stats`: what a source sends (codecs, sizes, rates, simulcast layers),
//!   for `getStreamInfo` and layer choice, whatever the source's kind.
//! - a source mirrored from another media worker is `crate::mirror`.
//! - `frames`: sources that give frames (RTMP, SRT) packetize them once with
//!   [`crate::frames::Packetizer`] and hand the packets on like any other.

pub mod frames;
pub mod stats;
pub mod webrtc;
