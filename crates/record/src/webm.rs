//! WebM for VP8 streams (`webMMuxingEnabled`): the same recording as MP4,
//! in Matroska elements written with `webm-iterable`. While the stream runs,
//! the `.part` file is a segment of unknown size followed by one cluster per
//! fragment, so a crash leaves a file that plays up to its last cluster. When
//! it ends, the final file is a head with the segment's size and the
//! duration, then the same clusters copied.

use webm_iterable::matroska_spec::{Master, MatroskaSpec as M, SimpleBlock};
use webm_iterable::WebmWriter;

use crate::fmp4::{FragmentTrack, Mp4Error};
use crate::tracks::{TrackCodec, TrackInfo, AUDIO_CLOCK};

/// The Segment element's id.
const SEGMENT: [u8; 4] = [0x18, 0x53, 0x80, 0x67];
/// An 8-byte element size that says "unknown".
const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
/// Opus decoder delay at 48 kHz, as the MP4's `dOps` has it.
const PRE_SKIP: u16 = 312;
/// Opus needs 80 ms decoded before a seek point (RFC 7845).
const SEEK_PRE_ROLL_NS: u64 = 80_000_000;

fn encode(tags: &[M]) -> Result<Vec<u8>, Mp4Error> {
    let mut w = WebmWriter::new(Vec::new());
    for t in tags {
        w.write(t).map_err(|e| Mp4Error::Encode(e.to_string()))?;
    }
    w.into_inner().map_err(|e| Mp4Error::Encode(e.to_string()))
}

/// Children of the segment, without the segment's own header (the writer
/// checks that they are written inside one).
fn encode_in_segment(tags: &[M]) -> Result<Vec<u8>, Mp4Error> {
    let err = |e: webm_iterable::errors::TagWriterError| Mp4Error::Encode(e.to_string());
    let mut w = WebmWriter::new(Vec::new());
    let unknown = webm_iterable::WriteOptions::is_unknown_sized_element();
    w.write_advanced(&M::Segment(Master::Start), unknown)
        .map_err(err)?;
    for t in tags {
        w.write(t).map_err(err)?;
    }
    let out = w.into_inner().map_err(err)?;
    match out.split_at_checked(SEGMENT.len() + UNKNOWN_SIZE.len()) {
        Some((h, rest)) if h[..4] == SEGMENT && h[4..] == UNKNOWN_SIZE => Ok(rest.to_vec()),
        _ => Err(Mp4Error::Encode("unexpected segment header".into())),
    }
}

fn ebml_header() -> M {
    M::Ebml(Master::Full(vec![
        M::EbmlVersion(1),
        M::EbmlReadVersion(1),
        M::EbmlMaxIdLength(4),
        M::EbmlMaxSizeLength(8),
        M::DocType("webm".into()),
        M::DocTypeVersion(4),
        M::DocTypeReadVersion(2),
    ]))
}

fn info(duration_ms: Option<u64>) -> M {
    let mut v = vec![
        M::TimestampScale(1_000_000),
        M::MuxingApp("Tern".into()),
        M::WritingApp("Tern".into()),
    ];
    if let Some(d) = duration_ms {
        v.push(M::Duration(d as f64));
    }
    M::Info(Master::Full(v))
}

/// The OpusHead of RFC 7845 (stereo, family 0): WebM's Opus CodecPrivate.
fn opus_head() -> Vec<u8> {
    let mut h = b"OpusHead".to_vec();
    h.extend([1, 2]);
    h.extend(PRE_SKIP.to_le_bytes());
    h.extend(AUDIO_CLOCK.to_le_bytes());
    h.extend([0, 0, 0]);
    h
}

fn track_entry(t: &TrackInfo) -> Result<M, Mp4Error> {
    let id = u64::from(t.id);
    let mut v = vec![M::TrackNumber(id), M::TrackUID(id)];
    match &t.codec {
        TrackCodec::Vp8 => v.extend([
            M::TrackType(1),
            M::CodecID("V_VP8".into()),
            M::Video(Master::Full(vec![
                M::PixelWidth(u64::from(t.width)),
                M::PixelHeight(u64::from(t.height)),
            ])),
        ]),
        TrackCodec::Opus => v.extend([
            M::TrackType(2),
            M::CodecID("A_OPUS".into()),
            M::CodecPrivate(opus_head()),
            M::CodecDelay(u64::from(PRE_SKIP) * 1_000_000_000 / u64::from(AUDIO_CLOCK)),
            M::SeekPreRoll(SEEK_PRE_ROLL_NS),
            M::Audio(Master::Full(vec![
                M::SamplingFrequency(f64::from(AUDIO_CLOCK)),
                M::Channels(2),
            ])),
        ]),
        TrackCodec::H264 { .. } => return Err(Mp4Error::Encode("WebM carries no H.264".into())),
        TrackCodec::Aac { .. } => return Err(Mp4Error::Encode("WebM carries no AAC".into())),
    }
    Ok(M::TrackEntry(Master::Full(v)))
}

fn tracks(infos: &[TrackInfo]) -> Result<M, Mp4Error> {
    let entries = infos.iter().map(track_entry).collect::<Result<_, _>>()?;
    Ok(M::Tracks(Master::Full(entries)))
}

/// The start of the `.part` file: header, a segment of unknown size, its
/// info and tracks.
pub fn init(infos: &[TrackInfo]) -> Result<Vec<u8>, Mp4Error> {
    let mut out = encode(&[ebml_header()])?;
    out.extend(SEGMENT);
    out.extend(UNKNOWN_SIZE);
    out.extend(encode_in_segment(&[info(None), tracks(infos)?])?);
    Ok(out)
}

