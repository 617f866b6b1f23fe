//! Stream-id rules shared by every command (PROTOCOL.md §2.0).

/// Longest id accepted; ids are keys in maps and logs, so unbounded ids would let a
/// client make the server hold arbitrary amounts of memory per request.
pub const MAX_LEN: usize = 256;

/// True when `id` is non-empty, at most [`MAX_LEN`] bytes and only `[A-Za-z0-9_.-]`.
pub fn is_valid(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_ant_media_alphabet() {
        assert!(is_valid("stream1"));
        assert!(is_valid("a-b_c.D9"));
    }

    #[test]
    fn rejects_everything_else() {
        for bad in ["", "a b", "a/b", "ümlaut", "a;b", "<script>", "a\nb"] {
            assert!(!is_valid(bad), "{bad:?}");
        }
        assert!(!is_valid(&"x".repeat(MAX_LEN + 1)));
        assert!(is_valid(&"x".repeat(MAX_LEN)));
    }
}
