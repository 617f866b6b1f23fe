//! Which simulcast layer a player should receive, from its bandwidth estimate,
//! with hysteresis: a short dip does not cost quality and a short peak does not
//! buy a layer the link cannot hold, so the choice does not oscillate.

use std::time::{Duration, Instant};

/// One layer as the selector sees it. Callers pass the layers a publisher is
/// sending now, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    /// Measured bits per second.
    pub bitrate: u64,
    pub height: u32,
}

/// Headroom over a layer's measured rate: RTP/SRTP overhead, audio, and the
/// bursts of keyframes.
const NEED_PERCENT: u64 = 115;
/// A layer whose rate is not measured yet counts as this much.
const MIN_NEED: u64 = 100_000;
/// The estimate must stay under the current layer's own rate (no headroom:
/// an estimator that only sees what is sent hovers a little above it) this
/// long before stepping down…
pub const DOWN_AFTER: Duration = Duration::from_millis(1_500);
/// …and never in the first seconds of a player, while the first measured
/// rates still hold the opening keyframes' burst…
pub const START_GRACE: Duration = Duration::from_secs(4);
/// …unless the estimate is below this share of what it needs (a collapse).
const COLLAPSE_PERCENT: u64 = 50;
/// The next layer must fit with this margin…
pub const UP_PERCENT: u64 = 125;
/// …for this long before stepping up…
pub const UP_AFTER: Duration = Duration::from_secs(3);
/// …and never this soon after stepping down.
pub const UP_HOLD: Duration = Duration::from_secs(8);

/// What a layer needs from the link, in bits per second.
pub fn need(layer: Layer) -> u64 {
    layer.bitrate.max(MIN_NEED) * NEED_PERCENT / 100
}

#[derive(Debug, Default, Clone, Copy)]
pub struct LayerSelector {
    /// When the first layer was chosen.
    started: Option<Instant>,
    /// Since when the current layer has not fitted.
    short_since: Option<Instant>,
    /// Since when the next layer has fitted with margin.
    room_since: Option<Instant>,
    last_down: Option<Instant>,
}

