//! The media worker's end of a recording or HLS thread: a bounded queue that
//! refuses frames once the thread is stopped (the stream's frame tap then
//! drops it), and that passes on the thread's wish for a keyframe.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use tern_media::frames::Frame;
use tern_media::{FrameSink, Offer};

pub struct ThreadSink {
    pub tx: SyncSender<Arc<Frame>>,
    pub stop: Arc<AtomicBool>,
    /// Set by the thread when it wants a keyframe; none: it never does.
    pub want_keyframe: Option<Arc<AtomicBool>>,
}

impl FrameSink for ThreadSink {
    fn offer(&mut self, frame: &Arc<Frame>) -> Offer {
        if self.stop.load(Ordering::Relaxed) {
            return Offer::Gone;
        }
        self.tx.offer(frame)
    }

    fn wants_keyframe(&mut self) -> bool {
        self.want_keyframe
            .as_ref()
            .is_some_and(|w| w.swap(false, Ordering::Relaxed))
    }
}
