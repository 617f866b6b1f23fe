//! An RTMP publisher's audio and video tags into the frames of a Tern
//! stream: H.264 passed through, AAC both passed through (for recordings and
//! HLS) and transcoded to Opus (for WebRTC players), all timed from the FLV
//! clock so they stay in sync at the player. Time is an input.

use std::time::Instant;

use tern_media::frames::{Frame, FrameCodec};

use crate::aac::{AacFrames, AacTrack};
use crate::audio::{AacToOpus, AudioError};
use crate::clock::MediaClock;
use crate::flv::{parse_audio, AudioTag, AudioTagError, VideoTagError, VideoTrack, VideoUnit};

/// Why a tag gave no frames.
#[derive(Debug)]
pub enum TagError {
    /// The video tag was refused; codec refusals end the publish.
    Video(VideoTagError),
    /// The audio tag was refused; a format refusal ends the publish.
    Audio(AudioTagError),
    /// An AAC frame came before its AudioSpecificConfig.
    NoAudioConfig,
    /// The transcoder refused the config or one unit (that unit is skipped).
    Transcode(AudioError),
}

impl TagError {
    /// The publisher sends a codec Tern cannot pass on: every later tag
    /// would fail the same way.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            TagError::Video(VideoTagError::Codec(_) | VideoTagError::Enhanced(_))
                | TagError::Audio(AudioTagError::Format(..))
        )
    }
}

impl std::fmt::Display for TagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Video(e) => write!(f, "{e}"),
            Self::Audio(e) => write!(f, "{e}"),
            Self::NoAudioConfig => write!(f, "an AAC frame came before the AAC sequence header"),
            Self::Transcode(e) => write!(f, "AAC to Opus: {e}"),
        }
    }
}

impl std::error::Error for TagError {}

/// One publisher's tags into frames.
#[derive(Default)]
pub struct FlvToFrames {
    video: VideoTrack,
    audio: Option<(AacTrack, AacToOpus)>,
    aac: AacFrames,
    /// One clock for all tracks.
    clock: MediaClock,
}

impl FlvToFrames {
    /// True once a frame with a composition time offset came (B-frames).
    pub fn b_frames(&self) -> bool {
        self.video.b_frames
    }

    /// The H.264 profile, constraint and level bytes, once configured.
    pub fn video_profile(&self) -> Option<[u8; 3]> {
        self.video.config().map(|c| c.profile)
    }

    /// One video tag's body at FLV time `ms`.
    pub fn handle_video(
        &mut self,
        now: Instant,
        tag: &[u8],
        ms: u32,
    ) -> Result<Option<Frame>, TagError> {
        let unit = self.video.handle_tag(tag, ms).map_err(TagError::Video)?;
        let VideoUnit::Frame {
            annex_b,
            keyframe,
            dts_ms,
            composition_ms,
        } = unit
        else {
            return Ok(None);
        };
        let pts = (i64::from(dts_ms) + i64::from(composition_ms)).max(0) as u64;
        let arrived = self.clock.arrival(now, u64::from(dts_ms));
        Ok(Some(Frame {
            codec: FrameCodec::H264,
            ticks: pts * 90,
            keyframe,
            arrived,
            data: annex_b.into(),
        }))
    }

    /// One audio tag's body at FLV time `ms`: its AAC frame, then the Opus
    /// frames it completes.
    pub fn handle_audio(
        &mut self,
        now: Instant,
        tag: &[u8],
        ms: u32,
    ) -> Result<Vec<Frame>, TagError> {
        match parse_audio(tag).map_err(TagError::Audio)? {
            AudioTag::AacConfig(asc) => {
                let opus = AacToOpus::new(asc).map_err(TagError::Transcode)?;
                // The checked config's core: what an ADTS header can say.
                let config = opus.config();
                let track = AacTrack::lc(config.sample_rate, config.channels).ok_or(
                    TagError::Transcode(AudioError::SampleRate(config.sample_rate)),
                )?;
                self.audio = Some((track, opus));
                Ok(Vec::new())
            }
            AudioTag::AacFrame(unit) => {
                let (track, audio) = self.audio.as_mut().ok_or(TagError::NoAudioConfig)?;
                let mut frames = Vec::new();
                let at = u64::from(ms) * 90;
                frames.extend(self.aac.frame(&mut self.clock, now, *track, unit, at));
                let packets = audio
                    .push(unit, u64::from(ms))
                    .map_err(TagError::Transcode)?;
                for p in packets {
                    let arrived = self.clock.arrival(now, p.ticks / 48);
                    frames.push(Frame {
                        codec: FrameCodec::Opus,
                        ticks: p.ticks,
                        keyframe: false,
                        arrived,
                        data: p.data.into(),
                    });
                }
                Ok(frames)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_media::frames::adts;

    #[test]
    fn an_aac_tag_gives_its_own_frame_before_the_opus_made_from_it() {
        let now = Instant::now();
        let mut f = FlvToFrames::default();
        // AAC, sequence header: AAC-LC, 44.1 kHz, stereo.
        assert!(f
            .handle_audio(now, &[0xaf, 0, 0x12, 0x10], 0)
            .unwrap()
            .is_empty());
        let mut codecs = Vec::new();
        for n in 0..6u32 {
            // A unit of only a terminator element: 1024 samples of silence.
            let frames = f
                .handle_audio(now, &[0xaf, 1, 0xe0], 1000 + n * 23)
                .unwrap();
            let (aac, opus) = frames.split_first().unwrap();
            assert_eq!(aac.codec, FrameCodec::Aac);
            assert_eq!(aac.ticks, 44_100 + u64::from(n) * 1024);
            let (h, unit) = adts::unit(&aac.data).unwrap();
            assert_eq!((h.config(), unit), ([0x12, 0x10], &[0xe0][..]));
            codecs.extend(opus.iter().map(|o| o.codec));
        }
        assert!(!codecs.is_empty() && codecs.iter().all(|c| *c == FrameCodec::Opus));
    }
}
