//! What the MP4 writers know of each track: its codec configuration and, as
//! the recording goes, the index of its samples.

use mp4_atom::{
    Audio, Avc1, Avcc, Codec, Dinf, Dops, Dref, DrefEntry, FixedPoint, FourCC, Hdlr, Mdhd, Mdia,
    Minf, Opus, Smhd, Stbl, Stsd, Tkhd, Trak, Url, Visual, Vmhd, Vp08, VpcC,
};

/// Track ids in the file: video is 1, audio 2 (when both exist).
pub const VIDEO_CLOCK: u32 = 90_000;
pub const AUDIO_CLOCK: u32 = 48_000;

/// What a sample entry needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackCodec {
    H264 { sps: Vec<u8>, pps: Vec<u8> },
    Vp8,
    Opus,
}

#[derive(Debug, Clone)]
pub struct TrackInfo {
    pub id: u32,
    pub codec: TrackCodec,
    pub width: u32,
    pub height: u32,
}

impl TrackInfo {
    pub fn is_video(&self) -> bool {
        !matches!(self.codec, TrackCodec::Opus)
    }

    pub fn clock(&self) -> u32 {
        if self.is_video() {
            VIDEO_CLOCK
        } else {
            AUDIO_CLOCK
        }
    }

    /// The `trak` with an empty sample table (fMP4) or `stbl` (progressive);
    /// `duration` in the track's clock.
    pub fn trak(&self, duration: u64, stbl: Option<Stbl>) -> Trak {
        let video = self.is_video();
        let mut stbl = stbl.unwrap_or_default();
        stbl.stsd = Stsd {
            codecs: vec![self.sample_entry()],
        };
        Trak {
            tkhd: Tkhd {
                track_id: self.id,
                duration: duration * 1000 / self.clock() as u64,
                enabled: true,
                in_movie: true,
                volume: if video {
                    FixedPoint::new(0, 0)
                } else {
                    FixedPoint::new(1, 0)
                },
                width: FixedPoint::new(self.width as u16, 0),
                height: FixedPoint::new(self.height as u16, 0),
                alternate_group: if video { 0 } else { 1 },
                ..Default::default()
            },
            mdia: Mdia {
                mdhd: Mdhd {
                    timescale: self.clock(),
                    duration,
                    language: "und".into(),
                    ..Default::default()
                },
                hdlr: Hdlr {
                    handler: FourCC::new(if video { b"vide" } else { b"soun" }),
                    name: if video { "Tern video" } else { "Tern audio" }.into(),
                },
                minf: Minf {
                    vmhd: video.then(Vmhd::default),
                    smhd: (!video).then(Smhd::default),
                    dinf: Dinf {
                        dref: Dref {
                            entries: vec![DrefEntry::Url(Url::default())],
                        },
                    },
                    stbl,
                    ..Default::default()
                },
            },
            ..Default::default()
        }
    }

    fn sample_entry(&self) -> Codec {
        let visual = Visual {
            data_reference_index: 1,
            width: self.width as u16,
            height: self.height as u16,
            ..Default::default()
        };
        match &self.codec {
            TrackCodec::H264 { sps, pps } => {
                let avcc = Avcc::new(sps, pps).unwrap_or_else(|_| Avcc {
                    configuration_version: 1,
                    avc_profile_indication: 66,
                    profile_compatibility: 0,
                    avc_level_indication: 31,
                    length_size: 4,
                    sequence_parameter_sets: vec![sps.clone()],
                    picture_parameter_sets: vec![pps.clone()],
                    ext: None,
                });
                Codec::Avc1(Avc1 {
                    visual,
                    avcc,
                    btrt: None,
                    colr: None,
                    pasp: None,
                    taic: None,
                    fiel: None,
                    spatial: None,
                })
            }
            TrackCodec::Vp8 => Codec::Vp08(Vp08 {
                visual,
                vpcc: VpcC {
                    profile: 0,
                    level: 10,
                    bit_depth: 8,
                    chroma_subsampling: 1,
                    video_full_range_flag: false,
                    color_primaries: 1,
                    transfer_characteristics: 1,
                    matrix_coefficients: 1,
                    codec_initialization_data: Vec::new(),
                },
                btrt: None,
                colr: None,
                pasp: None,
                spatial: None,
            }),
            TrackCodec::Opus => Codec::Opus(Opus {
                audio: Audio {
                    data_reference_index: 1,
                    channel_count: 2,
                    sample_size: 16,
                    sample_rate: FixedPoint::new(AUDIO_CLOCK as u16, 0),
                },
                dops: Dops {
                    output_channel_count: 2,
                    pre_skip: 312,
                    input_sample_rate: AUDIO_CLOCK,
                    output_gain: 0,
                    channel_mapping: None,
                },
                btrt: None,
            }),
        }
    }
}

/// One sample written, as the fast-start rewrite needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleEntry {
    pub track: u32,
    /// Decode time in the track's clock, from the recording's start.
    pub dts: u64,
    pub duration: u32,
    pub size: u32,
    pub sync: bool,
}
