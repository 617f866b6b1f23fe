//! Peer input never panics: JWTs, hash tokens, TOTP codes, Base32 secrets and
//! CIDR lists come from clients and operators. A seeded generator feeds each
//! parser random and mutated inputs (bounded: a few thousand cases, well under
//! a second), and a mutated token must never verify.

use tern_auth::jwt::JwtKeys;
use tern_auth::{base32, cidr::CidrList, hash_token, jwt, stream_jwt, totp, Action};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A string of up to `max` characters drawn from `alphabet`.
    fn text(&mut self, alphabet: &[char], max: usize) -> String {
        let len = self.below(max + 1);
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}

const NOW: u64 = 1_750_000_000;
const KEY: &[u8] = b"garbage-test-key-garbage-test-key";

fn alphabet() -> Vec<char> {
    let mut a: Vec<char> = ('A'..='Z').chain('a'..='z').chain('0'..='9').collect();
    a.extend([
        '.', '-', '_', '=', '/', '+', ':', ',', ' ', '{', '}', '"', 'é', '\u{0}',
    ]);
    a
}

#[test]
fn random_text_never_panics_and_never_verifies() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let chars = alphabet();
    let keys = JwtKeys::hs256(KEY)
        .with_public_pem(include_str!("../fixtures/rsa-2048.pub.pem"))
        .unwrap();
    for _ in 0..3000 {
        let s = rng.text(&chars, 120);
        assert!(jwt::verify(&s, &keys, NOW).is_err(), "{s:?}");
        assert!(stream_jwt::verify(&s, &keys, "s1", Some("r"), Action::Play, NOW).is_err());
        let _ = JwtKeys::default().with_public_pem(&s);
        assert!(!hash_token::verify(&s, "s1", Action::Publish, "secret"));
        assert!(!totp::verify(&s, KEY, 30, NOW * 1000) || s.len() == 6);
        let _ = base32::decode(&s);
        let _ = s.parse::<CidrList>();
    }
}

#[test]
fn mutated_tokens_never_verify() {
    let mut rng = Rng(42);
    let keys = JwtKeys::hs256(KEY);
    let good = stream_jwt::mint("s1", Action::Publish, NOW + 60, KEY).unwrap();
    assert!(stream_jwt::verify(&good, &keys, "s1", None, Action::Publish, NOW).is_ok());
    let bytes = good.as_bytes();
    let chars = alphabet();
    for _ in 0..3000 {
        let mut m: Vec<char> = good.chars().collect();
        match rng.below(3) {
            // Change one character.
            0 => {
                let i = rng.below(m.len());
                m[i] = chars[rng.below(chars.len())];
            }
            // Cut it short.
            1 => m.truncate(rng.below(bytes.len())),
            // Insert a character.
            _ => {
                let i = rng.below(m.len() + 1);
                m.insert(i, chars[rng.below(chars.len())]);
            }
        }
        let m: String = m.into_iter().collect();
        if m == good {
            continue;
        }
        let verdict = stream_jwt::verify(&m, &keys, "s1", None, Action::Publish, NOW);
        // Base64url's last character may carry unused bits: a change there can
        // decode to the same signature, which is the same token.
        // Surrounding whitespace is ignored too.
        if verdict.is_ok() {
            let (head, sig) = m.trim().rsplit_once('.').unwrap();
            let (good_head, good_sig) = good.rsplit_once('.').unwrap();
            assert_eq!(head, good_head, "{m}");
            assert_eq!(sig.len(), good_sig.len(), "{m}");
        }
    }
}
