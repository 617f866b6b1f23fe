//! Synthetic media: frames whose payload carries a sequence number and the send
//! time, so a receiver can check integrity and measure one-way delay.

use std::time::{SystemTime, UNIX_EPOCH};

/// A VP8 keyframe header for a 640x480 frame; decoders are not involved, but
/// the server reads the size from it for `getStreamInfo`.
const VP8_KEY_HEADER: [u8; 10] = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];

/// A frame of `len` bytes (at least 26) carrying `seq` and the send time.
pub fn frame(seq: u64, len: usize) -> Vec<u8> {
    let len = len.max(26);
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&VP8_KEY_HEADER);
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&now_micros().to_be_bytes());
    // A pattern derived from seq, so corruption anywhere is detected.
    f.extend((f.len()..len).map(|i| (seq as usize).wrapping_mul(31).wrapping_add(i) as u8));
    f
}

/// `(seq, sent_at_micros)` of a frame made by [`frame`], if it is intact.
pub fn read(f: &[u8]) -> Option<(u64, u64)> {
    if f.len() < 26 || f[..10] != VP8_KEY_HEADER {
        return None;
    }
    let seq = u64::from_be_bytes(f[10..18].try_into().ok()?);
    let sent = u64::from_be_bytes(f[18..26].try_into().ok()?);
    let intact = f[26..]
        .iter()
        .enumerate()
        .all(|(j, b)| *b == (seq as usize).wrapping_mul(31).wrapping_add(j + 26) as u8);
    intact.then_some((seq, sent))
}

pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let f = frame(42, 1200);
        assert_eq!(f.len(), 1200);
        assert_eq!(read(&f).map(|r| r.0), Some(42));
        let mut bad = f.clone();
        bad[700] ^= 1;
        assert_eq!(read(&bad), None);
        assert_eq!(read(&f[..20]), None);
    }
}
