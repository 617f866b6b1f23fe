//! One media clock for an encoder's tracks: each frame's arrival is its
//! media time on a wall-clock anchor, so audio and video that were made
//! together count as arriving together (what the players' sync rests on).

use std::time::{Duration, Instant};

/// A media clock this far behind the wall clock is re-anchored (the encoder
/// paused, or its timestamps jumped).
const MAX_BEHIND: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct MediaClock {
    /// The instant of media time 0.
    anchor: Option<Instant>,
}

impl MediaClock {
    /// When media of time `ms` counts as arrived, received at `now`: never
    /// later than `now`; the anchor only moves back, so that of two tracks
    /// the one sent ahead sets it.
    pub fn arrival(&mut self, now: Instant, ms: u64) -> Instant {
        let ms = Duration::from_millis(ms);
        let fits = self.anchor.and_then(|a| {
            let t = a.checked_add(ms)?;
            (t <= now && now.saturating_duration_since(t) <= MAX_BEHIND).then_some(t)
        });
        if let Some(t) = fits {
            return t;
        }
        match now.checked_sub(ms) {
            Some(anchor) => {
                self.anchor = Some(anchor);
                now
            }
            None => now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_tracks_on_one_anchor_that_only_moves_back() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut c = MediaClock::default();
        assert_eq!(c.arrival(t0, 1000), t0);
        // A later frame that came on time keeps the anchor.
        let t1 = t0 + Duration::from_millis(40);
        assert_eq!(c.arrival(t1, 1033), t0 + Duration::from_millis(33));
        // One sent ahead moves it back: it counts as arriving now.
        assert_eq!(c.arrival(t1, 1100), t1);
        assert_eq!(c.arrival(t1, 1040), t1 - Duration::from_millis(60));
        // Seconds behind (the encoder paused): re-anchored.
        let late = t1 + Duration::from_secs(5);
        assert_eq!(c.arrival(late, 1200), late);
    }
}
