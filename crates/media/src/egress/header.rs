//! A forwarded packet's RTP header for one player: its payload type, SSRC,
//! sequence number and time, and the header extensions its answer accepted
//! that the source's packet carries values for (RFC 8285 one-byte form).
//! No transport-wide sequence numbers or send times: a player sent this way
//! has no bandwidth estimate (it plays a source without simulcast layers).

use str0m::rtp::{Extension, ExtensionMap, ExtensionValues};

/// The ids a player's m-line gave the extensions Tern writes (plain data,
/// kept with the track: looked up once).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ExtIds {
    mid: Option<Tag>,
    /// A layer of a player that gets every layer (a cluster relay): the
    /// receiver tells its layers apart by it.
    rid: Option<Tag>,
    audio_level: Option<u8>,
    orientation: Option<u8>,
}

/// A text element: the extension's id and its value (at most 16 bytes).
#[derive(Debug, Clone, Copy)]
struct Tag {
    id: u8,
    bytes: [u8; 16],
    len: u8,
}

impl Tag {
    fn new(id: Option<u8>, value: &str) -> Option<Tag> {
        let v = value.as_bytes();
        let id = one_byte(id).filter(|_| !v.is_empty() && v.len() <= 16)?;
        let mut bytes = [0u8; 16];
        bytes[..v.len()].copy_from_slice(v);
        Some(Tag {
            id,
            bytes,
            len: v.len() as u8,
        })
    }

    fn value(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// One-byte elements carry ids 1-14 and at most 16 bytes.
fn one_byte(id: Option<u8>) -> Option<u8> {
    id.filter(|i| (1..=14).contains(i))
}

impl ExtIds {
    /// From the player's accepted extension map; `mid` names its m-line and
    /// `rid` the layer, when the m-line sends several.
    pub fn new(map: &ExtensionMap, mid: &str, rid: Option<&str>) -> Self {
        ExtIds {
            mid: Tag::new(map.id_of(Extension::RtpMid), mid),
            rid: rid.and_then(|r| Tag::new(map.id_of(Extension::RtpStreamId), r)),
            audio_level: one_byte(map.id_of(Extension::AudioLevel)),
            orientation: one_byte(map.id_of(Extension::VideoOrientation)),
        }
    }
}

/// What a header says besides its extensions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub pt: u8,
    pub marker: bool,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// Appends the header to `buf`; returns its length.
pub(crate) fn write(buf: &mut Vec<u8>, f: Fields, ids: &ExtIds, vals: &ExtensionValues) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&[0x80, f.pt & 0x7f | if f.marker { 0x80 } else { 0 }]);
    buf.extend_from_slice(&f.seq.to_be_bytes());
    buf.extend_from_slice(&f.timestamp.to_be_bytes());
    buf.extend_from_slice(&f.ssrc.to_be_bytes());
    let ext_start = buf.len();
    buf.extend_from_slice(&[0xbe, 0xde, 0, 0]);
    for tag in [&ids.mid, &ids.rid].into_iter().flatten() {
        element(buf, tag.id, tag.value());
    }
    if let (Some(id), Some(level)) = (ids.audio_level, vals.audio_level) {
        let vad = if vals.voice_activity == Some(true) {
            0x80
        } else {
            0
        };
        element(buf, id, &[vad | (level.unsigned_abs() & 0x7f)]);
    }
    if let (Some(id), Some(o)) = (ids.orientation, vals.video_orientation) {
        element(buf, id, &[o as u8]);
    }
    let ext_len = buf.len() - ext_start - 4;
    if ext_len == 0 {
        buf.truncate(ext_start);
    } else {
        buf.resize(ext_start + 4 + ext_len.div_ceil(4) * 4, 0);
        let words = ((buf.len() - ext_start - 4) / 4) as u16;
        buf[ext_start + 2..ext_start + 4].copy_from_slice(&words.to_be_bytes());
        buf[start] |= 0x10;
    }
    buf.len() - start
}

fn element(buf: &mut Vec<u8>, id: u8, data: &[u8]) {
    buf.push(id << 4 | (data.len() as u8 - 1));
    buf.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_carries_its_mid_and_rid() {
        let mut map = ExtensionMap::empty();
        map.set(3, Extension::RtpMid);
        map.set(10, Extension::RtpStreamId);
        let ids = ExtIds::new(&map, "1", Some("h"));
        let f = Fields {
            pt: 96,
            marker: true,
            seq: 7,
            timestamp: 9,
            ssrc: 0x0102_0304,
        };
        let mut buf = Vec::new();
        let len = write(&mut buf, f, &ids, &ExtensionValues::default());
        // Two one-byte elements (2 + 2 bytes) pad to one word.
        assert_eq!(len, 12 + 4 + 4);
        assert_eq!(buf[0], 0x90, "version 2 with the extension bit");
        assert_eq!(&buf[12..16], &[0xbe, 0xde, 0, 1]);
        assert_eq!(&buf[16..20], &[0x30, b'1', 0xa0, b'h']);
        // Without a rid (an ordinary player) only the mid is written.
        let mut plain = Vec::new();
        write(
            &mut plain,
            f,
            &ExtIds::new(&map, "1", None),
            &ExtensionValues::default(),
        );
        assert_eq!(&plain[16..20], &[0x30, b'1', 0, 0]);
        // An id the one-byte form cannot carry is left out.
        let mut two_byte = ExtensionMap::empty();
        two_byte.set(15, Extension::RtpStreamId);
        assert!(ExtIds::new(&two_byte, "1", Some("h")).rid.is_none());
    }
}
