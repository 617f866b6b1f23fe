//! A player's sealed datagrams waiting for the socket, back to back in one
//! buffer that keeps its capacity: no allocation per packet, and the driver
//! reads them in place (a `Transmit` per packet cost a copy of its contents
//! into a new buffer, and two allocations).

use std::net::SocketAddr;

use str0m::net::Protocol;

/// At most this many datagrams wait per player: a driver that stops taking
/// them loses the newest, as a full socket buffer would, and memory stays
/// bounded.
const MAX_WAITING: usize = 1024;

/// A datagram to send, read in place.
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a> {
    pub proto: Protocol,
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub contents: &'a [u8],
}

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    bytes: Vec<u8>,
    /// Where each datagram ends in `bytes`.
    ends: Vec<u32>,
}

impl Outbox {
    /// The buffer to append a datagram to, and where it starts; `None` when
    /// the outbox is full.
    pub fn begin(&mut self) -> Option<(&mut Vec<u8>, usize)> {
        (self.ends.len() < MAX_WAITING).then(|| {
            let start = self.bytes.len();
            (&mut self.bytes, start)
        })
    }

    /// Ends the datagram appended since `begin`.
    pub fn commit(&mut self) {
        self.ends.push(self.bytes.len() as u32);
    }

    /// Drops what was appended since `begin` (at `start`).
    pub fn abort(&mut self, start: usize) {
        self.bytes.truncate(start);
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn datagrams(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(s, e)| &self.bytes[s as usize..*e as usize])
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(o: &mut Outbox, data: &[u8]) -> bool {
        let Some((buf, _)) = o.begin() else {
            return false;
        };
        buf.extend_from_slice(data);
        o.commit();
        true
    }

    #[test]
    fn datagrams_come_out_whole_and_in_order() {
        let mut o = Outbox::default();
        put(&mut o, b"one");
        put(&mut o, b"");
        put(&mut o, b"three");
        // One begun and given up leaves nothing behind.
        let (buf, start) = o.begin().unwrap();
        buf.extend_from_slice(b"half");
        o.abort(start);
        put(&mut o, b"four");
        let got: Vec<&[u8]> = o.datagrams().collect();
        assert_eq!(got, [&b"one"[..], b"", b"three", b"four"]);
        o.clear();
        assert!(o.is_empty());
        assert_eq!(o.datagrams().count(), 0);
    }

    #[test]
    fn a_full_outbox_refuses_more() {
        let mut o = Outbox::default();
        for _ in 0..MAX_WAITING {
            assert!(put(&mut o, b"x"));
        }
        assert!(!put(&mut o, b"x"));
        assert_eq!(o.datagrams().count(), MAX_WAITING);
    }
}
