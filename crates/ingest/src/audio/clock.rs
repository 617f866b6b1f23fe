//! The input's clock against the samples counted: where each access unit's
//! FLV time falls, and the 48 kHz tick of each packet put out.
//!
//! From an anchor (the first unit, or one after a jump) on, input frames are
//! counted; unit `n`'s time should then be the anchor plus those frames'
//! duration. Millisecond rounding makes it wobble by one; a lost or skipped
//! unit, or an encoder whose clock drifts from its sample count, moves it
//! further, and then silence is put in or samples are left out so that the
//! count follows the clock again. A jump of more than `JUMP_MS` (a publisher
//! reconnecting, a long loss) starts a new anchor instead.

use super::decode::UNIT_FRAMES;
use super::encode::PACKET_FRAMES;
use super::resample::OPUS_RATE;

/// 48 kHz ticks per millisecond.
const TICKS_PER_MS: u64 = 48;

/// A unit this much away from where the count puts it re-anchors.
pub const JUMP_MS: u64 = 100;

/// What to do with a unit before its samples go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Start afresh at this unit: `Clock::anchor` then, and reset the chain.
    Anchor,
    /// Go on, first putting in this many frames of silence (source rate).
    Fill(usize),
    /// Go on, leaving out this many of the unit's first frames.
    Trim(usize),
}

pub struct Clock {
    rate: u64,
    /// Tick of the first frame counted; `None` before the first unit.
    anchor: Option<u64>,
    /// Input frames (decoded or filled) since the anchor.
    frames: u64,
    /// Packets put out since the anchor.
    packets: u64,
}

impl Clock {
    pub fn new(rate: u32) -> Clock {
        Clock {
            rate: u64::from(rate),
            anchor: None,
            frames: 0,
            packets: 0,
        }
    }

    /// Where a unit stamped `pts_ms` falls; changes nothing.
    pub fn place(&self, pts_ms: u64) -> Place {
        let Some(anchor) = self.anchor else {
            return Place::Anchor;
        };
        let expected = i128::from(anchor) + self.to_ticks(self.frames);
        let drift = i128::from(ticks(pts_ms)) - expected;
        if drift.unsigned_abs() > u128::from(JUMP_MS * TICKS_PER_MS) {
            return Place::Anchor;
        }
        // Within half a unit is rounding and jitter; beyond it, a unit's
        // worth of time was lost (or doubled) and the count is put right.
        let half_unit = self.to_ticks(UNIT_FRAMES as u64 / 2);
        let frames = (drift.unsigned_abs() * u128::from(self.rate) + u128::from(OPUS_RATE / 2))
            / u128::from(OPUS_RATE);
        // At most `JUMP_MS` of frames at 96 kHz.
        let frames = frames as usize;
        if drift >= half_unit {
            Place::Fill(frames)
        } else if drift <= -half_unit {
            Place::Trim(frames)
        } else {
            Place::Fill(0)
        }
    }

    /// Starts counting afresh from a unit stamped `pts_ms`.
    pub fn anchor(&mut self, pts_ms: u64) {
        self.anchor = Some(ticks(pts_ms));
        self.frames = 0;
        self.packets = 0;
    }

    /// Counts input frames that went on to the resampler.
    pub fn count(&mut self, frames: usize) {
        self.frames += frames as u64;
    }

    /// The tick of the next packet put out, which it then counts.
    pub fn next_packet(&mut self) -> u64 {
        let first = self.anchor.unwrap_or(0);
        let ticks = first.saturating_add(self.packets * PACKET_FRAMES as u64);
        self.packets += 1;
        ticks
    }

    fn to_ticks(&self, frames: u64) -> i128 {
        i128::from(frames) * i128::from(OPUS_RATE) / i128::from(self.rate)
    }
}

/// Peer times can be anything; past `u64::MAX` ticks they stay there.
fn ticks(pts_ms: u64) -> u64 {
    pts_ms.saturating_mul(TICKS_PER_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes one 44.1 kHz unit at `pts_ms`, as the transcoder would.
    fn unit(clock: &mut Clock, pts_ms: u64) -> Place {
        let place = clock.place(pts_ms);
        match place {
            Place::Anchor => {
                clock.anchor(pts_ms);
                clock.count(UNIT_FRAMES);
            }
            Place::Fill(n) => clock.count(n + UNIT_FRAMES),
            Place::Trim(n) => clock.count(UNIT_FRAMES.saturating_sub(n)),
        }
        place
    }

    fn pts(n: u64) -> u64 {
        // Rounded down, as encoders stamp FLV.
        1000 + n * 1024 * 1000 / 44100
    }

    #[test]
    fn rounding_is_followed_losses_are_filled_jumps_re_anchor() {
        let mut clock = Clock::new(44100);
        assert_eq!(unit(&mut clock, pts(0)), Place::Anchor);
        for n in 1..100 {
            assert_eq!(unit(&mut clock, pts(n)), Place::Fill(0), "unit {n}");
        }
        // Unit 100 lost: 101 comes one unit (1024 frames, give or take the
        // millisecond rounding: 44 frames) late.
        let near_a_unit = |place| match place {
            Place::Fill(n) | Place::Trim(n) => n.abs_diff(1024) <= 44,
            Place::Anchor => false,
        };
        let place = unit(&mut clock, pts(101));
        assert!(
            matches!(place, Place::Fill(_)) && near_a_unit(place),
            "{place:?}"
        );
        assert_eq!(unit(&mut clock, pts(102)), Place::Fill(0));
        // A unit stamped again (the clock stepped back one unit).
        let place = unit(&mut clock, pts(102));
        assert!(
            matches!(place, Place::Trim(_)) && near_a_unit(place),
            "{place:?}"
        );
        // A reconnect with the clock back at 0.
        assert_eq!(unit(&mut clock, 0), Place::Anchor);
        assert_eq!(clock.next_packet(), 0);
        assert_eq!(clock.next_packet(), 960);
        // 150 ms of silence from the encoder.
        assert_eq!(unit(&mut clock, 23 + 150), Place::Anchor);
        assert_eq!(clock.next_packet(), 173 * 48);
    }

    #[test]
    fn a_drifting_clock_is_followed_within_half_a_unit() {
        // The encoder stamps by a clock 0.1 % slower than its sample count.
        let mut clock = Clock::new(44100);
        let mut trimmed = 0;
        for n in 0..10_000u64 {
            let pts_ms = (n * 1024 * 1000 * 999 / 1000) / 44100;
            match unit(&mut clock, pts_ms) {
                Place::Anchor => assert_eq!(n, 0, "no re-anchor"),
                Place::Trim(n) => trimmed += n,
                Place::Fill(n) => assert_eq!(n, 0),
            }
        }
        // 0.1 % of 10 000 units, give or take the half unit still pending.
        assert!(
            (10_000 * 1024 / 1000 - trimmed as i64).abs() <= 512,
            "{trimmed}"
        );
    }

    #[test]
    fn huge_times_do_not_overflow() {
        let mut clock = Clock::new(8000);
        assert_eq!(unit(&mut clock, u64::MAX), Place::Anchor);
        unit(&mut clock, u64::MAX);
        assert_eq!(unit(&mut clock, 0), Place::Anchor);
        assert_eq!(unit(&mut clock, u64::MAX / 2), Place::Anchor);
        clock.next_packet();
    }
}
