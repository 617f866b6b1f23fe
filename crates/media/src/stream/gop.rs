//! What a new player needs ready: each video track's packets since its last
//! keyframe, kept while that keyframe is recent. A player that connects gets
//! them at once instead of waiting a round trip for a fresh keyframe (and a
//! source that cannot be asked for one, like RTMP, needs this to start a
//! player at all).

use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::media::{MediaKind, Mid, Rid};

use crate::rtp::packet::Ingress;

/// Packets kept per track: past this the keyframe is too old to replay.
const MAX_PACKETS: usize = 300;
/// The same for a source that cannot be asked for a keyframe (RTMP): a whole
/// group of pictures, e.g. 10 s at 4 Mbit/s.
const MAX_FRAME_SOURCE_PACKETS: usize = 5000;
/// RTP time between the frames of a group of pictures replayed from a frame
/// source: the decoder gets through them at once and shows the live edge.
const SQUEEZED_FRAME_TICKS: u64 = 90;
/// A keyframe older than this is not replayed: the burst of frames after it
/// would make the player's jitter buffer start this far behind.
pub const MAX_AGE: Duration = Duration::from_millis(400);

#[derive(Debug, Default)]
pub struct GopCache {
    tracks: Vec<TrackGop>,
}

#[derive(Debug)]
struct TrackGop {
    mid: Mid,
    rid: Option<Rid>,
    /// From a keyframe's first packet on, in arrival order; empty while the
    /// track waits for a keyframe.
    packets: Vec<Arc<Ingress>>,
}

impl GopCache {
    pub fn push(&mut self, ingress: &Arc<Ingress>) {
        if ingress.kind != MediaKind::Video {
            return;
        }
        let key = (ingress.mid, ingress.rid);
        let at = match self.tracks.iter().position(|t| (t.mid, t.rid) == key) {
            Some(i) => i,
            None => {
                self.tracks.push(TrackGop {
                    mid: ingress.mid,
                    rid: ingress.rid,
                    packets: Vec::new(),
                });
                self.tracks.len() - 1
            }
        };
        let track = &mut self.tracks[at];
        // H.264 flags several packets of one keyframe (SPS, IDR start): only
        // a keyframe of another frame starts over.
        let new_keyframe = ingress.info.keyframe
            && track
                .packets
                .first()
                .is_none_or(|p| p.ticks != ingress.ticks);
        if new_keyframe {
            track.packets.clear();
        } else if track.packets.is_empty() {
            return;
        }
        let limit = if ingress.whole_gop {
            MAX_FRAME_SOURCE_PACKETS
        } else {
            MAX_PACKETS
        };
        if track.packets.len() >= limit {
            track.packets = Vec::new();
            return;
        }
        track.packets.push(Arc::clone(ingress));
    }

    /// Every track's packets since a keyframe that came after `since` (any
    /// keyframe, for a source that cannot make one on request), track by
    /// track in arrival order; None if some video track has none.
    pub fn replay(&self, since: Instant) -> Option<Vec<Arc<Ingress>>> {
        if self.tracks.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        for t in &self.tracks {
            let first = t.packets.first()?;
            if first.whole_gop {
                out.extend(squeezed(&t.packets));
                continue;
            }
            if first.arrived < since {
                return None;
            }
            out.extend(t.packets.iter().cloned());
        }
        Some(out)
    }
}

/// A group of pictures with its frames moved to just before its last one,
/// `SQUEEZED_FRAME_TICKS` apart: a late joiner of a long group of pictures
/// decodes them all at once instead of playing seconds behind.
fn squeezed(packets: &[Arc<Ingress>]) -> Vec<Arc<Ingress>> {
    let Some(last) = packets.last() else {
        return Vec::new();
    };
    let frames = 1 + packets
        .windows(2)
        .filter(|w| w[0].ticks != w[1].ticks)
        .count() as u64;
    let mut frame = 0;
    let mut out = Vec::with_capacity(packets.len());
    for (i, p) in packets.iter().enumerate() {
        if i > 0 && packets[i - 1].ticks != p.ticks {
            frame += 1;
        }
        let back = (frames - 1 - frame) * SQUEEZED_FRAME_TICKS;
        let ticks = last.ticks.saturating_sub(back);
        out.push(Arc::new(p.at_ticks(ticks, last.arrived)));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use str0m::format::Codec;

    use super::*;
    use crate::frames::{Frame, FrameCodec, Packetizer};
    use crate::source::frames::state::params_for;

    /// A frame source's H.264 at 30 fps: a keyframe, then `deltas` frames.
    fn gop(t0: Instant, deltas: u64) -> Vec<Arc<Ingress>> {
        let params = params_for(Codec::H264).expect("configured");
        let mut p = Packetizer::new(FrameCodec::H264, 0);
        let mut out = Vec::new();
        for n in 0..=deltas {
            let key = n == 0;
            let mut data = vec![0, 0, 0, 1, if key { 0x65 } else { 0x41 }];
            data.extend(vec![7u8; 2500]);
            let frame = Frame {
                codec: FrameCodec::H264,
                ticks: 90_000 + n * 3000,
                keyframe: key,
                arrived: t0 + Duration::from_millis(n * 33),
                data: data.into(),
            };
            for pk in p.packetize(&frame).unwrap() {
                let i = Ingress::from_packetized(Mid::from("1"), params, &pk, frame.arrived);
                out.push(Arc::new(i.made_from_frames()));
            }
        }
        out
    }

    #[test]
    fn a_frame_source_s_whole_gop_is_replayed_squeezed_to_the_live_edge() {
        let t0 = Instant::now();
        let mut cache = GopCache::default();
        // 10 s of frames after the keyframe: far older than MAX_AGE.
        for p in gop(t0, 299) {
            cache.push(&p);
        }
        let now = t0 + Duration::from_secs(10);
        let replay = cache.replay(now - MAX_AGE).expect("kept whole");
        assert!(replay[0].info.keyframe);
        let last = replay.last().unwrap();
        assert_eq!(
            last.ticks,
            90_000 + 299 * 3000,
            "the live edge keeps its time"
        );
        // 300 frames 1 ms apart end there; times never go back.
        assert_eq!(last.ticks - replay[0].ticks, 299 * SQUEEZED_FRAME_TICKS);
        assert!(replay.windows(2).all(|w| w[0].ticks <= w[1].ticks));
    }

    #[test]
    fn a_webrtc_source_s_old_keyframe_is_not_replayed() {
        let t0 = Instant::now();
        let mut cache = GopCache::default();
        for p in gop(t0, 30) {
            // The same packets as a WebRTC source's.
            cache.push(&Arc::new(p.at_ticks(p.ticks, p.arrived).made_from_rtp()));
        }
        assert!(cache.replay(t0 + Duration::from_millis(10)).is_none());
    }
}
