//! The contract of a sink that takes frames (recorder, HLS segmenter, RTMP
//! out): it is offered each frame and takes it or refuses at once. It never
//! blocks the media worker: a sink that falls behind loses frames and starts
//! again from the next keyframe, and the other sinks do not notice.

use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;

use crate::frames::Frame;

/// What became of a frame offered to a sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    Taken,
    /// The sink's queue is full: this frame is lost to it.
    Full,
    /// The sink is gone: it is offered nothing more.
    Gone,
}

pub trait FrameSink: Send {
    /// Must return at once.
    fn offer(&mut self, frame: &Arc<Frame>) -> Offer;

    /// True when the sink wants a keyframe soon (an HLS segmenter at each
    /// segment's length); asked after each frame it took.
    fn wants_keyframe(&mut self) -> bool {
        false
    }
}

/// A bounded queue to a thread or task of its own (the common sink).
impl FrameSink for SyncSender<Arc<Frame>> {
    fn offer(&mut self, frame: &Arc<Frame>) -> Offer {
        match self.try_send(Arc::clone(frame)) {
            Ok(()) => Offer::Taken,
            Err(TrySendError::Full(_)) => Offer::Full,
            Err(TrySendError::Disconnected(_)) => Offer::Gone,
        }
    }
}
