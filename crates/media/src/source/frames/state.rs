//! What a frame source is on a worker: its tracks, each with the payload
//! parameters its players are offered and its packetizer.

use str0m::format::{Codec, PayloadParams};
use str0m::media::{MediaKind, Mid};
use str0m::RtcConfig;

use crate::frames::Packetizer;
use crate::source::stats::SourceStats;

/// One track of a frame source.
#[derive(Debug)]
pub(crate) struct Track {
    pub mid: Mid,
    pub params: PayloadParams,
    pub packetizer: Packetizer,
}

/// A source that gives frames, on this worker.
#[derive(Debug)]
pub(crate) struct FrameSource {
    pub audio: Option<Track>,
    pub video: Option<Track>,
    pub stats: SourceStats,
    /// The last video frame's media time: one earlier than it means
    /// B-frames.
    pub last_video_ticks: Option<u64>,
}

impl FrameSource {
    pub fn tracks(&self) -> Vec<(Mid, MediaKind)> {
        let audio = self.audio.as_ref().map(|t| (t.mid, MediaKind::Audio));
        let video = self.video.as_ref().map(|t| (t.mid, MediaKind::Video));
        audio.into_iter().chain(video).collect()
    }
}

/// The payload parameters Tern's players are offered for `codec`: H.264
/// with packetization mode 1 and constrained baseline (what WebRTC players
/// all accept; decoders read the real profile from the SPS), Opus.
pub(crate) fn params_for(codec: Codec) -> Option<PayloadParams> {
    let mut config = RtcConfig::new()
        .clear_codecs()
        .enable_opus(true, false)
        .enable_h264(true);
    let all = config.codec_config().params().to_vec();
    all.into_iter().find(|p| {
        let spec = p.spec();
        spec.codec == codec
            && (codec != Codec::H264
                || (spec.format.packetization_mode == Some(1)
                    && spec.format.profile_level_id == Some(0x42e01f)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn players_are_offered_codecs_they_accept() {
        let h264 = params_for(Codec::H264).expect("H.264 is configured");
        assert_eq!(h264.spec().format.packetization_mode, Some(1));
        assert!(params_for(Codec::Opus).is_some());
    }
}
