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
    /// The mid extension's id, and the mid (at most 16 bytes, its length).
    mid: Option<(u8, [u8; 16], u8)>,
    audio_level: Option<u8>,
    orientation: Option<u8>,
}

impl ExtIds {
    /// From the player's accepted extension map; `mid` names its m-line.
    pub fn new(map: &ExtensionMap, mid: &str) -> Self {
        // One-byte elements carry ids 1-14 and at most 16 bytes.
        let one_byte = |id: Option<u8>| id.filter(|i| (1..=14).contains(i));
        let mid_bytes = mid.as_bytes();
        ExtIds {
            mid: one_byte(map.id_of(Extension::RtpMid))
                .filter(|_| !mid_bytes.is_empty() && mid_bytes.len() <= 16)
                .map(|id| {
                    let mut m = [0u8; 16];
                    m[..mid_bytes.len()].copy_from_slice(mid_bytes);
                    (id, m, mid_bytes.len() as u8)
                }),
            audio_level: one_byte(map.id_of(Extension::AudioLevel)),
            orientation: one_byte(map.id_of(Extension::VideoOrientation)),
        }
    }
}

/// The longest header written: 12 bytes, the extension block's 4, the mid
/// (1 + 16), audio level and orientation (2 each), padding.
pub(crate) const MAX_LEN: usize = 40;

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
    if let Some((id, mid, len)) = &ids.mid {
        element(buf, *id, &mid[..usize::from(*len)]);
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
