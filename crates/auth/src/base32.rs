//! RFC 4648 Base32 (upper-case alphabet, `=` padding optional), the encoding of
//! TOTP subscriber secrets (`b32Secret`).

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

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

pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                let index = (bits >> (35 - i * 5)) & 0x1f;
                out.push(char::from(ALPHABET[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn decode(text: &str) -> Result<Vec<u8>, Base32Error> {
    let text = text.trim_end_matches('=');
    if matches!(text.len() % 8, 1 | 3 | 6) {
        return Err(Base32Error::BadLength);
    }
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return Err(Base32Error::BadCharacter),
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
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
        }
    }

    #[test]
    fn mistakes_are_refused() {
        assert_eq!(decode("MZXW6YT1"), Err(Base32Error::BadCharacter));
        assert_eq!(decode("MZX"), Err(Base32Error::BadLength));
        assert_eq!(decode("mzxw6ytb").unwrap(), b"fooba");
    }
}
