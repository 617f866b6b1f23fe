//! RFC 4648 Base32 (upper-case alphabet, `=` padding optional), the encoding of
//! TOTP subscriber secrets (`b32Secret`), with `data-encoding`.

use std::sync::LazyLock;

use data_encoding::{DecodeKind, Encoding, Specification, BASE32};

/// Why a Base32 text does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base32Error {
    /// A character outside `A–Z2–7` (lower case is accepted too).
    BadCharacter,
    /// The length (without padding) cannot come from whole bytes.
    BadLength,
}

impl std::fmt::Display for Base32Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Base32Error::BadCharacter => "only the characters A-Z and 2-7 are Base32",
            Base32Error::BadLength => "the Base32 text has a length no byte string encodes to",
        })
    }
}

impl std::error::Error for Base32Error {}

/// What secrets arrive as: authenticator apps and Ant Media's REST clients
/// drop the padding, write lower case, and leave non-zero bits in the last
/// character; all of that is taken.
static LENIENT: LazyLock<Encoding> = LazyLock::new(|| {
    let mut spec = Specification::new();
    spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    spec.translate.from.push_str("abcdefghijklmnopqrstuvwxyz");
    spec.translate.to.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    spec.check_trailing_bits = false;
    // A fixed, valid specification: building it cannot fail.
    spec.encoding().expect("a valid Base32 specification")
});

/// Encodes with `=` padding.
pub fn encode(bytes: &[u8]) -> String {
    BASE32.encode(bytes)
}

pub fn decode(text: &str) -> Result<Vec<u8>, Base32Error> {
    LENIENT
        .decode(text.trim_end_matches('=').as_bytes())
        .map_err(|e| match e.kind {
            DecodeKind::Length => Base32Error::BadLength,
            _ => Base32Error::BadCharacter,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ] {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
            assert_eq!(
                decode(coded.trim_end_matches('=')).unwrap(),
                plain.as_bytes()
            );
        }
    }

    #[test]
    fn mistakes_are_refused() {
        assert_eq!(decode("MZXW6YT1"), Err(Base32Error::BadCharacter));
        assert_eq!(decode("MZ=W6YTB"), Err(Base32Error::BadCharacter));
        assert_eq!(decode("MZX"), Err(Base32Error::BadLength));
        assert_eq!(decode("mzxw6ytb").unwrap(), b"fooba");
        // Non-zero bits after the last byte are ignored, as before.
        assert_eq!(decode("MZ").unwrap(), b"f");
    }
}
