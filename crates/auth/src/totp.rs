//! TOTP subscriber codes (PROTOCOL.md §7.5): RFC 6238 with HMAC-SHA1, six digits.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

const DIGITS: u32 = 6;

/// The code for the step that contains `now_ms`.
pub fn code(key: &[u8], period_s: u64, now_ms: u64) -> String {
    code_at(key, counter(period_s, now_ms))
}

/// Whether `given` is the code of the current step or of the one before it (a
/// code typed at the end of a step still works for one more step).
pub fn verify(given: &str, key: &[u8], period_s: u64, now_ms: u64) -> bool {
    if given.len() != DIGITS as usize || key.is_empty() {
        return false;
    }
    let now = counter(period_s, now_ms);
    [Some(now), now.checked_sub(1)]
        .into_iter()
        .flatten()
        .any(|c| crate::constant_time_eq(code_at(key, c).as_bytes(), given.as_bytes()))
}

/// The key for a subscriber without a registered secret:
/// `secret + subscriberId + streamId + type`, right-padded with `X` to a multiple
/// of eight characters (what Ant Media derives).
pub fn derived_key(secret: &str, subscriber_id: &str, stream_id: &str, kind: &str) -> Vec<u8> {
    let mut s = format!("{secret}{subscriber_id}{stream_id}{kind}").into_bytes();
    while s.len() % 8 != 0 {
        s.push(b'X');
    }
    s
}

fn counter(period_s: u64, now_ms: u64) -> u64 {
    now_ms / (period_s.max(1) * 1000)
}

fn code_at(key: &[u8], counter: u64) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC accepts any key length");
    let digest = mac
        .chain_update(counter.to_be_bytes())
        .finalize()
        .into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!(
        "{:0width$}",
        bin % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_KEY: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, last six of the eight digits.
        for (t, want) in [
            (59u64, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code(RFC_KEY, 30, t * 1000), want, "t={t}");
        }
    }

    #[test]
    fn current_and_previous_step_only() {
        let now = 1_111_111_109_000;
        assert!(verify("081804", RFC_KEY, 30, now));
        assert!(verify("081804", RFC_KEY, 30, now + 30_000));
        assert!(!verify("081804", RFC_KEY, 30, now + 60_000));
        assert!(!verify("081804", RFC_KEY, 30, now - 30_000));
        assert!(!verify("81804", RFC_KEY, 30, now));
        assert!(!verify("081804", b"", 30, now));
    }

    #[test]
    fn derived_keys_are_padded() {
        assert_eq!(derived_key("sec", "u1", "s1", "play"), b"secu1s1playXXXXX");
        assert_eq!(derived_key("", "abcd", "", "play"), b"abcdplay");
    }
}
