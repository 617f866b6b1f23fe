//! What the MP4 writers know of each track: its codec configuration and, as
//! the recording goes, the index of its samples.

use mp4_atom::esds::{DecoderConfig, DecoderSpecific, EsDescriptor, SLConfig};
use mp4_atom::{
    Audio, Avc1, Avcc, Codec, Dinf, Dops, Dref, DrefEntry, Esds, FixedPoint, FourCC, Hdlr, Mdhd,
    Mdia, Minf, Mp4a, Opus, Smhd, Stbl, Stsd, Tkhd, Trak, Url, Visual, Vmhd, Vp08, VpcC,
};

/// Track ids in the file: video is 1, audio 2 (when both exist).
pub const VIDEO_CLOCK: u32 = 90_000;
pub const AUDIO_CLOCK: u32 = 48_000;

/// What a sample entry needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackCodec {
    H264 {
        sps: Vec<u8>,
        pps: Vec<u8>,
    },
    Vp8,
    Opus,
    /// AAC as the encoder sent it (MP4 only): its AudioSpecificConfig, and
    /// its rate, which is the track's clock.
    Aac {
        config: [u8; 2],
        rate: u32,
        channels: u8,
    },
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
        matches!(self.codec, TrackCodec::H264 { .. } | TrackCodec::Vp8)
    }

    pub fn clock(&self) -> u32 {
        match self.codec {
            TrackCodec::H264 { .. } | TrackCodec::Vp8 => VIDEO_CLOCK,
            TrackCodec::Opus => AUDIO_CLOCK,
            TrackCodec::Aac { rate, .. } => rate,
        }
    }

    /// What a last sample lasts when nothing came after it to tell: a
    /// frame of audio, or one of 30 fps video.
    pub fn usual_duration(&self) -> u32 {
        match self.codec {
            TrackCodec::H264 { .. } | TrackCodec::Vp8 => VIDEO_CLOCK / 30,
            TrackCodec::Opus => AUDIO_CLOCK / 50,
            TrackCodec::Aac { .. } => 1024,
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
            TrackCodec::Aac {
                config,
                rate,
                channels,
            } => Codec::Mp4a(Mp4a {
                audio: Audio {
                    data_reference_index: 1,
                    channel_count: u16::from(*channels),
                    sample_size: 16,
                    // A 16.16 field: rates past 65535 Hz are left to the esds.
                    sample_rate: FixedPoint::new(u16::try_from(*rate).unwrap_or(0), 0),
                },
                esds: aac_esds(self.id, *config),
                btrt: None,
                taic: None,
            }),
        }
    }
}

/// The elementary stream descriptor of an AAC track (ISO/IEC 14496-1
/// §7.2.6.5): MPEG-4 audio (object type indication 0x40), an audio stream
/// (5), with its AudioSpecificConfig.
fn aac_esds(id: u32, config: [u8; 2]) -> Esds {
    Esds {
        es_desc: EsDescriptor {
            es_id: u16::try_from(id).unwrap_or(0),
            dec_config: DecoderConfig {
                object_type_indication: 0x40,
                stream_type: 5,
                up_stream: 0,
                buffer_size_db: Default::default(),
                max_bitrate: 0,
                avg_bitrate: 0,
                dec_specific: Some(DecoderSpecific {
                    profile: config[0] >> 3,
                    freq_index: ((config[0] & 0x07) << 1) | (config[1] >> 7),
                    chan_conf: (config[1] >> 3) & 0x0f,
                    raw: config.to_vec(),
                }),
            },
            sl_config: SLConfig {},
            ..Default::default()
        },
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
