//! The simulcast layer a player's video track forwards, and the switch to
//! another: it happens only on a keyframe of the target layer, so the player's
//! decoder never gets a delta frame whose reference it does not have. Until then
//! the old layer keeps flowing. (SSRC and sequence numbers are the player's own,
//! written by str0m; the track's `Timeline` keeps timestamps continuous.)

use str0m::media::Rid;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LayerSwitch {
    current: Option<Rid>,
    target: Option<Rid>,
}

/// What to do with one frame of some layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Drop,
    Forward,
    /// Forward it: it is the first frame of the target layer, now current.
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
}
