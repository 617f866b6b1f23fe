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
        if track.packets.len() >= MAX_PACKETS {
            track.packets = Vec::new();
            return;
        }
        track.packets.push(Arc::clone(ingress));
    }

    /// Every track's packets since a keyframe that came after `since`, track
    /// by track in arrival order; None if some video track has none.
    pub fn replay(&self, since: Instant) -> Option<Vec<Arc<Ingress>>> {
        if self.tracks.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        for t in &self.tracks {
            let first = t.packets.first()?;
            if first.arrived < since {
                return None;
            }
            out.extend(t.packets.iter().cloned());
        }
        Some(out)
    }
}
