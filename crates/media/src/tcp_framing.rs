//! ICE over TCP carries STUN, DTLS and SRTP packets on a byte stream, each
//! behind a two-byte big-endian length (RFC 4571, as RFC 6544 asks). This
//! cuts a stream back into packets, whatever pieces it arrives in; sans-IO.

/// The largest packet a two-byte length can announce.
pub const MAX_FRAME: usize = u16::MAX as usize;

/// Collects stream bytes and yields whole packets.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
}

impl FrameDecoder {
    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        // Drop what was consumed before growing, so the buffer stays within
        // one frame and one read.
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next whole packet, if one is in. Empty frames (a keepalive some
    /// stacks send) are skipped.
    pub fn next_frame(&mut self) -> Option<&[u8]> {
        loop {
            let rest = &self.buf[self.start..];
            let [hi, lo, ..] = *rest else {
                return None;
            };
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if rest.len() < 2 + len {
                return None;
            }
            let at = self.start + 2;
            self.start = at + len;
            if len > 0 {
                return Some(&self.buf[at..at + len]);
            }
        }
    }

    /// Bytes held that are not yet a whole packet.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }
}

/// Why a packet cannot be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameTooLong(pub usize);

/// Appends `packet` to `out` behind its length.
pub fn encode(packet: &[u8], out: &mut Vec<u8>) -> Result<(), FrameTooLong> {
    let len = u16::try_from(packet.len()).map_err(|_| FrameTooLong(packet.len()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(packet);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(d: &mut FrameDecoder) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| d.next_frame().map(<[u8]>::to_vec)).collect()
    }

    #[test]
    fn packets_come_back_whatever_the_pieces() {
        let packets: Vec<Vec<u8>> = vec![vec![1; 20], vec![2; 1200], vec![], vec![3; 1]];
        let mut stream = Vec::new();
        for p in &packets {
            encode(p, &mut stream).unwrap();
        }
        let want: Vec<Vec<u8>> = packets.into_iter().filter(|p| !p.is_empty()).collect();
        for piece in [1, 2, 3, 7, 500, stream.len()] {
            let mut d = FrameDecoder::default();
            let mut got = Vec::new();
            for chunk in stream.chunks(piece) {
                d.push(chunk);
                got.extend(frames(&mut d));
            }
            assert_eq!(got, want, "pieces of {piece}");
            assert_eq!(d.pending(), 0);
        }
    }

    #[test]
    fn a_partial_frame_waits_and_too_long_packets_are_refused() {
        let mut d = FrameDecoder::default();
        d.push(&[0x00, 0x05, 1, 2]);
        assert!(d.next_frame().is_none());
        assert_eq!(d.pending(), 4);
        d.push(&[3, 4, 5]);
        assert_eq!(d.next_frame(), Some(&[1, 2, 3, 4, 5][..]));
        let mut out = Vec::new();
        assert_eq!(
            encode(&vec![0; MAX_FRAME + 1], &mut out),
            Err(FrameTooLong(MAX_FRAME + 1))
        );
        assert!(encode(&vec![0; MAX_FRAME], &mut out).is_ok());
    }
}
