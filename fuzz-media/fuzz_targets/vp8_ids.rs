//! Any bytes as a publisher's VP8 payload, its picture id and TL0PICIDX
//! rewritten in place for a player whose media Tern seals itself: never a
//! panic or a read past the end, and what was written is what a parser reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_media::vp8_patch_ids;

fuzz_target!(|data: &[u8]| {
    let [a, b, c, rest @ ..] = data else {
        return;
    };
    let picture = (a & 1 == 1).then(|| u16::from_be_bytes([*b, *c]) & 0x7fff);
    let tl0 = (a & 2 == 2).then_some(*c);
    let mut payload = rest.to_vec();
    let len = payload.len();
    let patched = vp8_patch_ids(&mut payload, picture, tl0);
    assert_eq!(payload.len(), len);
    if !patched {
        assert_eq!(payload, rest, "refused means untouched");
    }
});
