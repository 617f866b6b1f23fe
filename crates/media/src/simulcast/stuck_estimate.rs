//! A player's bandwidth estimate that stopped moving while the player wants
//! more and reports no loss: restart the estimator from where it stands.
//!
//! str0m's estimator (GoogCC) does not probe while it is loss-limited, and its
//! loss-based part can stay in that state with a bit-exact estimate for good
//! after a burst of loss is over (seen after CPU stalls on a busy machine: a
//! viewer held at 691 kbit/s for 50 s on an idle loopback link, its neighbour
//! at 2 Mbit/s). Only a reset clears that state; it starts again from the
//! current estimate with the start-up probes, so a link that is really full
//! settles back where it was within a second or two.

use std::time::{Duration, Instant};

/// An estimate unchanged this long counts as stuck.
pub const STUCK_AFTER: Duration = Duration::from_secs(8);
/// After a reset that did not lift the estimate, wait twice as long before the
/// next, up to this: a link that is really full is probed rarely.
const MAX_BACKOFF: Duration = Duration::from_secs(64);

#[derive(Debug, Clone, Copy)]
pub struct StuckEstimate {
    /// The estimate seen last, since when, and the packets the player had
    /// reported lost then.
    value: Option<u64>,
    since: Instant,
    lost_since: u64,
    /// The earliest next reset, and the wait after it.
    not_before: Instant,
    backoff: Duration,
    /// The estimate the last reset started from.
    reset_at: Option<u64>,
}

impl StuckEstimate {
    pub fn new(now: Instant) -> Self {
        StuckEstimate {
            value: None,
            since: now,
            lost_since: 0,
            not_before: now,
            backoff: STUCK_AFTER,
            reset_at: None,
        }
    }

    /// Called at each layer check. `estimate` is the player's current one,
    /// `lost` the packets it has reported lost in all (RTCP receiver reports),
    /// `wants_more` whether a layer above the one it gets is there for it.
    /// Returns the bitrate to restart the estimator from, when it is stuck.
    pub fn check(
        &mut self,
        now: Instant,
        estimate: Option<u64>,
        lost: u64,
        wants_more: bool,
    ) -> Option<u64> {
        let estimate = estimate?;
        if self.value != Some(estimate) || lost != self.lost_since || !wants_more {
            if let Some(from) = self.reset_at {
                // A reset that lifted the estimate well: the next stuck spell
                // is a new one, not a link that is full.
                if estimate > from + from / 10 {
                    self.backoff = STUCK_AFTER;
                    self.reset_at = None;
                    self.not_before = now;
                }
            }
            self.value = Some(estimate);
            self.since = now;
            self.lost_since = lost;
            return None;
        }
        if now.saturating_duration_since(self.since) < STUCK_AFTER || now < self.not_before {
            return None;
        }
        if self.reset_at.is_some() {
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        }
        self.not_before = now + self.backoff;
        self.reset_at = Some(estimate);
        self.since = now;
        Some(estimate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(500);

    /// Runs checks every TICK for `span` with a fixed estimate and loss; the
    /// instants of the resets.
    fn run(
        w: &mut StuckEstimate,
        from: Instant,
        span: Duration,
        est: u64,
        lost: u64,
        wants: bool,
    ) -> Vec<Duration> {
        let mut out = Vec::new();
        let mut t = from;
        while t <= from + span {
            if w.check(t, Some(est), lost, wants).is_some() {
                out.push(t - from);
            }
            t += TICK;
        }
        out
    }

    #[test]
    fn a_flat_estimate_without_loss_is_reset_after_the_stuck_time() {
        let t0 = Instant::now();
        let mut w = StuckEstimate::new(t0);
        let resets = run(&mut w, t0, Duration::from_secs(10), 691_097, 0, true);
        assert_eq!(resets, vec![STUCK_AFTER]);
    }

    #[test]
    fn a_moving_estimate_new_loss_or_no_higher_layer_is_never_reset() {
        let t0 = Instant::now();
        let mut w = StuckEstimate::new(t0);
        for i in 0..100u64 {
            let t = t0 + TICK * i as u32;
            assert_eq!(w.check(t, Some(500_000 + i % 2), 0, true), None, "moving");
        }
        let mut w = StuckEstimate::new(t0);
        for i in 0..100u64 {
            let t = t0 + TICK * i as u32;
            assert_eq!(w.check(t, Some(500_000), i / 4, true), None, "losing");
        }
        let mut w = StuckEstimate::new(t0);
        assert!(run(&mut w, t0, Duration::from_secs(60), 500_000, 0, false).is_empty());
        let mut w = StuckEstimate::new(t0);
        assert_eq!(
            w.check(t0 + STUCK_AFTER * 3, None, 0, true),
            None,
            "no estimate"
        );
    }

    #[test]
    fn resets_that_do_not_help_back_off_and_one_that_helps_ends_the_backoff() {
        let t0 = Instant::now();
        let mut w = StuckEstimate::new(t0);
        // A full link: the estimate comes back to the same value each time.
        let resets = run(&mut w, t0, Duration::from_secs(200), 700_000, 0, true);
        let gaps: Vec<u64> = resets.windows(2).map(|p| (p[1] - p[0]).as_secs()).collect();
        assert_eq!(resets[0], STUCK_AFTER);
        assert_eq!(gaps, vec![8, 16, 32, 64, 64], "resets at {resets:?}");
        // The link frees up: the estimate rises past the reset value, then sticks again.
        let t1 = t0 + Duration::from_secs(201);
        assert_eq!(w.check(t1, Some(2_000_000), 0, true), None);
        let again = run(&mut w, t1, Duration::from_secs(30), 2_000_000, 0, true);
        assert_eq!(again.first().copied(), Some(STUCK_AFTER), "{again:?}");
    }
}
