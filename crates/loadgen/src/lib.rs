//! A headless WebRTC client that speaks Tern's (Ant Media's) signaling, built on
//! str0m: the load generator's engine and the media test client of Tern's
//! integration tests.
//!
//! [`signal::Signal`] is one WebSocket; [`peer`] runs one peer connection on its
//! own UDP socket in a task and talks to its owner over channels. The load
//! generator adds [`counter`] (a subscriber that counts every packet and
//! decrypts a sample), [`payload`] (media every packet of which can be checked),
//! [`janus`] (the same client roles against Janus's VideoRoom), [`scenario`]
//! and [`run`].

pub mod counter;
pub mod janus;
pub mod payload;
pub mod peer;
pub mod procstat;
pub mod report;
pub mod run;
pub mod scenario;
pub mod signal;
pub mod synth;

/// Resolves once `stop` is true (or its sender is gone).
pub async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    // The guard `wait_for` returns must not live across an await.
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}
