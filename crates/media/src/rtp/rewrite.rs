//! Keeps a player's outgoing RTP continuous while its source changes (a
//! simulcast layer switch, a restored publisher): sequence numbers, RTP time
//! (`Timeline`) and VP8 picture ids each continue from the last packet sent,
//! because every source has its own random bases and a jump makes the browser
//! drop or hold frames.

use std::time::Instant;

use str0m::rtp::{Vp8Descriptor, Vp8Patch};

use crate::rtp::timeline::Timeline;

#[derive(Debug, Default, Clone, Copy)]
pub struct RtpRewrite {
    pub seq: SeqMap,
    pub time: Timeline,
    pub vp8: Vp8Ids,
}

impl RtpRewrite {
    /// The next packet comes from a new source: re-anchor everything on it.
    pub fn switch(&mut self) {
        self.seq.switch();
        self.time.switch();
        self.vp8.switch();
    }

    /// Outgoing (sequence number, RTP time) for an incoming packet, or `None`
    /// when it belongs before the last switch and must not be sent.
    pub fn map(&mut self, seq: u64, ticks: u64, hz: u32, at: Instant) -> Option<(u64, u32)> {
        let seq = self.seq.map(seq)?;
        Some((seq, self.time.map(ticks, hz, at) as u32))
    }
}

/// Extended sequence numbers, shifted by a constant between switches.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeqMap {
    offset: i64,
    /// One past the highest number sent.
    next: u64,
    /// The first number of the current source: a late packet of the source
    /// before would land on numbers already used.
    floor: u64,
    started: bool,
    rebase: bool,
}

impl SeqMap {
    pub fn switch(&mut self) {
        self.rebase = true;
    }

    pub fn map(&mut self, seq: u64) -> Option<u64> {
        if !self.started {
            // Start inside the first rollover: SRTP gives a fresh receiver
            // rollover counter 0, and the source may be long past it.
            self.started = true;
            self.next = u64::from(seq as u16);
            self.rebase = true;
        }
        if std::mem::take(&mut self.rebase) {
            self.offset = self.next as i64 - seq as i64;
            self.floor = self.next;
        }
        let out = seq as i64 + self.offset;
        if out < self.floor as i64 {
            return None;
        }
        let out = out as u64;
        self.next = self.next.max(out + 1);
        Some(out)
    }
}

/// VP8 picture id (15 bits) and TL0PICIDX (8 bits), shifted between switches.
#[derive(Debug, Default, Clone, Copy)]
pub struct Vp8Ids {
    picture: Shift<0x7fff>,
    tl0: Shift<0xff>,
}

impl Vp8Ids {
    pub fn switch(&mut self) {
        self.picture.rebase = true;
        self.tl0.rebase = true;
    }

    /// The outgoing ids, `None` for fields the packet does not have. Nothing to
    /// rewrite (no switch yet) gives `(None, None)` too.
    pub fn map(&mut self, picture: Option<u16>, tl0: Option<u8>) -> (Option<u16>, Option<u8>) {
        let p = picture.and_then(|v| self.picture.map(u32::from(v)).map(|v| v as u16));
        let t = tl0.and_then(|v| self.tl0.map(u32::from(v)).map(|v| v as u8));
        (p, t)
    }

    /// The patch that rewrites a packet's ids, `None` when they stay as they
    /// are (no switch yet, or a 7-bit picture id that cannot take the value).
    pub fn patch(&mut self, d: &Vp8Descriptor) -> Option<Vp8Patch> {
        let (picture, tl0) = self.map(d.picture_id(), d.tl0_pic_idx());
        if picture.is_none() && tl0.is_none() {
            return None;
        }
        let mut patch = d.patch();
        if let Some(p) = picture {
            patch = patch.picture_id(p);
        }
        if let Some(t) = tl0 {
            patch = patch.tl0_pic_idx(t);
        }
        patch.build().ok()
    }
}

/// A counter modulo `MASK + 1` that continues across switches.
#[derive(Debug, Default, Clone, Copy)]
struct Shift<const MASK: u32> {
    offset: u32,
    last: Option<u32>,
    rebase: bool,
}

impl<const MASK: u32> Shift<MASK> {
    /// Returns the rewritten value, or `None` when it is unchanged.
    fn map(&mut self, v: u32) -> Option<u32> {
        if std::mem::take(&mut self.rebase) {
            if let Some(last) = self.last {
                self.offset = (last + 1).wrapping_sub(v) & MASK;
            }
        }
        let out = v.wrapping_add(self.offset) & MASK;
        // Only moves forward (modulo), so a late packet cannot pull it back.
        let ahead = self
            .last
            .is_none_or(|l| out.wrapping_sub(l) & MASK <= MASK / 2);
        if ahead {
            self.last = Some(out);
        }
        (self.offset != 0).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sequence_numbers_start_in_the_first_rollover_and_continue_across_switches() {
        let mut s = SeqMap::default();
        // A source 3 rollovers in.
        let base = 3 * 65_536 + 100;
        assert_eq!(s.map(base), Some(100));
        assert_eq!(s.map(base + 1), Some(101));
        assert_eq!(s.map(base + 3), Some(103));
        // A late packet of the same source keeps its own slot; one from before
        // the first packet sent has none.
        assert_eq!(s.map(base + 2), Some(102));
        assert_eq!(s.map(base - 1), None);
        s.switch();
        assert_eq!(s.map(7_000), Some(104));
        assert_eq!(s.map(7_001), Some(105));
        // Older than the switch point: those numbers were the old source's.
        assert_eq!(s.map(6_999), None);
        assert_eq!(s.map(7_003), Some(107));
    }

    #[test]
    fn picture_ids_pass_through_until_a_switch_then_continue_modulo_15_bits() {
        let mut v = Vp8Ids::default();
        assert_eq!(v.map(Some(32_766), Some(9)), (None, None));
        assert_eq!(v.map(Some(32_767), Some(10)), (None, None));
        v.switch();
        assert_eq!(v.map(Some(500), Some(200)), (Some(0), Some(11)));
        assert_eq!(v.map(Some(501), Some(200)), (Some(1), Some(11)));
        assert_eq!(v.map(Some(502), Some(201)), (Some(2), Some(12)));
        // A late packet maps by the same offset without moving the base back.
        assert_eq!(v.map(Some(499), None), (Some(32_767), None));
        v.switch();
        assert_eq!(v.map(Some(10), Some(0)), (Some(3), Some(13)));
    }

    #[test]
    fn a_switch_before_any_packet_changes_nothing() {
        let mut r = RtpRewrite::default();
        r.switch();
        let t0 = Instant::now();
        assert_eq!(r.map(42, 9_000, 90_000, t0), Some((42, 9_000)));
        assert_eq!(r.vp8.map(Some(5), Some(1)), (None, None));
        // Frames keep their spacing; a switch continues by the wall clock.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(r.map(43, 12_000, 90_000, t1), Some((43, 12_000)));
        r.switch();
        let t2 = t1 + Duration::from_millis(50);
        assert_eq!(
            r.map(9_000, 1_000_000, 90_000, t2),
            Some((44, 12_000 + 4_500))
        );
    }
}
