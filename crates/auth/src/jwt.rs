//! Compact JWS with HS256, the only algorithm Tern accepts (RFC 7515/7519).
//!
//! The header's `alg` must be exactly `HS256`: `none`, the RSA/EC families and
//! everything else are refused before the signature is looked at, so a token
//! cannot pick a weaker check for itself.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a JWT is refused. Never contains the token or the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// Not three dot-separated Base64url parts holding JSON objects.
    Malformed,
    /// The header names an algorithm other than HS256 (e.g. `none`).
    Algorithm(String),
    /// The signature does not match the key.
    BadSignature,
    /// `exp` is in the past.
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
    /// The verifying key is empty; an empty key would accept forged tokens.
    NoKey,
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::Malformed => f.write_str("not a well-formed JWT"),
            JwtError::Algorithm(a) => write!(f, "JWT algorithm {a:?} is not accepted (HS256 only)"),
            JwtError::BadSignature => f.write_str("JWT signature does not match"),
            JwtError::Expired => f.write_str("JWT has expired"),
            JwtError::NotYetValid => f.write_str("JWT is not valid yet"),
            JwtError::NoKey => f.write_str("no JWT secret key is configured"),
        }
    }
}

impl std::error::Error for JwtError {}

/// Signs `claims` with HS256.
pub fn sign(claims: &Map<String, Value>, key: &[u8]) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT"}).to_string();
    let payload = Value::Object(claims.clone()).to_string();
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let sig = mac(key).chain_update(signing_input.as_bytes()).finalize();
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(sig.into_bytes())
    )
}

/// Checks the algorithm, the signature and the `exp`/`nbf` claims (when present)
/// against `now_s` (Unix seconds), and returns the claims.
pub fn verify(token: &str, key: &[u8], now_s: u64) -> Result<Map<String, Value>, JwtError> {
    if key.is_empty() {
        return Err(JwtError::NoKey);
    }
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header = object(h)?;
    match header.get("alg").and_then(Value::as_str) {
        Some("HS256") => {}
        Some(other) => return Err(JwtError::Algorithm(other.chars().take(16).collect())),
        None => return Err(JwtError::Malformed),
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Malformed)?;
    let signing_input = &token.trim()[..h.len() + 1 + p.len()];
    mac(key)
        .chain_update(signing_input.as_bytes())
        .verify_slice(&sig)
        .map_err(|_| JwtError::BadSignature)?;
    let claims = object(p)?;
    if let Some(exp) = claims.get("exp") {
        let exp = exp.as_f64().ok_or(JwtError::Malformed)?;
        if now_s as f64 >= exp {
            return Err(JwtError::Expired);
        }
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_f64().ok_or(JwtError::Malformed)?;
        if (now_s as f64) < nbf {
            return Err(JwtError::NotYetValid);
        }
    }
    Ok(claims)
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    HmacSha256::new_from_slice(key).expect("HMAC accepts any key length")
}

fn object(part: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(JwtError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a-key-of-at-least-thirty-two-bytes!!";
    const NOW: u64 = 1_750_000_000;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn round_trip() {
        let c = claims(json!({"streamId": "s1", "type": "publish", "exp": NOW + 60}));
        let t = sign(&c, KEY);
        assert_eq!(verify(&t, KEY, NOW).unwrap(), c);
    }

    #[test]
    fn rfc7515_example_verifies() {
        // RFC 7515 appendix A.1: HS256 with the JWK key below.
        let key = URL_SAFE_NO_PAD
            .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
            .unwrap();
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let c = verify(token, &key, 1_300_000_000).unwrap();
        assert_eq!(c["iss"], "joe");
        assert_eq!(verify(token, &key, 1_300_819_380), Err(JwtError::Expired));
    }

    #[test]
    fn refusals() {
        let c = claims(json!({"exp": NOW + 60, "nbf": NOW - 5}));
        let t = sign(&c, KEY);
        assert_eq!(verify(&t, b"another key", NOW), Err(JwtError::BadSignature));
        assert_eq!(verify(&t, KEY, NOW + 60), Err(JwtError::Expired));
        assert_eq!(verify(&t, KEY, NOW - 6), Err(JwtError::NotYetValid));
        assert_eq!(verify(&t, b"", NOW), Err(JwtError::NoKey));
        assert_eq!(verify("abc", KEY, NOW), Err(JwtError::Malformed));
        assert_eq!(verify("a.b.c.d", KEY, NOW), Err(JwtError::Malformed));
        // A tampered payload keeps the old signature.
        let (head, rest) = t.split_once('.').unwrap();
        let sig = rest.rsplit_once('.').unwrap().1;
        let forged_payload = URL_SAFE_NO_PAD.encode(json!({"exp": NOW + 9999}).to_string());
        let forged = format!("{head}.{forged_payload}.{sig}");
        assert_eq!(verify(&forged, KEY, NOW), Err(JwtError::BadSignature));
    }

    #[test]
    fn alg_none_and_others_are_refused() {
        let payload = URL_SAFE_NO_PAD.encode(json!({"exp": NOW + 60}).to_string());
        for alg in ["none", "None", "HS512", "RS256", "hs256"] {
            let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
            for sig in ["", "AAAA"] {
                let t = format!("{header}.{payload}.{sig}");
                assert_eq!(
                    verify(&t, KEY, NOW),
                    Err(JwtError::Algorithm(alg.into())),
                    "{alg}"
                );
            }
        }
    }
}
