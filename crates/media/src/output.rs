//! What a media worker's SFU asks its driver to do.

use str0m::net::Transmit;
use tern_core::MediaEvent;

use crate::mirror::msg::Relay;

#[derive(Debug)]
pub enum SfuOutput {
    /// Send this datagram from the media socket.
    Transmit(Transmit),
    /// Tell the session logic.
    Event(MediaEvent),
    /// Hand this to media worker `worker` (its [`crate::Sfu::handle_relay`]).
    Relay { worker: usize, relay: Relay },
}
