//! Synthetic media that survives repacketization: every RTP packet of it can be
//! checked on its own and tells when its frame was sent.
//!
//! A frame is a 16-byte head (a VP8 keyframe header, then zeros) followed by
//! 16-byte cells. Cell `k` holds a magic byte, a check byte, `k`, the frame's
//! sequence number and its send time, so every byte of a frame is a function
//! of `(seq, sent, offset)`. A server may cut a frame into packets wherever it
//! likes: a packet with one whole cell reveals its offset in the frame, and
//! then every byte of it can be compared with what it must be.

/// A VP8 keyframe header for 640x480: the server reads the size from it.
const HEAD: [u8; 10] = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
const HEAD_LEN: usize = 16;
const CELL: usize = 16;
const MAGIC: u8 = 0xc5;

/// What one intact chunk says about its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub seq: u32,
    /// Send time, microseconds since the Unix epoch.
    pub sent_us: u64,
}

/// A frame of `len` bytes (at least one cell after the head).
pub fn frame(seq: u32, sent_us: u64, len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(len.max(HEAD_LEN + CELL));
    extend(&mut f, seq, sent_us, 0, len.max(HEAD_LEN + CELL));
    f
}

/// Like [`frame`], as a VP8 interframe (its first byte's P bit set) unless
/// `key`: recorders and segmenters then see keyframes as encoders make them.
pub fn video_frame(seq: u32, sent_us: u64, len: usize, key: bool) -> Vec<u8> {
    let mut f = frame(seq, sent_us, len);
    if !key {
        f[0] |= 1;
    }
    f
}

/// Appends bytes `start..end` of frame `(seq, sent_us)` to `out`, a cell at a time.
fn extend(out: &mut Vec<u8>, seq: u32, sent_us: u64, start: usize, end: usize) {
    let mut at = start;
    while at < end {
        if at < HEAD_LEN {
            let upto = end.min(HEAD_LEN);
            out.extend((at..upto).map(|i| HEAD.get(i).copied().unwrap_or(0)));
            at = upto;
            continue;
        }
        let k = (at - HEAD_LEN) / CELL;
        let from = (at - HEAD_LEN) % CELL;
        let upto = (end - at + from).min(CELL);
        out.extend_from_slice(&cell(k as u16, seq, sent_us)[from..upto]);
        at += upto - from;
    }
}

fn check(k: u16, seq: u32, sent_us: u64) -> u8 {
    let mut h = u64::from(k) ^ (u64::from(seq) << 16) ^ sent_us.rotate_left(29);
    h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> 56) as u8
}

fn cell(k: u16, seq: u32, sent_us: u64) -> [u8; CELL] {
    let mut c = [0u8; CELL];
    c[0] = MAGIC;
    c[1] = check(k, seq, sent_us);
    c[2..4].copy_from_slice(&k.to_be_bytes());
    c[4..8].copy_from_slice(&seq.to_be_bytes());
    c[8..16].copy_from_slice(&sent_us.to_be_bytes());
    c
}

/// Parses a whole cell at `at`, if one is there.
fn cell_at(chunk: &[u8], at: usize) -> Option<(u16, Stamp)> {
    let c = chunk.get(at..at + CELL)?;
    if c[0] != MAGIC {
        return None;
    }
    let k = u16::from_be_bytes([c[2], c[3]]);
    let seq = u32::from_be_bytes([c[4], c[5], c[6], c[7]]);
    let sent_us = u64::from_be_bytes([c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15]]);
    (c[1] == check(k, seq, sent_us)).then_some((k, Stamp { seq, sent_us }))
}

/// The stamp of a chunk cut from a [`frame`] anywhere, if every byte of it is
/// what it must be. A chunk that starts a frame needs no whole cell; any other
/// chunk needs one.
pub fn read(chunk: &[u8]) -> Option<Stamp> {
    // Where the chunk sits in its frame, and the frame's stamp.
    let head = chunk.len() >= HEAD_LEN + CELL
        && chunk[0] & !1 == HEAD[0]
        && chunk[1..HEAD.len()] == HEAD[1..];
    let (start, stamp) = if head {
        (0, cell_at(chunk, HEAD_LEN)?.1)
    } else {
        (0..CELL).find_map(|at| {
            let (k, s) = cell_at(chunk, at)?;
            let cell_offset = HEAD_LEN + CELL * usize::from(k);
            cell_offset.checked_sub(at).map(|start| (start, s))
        })?
    };
    let mut want = Vec::with_capacity(chunk.len());
    extend(
        &mut want,
        stamp.seq,
        stamp.sent_us,
        start,
        start + chunk.len(),
    );
    // A keyframe's first byte, or an interframe's (its P bit set).
    if start == 0 && chunk[0] & !1 == HEAD[0] {
        want[0] = chunk[0];
    }
    (want == chunk).then_some(stamp)
}

/// Strips a VP8 payload descriptor (RFC 7741 §4.2) from an RTP payload.
pub fn vp8_body(payload: &[u8]) -> Option<&[u8]> {
    let b0 = *payload.first()?;
    let mut at = 1;
    if b0 & 0x80 != 0 {
        let x = *payload.get(1)?;
        at = 2;
        if x & 0x80 != 0 {
            // Picture id: 7 or 15 bits.
            at += if payload.get(at)? & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            at += 1;
        }
        if x & 0x30 != 0 {
            at += 1;
        }
    }
    payload.get(at..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interframes_read_back_like_keyframes() {
        let f = video_frame(7, 1234, 400, false);
        assert_eq!(f[0], 0x11);
        assert_eq!(
            read(&f),
            Some(Stamp {
                seq: 7,
                sent_us: 1234
            })
        );
        assert_eq!(
            read(&f[100..250]),
            Some(Stamp {
                seq: 7,
                sent_us: 1234
            })
        );
        assert_eq!(read(&video_frame(7, 1234, 400, true)), read(&f));
    }

    #[test]
    fn any_cut_of_a_frame_reads_back() {
        let f = frame(7, 123_456_789, 6250);
        let want = Stamp {
            seq: 7,
            sent_us: 123_456_789,
        };
        assert_eq!(read(&f), Some(want));
        for (a, b) in [(0, 1100), (1100, 2200), (5000, 6250), (33, 70), (3, 40)] {
            assert_eq!(read(&f[a..b]), Some(want), "cut {a}..{b}");
        }
        // Too short to hold a whole cell: cannot be placed.
        assert_eq!(read(&f[40..50]), None);
    }

    #[test]
    fn a_flipped_bit_anywhere_is_caught() {
        let f = frame(9, 42, 1200);
        for at in [0, 5, 12, 16, 17, 600, 1199] {
            let mut bad = f.clone();
            bad[at] ^= 0x04;
            assert_eq!(read(&bad), None, "flip at {at}");
        }
        let mut bad = f[100..900].to_vec();
        bad[400] ^= 1;
        assert_eq!(read(&bad), None);
    }

    #[test]
    fn vp8_descriptors_are_skipped() {
        assert_eq!(vp8_body(&[0x10, 1, 2]), Some(&[1, 2][..]));
        // X, I with a 15-bit picture id.
        assert_eq!(vp8_body(&[0x90, 0x80, 0x81, 0x02, 9]), Some(&[9][..]));
        assert_eq!(vp8_body(&[0x90]), None);
    }
}
