//! The credential checks of `publish` and `play` (PROTOCOL.md §7): one-time
//! tokens, stream JWTs, hash tokens and TOTP codes. Each mechanism the app
//! enables must pass. Reasons are for the log and never contain a credential.

use std::sync::Arc;

use tern_auth::jwt::JwkSet;
use tern_auth::{hash_token, stream_jwt, totp, Action};
use tern_store::{Store, Subscriber};

use crate::app_settings::Settings;

/// The credential fields of a `publish` or `play`.
pub struct Request<'a> {
    pub action: Action,
    pub stream_id: &'a str,
    pub token: Option<&'a str>,
    /// `play`: the legacy conference room; `publish`: the main track. A room
    /// token or room JWT is accepted for the streams of its room.
    pub room: Option<&'a str>,
    pub subscriber_id: Option<&'a str>,
    pub subscriber_code: Option<&'a str>,
}

/// Why the credentials are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialError {
    /// A required credential is wrong, missing, expired or used; `unauthorized_access`.
    Unauthorized(String),
    /// The TOTP subscriber is blocked for this action; `user_blocked`.
    Blocked(String),
    /// The store could not be read; `data_store_not_available`.
    Store(String),
}

/// What must still happen once every other check passed: a one-time token is
/// consumed last, so that a refusal for another reason does not burn it.
#[derive(Debug, Default)]
pub struct Accepted {
    pub consume_token: Option<String>,
}

/// `jwks` is the set last fetched from the app's `jwksURL`.
pub fn check(
    store: &mut dyn Store,
    settings: &Settings,
    jwks: Option<Arc<JwkSet>>,
    app: &str,
    req: &Request<'_>,
    now_ms: i64,
) -> Result<Accepted, CredentialError> {
    let (token_control, jwt_control, hash_control, totp_control) = match req.action {
        Action::Publish => (
            settings.publish_token_control_enabled,
            settings.publish_jwt_control_enabled,
            settings.hash_control_publish_enabled,
            settings.enable_time_token_for_publish,
        ),
        Action::Play => (
            settings.play_token_control_enabled,
            settings.play_jwt_control_enabled,
            settings.hash_control_play_enabled,
            settings.enable_time_token_for_play,
        ),
    };
    let mut accepted = Accepted::default();
    if token_control {
        accepted.consume_token = one_time_token(store, app, req, now_ms)?;
    }
    if jwt_control {
        let token = required(req.token, "JWT")?;
        let now_s = (now_ms / 1000).max(0) as u64;
        stream_jwt::verify(
            token,
            &settings.stream_jwt_keys(jwks),
            req.stream_id,
            req.room,
            req.action,
            now_s,
        )
        .map_err(|e| unauthorized(format!("stream JWT refused: {e}")))?;
    }
    if hash_control {
        let token = required(req.token, "hash token")?;
        if !hash_token::verify(
            token,
            req.stream_id,
            req.action,
            &settings.token_hash_secret,
        ) {
            return Err(unauthorized("hash token does not match"));
        }
    }
    let subscriber = match req.subscriber_id {
        Some(sid) => store
            .subscriber(app, req.stream_id, sid)
            .map_err(|e| CredentialError::Store(e.to_string()))?,
        None => None,
    };
    if totp_control {
        let sid = required(req.subscriber_id, "subscriberId")?;
        let code = required(req.subscriber_code, "subscriberCode")?;
        let (key, period) = totp_key(
            settings,
            subscriber.as_ref(),
            sid,
            req.stream_id,
            req.action,
        )
        .map_err(unauthorized)?;
        if !totp::verify(code, &key, period, now_ms.max(0) as u64) {
            return Err(unauthorized(format!(
                "TOTP code of subscriber {sid} does not match"
            )));
        }
    }
    if let Some(sub) = &subscriber {
        if is_blocked(sub, req.action, now_ms) {
            return Err(CredentialError::Blocked(format!(
                "subscriber {} is blocked for {}",
                sub.subscriber_id,
                req.action.as_str()
            )));
        }
    }
    Ok(accepted)
}

