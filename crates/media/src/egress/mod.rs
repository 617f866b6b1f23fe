//! Players' media sealed and sent by Tern itself, past str0m's per-packet
//! poll (issue #21).
//!
//! Of the ~20.7 k instructions a packet forwarded through str0m cost, its
//! `poll_output` took 72 % and SRTP only 4.9 k (`bench/README.md`). Here the
//! fast path writes each player's packet itself:
//! - [`keys`]: each peer's SRTP keying material, taken from Tern's own DTLS
//!   provider (`shared_dtls.rs`) as the handshake ends, str0m unchanged;
//! - [`header`] and [`vp8`]: the player's RTP header with the extensions its
//!   answer accepted, and the VP8 ids rewritten in place;
//! - [`srtp`]: sealing RTP and RTCP under those keys (the AEAD-AES-GCM
//!   profiles browsers and str0m pick first; with any other, str0m sends);
//! - [`report`]: sender reports, which str0m no longer sends for such a
//!   player (its own would describe streams it never wrote);
//! - [`direct`]: the player's state: its path (str0m's selected one), NACK
//!   history and counters;
//! - [`outbox`]: its sealed datagrams, back to back in one reused buffer,
//!   which the driver sends in place (one GSO send per player per wakeup).
//!
//! str0m keeps ICE, DTLS, the data channel and incoming RTCP (receiver
//! reports, keyframe requests, and NACKs handed over as raw packets).
//! Players with a bandwidth estimate (simulcast sources) stay on str0m's
//! path: the estimate needs its transport-wide sequence numbers.

pub(crate) mod direct;
pub(crate) mod header;
pub(crate) mod keys;
pub(crate) mod outbox;
pub(crate) mod report;
pub(crate) mod srtp;
pub mod vp8;
