//! FLV video tags (video file format spec v10.1 §E.4.3.1, and Enhanced RTMP's
//! extended header only to name what is refused) into H.264 access units in
//! Annex B form, parameter sets before every keyframe, so a player can start
//! at any keyframe.

use super::avc::{AvcConfig, AvcConfigError};

const START_CODE: [u8; 4] = [0, 0, 0, 1];
const CODEC_AVC: u8 = 7;
const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;

/// One video tag's worth for the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoUnit {
    /// A new decoder configuration is in force.
    Config,
    /// An access unit. `dts_ms` is the tag's time; it shows at
    /// `dts_ms + composition_ms`.
    Frame {
        annex_b: Vec<u8>,
        keyframe: bool,
        dts_ms: u32,
        composition_ms: i32,
    },
    /// Nothing to pass on (an end-of-sequence or command tag).
    Nothing,
}

/// Why a video tag was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoTagError {
    /// The tag is shorter than its header.
    Truncated,
    /// A codec other than H.264 (FLV codec id): Tern passes video through
    /// and WebRTC players take H.264; set the encoder to H.264.
    Codec(u8),
    /// An Enhanced RTMP codec (its FourCC, e.g. `hvc1`, `av01`): refused, as
    /// WebRTC players here take H.264; set the encoder to H.264.
    Enhanced(String),
    /// A frame before any decoder configuration: it cannot be decoded.
    NoConfig,
    /// The decoder configuration record is broken.
    Config(AvcConfigError),
    /// A NAL unit's length runs past the tag's end.
    NalLength,
    /// The frame holds no NAL unit.
    Empty,
}

impl std::fmt::Display for VideoTagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated => write!(f, "video tag shorter than its header"),
            Self::Codec(id) => write!(f, "video codec id {id} (only H.264, id 7, is taken)"),
            Self::Enhanced(fourcc) => {
                write!(
                    f,
                    "Enhanced RTMP video codec {fourcc} (only H.264 is taken)"
                )
            }
            Self::NoConfig => write!(f, "a video frame came before the AVC sequence header"),
            Self::Config(e) => write!(f, "AVC sequence header: {e}"),
            Self::NalLength => write!(f, "a NAL unit's length runs past the video tag"),
            Self::Empty => write!(f, "a video frame with no NAL unit"),
        }
    }
}

impl std::error::Error for VideoTagError {}

/// One RTMP publisher's video track: its configuration between tags.
#[derive(Debug, Default)]
pub struct VideoTrack {
    config: Option<AvcConfig>,
    /// A frame with a composition time offset came: the encoder makes
    /// B-frames, which WebRTC players cannot show smoothly.
    pub b_frames: bool,
}

impl VideoTrack {
    pub fn config(&self) -> Option<&AvcConfig> {
        self.config.as_ref()
    }

    /// One video tag's body, received at FLV time `dts_ms`.
    pub fn handle_tag(&mut self, tag: &[u8], dts_ms: u32) -> Result<VideoUnit, VideoTagError> {
        let first = *tag.first().ok_or(VideoTagError::Truncated)?;
        if first & 0x80 != 0 {
            // Enhanced RTMP: frame type, packet type, then a FourCC.
            let fourcc = tag.get(1..5).ok_or(VideoTagError::Truncated)?;
            let name = fourcc
                .iter()
                .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
                .collect();
            return Err(VideoTagError::Enhanced(name));
        }
        let (frame_type, codec) = (first >> 4, first & 0x0f);
        if codec != CODEC_AVC {
            return Err(VideoTagError::Codec(codec));
        }
        if frame_type == 5 {
            return Ok(VideoUnit::Nothing); // a command frame, no picture
        }
        let header = tag.get(1..5).ok_or(VideoTagError::Truncated)?;
        let body = &tag[5..];
        // SI24, sign-extended.
        let composition_ms = i32::from_be_bytes([header[1], header[2], header[3], 0]) >> 8;
        match header[0] {
            0 => {
                let config = AvcConfig::parse(body).map_err(VideoTagError::Config)?;
                self.config = Some(config);
                Ok(VideoUnit::Config)
            }
            1 => {
                let config = self.config.as_ref().ok_or(VideoTagError::NoConfig)?;
                let (annex_b, idr) = to_annex_b(config, body)?;
                if composition_ms != 0 {
                    self.b_frames = true;
                }
                Ok(VideoUnit::Frame {
                    annex_b,
                    keyframe: idr || frame_type == 1,
                    dts_ms,
                    composition_ms,
                })
            }
            _ => Ok(VideoUnit::Nothing),
        }
    }
}

