//! Tern's media layer: streams, each one **source** feeding any number of
//! **sinks**, on str0m.
//!
//! # The seam
//! - A source hands each packet to its stream once, as an [`Ingress`]: track,
//!   simulcast layer, codec, what the payload says (keyframe start, size), and
//!   the payload behind an `Arc`. A WebRTC publisher does it in
//!   `source/webrtc`; a source that gives frames (RTMP, SRT) packetizes them
//!   once with [`frames::Packetizer`] first. A source answers keyframe
//!   requests, or keeps what a new sink needs (`stream/gop.rs`).
//! - `stream/` gives the packet to every sink of the stream on this worker:
//!   WebRTC players on the RTP fast path (`stream/fanout.rs`: rewritten per
//!   player, never reassembled), other workers through `mirror/`, and frame
//!   sinks through one frame assembler (`sink/frame_tap.rs`) per stream, only when
//!   it has frame sinks.
//! - A sink that takes frames implements [`FrameSink`]: it is offered each
//!   frame and must take or refuse it at once, so a slow disk can never
//!   stall the fast path; it then starts again from a keyframe.
//! - Back towards the source flow keyframe requests, layer choice and
//!   data-channel messages, in the same words for every kind.
//!
//! Each kind lives in its own file: `source/webrtc`, `sink/webrtc.rs`,
//! `sink/frame_sink.rs`, `mirror/` (a source shared between media workers).
//!
//! # Contract
//! Sans-IO like str0m itself. The driver owns the socket and the clock:
//! - [`Sfu::handle_command`] for every [`tern_core::MediaCommand`],
//! - [`Sfu::handle_datagram`] for every UDP datagram received, and
//!   [`Sfu::handle_tcp_packet`] for every packet of an ICE-TCP connection
//!   (cut from the stream with [`tcp_framing::FrameDecoder`]); a transmit
//!   whose `proto` is TCP goes back on the connection to its destination,
//! - [`Sfu::handle_timeout`] when the instant of [`Sfu::poll_timeout`] has come,
//! - [`Sfu::handle_relay`] for what another worker's SFU relayed, and
//!   [`Sfu::mirror_to`] to start relaying a publisher to another worker,
//! - [`Sfu::add_frame_sink`] to give a source's frames to a sink,
//! - then [`Sfu::poll_output`] until `None`: datagrams to send,
//!   [`tern_core::MediaEvent`]s for the session logic and [`Relay`]s for other
//!   workers (each worker's relays must reach it in the order given).

mod egress;
pub mod frames;
mod keyframe_throttle;
mod local_addrs;
mod mirror;
mod output;
mod peer;
mod rtc_setup;
mod rtp;
pub use rtp::codec_info;
mod sdp_text;
mod shared_dtls;
mod simulcast;
mod sink;
mod source;
mod stream;
pub mod tcp_framing;
mod timers;
mod worker;

pub use local_addrs::LocalAddrs;
pub use mirror::msg::Relay;
pub use output::SfuOutput;
pub use rtc_setup::worker_of_username;
pub use rtp::packet::Ingress;
pub use sink::frame_sink::{FrameSink, Offer};
pub use worker::{Sfu, SfuError};

/// For the fuzzer (`fuzz-media/fuzz_targets/vp8_ids.rs`).
#[doc(hidden)]
pub use egress::outbox::Datagram;
pub use egress::vp8::patch as vp8_patch_ids;
