//! Compact JWS tokens (RFC 7515/7519), checked with `jsonwebtoken`: HS256 with a
//! shared secret, RS256 and ES256 with configured public keys or a JWKS.
//!
//! The header's `alg` picks the key, and must be one the configured keys allow:
//! `none`, every other algorithm and a family with no key are refused before the
//! signature is looked at, so a token cannot pick a weaker check for itself. An
//! RS256 or ES256 token is never checked with the HS256 secret (the classic
//! confusion of a public key used as an HMAC secret cannot happen).
//!
//! Time is an input: the crate's own `exp`/`nbf` checks read the clock, so they
//! are off and `verify` compares the claims with `now_s` itself.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

pub use jsonwebtoken::jwk::JwkSet;

/// Why a JWT is refused. Never contains the token or the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// Not three dot-separated Base64url parts holding JSON objects.
    Malformed,
    /// The header names an algorithm no configured key is for (e.g. `none`, or
    /// RS256 when only an HS256 secret is set).
    Algorithm(String),
    /// No configured key of the token's algorithm has its `kid`, or several keys
    /// fit and the token names none.
    UnknownKey,
    /// The signature does not match the key.
    BadSignature,
    /// `exp` is in the past.
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
    /// No key is configured (or the JWKS has not been fetched yet); an empty
    /// secret would accept forged tokens.
    NoKey,
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::Malformed => f.write_str("not a well-formed JWT"),
            JwtError::Algorithm(a) => {
                write!(
                    f,
                    "JWT algorithm {a:?} is not accepted by the configured keys"
                )
            }
            JwtError::UnknownKey => f.write_str("no configured key matches the JWT's kid"),
            JwtError::BadSignature => f.write_str("JWT signature does not match"),
            JwtError::Expired => f.write_str("JWT has expired"),
            JwtError::NotYetValid => f.write_str("JWT is not valid yet"),
            JwtError::NoKey => f.write_str("no JWT key is configured"),
        }
    }
}

impl std::error::Error for JwtError {}

/// Why a public key is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Not a PEM `PUBLIC KEY` (or `RSA PUBLIC KEY`) holding an RSA or EC P-256 key.
    NotAPublicKey,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a PEM RSA or EC P-256 public key")
    }
}

impl std::error::Error for KeyError {}

/// The keys a token may be verified with: an HS256 secret, PEM public keys and
/// a JWKS. Each algorithm uses only keys of its own family.
#[derive(Clone, Default)]
pub struct JwtKeys {
    hs256: Option<DecodingKey>,
    public: Vec<(Algorithm, DecodingKey)>,
    jwks: Option<Arc<JwkSet>>,
}

impl std::fmt::Debug for JwtKeys {
    /// Says which keys there are, never what they are.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("hs256", &self.hs256.is_some())
            .field("public", &self.public.len())
            .field("jwks", &self.jwks.as_ref().map(|s| s.keys.len()))
            .finish()
    }
}

impl JwtKeys {
    /// Keys holding only an HS256 secret; an empty secret is no key.
    pub fn hs256(secret: &[u8]) -> JwtKeys {
        JwtKeys {
            // `from_secret` refuses only an empty secret.
            hs256: DecodingKey::from_secret(secret).ok(),
            ..JwtKeys::default()
        }
    }

    /// Adds a PEM public key: RSA (for RS256) or EC P-256 (for ES256).
    pub fn with_public_pem(mut self, pem: &str) -> Result<JwtKeys, KeyError> {
        self.public.push(public_pem(pem)?);
        Ok(self)
    }

    /// Adds a JWKS; its RSA and P-256 keys serve RS256 and ES256.
    pub fn with_jwks(mut self, jwks: Arc<JwkSet>) -> JwtKeys {
        self.jwks = Some(jwks);
        self
    }

    /// Whether no key at all is configured.
    pub fn is_empty(&self) -> bool {
        self.hs256.is_none()
            && self.public.is_empty()
            && self.jwks.as_ref().is_none_or(|s| s.keys.is_empty())
    }

