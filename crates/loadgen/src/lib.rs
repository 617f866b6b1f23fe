//! A headless WebRTC client that speaks Tern's (Ant Media's) signaling, built on
//! str0m: the load generator's engine and the media test client of Tern's
//! integration tests.
//!
//! [`signal::Signal`] is one WebSocket; [`peer`] runs one peer connection on its
//! own UDP socket in a task and talks to its owner over channels.

pub mod peer;
pub mod signal;
pub mod synth;