/// The head of the final file, whose segment holds `clusters` bytes of
/// clusters after its info and tracks.
pub fn head(infos: &[TrackInfo], duration_ms: u64, clusters: u64) -> Result<Vec<u8>, Mp4Error> {
    let body = encode_in_segment(&[info(Some(duration_ms)), tracks(infos)?])?;
    let size = body.len() as u64 + clusters;
    if size >= 1 << 56 {
        return Err(Mp4Error::Encode("segment too large".into()));
    }
    let mut out = encode(&[ebml_header()])?;
    out.extend(SEGMENT);
    out.extend(((1u64 << 56) | size).to_be_bytes());
    out.extend(body);
    Ok(out)
}

/// One cluster of a fragment's samples, in time order across the tracks.
pub fn cluster(tracks: &[(&TrackInfo, FragmentTrack)]) -> Result<Vec<u8>, Mp4Error> {
    let mut blocks: Vec<(u64, u64, bool, &[u8])> = Vec::new();
    for (info, t) in tracks {
        let clock = u64::from(info.clock());
        for (s, data) in t.samples.iter().zip(t.data.iter()) {
            blocks.push((s.dts * 1000 / clock, u64::from(info.id), s.sync, data));
        }
    }
    blocks.sort_by_key(|b| (b.0, b.1));
    let Some(start) = blocks.first().map(|b| b.0) else {
        return Ok(Vec::new());
    };
    let mut children = vec![M::Timestamp(start)];
    for (ms, track, key, data) in blocks {
        let rel = i16::try_from(ms - start)
            .map_err(|_| Mp4Error::Encode("a cluster longer than 32 s".into()))?;
        children.push(SimpleBlock::new_uncheked(data, track, rel, false, None, false, key).into());
    }
    encode_in_segment(&[M::Cluster(Master::Full(children))])
}

/// Elements larger than this are not read into memory.
const MAX_ELEMENT: u64 = 64 << 20;
const CLUSTER: u32 = 0x1F43_B675;
const TRACKS: u32 = 0x1654_AE6B;
const CLUSTER_TIMESTAMP: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;

/// An EBML variable-length number at the start of `b`: its value (with the
/// length marker kept for ids, dropped for sizes; `None` for an unknown
/// size) and its length.
fn vint(b: &[u8], id: bool) -> Option<(Option<u64>, usize)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || b.len() < len {
        return None;
    }
    let mut v = if id {
        u64::from(first)
    } else {
        u64::from(first) & (0xff >> len)
    };
    for &x in &b[1..len] {
        v = (v << 8) | u64::from(x);
    }
    let unknown = !id && v == (1u64 << (7 * len)) - 1;
    Some(((!unknown).then_some(v), len))
}

/// An element's id, its data size (none: unknown) and its header length.
fn element(b: &[u8]) -> Option<(u32, Option<u64>, usize)> {
    let (id, a) = vint(b, true)?;
    let (size, c) = vint(&b[a..], false)?;
    Some((u32::try_from(id?).ok()?, size, a + c))
}

/// Where the media of one cluster ends, in ms.
fn cluster_end(data: &[u8]) -> u64 {
    let (mut at, mut base, mut end) = (0, 0u64, 0u64);
    while let Some((id, Some(size), h)) = element(&data[at..]) {
        let Some(body) = data.get(at + h..at + h + size as usize) else {
            break;
        };
        match id {
            CLUSTER_TIMESTAMP => base = body.iter().fold(0, |v, &x| (v << 8) | u64::from(x)),
            SIMPLE_BLOCK => {
                if let Some((_, t)) = vint(body, false) {
                    if let Some(ts) = body.get(t..t + 2) {
                        let rel = i16::from_be_bytes([ts[0], ts[1]]);
                        end = end.max(base.saturating_add_signed(i64::from(rel)));
                    }
                }
            }
            _ => {}
        }
        at += h + size as usize;
    }
    end
}

/// The `.part` WebM a process that died left: how much of it is whole (the
/// head up to its tracks, and each cluster that made it to disk) and how
/// long that plays.
pub fn scan<F: std::io::Read + std::io::Seek>(
    file: &mut F,
    len: u64,
) -> Result<crate::recover::Recovered, Mp4Error> {
    use std::io::SeekFrom;
    let bad = |e: std::io::Error| Mp4Error::Encode(format!("reading the file: {e}"));
    let mut head = [0u8; 16];
    let (mut pos, mut whole, mut duration_ms) = (0u64, 0u64, 0u64);
    let mut in_segment = false;
    while pos + 2 <= len {
        file.seek(SeekFrom::Start(pos)).map_err(bad)?;
        let n = (len - pos).min(16) as usize;
        file.read_exact(&mut head[..n]).map_err(bad)?;
        let Some((id, size, h)) = element(&head[..n]) else {
            break;
        };
        let start = pos + h as u64;
        if id == u32::from_be_bytes(SEGMENT) && !in_segment {
            // Its children follow; its size, unknown while running, is not needed.
            in_segment = true;
            pos = start;
            continue;
        }
        let Some(size) = size else {
            break;
        };
        let end = start + size;
        if end > len {
            break;
        }
        match id {
            TRACKS if in_segment => whole = end,
            CLUSTER if in_segment && whole > 0 => {
                if size > MAX_ELEMENT {
                    break;
                }
                let mut data = vec![0; size as usize];
                file.seek(SeekFrom::Start(start)).map_err(bad)?;
                file.read_exact(&mut data).map_err(bad)?;
                duration_ms = duration_ms.max(cluster_end(&data));
                whole = end;
            }
            _ => {}
        }
        pos = end;
    }
    Ok(crate::recover::Recovered { whole, duration_ms })
}
