//! JWT stream tokens (PROTOCOL.md §7.3): HS256 with `jwtStreamSecretKey` (or
//! RS256/ES256 with the app's public keys), claims `streamId`, `type`
//! (`publish`|`play`) and `exp` (Unix seconds).

use serde_json::{Map, Value};

use crate::jwt::{self, JwtError, JwtKeys};
use crate::Action;

/// Why a stream JWT does not authorise the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamJwtError {
    /// The token itself is refused (format, algorithm, signature, time).
    Jwt(JwtError),
    /// `streamId` names neither the requested stream nor its room.
    OtherStream,
    /// `type` is not the requested action.
    OtherType,
    /// No `exp` claim: a stream token must expire.
    NoExpiry,
}

impl std::fmt::Display for StreamJwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamJwtError::Jwt(e) => e.fmt(f),
            StreamJwtError::OtherStream => f.write_str("JWT is for another stream"),
            StreamJwtError::OtherType => f.write_str("JWT is for another action"),
            StreamJwtError::NoExpiry => f.write_str("JWT has no exp claim"),
        }
    }
}

impl std::error::Error for StreamJwtError {}

/// Mints an HS256 stream token, as `GET /broadcasts/{id}/jwt-token` does.
pub fn mint(stream_id: &str, action: Action, exp_s: u64, key: &[u8]) -> Result<String, JwtError> {
    let mut claims = Map::new();
    claims.insert("streamId".into(), stream_id.into());
    claims.insert("type".into(), action.as_str().into());
    claims.insert("exp".into(), exp_s.into());
    jwt::sign(&claims, key)
}

/// Checks a stream token for `action` on `stream_id`. A token minted for the
/// room (`room`, the legacy conference room or main track) is accepted for the
/// streams of that room, and a `publish` token of a room also lets its holder
/// play the room.
pub fn verify(
    token: &str,
    keys: &JwtKeys,
    stream_id: &str,
    room: Option<&str>,
    action: Action,
    now_s: u64,
) -> Result<(), StreamJwtError> {
    let claims = jwt::verify(token, keys, now_s).map_err(StreamJwtError::Jwt)?;
    // A token without `exp` would open the stream forever to whoever holds it.
    if !claims.contains_key("exp") {
        return Err(StreamJwtError::NoExpiry);
    }
    let claim_stream = claims.get("streamId").and_then(Value::as_str);
    let for_room = room.is_some() && claim_stream == room;
    if claim_stream != Some(stream_id) && !for_room {
        return Err(StreamJwtError::OtherStream);
    }
    let claim_type = claims
        .get("type")
        .and_then(Value::as_str)
        .and_then(Action::parse);
    let room_publisher_plays =
        action == Action::Play && claim_type == Some(Action::Publish) && for_room;
    if claim_type != Some(action) && !room_publisher_plays {
        return Err(StreamJwtError::OtherType);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"stream-secret-stream-secret-stream";
    const NOW: u64 = 1_750_000_000;

    fn keys() -> JwtKeys {
        JwtKeys::hs256(SECRET)
    }

    #[test]
    fn valid_for_its_stream_and_type_until_exp() {
        let t = mint("s1", Action::Publish, NOW + 10, SECRET).unwrap();
        assert_eq!(
            verify(&t, &keys(), "s1", None, Action::Publish, NOW),
            Ok(())
        );
        // Reusable until it expires.
        assert_eq!(
            verify(&t, &keys(), "s1", None, Action::Publish, NOW + 9),
            Ok(())
        );
        assert_eq!(
            verify(&t, &keys(), "s1", None, Action::Publish, NOW + 10),
            Err(StreamJwtError::Jwt(JwtError::Expired))
        );
        assert_eq!(
            verify(&t, &keys(), "s2", None, Action::Publish, NOW),
            Err(StreamJwtError::OtherStream)
        );
        assert_eq!(
            verify(&t, &keys(), "s1", None, Action::Play, NOW),
            Err(StreamJwtError::OtherType)
        );
        assert_eq!(
            verify(
                &t,
                &JwtKeys::hs256(b"wrong"),
                "s1",
                None,
                Action::Publish,
                NOW
            ),
            Err(StreamJwtError::Jwt(JwtError::BadSignature))
        );
    }

    #[test]
    fn room_tokens() {
        let publish = mint("room1", Action::Publish, NOW + 10, SECRET).unwrap();
        let play = mint("room1", Action::Play, NOW + 10, SECRET).unwrap();
        let room = Some("room1");
        assert_eq!(
            verify(&play, &keys(), "alice", room, Action::Play, NOW),
            Ok(())
        );
        assert_eq!(
            verify(&publish, &keys(), "alice", room, Action::Publish, NOW),
            Ok(())
        );
        assert_eq!(
            verify(&publish, &keys(), "bob", room, Action::Play, NOW),
            Ok(())
        );
        assert_eq!(
            verify(&play, &keys(), "alice", room, Action::Publish, NOW),
            Err(StreamJwtError::OtherType)
        );
        assert_eq!(
            verify(&play, &keys(), "alice", None, Action::Play, NOW),
            Err(StreamJwtError::OtherStream)
        );
    }

    #[test]
    fn a_token_without_exp_is_refused() {
        let mut claims = Map::new();
        claims.insert("streamId".into(), "s1".into());
        claims.insert("type".into(), "publish".into());
        let t = jwt::sign(&claims, SECRET).unwrap();
        assert_eq!(
            verify(&t, &keys(), "s1", None, Action::Publish, NOW),
            Err(StreamJwtError::NoExpiry)
        );
    }

    #[test]
    fn es256_stream_tokens_need_exp_too() {
        use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let signing = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
        let keys = keys().with_public_pem(&pair.public_key_pem()).unwrap();
        let es =
            |c: serde_json::Value| encode(&Header::new(Algorithm::ES256), &c, &signing).unwrap();
        let t = es(serde_json::json!({"streamId": "s1", "type": "play", "exp": NOW + 10}));
        assert_eq!(verify(&t, &keys, "s1", None, Action::Play, NOW), Ok(()));
        assert_eq!(
            verify(&t, &keys, "s2", None, Action::Play, NOW),
            Err(StreamJwtError::OtherStream)
        );
        assert_eq!(
            verify(&t, &JwtKeys::hs256(SECRET), "s1", None, Action::Play, NOW),
            Err(StreamJwtError::Jwt(JwtError::Algorithm("ES256".into())))
        );
        let forever = es(serde_json::json!({"streamId": "s1", "type": "play"}));
        assert_eq!(
            verify(&forever, &keys, "s1", None, Action::Play, NOW),
            Err(StreamJwtError::NoExpiry)
        );
        // HS256 tokens keep working beside the public key.
        let hs = mint("s1", Action::Play, NOW + 10, SECRET).unwrap();
        assert_eq!(verify(&hs, &keys, "s1", None, Action::Play, NOW), Ok(()));
    }
}
