//! Per-player simulcast: which layer each video track forwards, chosen from the
//! player's bandwidth estimate or pinned by the page, and the periodic
//! `bitrateMeasurement` figures.

use std::time::Instant;

use str0m::bwe::Bitrate;
use str0m::media::{KeyframeRequestKind, Mid, Rid};
use tern_core::{MediaEvent, PeerId};

use crate::peer::{TrackOut, LAYER_CHECK, REPORT_INTERVAL};
use crate::simulcast::selector::{need, Layer, UP_PERCENT};
use crate::worker::Sfu;

/// Probing aims this far above the top layer's need, so the estimate can show
/// the room the selector wants before stepping up.
const PROBE_PERCENT: u64 = 140;
/// Padding fills at most this share of the estimate; the estimator still sees
/// enough traffic to grow while the link has room.
const PAD_PERCENT: u64 = 85;

/// Chooses a track's layer again. Returns the layer whose keyframe it now waits for.
pub(crate) fn retarget(
    now: Instant,
    track: &mut TrackOut,
    layers: &[(Rid, Layer)],
    estimate: Option<u64>,
    pinned: Option<u32>,
) -> Option<Rid> {
    let current = track
        .layers
        .current()
        .and_then(|r| layers.iter().position(|(x, _)| *x == r));
    if track.layers.current().is_some() && current.is_none() {
        // Its layer stopped: nothing flows until the new one's keyframe.
        track.layers.lose_current();
    }
    // Before the first keyframe arrives the target stands for the current
    // layer, so the choice does not change while it is on its way.
    let current = current.or_else(|| {
        let target = track.layers.target()?;
        layers.iter().position(|(x, _)| *x == target)
    });
    let plain: Vec<Layer> = layers.iter().map(|(_, l)| *l).collect();
    let index = track
        .selector
        .choose(now, &plain, current, estimate, pinned)?;
    let rid = layers[index].0;
    if track.layers.target() != Some(rid) {
        tracing::debug!(%rid, height = layers[index].1.height, ?estimate, ?pinned, "layer target");
    }
    track.layers.set_target(rid).then_some(rid)
}

impl Sfu {
    pub(crate) fn pin_layer(&mut self, now: Instant, id: PeerId, height: Option<u32>) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        peer.pinned = height;
        self.check_layers(now, id);
    }

    /// The periodic work of a player with simulcast tracks.
    pub(crate) fn tick(&mut self, now: Instant, id: PeerId) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        peer.next_tick = Some(now + LAYER_CHECK);
        if now >= peer.report.due {
            let r = peer.report;
            let ms = now.saturating_duration_since(r.since).as_millis().max(1) as u64;
            let event = MediaEvent::PlayerBitrates {
                peer: id,
                target: peer.estimate.unwrap_or(0),
                video: r.video * 8 * 1000 / ms,
                audio: r.audio * 8 * 1000 / ms,
            };
            peer.report.since = now;
            peer.report.due = now + REPORT_INTERVAL;
            peer.report.video = 0;
            peer.report.audio = 0;
            if peer.connected {
                self.event(event);
            }
        }
        self.check_layers(now, id);
    }

    /// Chooses the layer of each simulcast track of a player, asks sources for
    /// the keyframes the switches need, and tells the bandwidth estimator what
    /// to probe for.
    pub(crate) fn check_layers(&mut self, now: Instant, id: PeerId) {
        let Some(player) = self.peers.get(&id) else {
            return;
        };
        let tracks: Vec<(usize, PeerId, Mid)> = player
            .tracks_out
            .iter()
            .enumerate()
            .filter(|(_, t)| t.simulcast && t.enabled && !t.stopping)
            .map(|(i, t)| (i, t.source, t.source_mid))
            .collect();
        if tracks.is_empty() {
            return;
        }
        // Several simulcast sources (a room) share the estimate evenly.
        let share = player.estimate.map(|e| e / tracks.len() as u64);
        let pinned = player.pinned;
        let mut wants = Vec::new();
        let (mut minimum, mut desired) = (0, 0);
        let mut wants_more = false;
        for (i, source, source_mid) in tracks {
            let Some(layers) = self.source_layers(source, now) else {
                continue;
            };
            let Some(player) = self.peers.get_mut(&id) else {
                return;
            };
            let Some((_, top)) = layers.last() else {
                continue;
            };
            let track = &mut player.tracks_out[i];
            if let Some(rid) = retarget(now, track, &layers, share, pinned) {
                wants.push((source, source_mid, rid));
            }
            // The estimate cannot grow far past what is sent, so padding fills
            // up to what the next layer would need with the selector's margin.
            let chosen = track
                .layers
                .target()
                .and_then(|r| layers.iter().position(|(x, _)| *x == r))
                .unwrap_or(0);
            if let Some((_, next)) = layers.get(chosen + 1) {
                // Never pad up to the estimate itself: on a link that is full
                // at the estimate, padding there costs the media its packets.
                let wanted = need(*next) * UP_PERCENT / 100;
                let room = share.map_or(wanted, |e| e * PAD_PERCENT / 100);
                minimum += wanted.min(room);
                wants_more |= pinned.is_none();
            }
            desired += need(*top) * PROBE_PERCENT / 100;
        }
        if let Some(player) = self.peers.get_mut(&id) {
            if desired > 0 {
                player
                    .rtc
                    .bwe()
                    .set_bitrate(Bitrate::bps(minimum), Bitrate::bps(desired));
                self.dirty.push(id);
            }
            let lost = player.quality.lost();
            if let Some(from) = player.stuck.check(now, player.estimate, lost, wants_more) {
                tracing::debug!(peer = ?id, from, "bandwidth estimate stuck without loss: restarting it");
                player.rtc.bwe().reset(Bitrate::bps(from));
                self.dirty.push(id);
            }
        }
        for (source, mid, rid) in wants {
            self.request_keyframe(now, source, mid, Some(rid), KeyframeRequestKind::Pli);
        }
    }
}
