//! An RTMP publisher's audio and video tags into the frames of a Tern
//! stream: H.264 passed through, AAC transcoded to Opus, both timed from the
//! FLV clock so they stay in sync at the player. Time is an input.

use std::time::Instant;

use tern_media::frames::{Frame, FrameCodec};

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
    audio: Option<AacToOpus>,
    /// One clock for both tracks.
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

    /// One audio tag's body at FLV time `ms`: the Opus frames it completes.
    pub fn handle_audio(
        &mut self,
        now: Instant,
        tag: &[u8],
        ms: u32,
    ) -> Result<Vec<Frame>, TagError> {
        match parse_audio(tag).map_err(TagError::Audio)? {
            AudioTag::AacConfig(asc) => {
                self.audio = Some(AacToOpus::new(asc).map_err(TagError::Transcode)?);
                Ok(Vec::new())
            }
            AudioTag::AacFrame(unit) => {
                let audio = self.audio.as_mut().ok_or(TagError::NoAudioConfig)?;
                let packets = audio
                    .push(unit, u64::from(ms))
                    .map_err(TagError::Transcode)?;
                let mut frames = Vec::with_capacity(packets.len());
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
