//! The simulcast layer a player's video track forwards, and the switch to
//! another: it happens only on a keyframe of the target layer, so the player's
//! decoder never gets a delta frame whose reference it does not have. Until then
//! the old layer keeps flowing. (The SSRC is the player's own; the track's
//! `RtpRewrite` keeps sequence numbers, timestamps and VP8 picture ids continuous.)

use str0m::media::Rid;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LayerSwitch {
    current: Option<Rid>,
    target: Option<Rid>,
}

/// What to do with one packet of some layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Drop,
    Forward,
    /// Forward it: it starts a keyframe of the target layer, now current.
    Switched,
}

impl LayerSwitch {
    pub fn current(&self) -> Option<Rid> {
        self.current
    }

    pub fn target(&self) -> Option<Rid> {
        self.target
    }

    /// True when a keyframe of `rid` is needed to get there.
    pub fn set_target(&mut self, rid: Rid) -> bool {
        self.target = Some(rid);
        self.current != self.target
    }

    /// Still waiting for a keyframe of the target.
    pub fn switching(&self) -> bool {
        self.target.is_some() && self.current != self.target
    }

    pub fn admit(&mut self, rid: Rid, keyframe: bool) -> Admit {
        if keyframe && self.switching() && self.target == Some(rid) {
            self.current = Some(rid);
            return Admit::Switched;
        }
        if self.current == Some(rid) {
            Admit::Forward
        } else {
            Admit::Drop
        }
    }

    /// The current layer stopped (the publisher dropped it): forward nothing
    /// until the target's keyframe.
    pub fn lose_current(&mut self) {
        self.current = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_a_keyframe_of_the_target_and_keeps_the_old_layer_until_then() {
        let (q, f) = (Rid::from("q"), Rid::from("f"));
        let mut s = LayerSwitch::default();
        assert_eq!(s.admit(f, false), Admit::Drop, "nothing chosen yet");
        assert!(s.set_target(f));
        assert_eq!(s.admit(f, false), Admit::Drop, "a delta frame cannot start");
        assert_eq!(s.admit(q, true), Admit::Drop, "not the target");
        assert_eq!(s.admit(f, true), Admit::Switched);
        assert_eq!(s.admit(f, false), Admit::Forward);
        assert!(!s.set_target(f), "already there");
        assert!(s.set_target(q));
        assert_eq!(
            s.admit(f, false),
            Admit::Forward,
            "old layer until the switch"
        );
        assert_eq!(s.admit(q, false), Admit::Drop);
        assert_eq!(s.admit(q, true), Admit::Switched);
        assert_eq!(s.admit(f, true), Admit::Drop, "the old layer is gone");
        assert_eq!(s.current(), Some(q));
    }

    #[test]
    fn a_target_changed_again_before_its_keyframe_wins() {
        let (q, h, f) = (Rid::from("q"), Rid::from("h"), Rid::from("f"));
        let mut s = LayerSwitch::default();
        s.set_target(f);
        s.admit(f, true);
        s.set_target(q);
        s.set_target(h);
        assert_eq!(s.admit(q, true), Admit::Drop);
        assert_eq!(s.admit(h, true), Admit::Switched);
        // Back to the current layer: nothing to wait for.
        assert!(!s.set_target(h));
        assert!(!s.switching());
    }

    /// One recorded frame: arrival (ms), layer, RTP ticks (90 kHz), keyframe.
    fn recorded() -> Vec<(f64, Rid, u64, bool)> {
        include_str!("../../tests/fixtures/chrome_simulcast_frames.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (
                    f[0].parse().unwrap(),
                    Rid::from(f[1]),
                    f[2].parse().unwrap(),
                    f[3] == "1",
                )
            })
            .collect()
    }

    #[test]
    fn a_recorded_chromium_simulcast_stream_switches_cleanly_and_stays_continuous() {
        use crate::rtp::timeline::Timeline;
        use std::time::{Duration, Instant};

        let frames = recorded();
        // What the player wants from when: top layer, then 180p, 720p, 360p.
        let plan = [(0.0, "f"), (3_700.0, "q"), (6_200.0, "f"), (8_700.0, "h")];
        let t0 = Instant::now();
        let mut s = LayerSwitch::default();
        let mut tl = Timeline::default();
        let mut switches = Vec::new();
        let mut out: Vec<(f64, Rid, u64, u64)> = Vec::new();
        for &(ms, rid, ticks, key) in &frames {
            let want = plan.iter().rev().find(|(from, _)| ms >= *from).unwrap().1;
            s.set_target(Rid::from(want));
            let at = t0 + Duration::from_micros((ms * 1000.0) as u64);
            match s.admit(rid, key) {
                Admit::Drop => continue,
                Admit::Switched => {
                    tl.switch();
                    switches.push((ms, rid));
                }
                Admit::Forward => {}
            }
            out.push((ms, rid, tl.map(ticks, 90_000, at), ticks));
        }
        // Each switch is the first keyframe of its target after the request.
        let expected: Vec<(f64, Rid)> = plan
            .iter()
            .map(|(from, rid)| {
                let r = Rid::from(*rid);
                let k = frames
                    .iter()
                    .find(|f| f.0 >= *from && f.1 == r && f.3)
                    .unwrap();
                (k.0, r)
            })
            .collect();
        assert_eq!(switches, expected);
        // Between switches every frame of the current layer goes out, no other.
        for (i, (from, rid)) in switches.iter().enumerate() {
            let until = switches.get(i + 1).map_or(f64::MAX, |s| s.0);
            let sent = out.iter().filter(|o| o.0 >= *from && o.0 < until).count();
            let of_layer = frames
                .iter()
                .filter(|f| f.0 >= *from && f.0 < until && f.1 == *rid)
                .count();
            assert_eq!(sent, of_layer, "layer {rid:?} from {from} ms");
            assert!(out
                .iter()
                .filter(|o| o.0 >= *from && o.0 < until)
                .all(|o| o.1 == *rid));
        }
        // One timeline: strictly increasing; inside a layer the frames keep
        // their own spacing, and across a switch (each layer has its own random
        // RTP base) it advances like the wall clock.
        let mut across = 0;
        for w in out.windows(2) {
            let (a, b) = (w[0], w[1]);
            assert!(b.2 > a.2, "timestamps go back at {} ms", b.0);
            if a.1 == b.1 {
                assert_eq!(b.2 - a.2, b.3 - a.3, "spacing changed at {} ms", b.0);
                continue;
            }
            across += 1;
            let media_ms = (b.2 - a.2) as f64 / 90.0;
            let wall_ms = b.0 - a.0;
            assert!(
                (media_ms - wall_ms).abs() < 1.0,
                "at {} ms: media advanced {media_ms:.0} ms, wall clock {wall_ms:.0} ms",
                b.0
            );
        }
        assert_eq!(across, 3);
    }
}
