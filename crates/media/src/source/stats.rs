//! What a publisher sends, summed up for `getStreamInfo`: codec, frame size and
//! bitrates over a sliding window.

use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::{MediaKind, Rid};
use tern_signal::StreamInfo;

use crate::simulcast::selector::Layer;

/// How often bitrates are recomputed and reported.
const WINDOW: Duration = Duration::from_secs(2);
/// The earliest moment a provisional bitrate is worth reporting.
const EARLY: Duration = Duration::from_millis(500);

/// A layer that sent nothing for this long is gone (the encoder dropped it).
const LAYER_STALE: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct LayerStats {
    /// `None` for a stream without simulcast.
    rid: Option<Rid>,
    size: Option<(u32, u32)>,
    bytes: u64,
    bps: u64,
    /// Frames ended (RTP marker) in this window, and the rate of the last one.
    frames: u64,
    fps: u32,
    last_packet: Instant,
}

#[derive(Debug, Default)]
pub struct SourceStats {
    video_codec: Option<&'static str>,
    layers: Vec<LayerStats>,
    window_start: Option<Instant>,
    audio_bytes: u64,
    audio_bps: u64,
    changed: bool,
    early_reported: bool,
    /// Video frames came out of presentation order (a frame source's
    /// B-frames).
    b_frames: bool,
}

