//! Streams from encoders (issue #16), sans-IO: what an RTMP or SRT session
//! carries, made into the frames a Tern stream takes. Video passes through
//! (`flv`: H.264 from RTMP's FLV tags; `ts`: from SRT's MPEG-TS), into Annex
//! B frames; audio is transcoded (`audio`: AAC into Opus at 48 kHz), since
//! browsers play no AAC over WebRTC; `aac` passes the AAC itself on too,
//! for recordings and HLS. `clock` times the tracks alike.

pub mod aac;
pub mod audio;
pub mod clock;
pub mod flv;
pub mod frames;
pub mod ts;
