//! Tern's TURN relay (RFC 8656) as a sans-IO core.
//!
//! The protocol is `turn-server-proto`: a kept, sans-IO TURN server built on
//! the `stun-types` crate, covering UDP, TCP and TLS clients, IPv6 and RFC
//! 6062, with its own test suite; a TURN server written here would be the
//! same state machine with fewer eyes on it. Around it Tern adds what the
//! crate leaves to its user: REST API credentials ([`credentials`]), where
//! the relay may send ([`policy`]), checks made before a request reaches the
//! core ([`gate`]), stream cutting for TCP ([`framing`]), quotas and
//! bandwidth limits ([`relay`]), and telling TURN from TLS and ICE-TCP on a
//! shared port ([`demux`]).

pub mod credentials;
pub mod demux;
pub mod framing;
pub mod gate;
pub mod policy;
pub mod relay;

pub use ipnet::IpNet;
