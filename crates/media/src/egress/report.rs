//! Sender reports for the streams Tern writes itself (RFC 3550 §6.4.1), each
//! with the SDES CNAME of its sender: a player lines audio up with video
//! from the NTP and RTP times of two reports of each.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// What one sent stream has sent, for its report.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SentStream {
    pub ssrc: u32,
    pub packets: u32,
    pub octets: u32,
}

/// An SR for `s` at wall-clock time `wall` when its RTP clock reads
/// `rtp_now`, followed by an SDES chunk naming `cname`.
pub(crate) fn sender_report(s: SentStream, wall: SystemTime, rtp_now: u32, cname: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(64);
    // SR: V=2, no report blocks, PT 200, 6 words after the first.
    p.extend_from_slice(&[0x80, 200, 0, 6]);
    p.extend_from_slice(&s.ssrc.to_be_bytes());
    p.extend_from_slice(&ntp(wall).to_be_bytes());
    p.extend_from_slice(&rtp_now.to_be_bytes());
    p.extend_from_slice(&s.packets.to_be_bytes());
    p.extend_from_slice(&s.octets.to_be_bytes());
    // SDES: one chunk, CNAME item, END, padded to a word.
    let start = p.len();
    p.extend_from_slice(&[0x81, 202, 0, 0]);
    p.extend_from_slice(&s.ssrc.to_be_bytes());
    let name = &cname.as_bytes()[..cname.len().min(255)];
    p.push(1);
    p.push(name.len() as u8);
    p.extend_from_slice(name);
    p.push(0);
    while (p.len() - start) % 4 != 0 {
        p.push(0);
    }
    let words = ((p.len() - start) / 4 - 1) as u16;
    p[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
    p
}

/// 64-bit NTP time: seconds since 1900 and a binary fraction.
fn ntp(wall: SystemTime) -> u64 {
    let since = wall.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since.as_secs() + NTP_UNIX_OFFSET;
    let frac = (u64::from(since.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_parses_as_sr_and_sdes() {
        let s = SentStream {
            ssrc: 0x1234_5678,
            packets: 10,
            octets: 12_000,
        };
        let wall = UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
        let p = sender_report(s, wall, 90_000, "tern-abc");
        assert_eq!(p.len() % 4, 0);
        assert_eq!(
            u64::from_be_bytes(p[8..16].try_into().unwrap()) >> 32,
            1_700_000_000 + NTP_UNIX_OFFSET
        );
        assert_eq!(
            u32::from_be_bytes(p[12..16].try_into().unwrap()),
            1 << 31,
            "half a second"
        );
        assert_eq!(&p[28..32], &[0x81, 202, 0, 4], "SDES of 5 words");
        assert_eq!(&p[36..46], b"\x01\x08tern-abc");
    }
}
