//! Any PATCH body a WHIP/WHEP client sends: a fragment or an error, never a
//! panic, and no more candidates than the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(frag) = tern_signal::sdpfrag::parse_sdpfrag(text) {
            assert!(frag.candidates.len() <= tern_signal::sdpfrag::MAX_CANDIDATES);
            assert!(frag.candidates.iter().all(|c| c.candidate.starts_with("candidate:")));
        }
    }
});
