//! Any byte stream, in any pieces, through the ICE-TCP frame decoder: whole
//! packets or nothing, never a panic, and never more held than one frame and
//! one read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_media::tcp_framing::{encode, FrameDecoder, MAX_FRAME};

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    let piece = usize::from(cut).max(1);
    let mut d = FrameDecoder::default();
    let mut again = Vec::new();
    for chunk in stream.chunks(piece) {
        d.push(chunk);
        while let Some(p) = d.next_frame() {
            assert!(!p.is_empty() && p.len() <= MAX_FRAME);
            encode(p, &mut again).expect("a decoded packet fits a frame");
        }
        assert!(d.pending() <= 2 + MAX_FRAME + piece);
    }
    // What came out frames back into a prefix of what went in (empty frames
    // aside, which the decoder skips).
    let mut d2 = FrameDecoder::default();
    d2.push(&again);
    while d2.next_frame().is_some() {}
    assert_eq!(d2.pending(), 0);
});
