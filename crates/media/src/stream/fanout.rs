//! The fast path: a source's RTP packet to each of its WebRTC players,
//! rewritten per player (sequence numbers, time, VP8 picture ids, payload
//! type), its payload shared, never copied. No frame assembly here.

use std::sync::Arc;
use std::time::Instant;

use str0m::media::{KeyframeRequestKind, MediaKind, Mid, Rid};
use str0m::rtp::RtpWrite;
use tern_core::{MediaEvent, PeerId, SdpFailure};

use crate::egress::direct::{DirectTx, Outgoing};
use crate::egress::header::Fields;
use crate::output::SfuOutput;
use crate::rtp::packet::Ingress;
use crate::simulcast::choice::retarget;
use crate::simulcast::switch::Admit;
use crate::stream::pending::MAX_PENDING;
use crate::worker::Sfu;

impl Sfu {
    /// `ingress` of `from` goes to its players at the next flush, after
    /// the packets already held (those of another source go first).
    pub(crate) fn defer_fan_out(&mut self, now: Instant, from: PeerId, ingress: &Arc<Ingress>) {
        if self.pending.from != Some(from) || self.pending.packets.len() >= MAX_PENDING {
            self.flush_fan_out(now);
        }
        self.pending.from = Some(from);
        self.pending.packets.push(Arc::clone(ingress));
    }

    /// Every held packet to each of its source's players, player by player.
    pub(crate) fn flush_fan_out(&mut self, now: Instant) {
        let Some(from) = self.pending.from.take() else {
            return;
        };
        let packets = std::mem::take(&mut self.pending.packets);
        // The player list is borrowed out and put back (nothing below changes
        // who plays `from`; a copy would be an allocation).
        let players = self
            .streams
            .get_mut(&from)
            .map(|s| std::mem::take(&mut s.players))
            .unwrap_or_default();
        let mut wants = Vec::new();
        for &pid in &players {
            for ingress in &packets {
                self.forward_to_player(now, pid, from, ingress, &mut wants);
            }
        }
        if let Some(stream) = self.streams.get_mut(&from) {
            stream.players = players;
        }
        let mut asked: Vec<(Mid, Rid)> = Vec::new();
        for want in wants {
            if asked.contains(&want) {
                continue;
            }
            asked.push(want);
            let (mid, rid) = want;
            self.request_keyframe(now, from, mid, Some(rid), KeyframeRequestKind::Pli);
        }
        // The buffer is kept for the next batch.
        let mut packets = packets;
        packets.clear();
        self.pending.packets = packets;
    }

