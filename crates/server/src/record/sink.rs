//! The media worker's end of a recording or HLS thread: a bounded queue that
//! refuses frames once the thread is stopped (the stream's frame tap then
//! drops it), and that passes on the thread's wish for a keyframe.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use tern_media::frames::Frame;
use tern_media::{FrameSink, Offer};

/// How often an idle thread looks at its stop switch.
const STOP_CHECK: Duration = Duration::from_millis(250);

/// The thread's end: the next frame, or none once the stream ended (the
/// queue closed) or the thread was stopped.
pub fn next_frame(rx: &Receiver<Arc<Frame>>, stop: &AtomicBool) -> Option<Arc<Frame>> {
    loop {
        match rx.recv_timeout(STOP_CHECK) {
            Ok(f) => return Some(f),
            Err(RecvTimeoutError::Timeout) if !stop.load(Ordering::Relaxed) => continue,
            Err(_) => return None,
        }
    }
}

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
