//! Draining one str0m connection: what it sends, what it tells, and the work
//! its events create for other peers.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use str0m::bwe::BweKind;
use str0m::media::{KeyframeRequestKind, MediaKind};
use str0m::rtp::rtcp::Rtcp;
use str0m::rtp::RawPacket;
use str0m::{Event, IceConnectionState, Input, Output};
use tern_core::{MediaEvent, PeerId, PeerRole};

use crate::output::SfuOutput;
use crate::peer::{Peer, DISCONNECT_GRACE, SILENCE};
use crate::source::webrtc::ingest::ingress;
use crate::stream::forward::Forward;

/// Bounds the timeouts one drain hands a peer, should str0m keep asking.
const MAX_FLUSHES: usize = 4;

/// Polls one peer until it names its next timeout. Returns why it died, if it did.
pub fn drain(
    now: Instant,
    id: PeerId,
    peer: &mut Peer,
    out: &mut VecDeque<SfuOutput>,
    forwards: &mut Vec<Forward>,
    events: &mut Vec<MediaEvent>,
) -> Option<String> {
    let mut flushes = 0;
    loop {
        if !peer.rtc.is_alive() {
            return Some("connection closed".into());
        }
        let output = match peer.rtc.poll_output() {
            Ok(o) => o,
            Err(e) => return Some(format!("media error: {e}")),
        };
        match output {
            // Written media waits in str0m's queue for a timeout; handing it
            // the time now sends it in this pass instead of the next wakeup.
            Output::Timeout(t) if t <= now && flushes < MAX_FLUSHES => {
                flushes += 1;
                if let Err(e) = peer.rtc.handle_input(Input::Timeout(now)) {
                    return Some(format!("timeout handling failed: {e}"));
                }
            }
            Output::Timeout(t) => {
                peer.next_timeout = Some(t);
                return None;
            }
            Output::Transmit(t) => {
                peer.direct.saw(&t);
                out.push_back(SfuOutput::Transmit(t))
            }
            // The page closed its peer connection: gone now, not when its
            // silence is noticed.
            Output::Event(Event::Closed) => {
                return Some("peer connection closed by the peer".into());
            }
            Output::Event(e) => on_event(now, id, peer, e, forwards, events),
        }
    }
}

fn on_event(
    now: Instant,
    id: PeerId,
    peer: &mut Peer,
    event: Event,
    forwards: &mut Vec<Forward>,
    events: &mut Vec<MediaEvent>,
) {
    match event {
        Event::Connected => {
            peer.connected = true;
            peer.deadline = None;
            peer.silence_check = Some(now + SILENCE);
            events.push(MediaEvent::Connected { peer: id });
            if peer.role == PeerRole::Player {
                forwards.push(Forward::Started);
            }
        }
        Event::IceConnectionStateChange(state) if peer.connected => match state {
            IceConnectionState::Disconnected => {
                peer.deadline.get_or_insert(now + DISCONNECT_GRACE);
            }
            _ => peer.deadline = None,
        },
        Event::MediaAdded(m) if peer.role == PeerRole::Publisher => {
            peer.tracks_in.push((m.mid, m.kind));
            // What it sends, str0m lists as what this side receives.
            if let Some(s) = m.simulcast.filter(|_| m.kind == MediaKind::Video) {
                peer.rids = s.recv.iter().map(|l| l.rid).collect();
            }
        }
        Event::RtpPacket(packet) => {
            if let Some(ingress) = ingress(now, peer, packet) {
                if ingress.kind == MediaKind::Video && !peer.video_seen {
                    peer.video_seen = true;
                    // An encoder whose first packets were lost (OBS over WHIP
                    // does this) would make new players wait for its next
                    // keyframe, seconds away: ask for one now.
                    if !ingress.info.keyframe {
                        forwards.push(Forward::Keyframe {
                            source: id,
                            mid: ingress.mid,
                            rid: ingress.rid,
                            kind: KeyframeRequestKind::Pli,
                        });
                    }
                }
                forwards.push(Forward::Media(Arc::new(ingress)));
            }
        }
        Event::KeyframeRequest(req) => {
            let track = peer
                .tracks_out
                .iter()
                .find(|t| t.mid == req.mid && (t.fixed_rid.is_none() || t.fixed_rid == req.rid));
            if let Some(track) = track {
                forwards.push(Forward::Keyframe {
                    source: track.source,
                    mid: track.source_mid,
                    rid: track.fixed_rid.or(track.layers.current()),
                    kind: req.kind,
                });
            }
        }
        Event::EgressBitrateEstimate(
            BweKind::Twcc {
                estimate,
                can_probe: true,
            }
            | BweKind::Remb { estimate, .. },
        ) => {
            peer.estimate = Some(estimate.as_u64());
        }
        // A player keeps the channel the server opened; a page's own channel
        // (object-form play) is used only when there is none.
        Event::ChannelOpen(cid, _label) => {
            peer.channel.get_or_insert(cid);
        }
        // Only players whose media Tern seals get these (`egress/`).
        Event::RawPacket(raw) => {
            if let RawPacket::RtcpRx(Rtcp::Nack(nack)) = *raw {
                peer.direct.on_nack(now, &nack);
            }
        }
        Event::MediaEgressStats(s) => {
            let kind = peer.kind_of(s.mid);
            peer.quality.on_egress(&s, kind);
        }
        Event::MediaIngressStats(s) => {
            let kind = peer.kind_of(s.mid);
            peer.quality.on_ingress(&s, kind);
        }
        Event::PeerStats(s) if peer.connected => {
            let quality = peer.quality.report(&s, peer.direct.counts);
            events.push(MediaEvent::Quality { peer: id, quality });
        }
        Event::ChannelData(d) if peer.role == PeerRole::Publisher => {
            forwards.push(Forward::Data {
                binary: d.binary,
                data: d.data,
            });
        }
        Event::ChannelData(d) => {
            forwards.push(Forward::PlayerData {
                binary: d.binary,
                data: d.data,
            });
        }
        _ => {}
    }
}
