//! Keeps a player's outgoing media timestamps continuous when the source
//! feeding a track changes (a restored session, a simulcast layer): each
//! source has its own random RTP time base, and a jump makes the browser hold
//! frames back.

use std::time::Instant;

#[derive(Debug, Default, Clone, Copy)]
pub struct Timeline {
    /// Added to the source's ticks.
    offset: i64,
    /// The last ticks written, and when.
    last: Option<(u64, Instant)>,
    /// The next frame comes from a new source: re-anchor on it.
    rebase: bool,
}

impl Timeline {
    /// The source changes; the next frame continues from the last one.
    pub fn switch(&mut self) {
        self.rebase = true;
    }

    /// Outgoing ticks (at `hz`) for a frame of `ticks` that arrived `at`.
    pub fn map(&mut self, ticks: u64, hz: u32, at: Instant) -> u64 {
        if std::mem::take(&mut self.rebase) {
            if let Some((last, then)) = self.last {
                let elapsed = at.saturating_duration_since(then).as_micros() as i64;
                let expected = last as i64 + (elapsed * i64::from(hz) / 1_000_000).max(1);
                self.offset = expected - ticks as i64;
            }
        }
        let out = (ticks as i64).saturating_add(self.offset).max(0) as u64;
        // A late (retransmitted) packet must not pull the anchor back.
        if self.last.is_none_or(|(l, _)| out >= l) {
            self.last = Some((out, at));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn passes_through_until_a_switch_then_continues_by_wall_clock() {
        let t0 = Instant::now();
        let mut tl = Timeline::default();
        assert_eq!(tl.map(1_000, 90_000, t0), 1_000);
        assert_eq!(tl.map(4_000, 90_000, t0 + Duration::from_millis(33)), 4_000);
        // New source with another base, 500 ms later.
        tl.switch();
        let first = tl.map(7_777_777, 90_000, t0 + Duration::from_millis(533));
        assert_eq!(first, 4_000 + 45_000);
        // Its later frames keep their spacing.
        assert_eq!(
            tl.map(7_777_777 + 3_000, 90_000, t0 + Duration::from_millis(566)),
            first + 3_000
        );
    }

    #[test]
    fn a_switch_before_any_frame_changes_nothing() {
        let t0 = Instant::now();
        let mut tl = Timeline::default();
        tl.switch();
        assert_eq!(tl.map(42, 48_000, t0), 42);
    }
}
