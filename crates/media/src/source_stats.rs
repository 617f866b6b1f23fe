//! What a publisher sends, summed up for `getStreamInfo`: codec, frame size and
//! bitrates over a sliding window.

use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::MediaKind;
use tern_signal::StreamInfo;

use crate::codec_info::{h264_size, vp8_size};

/// How often bitrates are recomputed and reported.
const WINDOW: Duration = Duration::from_secs(2);
/// The earliest moment a provisional bitrate is worth reporting.
const EARLY: Duration = Duration::from_millis(500);
/// An SPS sits at the start of an access unit; scanning further costs time per
/// frame for nothing.
const SPS_SCAN_BYTES: usize = 256;

#[derive(Debug, Default)]
pub struct SourceStats {
    video_codec: Option<&'static str>,
    size: Option<(u32, u32)>,
    window_start: Option<Instant>,
    video_bytes: u64,
    audio_bytes: u64,
    video_bps: u64,
    audio_bps: u64,
    changed: bool,
    early_reported: bool,
}

fn codec_name(c: Codec) -> &'static str {
    match c {
        Codec::Vp8 => "VP8",
        Codec::Vp9 => "VP9",
        Codec::H264 => "H264",
        Codec::H265 => "H265",
        Codec::Av1 => "AV1",
        _ => "unknown",
    }
}

impl SourceStats {
    pub fn on_frame(&mut self, now: Instant, kind: MediaKind, codec: Codec, data: &[u8]) {
        self.window_start.get_or_insert(now);
        if kind == MediaKind::Audio {
            self.audio_bytes += data.len() as u64;
            return;
        }
        self.video_bytes += data.len() as u64;
        let name = codec_name(codec);
        if self.video_codec != Some(name) {
            self.video_codec = Some(name);
            self.changed = true;
        }
        let size = match codec {
            Codec::Vp8 => vp8_size(data),
            Codec::H264 => h264_size(&data[..data.len().min(SPS_SCAN_BYTES)]),
            _ => None,
        };
        if size.is_some() && size != self.size {
            self.size = size;
            self.changed = true;
        }
    }

    /// A fresh summary when something changed or a window ended.
    pub fn poll(&mut self, now: Instant) -> Option<Vec<StreamInfo>> {
        let start = self.window_start?;
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= WINDOW {
            let ms = elapsed.as_millis().max(1) as u64;
            self.video_bps = self.video_bytes * 8 * 1000 / ms;
            self.audio_bps = self.audio_bytes * 8 * 1000 / ms;
            self.video_bytes = 0;
            self.audio_bytes = 0;
            self.window_start = Some(now);
            self.changed = true;
        }
        // Before the first window ends, report the rate so far rather than 0.
        let early = self.video_bps == 0 && self.audio_bps == 0 && elapsed >= EARLY;
        if early && !self.early_reported {
            self.early_reported = true;
            self.changed = true;
        }
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        if early {
            let ms = elapsed.as_millis().max(1) as u64;
            self.video_bps = self.video_bytes * 8 * 1000 / ms;
            self.audio_bps = self.audio_bytes * 8 * 1000 / ms;
        }
        let (width, height) = self.size.unwrap_or((0, 0));
        Some(vec![StreamInfo {
            width,
            height,
            video_bitrate: self.video_bps,
            audio_bitrate: self.audio_bps,
            video_codec: self.video_codec.unwrap_or("").to_owned(),
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_codec_size_and_bitrate() {
        let t0 = Instant::now();
        let mut s = SourceStats::default();
        assert_eq!(s.poll(t0), None);
        let key = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
        s.on_frame(t0, MediaKind::Video, Codec::Vp8, &key);
        let first = s.poll(t0).unwrap();
        assert_eq!((first[0].width, first[0].height), (640, 480));
        assert_eq!(first[0].video_codec, "VP8");
        assert_eq!(s.poll(t0), None, "nothing changed");
        for i in 0..100 {
            s.on_frame(
                t0 + Duration::from_millis(i * 20),
                MediaKind::Video,
                Codec::Vp8,
                &[0u8; 2500],
            );
            s.on_frame(
                t0 + Duration::from_millis(i * 20),
                MediaKind::Audio,
                Codec::Opus,
                &[0u8; 100],
            );
        }
        let early = s
            .poll(t0 + Duration::from_millis(600))
            .expect("an early report");
        assert!(early[0].video_bitrate > 0, "{early:?}");
        let later = s.poll(t0 + Duration::from_secs(2)).unwrap();
        // 250 kB + 10 kB of frames over 2 s.
        assert_eq!(later[0].video_bitrate, (250_000 + 10) * 8 / 2);
        assert_eq!(later[0].audio_bitrate, 10_000 * 8 / 2);
    }
}
