//! TOTP subscriber codes (PROTOCOL.md §7.5): RFC 6238 with HMAC-SHA1, six
//! digits, computed by `totp-rs`.

use totp_rs::{Algorithm, Builder, Totp};

/// The code for the step that contains `now_ms`.
pub fn code(key: &[u8], period_s: u64, now_ms: u64) -> String {
    totp(key, period_s).generate(now_ms / 1000).to_string()
}

/// Whether `given` is the code of the current step or of the one before it (a
/// code typed at the end of a step still works for one more step).
pub fn verify(given: &str, key: &[u8], period_s: u64, now_ms: u64) -> bool {
    if given.len() != 6 || key.is_empty() {
        return false;
    }
    let t = totp(key, period_s);
    let now_s = now_ms / 1000;
    // Not `Totp::check`: its skew also accepts the *next* step's code.
    [Some(now_s), now_s.checked_sub(t.step())]
        .into_iter()
        .flatten()
        .any(|s| crate::constant_time_eq(t.generate(s).to_string().as_bytes(), given.as_bytes()))
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

fn totp(key: &[u8], period_s: u64) -> Totp {
    // "Noncompliant" only because Ant Media's derived keys are shorter than
    // the 128 bits RFC 4226 recommends; the algorithm is the RFC's.
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(period_s.max(1))
        .with_secret(key)
        .build_noncompliant()
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
        // The first step has no step before it.
        assert!(verify(&code(RFC_KEY, 30, 0), RFC_KEY, 30, 1_000));
    }

    #[test]
    fn short_keys_and_other_periods() {
        // Ant Media's derived keys can be 8 bytes; the period is the app's.
        let key = derived_key("", "abcd", "", "play");
        let c = code(&key, 60, 120_000);
        assert_eq!(c.len(), 6);
        assert!(verify(&c, &key, 60, 179_999));
        assert!(!verify(&c, &key, 60, 240_000));
    }

    #[test]
    fn derived_keys_are_padded() {
        assert_eq!(derived_key("sec", "u1", "s1", "play"), b"secu1s1playXXXXX");
        assert_eq!(derived_key("", "abcd", "", "play"), b"abcdplay");
    }
}