impl LayerSelector {
    /// The index in `layers` to forward. `current` is the index forwarded now,
    /// `estimate` the player's bandwidth estimate (none: not measured), `pinned`
    /// a height the page forced.
    pub fn choose(
        &mut self,
        now: Instant,
        layers: &[Layer],
        current: Option<usize>,
        estimate: Option<u64>,
        pinned: Option<u32>,
    ) -> Option<usize> {
        let top = layers.len().checked_sub(1)?;
        if let Some(h) = pinned {
            *self = LayerSelector {
                started: self.started,
                ..LayerSelector::default()
            };
            // The highest layer at most as tall as asked, else the lowest.
            return Some(layers.iter().rposition(|l| l.height <= h).unwrap_or(0));
        }
        let Some(estimate) = estimate else {
            return Some(current.unwrap_or(top).min(top));
        };
        let fitting = layers
            .iter()
            .rposition(|l| need(*l) <= estimate)
            .unwrap_or(0);
        let started = *self.started.get_or_insert(now);
        let Some(current) = current.map(|c| c.min(top)) else {
            return Some(fitting);
        };
        let rate = layers[current].bitrate.max(MIN_NEED);
        if rate > estimate {
            self.room_since = None;
            let since = *self.short_since.get_or_insert(now);
            let collapsed = estimate * 100 < need(layers[current]) * COLLAPSE_PERCENT;
            let settled = now.saturating_duration_since(started) >= START_GRACE;
            let lasted = now.saturating_duration_since(since) >= DOWN_AFTER;
            if current > 0 && (collapsed || (settled && lasted)) {
                self.short_since = None;
                self.last_down = Some(now);
                return Some(fitting.min(current - 1));
            }
            return Some(current);
        }
        self.short_since = None;
        let held = self
            .last_down
            .is_some_and(|t| now.saturating_duration_since(t) < UP_HOLD);
        let room = current < top && estimate * 100 >= need(layers[current + 1]) * UP_PERCENT;
        if !room || held {
            self.room_since = None;
            return Some(current);
        }
        let since = *self.room_since.get_or_insert(now);
        if now.saturating_duration_since(since) >= UP_AFTER {
            self.room_since = None;
            return Some(current + 1);
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYERS: [Layer; 3] = [
        Layer {
            bitrate: 150_000,
            height: 180,
        },
        Layer {
            bitrate: 500_000,
            height: 360,
        },
        Layer {
            bitrate: 1_500_000,
            height: 720,
        },
    ];

    fn ms(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn starts_on_the_highest_layer_that_fits() {
        let t0 = Instant::now();
        let mut s = LayerSelector::default();
        assert_eq!(s.choose(t0, &LAYERS, None, Some(1_000_000), None), Some(1));
        assert_eq!(s.choose(t0, &LAYERS, None, Some(5_000_000), None), Some(2));
        assert_eq!(s.choose(t0, &LAYERS, None, Some(10_000), None), Some(0));
        // No estimate (no bandwidth estimation on this peer): the top layer.
        assert_eq!(s.choose(t0, &LAYERS, None, None, None), Some(2));
        assert_eq!(s.choose(t0, &[], None, Some(1), None), None);
    }

    /// A selector past its start grace, and the instant that ended it.
    fn settled() -> (LayerSelector, Instant) {
        let start = Instant::now();
        let mut s = LayerSelector::default();
        assert_eq!(
            s.choose(start, &LAYERS, None, Some(5_000_000), None),
            Some(2)
        );
        (s, start + START_GRACE)
    }

    #[test]
    fn no_step_down_in_the_first_seconds_unless_the_link_collapses() {
        let start = Instant::now();
        let mut s = LayerSelector::default();
        s.choose(start, &LAYERS, None, Some(5_000_000), None);
        // Short of the top layer from the start: held until the grace ends.
        for t in (0..4_000).step_by(250) {
            assert_eq!(
                s.choose(ms(start, t), &LAYERS, Some(2), Some(1_200_000), None),
                Some(2),
                "{t}"
            );
        }
        assert_eq!(
            s.choose(ms(start, 4_000), &LAYERS, Some(2), Some(1_200_000), None),
            Some(1)
        );
        // A collapse is not held back.
        let mut s = LayerSelector::default();
        s.choose(start, &LAYERS, None, Some(5_000_000), None);
        assert_eq!(
            s.choose(ms(start, 100), &LAYERS, Some(2), Some(300_000), None),
            Some(0)
        );
    }

    #[test]
    fn steps_down_only_after_the_shortage_lasts() {
        let (mut s, t0) = settled();
        // 1.2 Mbit/s cannot carry the 1.5 Mbit/s layer, but a dip is tolerated.
        // (Only an estimate under the layer's own rate counts as short.)
        assert_eq!(
            s.choose(t0, &LAYERS, Some(2), Some(1_200_000), None),
            Some(2)
        );
        assert_eq!(
            s.choose(ms(t0, 1_000), &LAYERS, Some(2), Some(1_200_000), None),
            Some(2)
        );
        // Recovered: the shortage clock restarts.
        assert_eq!(
            s.choose(ms(t0, 1_200), &LAYERS, Some(2), Some(2_000_000), None),
            Some(2)
        );
        assert_eq!(
            s.choose(ms(t0, 1_300), &LAYERS, Some(2), Some(1_200_000), None),
            Some(2)
        );
        assert_eq!(
            s.choose(ms(t0, 2_700), &LAYERS, Some(2), Some(1_200_000), None),
            Some(2)
        );
        assert_eq!(
            s.choose(ms(t0, 2_800), &LAYERS, Some(2), Some(1_200_000), None),
            Some(1)
        );
    }

    #[test]
    fn a_collapse_steps_down_at_once_to_what_fits() {
        let t0 = Instant::now();
        let mut s = LayerSelector::default();
        assert_eq!(s.choose(t0, &LAYERS, Some(2), Some(200_000), None), Some(0));
    }

    #[test]
    fn steps_up_one_layer_after_room_lasts_and_not_right_after_a_step_down() {
        let (mut s, t0) = settled();
        // Down at 1.5 s.
        s.choose(t0, &LAYERS, Some(2), Some(1_000_000), None);
        assert_eq!(
            s.choose(ms(t0, 1_500), &LAYERS, Some(2), Some(1_000_000), None),
            Some(1)
        );
        // Plenty of room right after: held back for UP_HOLD.
        for t in (2_000..9_500).step_by(500) {
            assert_eq!(
                s.choose(ms(t0, t), &LAYERS, Some(1), Some(5_000_000), None),
                Some(1),
                "{t}"
            );
        }
        // Hold over at 9.5 s; room must then last UP_AFTER.
        assert_eq!(
            s.choose(ms(t0, 9_500), &LAYERS, Some(1), Some(5_000_000), None),
            Some(1)
        );
        assert_eq!(
            s.choose(ms(t0, 12_000), &LAYERS, Some(1), Some(5_000_000), None),
            Some(1)
        );
        assert_eq!(
            s.choose(ms(t0, 12_500), &LAYERS, Some(1), Some(5_000_000), None),
            Some(2)
        );
    }

    #[test]
    fn room_without_margin_does_not_step_up() {
        let t0 = Instant::now();
        let mut s = LayerSelector::default();
        // 1.8 Mbit/s fits the top layer's 1.725 Mbit/s need but not with 25 % margin.
        for t in (0..20_000).step_by(500) {
            assert_eq!(
                s.choose(ms(t0, t), &LAYERS, Some(1), Some(1_800_000), None),
                Some(1)
            );
        }
    }

    #[test]
    fn an_estimate_wobbling_around_a_boundary_does_not_oscillate() {
        let t0 = Instant::now();
        let mut s = LayerSelector::default();
        let mut current = 2;
        let mut switches = 0;
        // ±20 % around the top layer's need, alternating every 400 ms for a minute.
        for i in 0..150u64 {
            let est = if i % 2 == 0 { 2_070_000 } else { 1_380_000 };
            let next = s.choose(ms(t0, i * 400), &LAYERS, Some(current), Some(est), None);
            let next = next.unwrap();
            if next != current {
                switches += 1;
                current = next;
            }
        }
        assert_eq!(switches, 0, "dips shorter than DOWN_AFTER never switch");
    }

    #[test]
    fn a_pinned_height_wins_over_the_estimate() {
        let t0 = Instant::now();
        let mut s = LayerSelector::default();
        assert_eq!(
            s.choose(t0, &LAYERS, Some(0), Some(100_000), Some(720)),
            Some(2)
        );
        assert_eq!(
            s.choose(t0, &LAYERS, Some(2), Some(9_000_000), Some(360)),
            Some(1)
        );
        // A height between layers takes the one below; below all, the lowest.
        assert_eq!(s.choose(t0, &LAYERS, Some(2), None, Some(500)), Some(1));
        assert_eq!(s.choose(t0, &LAYERS, Some(2), None, Some(90)), Some(0));
    }
}
