//! The SFU's timers: one index of every peer's earliest deadline, and what
//! each deadline does when it comes (str0m's timeouts, ICE and silence
//! deadlines, keyframe requests, sender reports of media Tern seals).

use std::time::Instant;

use str0m::media::KeyframeRequestKind;
use str0m::Input;
use tern_core::{MediaEvent, PeerId};

use crate::peer::SILENCE;
use crate::worker::Sfu;

impl Sfu {
    /// The earliest instant at which [`Sfu::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// Files a peer's earliest timer in the index.
    pub(crate) fn reschedule(&mut self, id: PeerId) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let wake = peer.wake();
        if wake == peer.wake_at {
            return;
        }
        if let Some(old) = peer.wake_at.take() {
            self.timers.remove(&(old, id));
        }
        if let Some(t) = wake {
            self.timers.insert((t, id));
        }
        peer.wake_at = wake;
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.flush_fan_out(now);
        let due: Vec<PeerId> = self
            .timers
            .range(..=(now, PeerId(u64::MAX)))
            .map(|(_, id)| *id)
            .collect();
        for &id in &due {
            let Some(peer) = self.peers.get_mut(&id) else {
                continue;
            };
            // Whatever happens below, its timers are filed again.
            self.dirty.push(id);
            if peer.silent_deadline().is_some_and(|t| t <= now) {
                peer.last_media = None;
                self.event(MediaEvent::NoMedia { peer: id });
                continue;
            }
            if peer.silence_check.is_some_and(|t| t <= now) {
                if now.saturating_duration_since(peer.last_heard) >= SILENCE {
                    let why = format!("nothing received for {} s", SILENCE.as_secs());
                    self.fail(id, why);
                    continue;
                }
                // Filed again from its last datagram: one timer move per
                // check, not one per packet.
                peer.silence_check = Some(peer.last_heard + SILENCE);
            }
            if peer.deadline.is_some_and(|t| t <= now) {
                let why = if peer.connected {
                    "ICE disconnected"
                } else {
                    "ICE did not connect in time"
                };
                self.fail(id, why.into());
                continue;
            }
            if peer.direct.next_report().is_some_and(|t| t <= now) {
                peer.direct.reports(now);
            }
            for (mid, rid) in peer.keyframes.take_due(now) {
                peer.ask_keyframe(mid, rid, KeyframeRequestKind::Pli);
            }
            if peer.next_timeout.is_some_and(|t| t <= now) {
                if let Err(e) = peer.rtc.handle_input(Input::Timeout(now)) {
                    self.fail(id, format!("timeout handling failed: {e}"));
                    continue;
                }
            }
        }
        for id in due {
            if self
                .peers
                .get(&id)
                .and_then(|p| p.next_tick)
                .is_some_and(|t| t <= now)
            {
                self.tick(now, id);
            }
        }
        self.drive(now);
    }
}
