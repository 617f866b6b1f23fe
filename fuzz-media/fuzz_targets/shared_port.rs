//! Any first bytes of a connection on the shared HTTPS port: telling TLS,
//! TURN and ICE-TCP apart, and reading a STUN check's USERNAME (which names
//! the media worker), never panics, and a worker named is a small number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_turn::demux::{classify, stun_username, Kind, HEAD};

fuzz_target!(|data: &[u8]| {
    for n in 0..=data.len().min(HEAD + 2) {
        let kind = classify(&data[..n]);
        if n >= HEAD {
            assert_ne!(kind, Kind::NeedMore);
        }
    }
    if let Some(user) = stun_username(data) {
        assert!(user.len() < data.len());
        if let Some(w) = tern_media::worker_of_username(&user) {
            assert!(w < 10_000);
        }
    }
    // An ICE-TCP connection's first frame, past its two length bytes.
    if data.len() > 2 {
        let _ = stun_username(&data[2..]);
    }
});
