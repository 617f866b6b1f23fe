//! FLV tags as RTMP carries them (one tag body per RTMP audio or video
//! message), into what a Tern stream takes: H.264 access units in Annex B
//! form with their times, AAC access units for the transcoder. Parsing only;
//! no state but what a track needs between tags (`video::VideoTrack`).

pub mod audio;
pub mod avc;
pub mod video;

pub use audio::{parse_audio, AudioTag, AudioTagError};
pub use avc::{AvcConfig, AvcConfigError};
pub use video::{VideoTagError, VideoTrack, VideoUnit};
