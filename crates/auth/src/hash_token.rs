//! Hash tokens (PROTOCOL.md §7.4): `hex(sha256(streamId + type + tokenHashSecret))`.

use sha2::{Digest, Sha256};

use crate::Action;

/// The token a client must present for `action` on `stream_id`.
pub fn expected(stream_id: &str, action: Action, secret: &str) -> String {
    let digest = Sha256::new()
        .chain_update(stream_id.as_bytes())
        .chain_update(action.as_str().as_bytes())
        .chain_update(secret.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `token` is the hash token for `action` on `stream_id`. Upper-case hex
/// is accepted too. An empty secret never validates: it would make the token
/// public knowledge.
pub fn verify(token: &str, stream_id: &str, action: Action, secret: &str) -> bool {
    if secret.is_empty() {
        return false;
    }
    let want = expected(stream_id, action, secret);
    crate::constant_time_eq(token.to_ascii_lowercase().as_bytes(), want.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values computed independently: `printf 's1publishsecret' | sha256sum`.
    const PUBLISH: &str = "6c2e80fb786c2f38031aa97e7237c686ca6677635e091230beb55b275d52535a";
    const PLAY: &str = "06bc3ca8b4c00a9c9e7cf0b5dbdbded2abf23071eb851e74d56253be27302539";

    #[test]
    fn sha256_of_stream_type_and_secret() {
        assert_eq!(expected("s1", Action::Publish, "secret"), PUBLISH);
        assert_eq!(expected("s1", Action::Play, "secret"), PLAY);
    }

    #[test]
    fn verify_checks_stream_type_and_secret() {
        assert!(verify(PUBLISH, "s1", Action::Publish, "secret"));
        assert!(verify(
            &PUBLISH.to_uppercase(),
            "s1",
            Action::Publish,
            "secret"
        ));
        assert!(!verify(PUBLISH, "s1", Action::Play, "secret"));
        assert!(!verify(PUBLISH, "s2", Action::Publish, "secret"));
        assert!(!verify(PUBLISH, "s1", Action::Publish, "other"));
        assert!(!verify("", "s1", Action::Publish, "secret"));
        assert!(!verify(
            &expected("s1", Action::Publish, ""),
            "s1",
            Action::Publish,
            ""
        ));
    }
}
