//! The fast-start file a recording becomes when its stream ends: `ftyp`,
//! `moov` with every sample's place, then one `mdat` holding the media data
//! of the fragments in the order they were written. Players and editors that
//! know nothing of fragments open it, and a web player starts at once.

use mp4_atom::{
    Co64, Edts, Elst, ElstEntry, Encode, FixedPoint, Moov, Stbl, Stco, Stsc, StscEntry, Stss, Stsz,
    StszSamples, Stts, SttsEntry,
};

use crate::fmp4::{self, encode, Mp4Error};
use crate::tracks::{SampleEntry, TrackInfo};

/// `ftyp` + `moov` + the `mdat` header, for media data of `index` in order.
pub fn head(tracks: &[TrackInfo], index: &[SampleEntry]) -> Result<Vec<u8>, Mp4Error> {
    let data: u64 = index.iter().map(|s| s.size as u64).sum();
    // The offsets change no box size: lay out with zero offsets, then fill in.
    let large = data + (1 << 24) > u32::MAX as u64;
    let probe = layout(tracks, index, 0, large)?;
    let mdat_header = if large { 16 } else { 8 };
    let start = probe.len() as u64 + mdat_header;
    let mut out = layout(tracks, index, start, large)?;
    if large {
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(b"mdat");
        out.extend_from_slice(&(data + 16).to_be_bytes());
    } else {
        out.extend_from_slice(&((data + 8) as u32).to_be_bytes());
        out.extend_from_slice(b"mdat");
    }
    Ok(out)
}

/// `ftyp` + `moov` with media data starting at `start` (0: only measuring);
/// `large`: 64-bit chunk offsets (a file past 4 GiB, with room for the head).
fn layout(
    tracks: &[TrackInfo],
    index: &[SampleEntry],
    start: u64,
    large: bool,
) -> Result<Vec<u8>, Mp4Error> {
    let mut movie_ms = 0;
    let mut traks = Vec::new();
    for t in tracks {
        let (stbl, first_dts, media) = sample_table(t.id, index, start, large);
        let clock = t.clock() as u64;
        let delay_ms = first_dts * 1000 / clock;
        let media_ms = media * 1000 / clock;
        movie_ms = movie_ms.max(delay_ms + media_ms);
        let mut trak = t.trak(media, Some(stbl));
        trak.tkhd.duration = delay_ms + media_ms;
        if delay_ms > 0 {
            // The track began after the recording did: an empty edit first.
            trak.edts = Some(Edts {
                elst: Some(Elst {
                    entries: vec![
                        ElstEntry {
                            segment_duration: delay_ms,
                            media_time: None,
                            media_rate: FixedPoint::new(1, 0),
                        },
                        ElstEntry {
                            segment_duration: media_ms,
                            media_time: Some(0),
                            media_rate: FixedPoint::new(1, 0),
                        },
                    ],
                }),
            });
        }
        traks.push(trak);
    }
    let moov = Moov {
        mvhd: fmp4::mvhd(movie_ms, tracks),
        trak: traks,
        ..Default::default()
    };
    let mut out = Vec::new();
    encode(&fmp4::ftyp(), &mut out)?;
    moov.encode(&mut out)
        .map_err(|e| Mp4Error::Encode(e.to_string()))?;
    Ok(out)
}

/// The sample table of track `id`: chunks are its runs of consecutive
/// samples in the file. Returns it, the first sample's decode time and the
/// media duration.
fn sample_table(id: u32, index: &[SampleEntry], start: u64, large: bool) -> (Stbl, u64, u64) {
    let mut stts: Vec<SttsEntry> = Vec::new();
    let mut sizes = Vec::new();
    let mut sync = Vec::new();
    let mut chunks: Vec<(u64, u32)> = Vec::new();
    let mut offset = start;
    let mut previous_was_ours = false;
    let mut first_dts = None;
    let mut media = 0u64;
    let mut n = 0u32;
    for s in index {
        if s.track != id {
            offset += s.size as u64;
            previous_was_ours = false;
            continue;
        }
        n += 1;
        first_dts.get_or_insert(s.dts);
        media += s.duration as u64;
        match stts.last_mut() {
            Some(e) if e.sample_delta == s.duration => e.sample_count += 1,
            _ => stts.push(SttsEntry {
                sample_count: 1,
                sample_delta: s.duration,
            }),
        }
        sizes.push(s.size);
        if s.sync {
            sync.push(n);
        }
        match chunks.last_mut() {
            Some((_, count)) if previous_was_ours => *count += 1,
            _ => chunks.push((offset, 1)),
        }
        previous_was_ours = true;
        offset += s.size as u64;
    }
    let mut stsc: Vec<StscEntry> = Vec::new();
    for (i, (_, count)) in chunks.iter().enumerate() {
        if stsc.last().map(|e| e.samples_per_chunk) != Some(*count) {
            stsc.push(StscEntry {
                first_chunk: i as u32 + 1,
                samples_per_chunk: *count,
                sample_description_index: 1,
            });
        }
    }
    let all_sync = sync.len() == sizes.len();
    let offsets: Vec<u64> = chunks.iter().map(|(o, _)| *o).collect();
    let stbl = Stbl {
        stts: Stts { entries: stts },
        stss: (!all_sync).then_some(Stss { entries: sync }),
        stsc: Stsc { entries: stsc },
        stsz: Stsz {
            samples: StszSamples::Different { sizes },
        },
        stco: (!large).then(|| Stco {
            entries: offsets.iter().map(|&o| o as u32).collect(),
        }),
        co64: large.then_some(Co64 { entries: offsets }),
        ..Default::default()
    };
    (stbl, first_dts.unwrap_or(0), media)
}