/// Validates a one-time token without consuming it; returns the id to consume,
/// or `None` for a room token (reusable for every stream of its room).
pub fn one_time_token(
    store: &mut dyn Store,
    app: &str,
    req: &Request<'_>,
    now_ms: i64,
) -> Result<Option<String>, CredentialError> {
    let id = required(req.token, "one-time token")?;
    let token = store
        .token(app, id)
        .map_err(|e| CredentialError::Store(e.to_string()))?
        .ok_or_else(|| unauthorized("one-time token unknown or already used"))?;
    if token.kind != req.action.as_str() {
        return Err(unauthorized(format!(
            "one-time token is for {}",
            token.kind
        )));
    }
    if now_ms / 1000 >= token.expire_date {
        return Err(unauthorized("one-time token expired"));
    }
    let room_request = req.action == Action::Play && req.room.is_some();
    if room_request {
        if token.room_id.as_deref() != req.room {
            return Err(unauthorized("one-time token is for another room"));
        }
        return Ok(None);
    }
    if token.stream_id != req.stream_id {
        return Err(unauthorized("one-time token is for another stream"));
    }
    Ok(Some(token.token_id))
}

/// The TOTP key and step for a subscriber: the registered Base32 secret, or
/// else one derived from the app's secret for the action.
pub fn totp_key(
    settings: &Settings,
    subscriber: Option<&Subscriber>,
    subscriber_id: &str,
    stream_id: &str,
    action: Action,
) -> Result<(Vec<u8>, u64), String> {
    let app_period = u64::from(settings.time_token_period.max(1));
    if let Some(sub) = subscriber {
        if !subscriber_may(sub, action) {
            return Err(format!(
                "subscriber {subscriber_id} is a {} subscriber",
                sub.kind
            ));
        }
        if let Some(b32) = sub.b32_secret.as_deref().filter(|s| !s.is_empty()) {
            let key = tern_auth::base32::decode(b32)
                .map_err(|e| format!("subscriber {subscriber_id} secret: {e}"))?;
            let period = match sub.totp_expiry_period_seconds {
                p if p > 0 => p as u64,
                _ => app_period,
            };
            return Ok((key, period));
        }
    }
    let secret = match action {
        Action::Publish => &settings.time_token_secret_for_publish,
        Action::Play => &settings.time_token_secret_for_play,
    };
    if secret.is_empty() {
        return Err(format!(
            "subscriber {subscriber_id} has no secret and the app has no TOTP secret for {}",
            action.as_str()
        ));
    }
    let key = totp::derived_key(secret, subscriber_id, stream_id, action.as_str());
    Ok((key, app_period))
}

/// A `publish` subscriber may also play (conferences); `publish_play` may both.
fn subscriber_may(sub: &Subscriber, action: Action) -> bool {
    match sub.kind.as_str() {
        "publish_play" | "publish" => true,
        "play" => action == Action::Play,
        _ => false,
    }
}

fn is_blocked(sub: &Subscriber, action: Action, now_ms: i64) -> bool {
    let covers = match sub.blocked_type.as_deref() {
        Some("publish_play") => true,
        Some(t) => t == action.as_str(),
        None => false,
    };
    covers && sub.blocked_until_unit_time_stamp_ms > now_ms
}

fn required<'a>(v: Option<&'a str>, what: &str) -> Result<&'a str, CredentialError> {
    v.filter(|s| !s.is_empty())
        .ok_or_else(|| unauthorized(format!("{what} missing")))
}

