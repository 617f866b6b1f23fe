//! Keyframe requests to a publisher, at most one per track per interval. A
//! request inside the interval is not dropped but deferred to its end, so every
//! player that joins gets a keyframe within one interval.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m::media::{Mid, Rid};

/// A track, and the simulcast layer of it when it has layers.
pub type Layered = (Mid, Option<Rid>);

/// Many players joining at once must not make the publisher send a storm of
/// keyframes (each is several times the size of a delta frame).
pub const KEYFRAME_INTERVAL: Duration = Duration::from_millis(300);

#[derive(Debug, Default)]
pub struct KeyframeThrottle {
    last: HashMap<Layered, Instant>,
    deferred: HashMap<Layered, Instant>,
}

impl KeyframeThrottle {
    /// True when a request for `mid` may go out now (and is recorded as sent);
    /// otherwise it is deferred to the end of the interval.
    pub fn request(&mut self, mid: Layered, now: Instant) -> bool {
        match self.last.get(&mid) {
            Some(t) if now.saturating_duration_since(*t) < KEYFRAME_INTERVAL => {
                self.deferred.entry(mid).or_insert(*t + KEYFRAME_INTERVAL);
                false
            }
            _ => {
                self.last.insert(mid, now);
                self.deferred.remove(&mid);
                true
            }
        }
    }

    /// When the next deferred request is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.deferred.values().min().copied()
    }

    /// The tracks whose deferred request is due now; they count as sent.
    pub fn take_due(&mut self, now: Instant) -> Vec<Layered> {
        let due: Vec<Layered> = self
            .deferred
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(m, _)| *m)
            .collect();
        for m in &due {
            self.deferred.remove(m);
            self.last.insert(*m, now);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_inside_the_interval_are_deferred_not_lost() {
        let t0 = Instant::now();
        let mid = (Mid::from("v"), None);
        let mut k = KeyframeThrottle::default();
        assert!(k.request(mid, t0));
        assert_eq!(k.next_due(), None);
        // Three players join within the interval: one deferred request.
        for ms in [10, 50, 200] {
            assert!(!k.request(mid, t0 + Duration::from_millis(ms)));
        }
        assert_eq!(k.next_due(), Some(t0 + KEYFRAME_INTERVAL));
        assert!(k.take_due(t0 + Duration::from_millis(299)).is_empty());
        assert_eq!(k.take_due(t0 + KEYFRAME_INTERVAL), vec![mid]);
        assert_eq!(k.next_due(), None);
        // The deferred one counts as sent: the next request waits again.
        assert!(!k.request(mid, t0 + KEYFRAME_INTERVAL + Duration::from_millis(1)));
        assert!(k.request(mid, t0 + KEYFRAME_INTERVAL * 2 + Duration::from_millis(1)));
    }

    #[test]
    fn tracks_and_layers_are_independent() {
        let t0 = Instant::now();
        let mut k = KeyframeThrottle::default();
        assert!(k.request((Mid::from("a"), None), t0));
        assert!(k.request((Mid::from("b"), None), t0));
        assert!(k.request((Mid::from("b"), Some(Rid::from("q"))), t0));
        assert!(k.request((Mid::from("b"), Some(Rid::from("f"))), t0));
    }
}