    /// One packet of `from` to player `pid`, if it forwards that track now.
    /// Simulcast layers whose keyframe it now waits for go to `wants`, with
    /// the source's track.
    pub(crate) fn forward_to_player(
        &mut self,
        now: Instant,
        pid: PeerId,
        from: PeerId,
        ingress: &Ingress,
        wants: &mut Vec<(Mid, Rid)>,
    ) {
        let Some(player) = self.peers.get_mut(&pid) else {
            return;
        };
        if !player.connected {
            return;
        }
        let (estimate, pinned) = (player.estimate, player.pinned);
        let Some(track) = player
            .tracks_out
            .iter_mut()
            .find(|t| t.carries(from, ingress.mid, ingress.rid) && t.enabled)
        else {
            return;
        };
        if let (Some(rid), None) = (ingress.rid, track.fixed_rid) {
            let layers = &ingress.layers;
            if track.layers.target().is_none() {
                if let Some(want) = retarget(now, track, layers, estimate, pinned) {
                    wants.push((ingress.mid, want));
                }
            }
            match track.layers.admit(rid, ingress.info.keyframe) {
                Admit::Drop => return,
                Admit::Forward => {}
                Admit::Switched => {
                    track.rewrite.switch();
                    if let Some((_, l)) = layers.iter().find(|(r, _)| *r == rid) {
                        let event = MediaEvent::LayerChanged {
                            peer: pid,
                            height: l.height,
                        };
                        self.out.push_back(SfuOutput::Event(event));
                    }
                }
            }
        }
        let source_pt = ingress.params.pt();
        let pt = match track.pt {
            Some((src, out)) if src == source_pt => out,
            _ => {
                // A codec Tern offered that the page's answer also kept for this track.
                let mid = track.mid;
                let accepted = player
                    .rtc
                    .codec_config()
                    .match_params(ingress.params)
                    .filter(|p| {
                        let media = player.rtc.media(mid);
                        media.is_some_and(|m| m.remote_pts().contains(&p.pt()))
                    });
                let Some(out) = accepted else {
                    // While an offer waits for its answer, a new track's codecs
                    // are not known yet: nothing is sent, nothing is judged.
                    if player.pending.is_some() {
                        return;
                    }
                    // Nothing it could decode is ever sent; the page hears why.
                    if !std::mem::replace(&mut track.refused, true) {
                        let codec = ingress.params.spec().codec;
                        let why = format!("the answer accepts no codec the stream sends ({codec})");
                        let event = MediaEvent::SdpFailed {
                            peer: pid,
                            failure: SdpFailure::Remote(why),
                        };
                        self.out.push_back(SfuOutput::Event(event));
                    }
                    return;
                };
                let out = out.pt();
                track.pt = Some((source_pt, out));
                out
            }
        };
        let Some((seq, time)) =
            track
                .rewrite
                .map(ingress.seq, ingress.ticks, ingress.hz, ingress.arrived)
        else {
            return;
        };
        let video = ingress.kind == MediaKind::Video;
        if player.direct.intended() && player.direct.ready() {
            if track.tx.is_none() {
                track.tx = player
                    .rtc
                    .direct_api()
                    .stream_tx_by_mid(track.mid, track.fixed_rid)
                    .map(|s| s.ssrc());
            }
            let Some(ssrc) = track.tx else {
                return;
            };
            let vp8 = ingress
                .info
                .vp8
                .map(|d| track.rewrite.vp8.map(d.picture_id(), d.tl0_pic_idx()))
                .unwrap_or_default();
            let ids = *track
                .ext_ids
                .get_or_insert_with(|| DirectTx::ext_ids(track.mid, track.fixed_rid, &player.rtc));
            let out = Outgoing {
                kind: ingress.kind,
                fields: Fields {
                    pt: *pt,
                    marker: ingress.marker,
                    seq: seq as u16,
                    timestamp: time,
                    ssrc: *ssrc,
                },
                seq,
                ids,
                ext: &ingress.ext,
                payload: &ingress.payload,
                vp8,
                arrived: ingress.arrived,
                hz: ingress.hz,
            };
            if player.direct.send(now, out) {
                let bytes = ingress.payload.len() as u64;
                match ingress.kind {
                    MediaKind::Audio => player.report.audio += bytes,
                    _ => player.report.video += bytes,
                }
                // Player by player (`pending`): one mark per run of packets.
                if self.direct_dirty.last() != Some(&pid) {
                    self.direct_dirty.push(pid);
                }
            }
            return;
        }
        let mut write = RtpWrite::new(
            pt,
            seq.into(),
            time,
            ingress.arrived,
            ingress.payload.clone(),
        )
        .marker(ingress.marker)
        .ext_vals(ingress.ext.clone())
        .nackable(video);
        if let Some(patch) = ingress.info.vp8.and_then(|d| track.rewrite.vp8.patch(&d)) {
            write = write.vp8_patch(patch);
        }
        let mid = track.mid;
        let bytes = ingress.payload.len() as u64;
        let mut api = player.rtc.direct_api();
        if track.tx.is_none() {
            track.tx = api.stream_tx_by_mid(mid, track.fixed_rid).map(|s| s.ssrc());
        }
        let Some(tx) = track.tx.and_then(|ssrc| api.stream_tx(&ssrc)) else {
            // Gone with a renegotiation: found again by mid next time.
            track.tx = None;
            return;
        };
        tx.write_rtp(write);
        match ingress.kind {
            MediaKind::Audio => player.report.audio += bytes,
            _ => player.report.video += bytes,
        }
        if self.dirty.last() != Some(&pid) {
            self.dirty.push(pid);
        }
    }
}
