//! The encoder's own AAC as frames, for the sinks that keep it (recordings,
//! HLS), beside the Opus made from it for WebRTC players. Each frame is one
//! access unit behind its ADTS header; its ticks count samples at the
//! track's rate, 1024 a frame, following the encoder's clock (millisecond
//! times wobble; a jump of more than [`JUMP_MS`] re-anchors the count).

use std::time::Instant;

use tern_media::frames::adts::{self, FRAME_SAMPLES};
use tern_media::frames::{Frame, FrameCodec};

use crate::audio::JUMP_MS;
use crate::clock::MediaClock;

/// What an AAC track's frames say of it (ADTS's fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AacTrack {
    pub object_type: u8,
    pub rate_index: u8,
    pub channels: u8,
}

impl AacTrack {
    /// AAC-LC at `rate` Hz; none for a rate ADTS has no index for.
    pub fn lc(rate: u32, channels: u8) -> Option<AacTrack> {
        let rate_index = adts::RATES.iter().position(|&r| r == rate)? as u8;
        Some(AacTrack {
            object_type: 2,
            rate_index,
            channels,
        })
    }

    fn rate(&self) -> u64 {
        u64::from(adts::RATES[usize::from(self.rate_index)])
    }
}

/// One AAC track's frames.
#[derive(Debug, Default)]
pub struct AacFrames {
    /// The track and the ticks its next frame has, if it follows on.
    next: Option<(AacTrack, u64)>,
}

impl AacFrames {
    /// One access unit of `track` presented at `at_90k` (90 kHz ticks of the
    /// publisher's clock), received at `now`. None when it cannot be put in
    /// an ADTS frame (a unit too long, fields out of range).
    pub fn frame(
        &mut self,
        clock: &mut MediaClock,
        now: Instant,
        track: AacTrack,
        unit: &[u8],
        at_90k: u64,
    ) -> Option<Frame> {
        let data = adts::frame(track.object_type, track.rate_index, track.channels, unit)?;
        let rate = track.rate();
        let measured = at_90k * rate / 90_000;
        let ticks = match self.next {
            Some((t, expected))
                if t == track && measured.abs_diff(expected) <= JUMP_MS * rate / 1000 =>
            {
                expected
            }
            _ => measured,
        };
        self.next = Some((track, ticks + FRAME_SAMPLES));
        Some(Frame {
            codec: FrameCodec::Aac,
            ticks,
            keyframe: false,
            arrived: clock.arrival(now, ticks * 1000 / rate),
            data: data.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_count_samples_through_millisecond_wobble_and_re_anchor_on_a_jump() {
        let track = AacTrack::lc(44100, 2).unwrap();
        let mut frames = AacFrames::default();
        let mut clock = MediaClock::default();
        let now = Instant::now();
        // 1024 samples at 44.1 kHz are 23.22 ms: FLV times round to 23 or 24.
        let ms = [1000u64, 1023, 1046, 1070, 1093];
        let ticks: Vec<u64> = ms
            .iter()
            .map(|m| {
                let f = frames
                    .frame(&mut clock, now, track, &[1, 2], m * 90)
                    .unwrap();
                assert_eq!(adts::unit(&f.data).unwrap().1, &[1, 2]);
                f.ticks
            })
            .collect();
        assert_eq!(ticks, vec![44100, 45124, 46148, 47172, 48196]);
        // Two seconds on: a new anchor, from the publisher's time.
        let f = frames
            .frame(&mut clock, now, track, &[3], 3000 * 90)
            .unwrap();
        assert_eq!(f.ticks, 3 * 44100);
        assert!(AacTrack::lc(44000, 2).is_none());
    }
}