fn unauthorized(reason: impl Into<String>) -> CredentialError {
    CredentialError::Unauthorized(reason.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_store::{SqliteStore, Token};

    /// Fixed "now": 2025-06-15, in ms.
    const NOW: i64 = 1_750_000_000_000;

    struct Fixture {
        store: SqliteStore,
        dir: std::path::PathBuf,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn fixture(name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!(
            "tern-credentials-{name}-{}-{}",
            std::process::id(),
            NOW
        ));
        let _ = std::fs::remove_dir_all(&dir);
        Fixture {
            store: SqliteStore::open(&dir).unwrap(),
            dir,
        }
    }

    fn req<'a>(action: Action, stream: &'a str, token: Option<&'a str>) -> Request<'a> {
        Request {
            action,
            stream_id: stream,
            token,
            room: None,
            subscriber_id: None,
            subscriber_code: None,
        }
    }

    #[test]
    fn one_time_tokens_expire_at_their_second() {
        let mut f = fixture("expiry");
        let t = Token {
            token_id: "secret-token-value".into(),
            stream_id: "s1".into(),
            expire_date: NOW / 1000 + 10,
            kind: "play".into(),
            room_id: None,
        };
        f.store.insert_token("A", &t).unwrap();
        let settings = Settings {
            play_token_control_enabled: true,
            ..Settings::default()
        };
        let r = req(Action::Play, "s1", Some("secret-token-value"));
        let ok = check(&mut f.store, &settings, None, "A", &r, NOW + 9_999).unwrap();
        assert_eq!(ok.consume_token.as_deref(), Some("secret-token-value"));
        assert_eq!(
            check(&mut f.store, &settings, None, "A", &r, NOW + 10_000).unwrap_err(),
            CredentialError::Unauthorized("one-time token expired".into())
        );
        // Checking does not consume: the registry takes it once all checks pass.
        assert!(f.store.token("A", "secret-token-value").unwrap().is_some());
    }

    #[test]
    fn totp_with_a_subscriber_period_at_fixed_times() {
        let mut f = fixture("totp");
        let key = b"0123456789";
        f.store
            .save_subscriber(
                "A",
                &Subscriber {
                    subscriber_id: "alice".into(),
                    stream_id: "s1".into(),
                    kind: "play".into(),
                    b32_secret: Some(tern_auth::base32::encode(key)),
                    totp_expiry_period_seconds: 30,
                    ..Subscriber::default()
                },
            )
            .unwrap();
        let settings = Settings {
            enable_time_token_for_play: true,
            ..Settings::default()
        };
        let code = totp::code(key, 30, NOW as u64);
        let mut r = req(Action::Play, "s1", None);
        r.subscriber_id = Some("alice");
        r.subscriber_code = Some(&code);
        assert!(check(&mut f.store, &settings, None, "A", &r, NOW).is_ok());
        assert!(check(&mut f.store, &settings, None, "A", &r, NOW + 30_000).is_ok());
        assert!(check(&mut f.store, &settings, None, "A", &r, NOW + 60_000).is_err());
        let mut publish = req(Action::Publish, "s1", None);
        publish.subscriber_id = Some("alice");
        publish.subscriber_code = Some(&code);
        let settings = Settings {
            enable_time_token_for_publish: true,
            ..Settings::default()
        };
        assert!(matches!(
            check(&mut f.store, &settings, None, "A", &publish, NOW),
            Err(CredentialError::Unauthorized(why)) if why.contains("play subscriber")
        ));
    }

    #[test]
    fn blocks_end_when_their_time_is_up() {
        let sub = Subscriber {
            blocked_type: Some("play".into()),
            blocked_until_unit_time_stamp_ms: NOW,
            ..Subscriber::default()
        };
        assert!(is_blocked(&sub, Action::Play, NOW - 1));
        assert!(!is_blocked(&sub, Action::Play, NOW));
        assert!(!is_blocked(&sub, Action::Publish, NOW - 1));
    }

    #[test]
    fn refusal_reasons_never_contain_credentials() {
        let mut f = fixture("secrets");
        let settings = Settings {
            publish_token_control_enabled: true,
            ..Settings::default()
        };
        let all_on = Settings {
            publish_jwt_control_enabled: true,
            jwt_stream_secret_key: "jwt-key-which-is-secret".into(),
            hash_control_publish_enabled: true,
            token_hash_secret: "hash-secret-value".into(),
            enable_time_token_for_publish: true,
            time_token_secret_for_publish: "totp-secret-value".into(),
            ..Settings::default()
        };
        let token = "tok-CANARY-123";
        let mut r = req(Action::Publish, "s1", Some(token));
        r.subscriber_id = Some("sub1");
        r.subscriber_code = Some("999999");
        for s in [&settings, &all_on] {
            let err = format!(
                "{:?}",
                check(&mut f.store, s, None, "A", &r, NOW).unwrap_err()
            );
            for secret in [
                token,
                "999999",
                "jwt-key-which-is-secret",
                "hash-secret-value",
                "totp-secret-value",
            ] {
                assert!(!err.contains(secret), "{err} leaks {secret}");
            }
        }
    }
}