/// Length-prefixed NAL units into Annex B, with the parameter sets in front
/// of a keyframe that lacks them. Also whether it holds an IDR slice.
fn to_annex_b(config: &AvcConfig, mut body: &[u8]) -> Result<(Vec<u8>, bool), VideoTagError> {
    let n = config.length_size;
    let mut nals: Vec<&[u8]> = Vec::new();
    while !body.is_empty() {
        let len_bytes = body.get(..n).ok_or(VideoTagError::NalLength)?;
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        let nal = body.get(n..n + len).ok_or(VideoTagError::NalLength)?;
        if !nal.is_empty() {
            nals.push(nal);
        }
        body = &body[n + len..];
    }
    if nals.is_empty() {
        return Err(VideoTagError::Empty);
    }
    let kind = |nal: &[u8]| nal[0] & 0x1f;
    let idr = nals.iter().any(|nal| kind(nal) == NAL_IDR);
    let has_sps = nals.iter().any(|nal| kind(nal) == NAL_SPS);
    let mut out = Vec::with_capacity(nals.iter().map(|n| n.len() + 4).sum::<usize>() + 64);
    if idr && !has_sps {
        for ps in config.sps.iter().chain(&config.pps) {
            out.extend_from_slice(&START_CODE);
            out.extend_from_slice(ps);
        }
    }
    for nal in nals {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(nal);
    }
    Ok((out, idr))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_tag() -> Vec<u8> {
        let mut t = vec![0x17, 0, 0, 0, 0];
        t.extend([
            1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0, 2, 0x67, 1, 1, 0, 2, 0x68, 2,
        ]);
        t
    }

    fn frame_tag(key: bool, cts: i32, nals: &[&[u8]]) -> Vec<u8> {
        let c = cts.to_be_bytes();
        let mut t = vec![if key { 0x17 } else { 0x27 }, 1, c[1], c[2], c[3]];
        for nal in nals {
            t.extend((nal.len() as u32).to_be_bytes());
            t.extend_from_slice(nal);
        }
        t
    }

    #[test]
    fn keyframes_carry_the_parameter_sets_and_others_do_not() {
        let mut v = VideoTrack::default();
        assert_eq!(v.handle_tag(&config_tag(), 0), Ok(VideoUnit::Config));
        let key = v
            .handle_tag(&frame_tag(true, 0, &[&[0x65, 7, 7]]), 40)
            .unwrap();
        let VideoUnit::Frame {
            annex_b, keyframe, ..
        } = key
        else {
            panic!("{key:?}")
        };
        assert!(keyframe);
        assert_eq!(
            annex_b,
            [0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 0, 1, 0x65, 7, 7]
        );
        let delta = v
            .handle_tag(&frame_tag(false, 0, &[&[0x41, 1]]), 80)
            .unwrap();
        assert_eq!(
            delta,
            VideoUnit::Frame {
                annex_b: vec![0, 0, 0, 1, 0x41, 1],
                keyframe: false,
                dts_ms: 80,
                composition_ms: 0
            }
        );
        assert!(!v.b_frames);
    }

    #[test]
    fn a_composition_offset_means_b_frames() {
        let mut v = VideoTrack::default();
        v.handle_tag(&config_tag(), 0).unwrap();
        let f = v.handle_tag(&frame_tag(false, -33, &[&[0x41]]), 0).unwrap();
        assert!(matches!(
            f,
            VideoUnit::Frame {
                composition_ms: -33,
                ..
            }
        ));
        assert!(v.b_frames);
    }

    #[test]
    fn refuses_what_it_cannot_pass_on() {
        let mut v = VideoTrack::default();
        assert_eq!(v.handle_tag(&[], 0), Err(VideoTagError::Truncated));
        assert_eq!(
            v.handle_tag(&frame_tag(true, 0, &[&[0x65]]), 0),
            Err(VideoTagError::NoConfig)
        );
        assert_eq!(v.handle_tag(&[0x12, 0], 0), Err(VideoTagError::Codec(2)));
        assert_eq!(
            v.handle_tag(&[0x90, b'h', b'v', b'c', b'1'], 0),
            Err(VideoTagError::Enhanced("hvc1".into()))
        );
        v.handle_tag(&config_tag(), 0).unwrap();
        let mut long = frame_tag(true, 0, &[&[0x65, 1]]);
        long[8] = 200;
        assert_eq!(v.handle_tag(&long, 0), Err(VideoTagError::NalLength));
        assert_eq!(
            v.handle_tag(&frame_tag(true, 0, &[]), 0),
            Err(VideoTagError::Empty)
        );
    }
}
