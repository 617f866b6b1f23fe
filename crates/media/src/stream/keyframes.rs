//! Keyframe requests from a stream's sinks to its source, throttled where the
//! source is (a mirrored source's go to its home worker).

use std::time::Instant;

use str0m::media::{KeyframeRequestKind, MediaKind, Mid, Rid};
use tern_core::PeerId;

use crate::mirror::msg::Relay;
use crate::worker::Sfu;

impl Sfu {
    /// Asks a publisher for a keyframe on every video track.
    pub(crate) fn request_keyframes(&mut self, now: Instant, source: PeerId) {
        if self.relay_home(source, || Relay::KeyframesFor { source }) {
            return;
        }
        let mids: Vec<Mid> = self
            .peers
            .get(&source)
            .map(|p| {
                p.tracks_in
                    .iter()
                    .filter(|(_, k)| *k == MediaKind::Video)
                    .map(|(m, _)| *m)
                    .collect()
            })
            .unwrap_or_default();
        let rids: Vec<Option<Rid>> = match self.peers.get(&source) {
            Some(p) if p.simulcast => p.stats.layers(now).iter().map(|(r, _)| Some(*r)).collect(),
            _ => vec![None],
        };
        for mid in mids {
            for rid in &rids {
                self.request_keyframe(now, source, mid, *rid, KeyframeRequestKind::Pli);
            }
        }
    }

    pub(crate) fn request_keyframe(
        &mut self,
        now: Instant,
        source: PeerId,
        mid: Mid,
        rid: Option<Rid>,
        kind: KeyframeRequestKind,
    ) {
        let relay = || Relay::Keyframe {
            source,
            mid,
            rid,
            kind,
        };
        if self.relay_home(source, relay) {
            return;
        }
        let Some(src) = self.peers.get_mut(&source) else {
            return;
        };
        if !src.keyframe_allowed(mid, rid, now) {
            return;
        }
        if !src.ask_keyframe(mid, rid, kind) {
            tracing::debug!(peer = %source, %mid, ?rid, "no incoming stream to ask a keyframe of");
        }
        self.dirty.push(source);
    }
}
