//! Tern's SFU on str0m: one `Rtc` per peer connection, all peers of one media
//! worker behind its UDP socket, media of a publisher forwarded to its players
//! packet by packet (str0m's RTP mode: no depacketizing, payloads shared between
//! players; one simulcast layer each), keyframe requests sent back, data-channel
//! messages relayed.
//!
//! # Contract
//! Sans-IO like str0m itself. The driver owns the socket and the clock:
//! - [`Sfu::handle_command`] for every [`tern_core::MediaCommand`],
//! - [`Sfu::handle_datagram`] for every UDP datagram received,
//! - [`Sfu::handle_timeout`] when the instant of [`Sfu::poll_timeout`] has come,
//! - [`Sfu::handle_relay`] for what another worker's SFU relayed, and
//!   [`Sfu::mirror_to`] to start relaying a publisher to another worker,
//! - then [`Sfu::poll_output`] until `None`: datagrams to send,
//!   [`tern_core::MediaEvent`]s for the session logic and [`Relay`]s for other
//!   workers (each worker's relays must reach it in the order given).

mod codec_info;
mod keyframe_throttle;
mod layer_selector;
mod layer_switch;
mod local_addrs;
mod packet_info;
mod peer;
mod player;
mod relay;
mod rtp_rewrite;
mod sdp_text;
mod sfu;
mod simulcast;
mod source_stats;
mod timeline;

pub use local_addrs::LocalAddrs;
pub use relay::Relay;
pub use sfu::{Ingress, Sfu, SfuOutput};
