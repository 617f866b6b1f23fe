//! Fragmented MP4 as the recording grows: an init segment (`ftyp` + `moov`
//! with `mvex`), then one `moof` + `mdat` per fragment. Every fragment on disk
//! is playable, so a crash loses only the fragment being gathered.

use mp4_atom::{
    Encode, FixedPoint, FourCC, Ftyp, Mdat, Mfhd, Moof, Moov, Mvex, Mvhd, Tfdt, Tfhd, Traf, Trex,
    Trun, TrunEntry, TrunSamples,
};

use crate::tracks::{SampleEntry, TrackInfo};

/// Sample flags (ISO/IEC 14496-12 §8.8.3.1): a sync sample depends on no
/// other; any other sample depends on others and is not a sync sample.
const SYNC_FLAGS: u32 = 0x0200_0000;
const NON_SYNC_FLAGS: u32 = 0x0101_0000;

#[derive(Debug)]
pub enum Mp4Error {
    /// A box could not be encoded (a value out of its field's range).
    Encode(String),
}

impl std::fmt::Display for Mp4Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mp4Error::Encode(e) => write!(f, "MP4 box not encodable: {e}"),
        }
    }
}

pub(crate) fn encode<T: Encode>(atom: &T, out: &mut Vec<u8>) -> Result<(), Mp4Error> {
    atom.encode(out)
        .map_err(|e| Mp4Error::Encode(e.to_string()))
}

pub fn ftyp() -> Ftyp {
    Ftyp {
        major_brand: FourCC::new(b"isom"),
        minor_version: 512,
        compatible_brands: [b"isom", b"iso2", b"avc1", b"mp41", b"iso6"]
            .into_iter()
            .map(FourCC::new)
            .collect(),
    }
}

pub fn mvhd(duration_ms: u64, tracks: &[TrackInfo]) -> Mvhd {
    Mvhd {
        timescale: 1000,
        duration: duration_ms,
        rate: FixedPoint::new(1, 0),
        volume: FixedPoint::new(1, 0),
        next_track_id: tracks.iter().map(|t| t.id).max().unwrap_or(0) + 1,
        ..Default::default()
    }
}

/// `ftyp` + `moov` of a fragmented file.
pub fn init_segment(tracks: &[TrackInfo]) -> Result<Vec<u8>, Mp4Error> {
    let moov = Moov {
        mvhd: mvhd(0, tracks),
        mvex: Some(Mvex {
            mehd: None,
            trex: tracks
                .iter()
                .map(|t| Trex {
                    track_id: t.id,
                    default_sample_description_index: 1,
                    default_sample_duration: 0,
                    default_sample_size: 0,
                    default_sample_flags: 0,
                })
                .collect(),
        }),
        trak: tracks.iter().map(|t| t.trak(0, None)).collect(),
        ..Default::default()
    };
    let mut out = Vec::new();
    encode(&ftyp(), &mut out)?;
    encode(&moov, &mut out)?;
    Ok(out)
}

/// One fragment: per track, its samples in order and their bytes.
pub struct FragmentTrack<'a> {
    pub samples: &'a [SampleEntry],
    pub data: &'a [&'a [u8]],
}

/// `moof` + `mdat` for fragment `sequence` (from 1). Returns the bytes and
/// where the media data starts in them.
pub fn fragment(sequence: u32, tracks: &[FragmentTrack]) -> Result<(Vec<u8>, usize), Mp4Error> {
    let build = |offsets: &[i32]| Moof {
        mfhd: Mfhd {
            sequence_number: sequence,
        },
        traf: tracks
            .iter()
            .zip(offsets)
            .filter(|(t, _)| !t.samples.is_empty())
            .map(|(t, &offset)| Traf {
                tfhd: Tfhd {
                    track_id: t.samples[0].track,
                    default_base_is_moof: true,
                    ..Default::default()
                },
                tfdt: Some(Tfdt {
                    base_media_decode_time: t.samples[0].dts,
                }),
                trun: vec![Trun {
                    data_offset: Some(offset),
                    samples: TrunSamples::Explicit(
                        t.samples
                            .iter()
                            .map(|s| TrunEntry {
                                duration: Some(s.duration),
                                size: Some(s.size),
                                flags: Some(if s.sync { SYNC_FLAGS } else { NON_SYNC_FLAGS }),
                                cts: None,
                            })
                            .collect(),
                    ),
                }],
                ..Default::default()
            })
            .collect(),
    };
    // The offsets do not change the size of the boxes: measure, then fill in.
    let mut probe = Vec::new();
    encode(&build(&vec![0; tracks.len()]), &mut probe)?;
    let data_start = probe.len() + 8;
    let mut offsets = Vec::with_capacity(tracks.len());
    let mut at = data_start;
    for t in tracks {
        offsets.push(i32::try_from(at).map_err(|_| Mp4Error::Encode("fragment too large".into()))?);
        at += t.data.iter().map(|d| d.len()).sum::<usize>();
    }
    let mut out = Vec::with_capacity(at);
    encode(&build(&offsets), &mut out)?;
    let mut payload = Vec::with_capacity(at - data_start);
    for t in tracks {
        for d in t.data {
            payload.extend_from_slice(d);
        }
    }
    encode(&Mdat { data: payload }, &mut out)?;
    Ok((out, data_start))
}
