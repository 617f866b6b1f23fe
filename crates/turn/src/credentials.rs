//! TURN REST API credentials (draft-uberti-behave-turn-rest): the username is
//! `{expiry}:{id}` in Unix seconds, the password is
//! base64(HMAC-SHA1(secret, username)). Whoever holds the secret mints them
//! and the server checks them with nothing stored per credential, which is
//! also what coturn's `use-auth-secret` and `turnutils_uclient -W` speak.

use aws_lc_rs::hmac;

/// How Tern's own credentials are rounded: every client of one ten-minute
/// window gets the same username, so the relay learns a bounded number of
/// users (144 a day) however many viewers come.
pub const MINT_WINDOW_SECS: u64 = 600;

/// Why a username is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialError {
    /// Not `{expiry}:{id}` (or `{id}:{expiry}`) with a numeric expiry.
    NotRestUsername,
    /// The expiry has passed.
    Expired { expired_at: u64 },
}

/// A username and password a client may use until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    pub username: String,
    pub password: String,
    pub expires_at: u64,
}

/// The shared secret.
pub struct Secret(hmac::Key);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    pub fn new(secret: &[u8]) -> Secret {
        // SHA-1 is what the REST API draft and every TURN client use here.
        Secret(hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret))
    }

    /// The password that belongs to `username`.
    pub fn password(&self, username: &str) -> String {
        let tag = hmac::sign(&self.0, username.as_bytes());
        data_encoding::BASE64.encode(tag.as_ref())
    }

    /// Credentials for `id`, valid at least `ttl_secs` from `now_unix` (up to
    /// one [`MINT_WINDOW_SECS`] more).
    pub fn mint(&self, id: &str, now_unix: u64, ttl_secs: u64) -> Minted {
        let wanted = now_unix.saturating_add(ttl_secs);
        let expires_at = wanted.div_ceil(MINT_WINDOW_SECS) * MINT_WINDOW_SECS;
        let username = format!("{expires_at}:{id}");
        Minted {
            password: self.password(&username),
            username,
            expires_at,
        }
    }

    /// The password of `username` when it is a REST username that has not
    /// expired at `now_unix`.
    pub fn check(&self, username: &str, now_unix: u64) -> Result<String, CredentialError> {
        let expires_at = expiry_of(username).ok_or(CredentialError::NotRestUsername)?;
        if expires_at < now_unix {
            return Err(CredentialError::Expired {
                expired_at: expires_at,
            });
        }
        Ok(self.password(username))
    }
}

/// A secret for a relay that shares it with no one (a single node that
/// mints its own credentials): 32 random bytes, hex.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    // The system's generator does not fail on the platforms Tern runs on;
    // if it ever did, a zero secret must not be used silently.
    aws_lc_rs::rand::fill(&mut bytes).expect("system random generator");
    data_encoding::HEXLOWER.encode(&bytes)
}

/// The expiry in a REST username: the numeric part before the first `:`, or
/// after the last one (coturn accepts both orders).
pub fn expiry_of(username: &str) -> Option<u64> {
    let (first, rest) = username.split_once(':')?;
    let numeric = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if numeric(first) {
        return first.parse().ok();
    }
    let last = rest.rsplit(':').next().unwrap_or(rest);
    if numeric(last) {
        return last.parse().ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_base64_hmac_sha1_of_the_username() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?").
        let s = Secret::new(b"Jefe");
        assert_eq!(
            s.password("what do ya want for nothing?"),
            data_encoding::BASE64.encode(
                &data_encoding::HEXLOWER
                    .decode(b"effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
                    .unwrap()
            )
        );
    }

    #[test]
    fn minted_credentials_check_until_they_expire() {
        let s = Secret::new(b"secret");
        let m = s.mint("alice", 1_000_000, 3600);
        assert!(m.expires_at >= 1_003_600 && m.expires_at < 1_003_600 + MINT_WINDOW_SECS);
        assert_eq!(m.username, format!("{}:alice", m.expires_at));
        assert_eq!(s.check(&m.username, 1_000_000), Ok(m.password.clone()));
        assert_eq!(
            s.check(&m.username, m.expires_at + 1),
            Err(CredentialError::Expired {
                expired_at: m.expires_at
            })
        );
        // Another secret gives another password: the relay refuses it.
        assert_ne!(Secret::new(b"other").password(&m.username), m.password);
    }

    #[test]
    fn clients_of_one_window_share_a_username() {
        let s = Secret::new(b"k");
        let a = s.mint("tern", 1_201, 3600);
        let b = s.mint("tern", 1_200 + MINT_WINDOW_SECS, 3600);
        assert_eq!(a.username, b.username);
    }

    #[test]
    fn usernames_without_a_numeric_expiry_are_not_rest_usernames() {
        assert_eq!(expiry_of("1700000000:bob"), Some(1_700_000_000));
        assert_eq!(expiry_of("bob:1700000000"), Some(1_700_000_000));
        for bad in [
            "bob",
            "",
            ":",
            "abc:def",
            "1e9:x",
            "99999999999999999999999:x",
        ] {
            assert_eq!(expiry_of(bad), None, "{bad}");
        }
        assert_eq!(
            Secret::new(b"k").check("bob", 0),
            Err(CredentialError::NotRestUsername)
        );
    }
}
