//! A `.part` file left by a process that died: how much of it is whole (the
//! init segment and each fragment whose `moof` and `mdat` both made it to
//! disk) and how long that plays. The server cuts the file there and keeps
//! it as the recording: fragmented MP4 is MP4.

use std::collections::HashMap;
use std::io::{Cursor, Read, Seek, SeekFrom};

use mp4_atom::{Decode, Moof, Moov};

use crate::fmp4::Mp4Error;

/// Boxes larger than this are not read into memory (only `mdat` may be).
const MAX_HEADER_BOX: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Bytes from the start that are whole; 0 when not even the init
    /// segment is.
    pub whole: u64,
    pub duration_ms: u64,
}

/// Walks the top-level boxes of a fragmented MP4 of `len` bytes.
pub fn scan<F: Read + Seek>(file: &mut F, len: u64) -> Result<Recovered, Mp4Error> {
    let bad = |e: std::io::Error| Mp4Error::Encode(format!("reading the file: {e}"));
    let mut clocks: HashMap<u32, u32> = HashMap::new();
    let mut ends: HashMap<u32, u64> = HashMap::new();
    let mut fragment: Option<HashMap<u32, u64>> = None;
    let mut whole = 0;
    let mut pos = 0u64;
    while pos + 8 <= len {
        file.seek(SeekFrom::Start(pos)).map_err(bad)?;
        let mut head = [0u8; 16];
        file.read_exact(&mut head[..8]).map_err(bad)?;
        let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
        let kind = [head[4], head[5], head[6], head[7]];
        let size = match size32 {
            0 => break, // to the end of the file: never written whole
            1 => {
                if pos + 16 > len {
                    break;
                }
                file.read_exact(&mut head[8..16]).map_err(bad)?;
                u64::from_be_bytes(head[8..16].try_into().expect("8 bytes"))
            }
            s => s,
        };
        if size < 8 || pos + size > len {
            break;
        }
        match &kind {
            b"moov" | b"moof" => {
                if size > MAX_HEADER_BOX {
                    break;
                }
                file.seek(SeekFrom::Start(pos)).map_err(bad)?;
                let mut buf = vec![0; size as usize];
                file.read_exact(&mut buf).map_err(bad)?;
                let mut c = Cursor::new(buf.as_slice());
                if &kind == b"moov" {
                    let Ok(moov) = Moov::decode(&mut c) else {
                        break;
                    };
                    for t in &moov.trak {
                        clocks.insert(t.tkhd.track_id, t.mdia.mdhd.timescale.max(1));
                    }
                    whole = pos + size;
                } else {
                    let Ok(moof) = Moof::decode(&mut c) else {
                        break;
                    };
                    let mut f = HashMap::new();
                    for traf in &moof.traf {
                        let base = traf.tfdt.as_ref().map_or(0, |t| t.base_media_decode_time);
                        let span: u64 = traf
                            .trun
                            .iter()
                            .flat_map(|r| r.samples.iter())
                            .map(|s| s.duration.unwrap_or(0) as u64)
                            .sum();
                        f.insert(traf.tfhd.track_id, base + span);
                    }
                    fragment = Some(f);
                }
            }
            b"mdat" => {
                // A fragment counts once its media data is all there.
                if let Some(f) = fragment.take() {
                    for (track, end) in f {
                        let e = ends.entry(track).or_default();
                        *e = (*e).max(end);
                    }
                    whole = pos + size;
                }
            }
            _ => {}
        }
        pos += size;
    }
    let duration_ms = ends
        .iter()
        .filter_map(|(t, end)| Some(end * 1000 / *clocks.get(t)? as u64))
        .max()
        .unwrap_or(0);
    Ok(Recovered { whole, duration_ms })
}