pub(crate) fn codec_name(c: Codec) -> &'static str {
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
    /// The codec of the video packets seen so far, if any came.
    pub fn video_codec(&self) -> Option<&'static str> {
        self.video_codec
    }

    /// One incoming packet: its payload length, and the frame size when the
    /// packet tells it (see `packet_info`).
    pub fn on_packet(
        &mut self,
        now: Instant,
        kind: MediaKind,
        codec: Codec,
        rid: Option<Rid>,
        len: usize,
        size: Option<(u32, u32)>,
    ) {
        self.window_start.get_or_insert(now);
        if kind == MediaKind::Audio {
            self.audio_bytes += len as u64;
            return;
        }
        let name = codec_name(codec);
        if self.video_codec != Some(name) {
            self.video_codec = Some(name);
            self.changed = true;
        }
        let layer = match self.layers.iter().position(|l| l.rid == rid) {
            Some(i) => &mut self.layers[i],
            None => {
                self.changed = true;
                self.layers.push(LayerStats {
                    rid,
                    size: None,
                    bytes: 0,
                    bps: 0,
                    frames: 0,
                    fps: 0,
                    last_packet: now,
                });
                self.layers.last_mut().expect("just pushed")
            }
        };
        layer.bytes += len as u64;
        layer.last_packet = now;
        if size.is_some() && size != layer.size {
            layer.size = size;
            self.changed = true;
        }
    }

    /// The source sends B-frames: said in its stream info from now on.
    pub fn on_b_frames(&mut self) {
        if !std::mem::replace(&mut self.b_frames, true) {
            self.changed = true;
        }
    }

    /// A video packet of layer `rid` ended a frame (its RTP marker bit).
    pub fn on_frame_end(&mut self, rid: Option<Rid>) {
        if let Some(l) = self.layers.iter_mut().find(|l| l.rid == rid) {
            l.frames += 1;
        }
    }

    /// The simulcast layers being sent now whose frame size is known, lowest
    /// first. Empty for a stream without simulcast.
    pub fn layers(&self, now: Instant) -> Vec<(Rid, Layer)> {
        let mut v: Vec<(Rid, Layer)> = self
            .layers
            .iter()
            .filter(|l| now.saturating_duration_since(l.last_packet) < LAYER_STALE)
            .filter_map(|l| {
                let rid = l.rid?;
                let (_, height) = l.size?;
                Some((
                    rid,
                    Layer {
                        bitrate: l.bps,
                        height,
                    },
                ))
            })
            .collect();
        v.sort_by_key(|(_, l)| (l.height, l.bitrate));
        v
    }

    /// A fresh summary when something changed or a window ended: one entry per
    /// layer, tallest first.
    pub fn poll(&mut self, now: Instant) -> Option<Vec<StreamInfo>> {
        let start = self.window_start?;
        let elapsed = now.saturating_duration_since(start);
        let ms = elapsed.as_millis().max(1) as u64;
        if elapsed >= WINDOW {
            for l in &mut self.layers {
                l.bps = std::mem::take(&mut l.bytes) * 8 * 1000 / ms;
                l.fps = (std::mem::take(&mut l.frames) * 1000 / ms) as u32;
            }
            self.audio_bps = std::mem::take(&mut self.audio_bytes) * 8 * 1000 / ms;
            self.window_start = Some(now);
            self.changed = true;
        }
        // Before the first window ends, report the rate so far rather than 0.
        let measured = self.audio_bps > 0 || self.layers.iter().any(|l| l.bps > 0);
        let early = !measured && elapsed >= EARLY;
        if early && !self.early_reported {
            self.early_reported = true;
            self.changed = true;
        }
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        if early {
            for l in &mut self.layers {
                l.bps = l.bytes * 8 * 1000 / ms;
            }
            self.audio_bps = self.audio_bytes * 8 * 1000 / ms;
        }
        let codec = self.video_codec.unwrap_or("");
        let mut infos: Vec<StreamInfo> = self
            .layers
            .iter()
            .filter(|l| now.saturating_duration_since(l.last_packet) < LAYER_STALE)
            .map(|l| {
                let (width, height) = l.size.unwrap_or((0, 0));
                StreamInfo {
                    width,
                    height,
                    video_bitrate: l.bps,
                    audio_bitrate: self.audio_bps,
                    video_codec: codec.to_owned(),
                    fps: l.fps,
                    b_frames: self.b_frames,
                }
            })
            .collect();
        if infos.is_empty() {
            // Audio only, or video that paused: still one rendition.
            infos.push(StreamInfo {
                width: 0,
                height: 0,
                video_bitrate: 0,
                audio_bitrate: self.audio_bps,
                video_codec: codec.to_owned(),
                fps: 0,
                b_frames: self.b_frames,
            });
        }
        infos.sort_by_key(|i| std::cmp::Reverse((i.height, i.video_bitrate)));
        Some(infos)
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
        s.on_packet(t0, MediaKind::Video, Codec::Vp8, None, 10, Some((640, 480)));
        let first = s.poll(t0).unwrap();
        assert_eq!((first[0].width, first[0].height), (640, 480));
        assert_eq!(first[0].video_codec, "VP8");
        assert_eq!(s.poll(t0), None, "nothing changed");
        for i in 0..100 {
            let at = t0 + Duration::from_millis(i * 20);
            s.on_packet(at, MediaKind::Video, Codec::Vp8, None, 2500, None);
            // One frame in two packets: 25 frames a second.
            if i % 2 == 1 {
                s.on_frame_end(None);
            }
            s.on_packet(at, MediaKind::Audio, Codec::Opus, None, 100, None);
        }
        let early = s
            .poll(t0 + Duration::from_millis(600))
            .expect("an early report");
        assert!(early[0].video_bitrate > 0, "{early:?}");
        let later = s.poll(t0 + Duration::from_secs(2)).unwrap();
        // 250 kB + 10 kB of frames over 2 s.
        assert_eq!(later[0].video_bitrate, (250_000 + 10) * 8 / 2);
        assert_eq!(later[0].audio_bitrate, 10_000 * 8 / 2);
        assert_eq!(later[0].fps, 25);
    }

    #[test]
    fn lists_simulcast_layers_tallest_first_and_forgets_a_stopped_one() {
        let t0 = Instant::now();
        let mut s = SourceStats::default();
        let sizes = [("q", 320, 180), ("f", 1280, 720), ("h", 640, 360)];
        for i in 0..50u64 {
            let at = t0 + Duration::from_millis(i * 40);
            for (rid, w, h) in sizes {
                // The top layer stops after one second.
                if rid == "f" && i >= 25 {
                    continue;
                }
                let rid = Some(Rid::from(rid));
                s.on_packet(at, MediaKind::Video, Codec::Vp8, rid, 1000, Some((w, h)));
            }
        }
        let at_1s = t0 + Duration::from_millis(999);
        let layers = s.layers(at_1s);
        let heights: Vec<u32> = layers.iter().map(|(_, l)| l.height).collect();
        assert_eq!(heights, [180, 360, 720]);
        assert_eq!(layers[0].0, Rid::from("q"));
        let info = s.poll(t0 + Duration::from_millis(1_500)).unwrap();
        let listed: Vec<(u32, u32)> = info.iter().map(|i| (i.width, i.height)).collect();
        assert_eq!(listed, [(1280, 720), (640, 360), (320, 180)]);
        // At 2 s (window end) "f" sent nothing for a second: gone.
        let info = s.poll(t0 + Duration::from_secs(2)).unwrap();
        let heights: Vec<u32> = info.iter().map(|i| i.height).collect();
        assert_eq!(heights, [360, 180]);
        // 50 frames of 1,000 bytes in 2 s.
        assert_eq!(info[0].video_bitrate, 200_000);
        assert_eq!(s.layers(t0 + Duration::from_secs(2)).len(), 2);
    }
}
