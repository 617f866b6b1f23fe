//! Recordings (issue #17): which streams are recorded, the thread that writes
//! each (`writer`), where the files go and how they are named (`files`), and
//! serving them (`serve`).
//!
//! A recording starts when a publisher's media is up (or on REST's
//! `recording/true`) as a frame sink of its stream, and ends when the stream's
//! source goes away (the sink's queue closes) or on `recording/false`.

pub mod files;
pub mod serve;
mod writer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::apps::Apps;
use crate::db::{self, SharedStore};

/// Everything about recordings a node needs, shared by the hub (starts
/// them) and REST (turns them on and off).
#[derive(Clone)]
pub struct Recordings {
    data_dir: PathBuf,
    apps: Apps,
    store: SharedStore,
    running: Arc<Mutex<StopSwitches>>,
}

/// The stop switch of each running recording, by (app, stream id).
type StopSwitches = HashMap<(String, String), Arc<AtomicBool>>;

impl Recordings {
    pub fn new(data_dir: PathBuf, apps: Apps, store: SharedStore) -> Self {
        Recordings {
            data_dir,
            apps,
            store,
            running: Arc::default(),
        }
    }

    /// Whether the stream is to be recorded: its broadcast's `mp4Enabled`
    /// (1 on, -1 off), else the app's `mp4MuxingEnabled`.
    pub fn wanted(&self, app: &str, id: &str) -> bool {
        let per_stream = db::lock(&self.store)
            .broadcast(app, id)
            .ok()
            .flatten()
            .map_or(0, |b| b.mp4_enabled);
        match per_stream {
            1 => true,
            -1 => false,
            _ => self
                .apps
                .settings(app)
                .is_some_and(|s| s.mp4_muxing_enabled),
        }
    }

    /// Starts recording a stream: returns the sink its worker feeds, or none
    /// when it is recorded already or its file cannot be made (logged).
    pub fn start(&self, app: &str, id: &str) -> Option<Box<dyn tern_media::FrameSink>> {
        let key = (app.to_owned(), id.to_owned());
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running
            .get(&key)
            .is_some_and(|stop| !stop.load(Ordering::Relaxed))
        {
            return None;
        }
        let dir = files::streams_dir(&self.data_dir, app);
        let target = match files::reserve(&dir, id, "mp4") {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(app, stream = id, dir = %dir.display(), "cannot start the recording: {e}");
                return None;
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        running.insert(key.clone(), stop.clone());
        let done = {
            let running = self.running.clone();
            let stop = stop.clone();
            move || {
                let mut r = running.lock().unwrap_or_else(|e| e.into_inner());
                if r.get(&key).is_some_and(|s| Arc::ptr_eq(s, &stop)) {
                    r.remove(&key);
                }
            }
        };
        let job = writer::Job {
            app: app.to_owned(),
            stream_id: id.to_owned(),
            target,
            store: self.store.clone(),
        };
        Some(writer::spawn(job, stop, done))
    }

    /// Stops the stream's recording, if one runs; its file is finished as
    /// when the stream ends.
    pub fn stop(&self, app: &str, id: &str) -> bool {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        match running.get(&(app.to_owned(), id.to_owned())) {
            Some(stop) => !stop.swap(true, Ordering::Relaxed),
            None => false,
        }
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }
}