    /// The key for a token of `alg` naming `kid`.
    fn pick(&self, alg: Algorithm, name: &str, kid: Option<&str>) -> Result<DecodingKey, JwtError> {
        let refused = || JwtError::Algorithm(name.to_owned());
        if alg == Algorithm::HS256 {
            return self.hs256.clone().ok_or_else(refused);
        }
        let jwks = self.jwks.as_deref().map_or(&[][..], |s| &s.keys[..]);
        let pems = self.public.iter().filter(|(a, _)| *a == alg);
        if pems.clone().next().is_none() && !jwks.iter().any(|k| fits(k, alg)) {
            return Err(refused());
        }
        if let Some(jwk) = kid.and_then(|kid| {
            jwks.iter()
                .find(|k| k.common.key_id.as_deref() == Some(kid))
        }) {
            if !fits(jwk, alg) {
                return Err(refused());
            }
            return DecodingKey::from_jwk(jwk).map_err(|_| JwtError::UnknownKey);
        }
        // A PEM key has no kid, so it serves tokens whatever kid they name; a
        // JWKS key without a matching kid only when the token names none.
        let from_jwks = jwks.iter().filter(|k| kid.is_none() && fits(k, alg));
        let mut candidates = pems
            .map(|(_, k)| Ok(k.clone()))
            .chain(from_jwks.map(|k| DecodingKey::from_jwk(k).map_err(|_| JwtError::UnknownKey)));
        match (candidates.next(), candidates.next()) {
            (Some(key), None) => key,
            _ => Err(JwtError::UnknownKey),
        }
    }
}

/// Whether a JWKS key may verify `alg` (RS256: RSA; ES256: EC P-256), as its
/// `use` and `alg` say when present.
fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return false;
    }
    let (want, shape) = match alg {
        Algorithm::RS256 => (
            KeyAlgorithm::RS256,
            matches!(jwk.algorithm, AlgorithmParameters::RSA(_)),
        ),
        Algorithm::ES256 => (
            KeyAlgorithm::ES256,
            matches!(&jwk.algorithm, AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256),
        ),
        _ => return false,
    };
    shape && jwk.common.key_algorithm.is_none_or(|a| a == want)
}

/// Reads a PEM public key and the algorithm it serves.
fn public_pem(pem: &str) -> Result<(Algorithm, DecodingKey), KeyError> {
    // A private key or certificate pasted by mistake is refused rather than
    // half-read: only public-key blocks are taken.
    let pem = pem.trim();
    if !(pem.starts_with("-----BEGIN PUBLIC KEY-----")
        || pem.starts_with("-----BEGIN RSA PUBLIC KEY-----"))
    {
        return Err(KeyError::NotAPublicKey);
    }
    if let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
        return Ok((Algorithm::RS256, key));
    }
    let key = DecodingKey::from_ec_pem(pem.as_bytes()).map_err(|_| KeyError::NotAPublicKey)?;
    // An uncompressed P-256 point is 65 bytes; P-384 keys would never verify.
    match key.try_get_as_bytes() {
        Ok(point) if point.len() == 65 => Ok((Algorithm::ES256, key)),
        _ => Err(KeyError::NotAPublicKey),
    }
}

/// Signs `claims` with HS256.
pub fn sign(claims: &Map<String, Value>, key: &[u8]) -> Result<String, JwtError> {
    let key = EncodingKey::from_secret(key).map_err(|_| JwtError::NoKey)?;
    // Encoding a JSON map with an HMAC key has no failure left but a bug.
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key)
        .map_err(|_| JwtError::Malformed)
}

/// The header fields that choose the key.
#[derive(Deserialize)]
struct KeyHint {
    alg: String,
    kid: Option<String>,
}

