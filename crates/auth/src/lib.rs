//! Credential checks as pure functions (PROTOCOL.md §7, §8): stream JWTs, hash
//! tokens, TOTP codes and the REST IP filter.
//!
//! The cryptography and parsing are kept crates' (`jsonwebtoken` on aws-lc-rs,
//! `totp-rs`, `data-encoding`, `ipnet`); this crate holds Ant Media's rules on
//! top of them and the hash-token scheme, which is Ant Media's own.
//!
//! Nothing here reads a clock, a socket or a database: time comes in as an
//! argument and stored values (tokens, subscribers, settings) are looked up by the
//! caller. Tests therefore use fixed times. Secrets are never formatted into an
//! error value, so errors can be logged as they are.

pub mod base32;
pub mod cidr;
pub mod hash_token;
pub mod jwt;
pub mod stream_jwt;
pub mod totp;

/// What a credential authorises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Publish,
    Play,
}

impl Action {
    /// The spelling used in tokens, hashes and REST (`publish` / `play`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Publish => "publish",
            Action::Play => "play",
        }
    }

    /// Parses `publish` / `play`.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "publish" => Some(Action::Publish),
            "play" => Some(Action::Play),
            _ => None,
        }
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
