//! The token a relay plays with on its origin. It names the stream and the
//! time, with an HMAC of both under the cluster's secret (kept in Redis): the
//! secret itself never crosses node-to-node signaling, and a token read off
//! the wire plays that one stream, for a minute.

/// What every relay token starts with.
pub const PREFIX: &str = "tern-cluster:";
/// How far (seconds) a token's time may be from the origin's clock.
const VALID_FOR: u64 = 60;

/// The token for playing `app/stream` at `now` (Unix seconds).
pub fn make(secret: &str, app: &str, stream: &str, now: u64) -> String {
    format!("{PREFIX}{now}:{}", mac(secret, app, stream, now))
}

/// Whether `token` is a relay's token for `app/stream`, made within
/// [`VALID_FOR`] of `now`.
pub fn check(secret: &str, app: &str, stream: &str, token: &str, now: u64) -> bool {
    let Some((at, _)) = token
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once(':'))
    else {
        return false;
    };
    let Ok(at) = at.parse::<u64>() else {
        return false;
    };
    if at.abs_diff(now) > VALID_FOR {
        return false;
    }
    let expected = make(secret, app, stream, at);
    super::constant_time_eq(expected.as_bytes(), token.as_bytes())
}

fn mac(secret: &str, app: &str, stream: &str, at: u64) -> String {
    // Newlines never occur in app names or stream ids: the fields cannot run
    // into each other.
    crate::webhooks::hmac_sha256_hex(secret, &format!("relay-play\n{app}\n{stream}\n{at}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_plays_its_stream_only_and_only_for_a_minute() {
        let t = make("s3cret", "LiveApp", "cam1", 1_000_000);
        assert!(t.starts_with(PREFIX) && !t.contains("s3cret"));
        assert!(check("s3cret", "LiveApp", "cam1", &t, 1_000_000));
        assert!(check("s3cret", "LiveApp", "cam1", &t, 1_000_059));
        assert!(!check("s3cret", "LiveApp", "cam1", &t, 1_000_061));
        assert!(!check("s3cret", "LiveApp", "cam2", &t, 1_000_000));
        assert!(!check("s3cret", "Other", "cam1", &t, 1_000_000));
        assert!(!check("other", "LiveApp", "cam1", &t, 1_000_000));
    }

    #[test]
    fn garbage_is_no_token() {
        for bad in [
            "",
            "tern-cluster:",
            "tern-cluster:x:y",
            "tern-cluster:1000000",
            "tern-cluster:1000000:",
            "tern-cluster:99999999999999999999999:ab",
            "s3cret",
        ] {
            assert!(
                !check("s3cret", "LiveApp", "cam1", bad, 1_000_000),
                "{bad:?}"
            );
        }
        // A time changed after signing fails the MAC.
        let t = make("s3cret", "LiveApp", "cam1", 1_000_000);
        let forged = t.replacen("1000000", "1000001", 1);
        assert!(!check("s3cret", "LiveApp", "cam1", &forged, 1_000_000));
    }
}