/// Checks the algorithm against the keys, the signature, and the `exp`/`nbf`
/// claims (when present) against `now_s` (Unix seconds); returns the claims.
pub fn verify(token: &str, keys: &JwtKeys, now_s: u64) -> Result<Map<String, Value>, JwtError> {
    if keys.is_empty() {
        return Err(JwtError::NoKey);
    }
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(head), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    // Read here rather than by the crate so that a refused `alg` (which the
    // crate cannot even represent, like `none`) is named in the error.
    let hint: KeyHint = URL_SAFE_NO_PAD
        .decode(head)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)?;
    let name: String = hint.alg.chars().take(16).collect();
    let alg = match hint.alg.as_str() {
        "HS256" => Algorithm::HS256,
        "RS256" => Algorithm::RS256,
        "ES256" => Algorithm::ES256,
        _ => return Err(JwtError::Algorithm(name)),
    };
    let key = keys.pick(alg, &name, hint.kid.as_deref())?;
    let mut rules = Validation::new(alg);
    rules.required_spec_claims.clear();
    rules.validate_exp = false;
    rules.validate_nbf = false;
    rules.validate_aud = false;
    rules.leeway = 0;
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &rules)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => JwtError::BadSignature,
            ErrorKind::InvalidAlgorithm => JwtError::Algorithm(name.clone()),
            _ => JwtError::Malformed,
        })?
        .claims;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &[u8] = b"a-key-of-at-least-thirty-two-bytes!!";
    const NOW: u64 = 1_750_000_000;
    /// `openssl genrsa 2048` and its `openssl rsa -pubout`, made for these tests only.
    const RSA_PRIVATE: &str = include_str!("../fixtures/rsa-2048.pem");
    const RSA_PUBLIC: &str = include_str!("../fixtures/rsa-2048.pub.pem");

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn hs(key: &[u8]) -> JwtKeys {
        JwtKeys::hs256(key)
    }

    /// A fresh EC P-256 key pair: the signing key and its public PEM.
    fn ec_pair() -> (EncodingKey, String) {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let signing = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
        (signing, pair.public_key_pem())
    }

    fn rsa_signing() -> EncodingKey {
        EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap()
    }

    fn sign_as(
        alg: Algorithm,
        kid: Option<&str>,
        c: &Map<String, Value>,
        key: &EncodingKey,
    ) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, c, key).unwrap()
    }

    fn jwk(alg: Algorithm, kid: &str, key: &EncodingKey) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        jwk
    }

    #[test]
    fn round_trip() {
        let c = claims(json!({"streamId": "s1", "type": "publish", "exp": NOW + 60}));
        let t = sign(&c, KEY).unwrap();
        assert_eq!(verify(&t, &hs(KEY), NOW).unwrap(), c);
        assert_eq!(sign(&c, b""), Err(JwtError::NoKey));
    }

    #[test]
    fn rfc7515_example_verifies() {
        // RFC 7515 appendix A.1: HS256 with the JWK key below.
        let key = URL_SAFE_NO_PAD
            .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
            .unwrap();
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let c = verify(token, &hs(&key), 1_300_000_000).unwrap();
        assert_eq!(c["iss"], "joe");
        assert_eq!(
            verify(token, &hs(&key), 1_300_819_380),
            Err(JwtError::Expired)
        );
    }

    #[test]
    fn refusals() {
        let c = claims(json!({"exp": NOW + 60, "nbf": NOW - 5}));
        let t = sign(&c, KEY).unwrap();
        assert_eq!(
            verify(&t, &hs(b"another key"), NOW),
            Err(JwtError::BadSignature)
        );
        assert_eq!(verify(&t, &hs(KEY), NOW + 60), Err(JwtError::Expired));
        assert_eq!(verify(&t, &hs(KEY), NOW - 6), Err(JwtError::NotYetValid));
        assert_eq!(verify(&t, &hs(b""), NOW), Err(JwtError::NoKey));
        assert_eq!(verify(&t, &JwtKeys::default(), NOW), Err(JwtError::NoKey));
        assert_eq!(verify("abc", &hs(KEY), NOW), Err(JwtError::Malformed));
        assert_eq!(verify("a.b.c.d", &hs(KEY), NOW), Err(JwtError::Malformed));
        // A tampered payload keeps the old signature.
        let (head, rest) = t.split_once('.').unwrap();
        let sig = rest.rsplit_once('.').unwrap().1;
        let forged_payload = URL_SAFE_NO_PAD.encode(json!({"exp": NOW + 9999}).to_string());
        let forged = format!("{head}.{forged_payload}.{sig}");
        assert_eq!(verify(&forged, &hs(KEY), NOW), Err(JwtError::BadSignature));
    }

    #[test]
    fn alg_none_and_others_are_refused() {
        let payload = URL_SAFE_NO_PAD.encode(json!({"exp": NOW + 60}).to_string());
        for alg in ["none", "None", "HS512", "RS256", "ES256", "PS256", "hs256"] {
            let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
            for sig in ["", "AAAA"] {
                let t = format!("{header}.{payload}.{sig}");
                assert_eq!(
                    verify(&t, &hs(KEY), NOW),
                    Err(JwtError::Algorithm(alg.into())),
                    "{alg}"
                );
            }
        }
        // With public keys too, only HS256, RS256 and ES256 are taken.
        let keys = hs(KEY).with_public_pem(RSA_PUBLIC).unwrap();
        for alg in ["none", "RS512", "PS256", "ES256"] {
            let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg}).to_string());
            let t = format!("{header}.{payload}.AAAA");
            assert_eq!(
                verify(&t, &keys, NOW),
                Err(JwtError::Algorithm(alg.into())),
                "{alg}"
            );
        }
    }

    #[test]
    fn rs256_with_a_pem_key() {
        let c = claims(json!({"sub": "ops", "exp": NOW + 60}));
        let keys = JwtKeys::default().with_public_pem(RSA_PUBLIC).unwrap();
        let t = sign_as(Algorithm::RS256, None, &c, &rsa_signing());
        assert_eq!(verify(&t, &keys, NOW).unwrap(), c);
        // The kid means nothing to a PEM key.
        let t = sign_as(Algorithm::RS256, Some("any"), &c, &rsa_signing());
        assert_eq!(verify(&t, &keys, NOW).unwrap(), c);
        assert_eq!(verify(&t, &keys, NOW + 60), Err(JwtError::Expired));
        // Signed by another key.
        let (ec, ec_pem) = ec_pair();
        let other = JwtKeys::default().with_public_pem(&ec_pem).unwrap();
        assert_eq!(
            verify(&t, &other, NOW),
            Err(JwtError::Algorithm("RS256".into()))
        );
        let t = sign_as(Algorithm::ES256, None, &c, &ec);
        assert_eq!(verify(&t, &other, NOW).unwrap(), c);
        assert_eq!(
            verify(&t, &keys, NOW),
            Err(JwtError::Algorithm("ES256".into()))
        );
    }

    #[test]
    fn es256_with_a_pem_key_and_tampering() {
        let (ec, pem) = ec_pair();
        let (_, stranger) = ec_pair();
        let c = claims(json!({"exp": NOW + 60}));
        let t = sign_as(Algorithm::ES256, None, &c, &ec);
        let keys = JwtKeys::default().with_public_pem(&pem).unwrap();
        assert_eq!(verify(&t, &keys, NOW).unwrap(), c);
        let wrong = JwtKeys::default().with_public_pem(&stranger).unwrap();
        assert_eq!(verify(&t, &wrong, NOW), Err(JwtError::BadSignature));
        let (head, rest) = t.split_once('.').unwrap();
        let sig = rest.rsplit_once('.').unwrap().1;
        let forged_payload = URL_SAFE_NO_PAD.encode(json!({"exp": NOW + 9999}).to_string());
        let forged = format!("{head}.{forged_payload}.{sig}");
        assert_eq!(verify(&forged, &keys, NOW), Err(JwtError::BadSignature));
    }

    #[test]
    fn an_asymmetric_token_is_never_checked_with_the_secret() {
        // The confusion attack: HMAC with the public key's text as the secret,
        // sent as HS256 to a server that holds only the public key...
        let c = claims(json!({"exp": NOW + 60}));
        let keys = JwtKeys::default().with_public_pem(RSA_PUBLIC).unwrap();
        let forged = sign(&c, RSA_PUBLIC.as_bytes()).unwrap();
        assert_eq!(
            verify(&forged, &keys, NOW),
            Err(JwtError::Algorithm("HS256".into()))
        );
        // ...or sent as RS256, HMAC'd with the secret, to one that has both.
        let both = hs(KEY).with_public_pem(RSA_PUBLIC).unwrap();
        let hmac = sign(&c, KEY).unwrap();
        let (_, rest) = hmac.split_once('.').unwrap();
        let rs_head = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "typ": "JWT"}).to_string());
        let relabelled = format!("{rs_head}.{rest}");
        assert_eq!(verify(&relabelled, &both, NOW), Err(JwtError::BadSignature));
        // With only a secret, RS256 is refused outright.
        assert_eq!(
            verify(&relabelled, &hs(KEY), NOW),
            Err(JwtError::Algorithm("RS256".into()))
        );
        // And HS256 still works beside the public key.
        assert!(verify(&hmac, &both, NOW).is_ok());
    }

    #[test]
    fn jwks_keys_are_chosen_by_kid() {
        let (ec_a, _) = ec_pair();
        let (ec_b, _) = ec_pair();
        let rsa = rsa_signing();
        let set = Arc::new(JwkSet {
            keys: vec![
                jwk(Algorithm::ES256, "a", &ec_a),
                jwk(Algorithm::ES256, "b", &ec_b),
                jwk(Algorithm::RS256, "r", &rsa),
            ],
        });
        let keys = JwtKeys::default().with_jwks(set);
        let c = claims(json!({"exp": NOW + 60}));
        for (kid, key, alg) in [
            ("a", &ec_a, Algorithm::ES256),
            ("b", &ec_b, Algorithm::ES256),
            ("r", &rsa, Algorithm::RS256),
        ] {
            let t = sign_as(alg, Some(kid), &c, key);
            assert_eq!(verify(&t, &keys, NOW).unwrap(), c, "{kid}");
        }
        // The kid of another key: its key does not verify the signature.
        let t = sign_as(Algorithm::ES256, Some("b"), &c, &ec_a);
        assert_eq!(verify(&t, &keys, NOW), Err(JwtError::BadSignature));
        // An unknown kid, or none while two ES256 keys fit.
        let t = sign_as(Algorithm::ES256, Some("zz"), &c, &ec_a);
        assert_eq!(verify(&t, &keys, NOW), Err(JwtError::UnknownKey));
        let t = sign_as(Algorithm::ES256, None, &c, &ec_a);
        assert_eq!(verify(&t, &keys, NOW), Err(JwtError::UnknownKey));
        // The only RS256 key serves a token without a kid.
        let t = sign_as(Algorithm::RS256, None, &c, &rsa);
        assert_eq!(verify(&t, &keys, NOW).unwrap(), c);
        // A kid naming a key of the other algorithm is refused.
        let t = sign_as(Algorithm::RS256, Some("a"), &c, &rsa);
        assert_eq!(
            verify(&t, &keys, NOW),
            Err(JwtError::Algorithm("RS256".into()))
        );
        // HS256 has no key here, and a JWKS `oct` key is never one.
        let hmac = sign(&c, KEY).unwrap();
        assert_eq!(
            verify(&hmac, &keys, NOW),
            Err(JwtError::Algorithm("HS256".into()))
        );
        let oct = Arc::new(JwkSet {
            keys: vec![jwk(
                Algorithm::HS256,
                "h",
                &EncodingKey::from_secret(KEY).unwrap(),
            )],
        });
        let t = sign_as(
            Algorithm::HS256,
            Some("h"),
            &c,
            &EncodingKey::from_secret(KEY).unwrap(),
        );
        assert_eq!(
            verify(&t, &JwtKeys::default().with_jwks(oct), NOW),
            Err(JwtError::Algorithm("HS256".into()))
        );
        // An empty set is no key.
        let empty = JwtKeys::default().with_jwks(Arc::new(JwkSet { keys: vec![] }));
        assert_eq!(verify(&t, &empty, NOW), Err(JwtError::NoKey));
    }

    #[test]
    fn only_public_pem_keys_are_taken() {
        let (_, ec_pem) = ec_pair();
        assert!(JwtKeys::default().with_public_pem(&ec_pem).is_ok());
        assert!(JwtKeys::default().with_public_pem(RSA_PUBLIC).is_ok());
        for bad in [
            RSA_PRIVATE,
            "",
            "not a key",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        ] {
            assert_eq!(
                JwtKeys::default().with_public_pem(bad).unwrap_err(),
                KeyError::NotAPublicKey
            );
        }
        let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        assert_eq!(
            JwtKeys::default()
                .with_public_pem(&p384.public_key_pem())
                .unwrap_err(),
            KeyError::NotAPublicKey
        );
    }

    #[test]
    fn errors_and_debug_output_hold_no_secret() {
        let keys = hs(KEY).with_public_pem(RSA_PUBLIC).unwrap();
        let shown = format!("{keys:?}");
        assert!(
            !shown.contains("a-key") && !shown.contains("MII"),
            "{shown}"
        );
        let t = sign(&claims(json!({"exp": NOW - 1})), KEY).unwrap();
        for e in [
            verify(&t, &keys, NOW),
            verify(&t, &hs(b"x"), NOW),
            verify("x.y.z", &keys, NOW),
        ] {
            let e = e.unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(!text.contains(&t) && !text.contains("a-key"), "{text}");
        }
    }
}
