//! TURN over TCP and TLS carries STUN messages and ChannelData back to back
//! (RFC 8656 §12.5): a STUN message is its 20-byte header plus the length in
//! it; ChannelData is a 4-byte header plus its length, padded to four bytes.
//! The relay core takes whole messages, so the stream is cut here.

/// RFC 5389's magic cookie, bytes 4 to 8 of every STUN message.
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// Why a stream cannot be read on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramingError {
    /// The first byte is neither a STUN message (top bits 00 and the magic
    /// cookie) nor ChannelData (top bits 01: channel numbers 0x4000 to 0x7fff,
    /// RFC 5766's range, which clients such as coturn's still use).
    NotTurn(u8),
}

impl std::fmt::Display for FramingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FramingError::NotTurn(b) => write!(
                f,
                "not a STUN message or ChannelData (first byte {b:#04x}): the stream is closed"
            ),
        }
    }
}

#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered and not yet a whole message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole message, if one is buffered.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let Some(&first) = self.buf.first() else {
            return Ok(None);
        };
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]]));
        let (message, taken) = match first >> 6 {
            0 if self.buf.len() < 8 => return Ok(None),
            0 if self.buf[4..8] == MAGIC_COOKIE => (20 + len, 20 + len),
            1 => (4 + len, (4 + len).div_ceil(4) * 4),
            _ => return Err(FramingError::NotTurn(first)),
        };
        if self.buf.len() < taken {
            return Ok(None);
        }
        let out = self.buf[..message].to_vec();
        self.buf.drain(..taken);
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(body: usize) -> Vec<u8> {
        let mut m = vec![0x00, 0x01];
        m.extend_from_slice(&(body as u16).to_be_bytes());
        m.extend_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
        m.extend_from_slice(&[7; 12]);
        m.extend(std::iter::repeat_n(0xaa, body));
        m
    }

    #[test]
    fn messages_split_across_reads_come_out_whole() {
        let mut stream = stun(8);
        // ChannelData of 5 bytes: padded to 8 on TCP.
        stream.extend_from_slice(&[0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]);
        stream.extend(stun(0));
        let mut f = Framer::default();
        let mut out = Vec::new();
        for chunk in stream.chunks(3) {
            f.push(chunk);
            while let Some(m) = f.next_message().unwrap() {
                out.push(m);
            }
        }
        assert_eq!(out.len(), 3);
        assert_eq!(out[0], stun(8));
        assert_eq!(out[1], vec![0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5]);
        assert_eq!(out[2], stun(0));
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn anything_else_is_refused() {
        let mut f = Framer::default();
        // A TLS ClientHello on the plain port: top bits 00, but no cookie.
        f.push(&[0x16, 0x03, 0x01, 0x00, 0x10, 0x01, 0x00, 0x00, 0x0c]);
        assert_eq!(f.next_message(), Err(FramingError::NotTurn(0x16)));
        let mut f = Framer::default();
        f.push(&[0x80, 0x00, 0x00, 0x00]); // top bits 10: neither
        assert!(f.next_message().is_err());
    }
}
