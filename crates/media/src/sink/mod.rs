//! Sinks: what a stream's media goes to.
//! - `webrtc`: a WebRTC player (str0m peer), fed RTP by the fast path
//!   (`crate::stream::fanout`), its offer and renegotiation here.
//! - `frame_sink` / `frame_tap`: sinks that take frames (recorders, HLS,
//!   RTMP out), fed frames assembled once per stream.
//! - a relay to another media worker is `crate::mirror`.

pub mod frame_sink;
pub mod frame_tap;
pub mod webrtc;
pub mod whep;
