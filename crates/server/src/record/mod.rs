//! Recordings (issue #17): which streams are recorded, the thread that writes
//! each (`writer`), where the files go and how they are named (`files`), and
//! serving them (`serve`).
//!
//! A recording starts when a publisher's media is up (or on REST's
//! `recording/true`) as a frame sink of its stream, and ends when the stream's
//! source goes away (the sink's queue closes) or on `recording/false`.

pub mod files;
pub mod hls;
mod hls_disk;
pub mod playlist;
pub mod serve;
mod sink;
mod writer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tern_record::Container;

use crate::apps::Apps;
use crate::db::{self, SharedStore};
use crate::webhooks::Webhooks;

/// Everything about recordings a node needs, shared by the hub (starts
/// them) and REST (turns them on and off).
#[derive(Clone)]
pub struct Recordings {
    data_dir: PathBuf,
    apps: Apps,
    store: SharedStore,
    /// `vodReady` goes out through these when a recording lands.
    webhooks: Webhooks,
    /// Live HLS playlists.
    pub hls: hls::HlsStreams,
    running: Arc<Mutex<StopSwitches>>,
    /// The last recording error of each stream, for REST.
    errors: Errors,
    /// Recording threads alive, finishing ones included.
    active: Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts a recording thread as alive until dropped (also when the thread
/// never started and its closure is dropped unrun).
struct Alive(Arc<std::sync::atomic::AtomicUsize>);

impl Alive {
    fn new(count: &Arc<std::sync::atomic::AtomicUsize>) -> Alive {
        count.fetch_add(1, Ordering::Relaxed);
        Alive(count.clone())
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why a stream's last recording failed, by (app, stream id).
pub(crate) type Errors = Arc<Mutex<HashMap<(String, String), String>>>;

/// The stop switch of each running recording, by (app, stream id, kind).
type StopSwitches = HashMap<(String, String, Container), Arc<AtomicBool>>;

impl Recordings {
    pub fn new(data_dir: PathBuf, apps: Apps, store: SharedStore, webhooks: Webhooks) -> Self {
        Recordings {
            data_dir,
            apps,
            store,
            webhooks,
            hls: Arc::default(),
            running: Arc::default(),
            errors: Arc::default(),
            active: Arc::default(),
        }
    }

    /// The recordings the stream gets: MP4 when its broadcast's
    /// `mp4Enabled` (1 on, -1 off) says so, else when the app's
    /// `mp4MuxingEnabled` does; WebM the same by `webMEnabled` and
    /// `webMMuxingEnabled`.
    pub fn wanted(&self, app: &str, id: &str) -> Vec<Container> {
        let b = db::lock(&self.store).broadcast(app, id).ok().flatten();
        let settings = self.apps.settings(app);
        let pick = |per_stream: i32, by_app: bool| match per_stream {
            1 => true,
            -1 => false,
            _ => by_app,
        };
        let mut out = Vec::new();
        let mp4 = b.as_ref().map_or(0, |b| b.mp4_enabled);
        if pick(mp4, settings.as_ref().is_some_and(|s| s.mp4_muxing_enabled)) {
            out.push(Container::Mp4);
        }
        let webm = b.as_ref().map_or(0, |b| b.web_m_enabled);
        if pick(
            webm,
            settings.as_ref().is_some_and(|s| s.web_m_muxing_enabled),
        ) {
            out.push(Container::WebM);
        }
        out
    }

    /// Starts recording a stream: returns the sink its worker feeds, or none
    /// when it is recorded already or its file cannot be made (logged).
    pub fn start(
        &self,
        app: &str,
        id: &str,
        container: Container,
    ) -> Option<Box<dyn tern_media::FrameSink>> {
        let key = (app.to_owned(), id.to_owned(), container);
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running
            .get(&key)
            .is_some_and(|stop| !stop.load(Ordering::Relaxed))
        {
            return None;
        }
        let dir = files::streams_dir(&self.data_dir, app);
        let ext = match container {
            Container::Mp4 => "mp4",
            Container::WebM => "webm",
        };
        let target = match files::reserve(&dir, id, ext) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(app, stream = id, dir = %dir.display(), "cannot start the recording: {e}");
                let why = format!("cannot start the recording in {}: {e}", dir.display());
                note_error(&self.errors, app, id, Some(why));
                return None;
            }
        };
        note_error(&self.errors, app, id, None);
        let stop = Arc::new(AtomicBool::new(false));
        running.insert(key.clone(), stop.clone());
        let alive = Alive::new(&self.active);
        let done = {
            let running = self.running.clone();
            let stop = stop.clone();
            move || {
                let _alive = alive;
                let mut r = running.lock().unwrap_or_else(|e| e.into_inner());
                if r.get(&key).is_some_and(|s| Arc::ptr_eq(s, &stop)) {
                    r.remove(&key);
                }
            }
        };
        let job = writer::Job {
            app: app.to_owned(),
            stream_id: id.to_owned(),
            container,
            target,
            store: self.store.clone(),
            apps: self.apps.clone(),
            webhooks: self.webhooks.clone(),
            errors: self.errors.clone(),
        };
        Some(writer::spawn(job, stop, done))
    }

    /// The HLS of a stream whose app has `hlsMuxingEnabled`: the sink its
    /// worker feeds, or none.
    pub fn start_hls(&self, app: &str, id: &str) -> Option<Box<dyn tern_media::FrameSink>> {
        let settings = self.apps.settings(app)?;
        if !settings.hls_muxing_enabled {
            return None;
        }
        let options = hls::HlsOptions {
            hls_time: settings.hls_time,
            list_size: settings.hls_list_size,
            low_latency: settings.ll_hls_enabled,
            event: settings.hls_play_list_type == "event",
            keep_files: !settings.delete_hls_files_on_ended,
            dir: files::streams_dir(&self.data_dir, app),
        };
        hls::start(&self.hls, app, id, options)
    }

    /// Stops the stream's recording, if one runs; its file is finished as
    /// when the stream ends.
    pub fn stop(&self, app: &str, id: &str, container: Container) -> bool {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        match running.get(&(app.to_owned(), id.to_owned(), container)) {
            Some(stop) => !stop.swap(true, Ordering::Relaxed),
            None => false,
        }
    }

    /// Why the stream's last recording failed, if it did.
    pub fn error(&self, app: &str, id: &str) -> Option<String> {
        let errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        errors.get(&(app.to_owned(), id.to_owned())).cloned()
    }

    /// HLS viewers of a live stream now (`hlsViewerCount`).
    pub fn hls_viewers(&self, app: &str, id: &str) -> u64 {
        let map = self.hls.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(app.to_owned(), id.to_owned())).map_or(0, |p| {
            let p = p.lock().unwrap_or_else(|e| e.into_inner());
            p.viewers(std::time::Instant::now()) as u64
        })
    }

    /// The stream's source ended: its recording and HLS threads are
    /// finishing (their queues closed) and no longer count as running, so a
    /// republished stream gets new ones at once.
    pub fn forget(&self, app: &str, id: &str) {
        let key = (app.to_owned(), id.to_owned());
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(a, i, _), _| (a, i) != (&key.0, &key.1));
        self.hls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
    }

    /// Stops every recording and waits (at most `within`) until each has
    /// written its file; says what was left.
    pub fn finish_all(&self, within: std::time::Duration) {
        let deadline = std::time::Instant::now() + within;
        let running = || self.active.load(Ordering::Relaxed);
        for stop in self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            stop.store(true, Ordering::Relaxed);
        }
        while running() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if running() > 0 {
            tracing::warn!(left = running(), "recordings still being written at exit: their .part files are kept at the next start");
        }
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }
}

/// Sets (or with `None` clears) the stream's recording error.
pub(crate) fn note_error(errors: &Errors, app: &str, id: &str, why: Option<String>) {
    let mut errors = errors.lock().unwrap_or_else(|e| e.into_inner());
    let key = (app.to_owned(), id.to_owned());
    match why {
        Some(w) => errors.insert(key, w),
        None => errors.remove(&key),
    };
}

/// At start: a `.part` left by a process that died becomes the recording it
/// was, cut after its last whole fragment (MP4) or cluster (WebM), with its
/// VoD record. Returns how
/// many were kept.
pub fn recover_leftovers(data_dir: &std::path::Path, apps: &Apps, store: &SharedStore) -> usize {
    let mut kept = 0;
    for app in apps.names() {
        let dir = files::streams_dir(data_dir, &app);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let part = entry.path();
            let Some(name) = part
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".part"))
                .map(str::to_owned)
            else {
                continue;
            };
            match recover_one(&dir, &part, &name) {
                Ok(Some(vod)) => {
                    tracing::warn!(app, file = %dir.join(&name).display(), duration_ms = vod.duration,
                        "kept a recording that an unclean stop left unfinished (fragmented MP4 or clustered WebM)");
                    if let Err(e) = db::lock(store).insert_vod(&app, &vod) {
                        tracing::error!(
                            app,
                            file = name,
                            "the recovered recording's VoD record was not saved: {e}"
                        );
                    }
                    kept += 1;
                }
                Ok(None) => {
                    tracing::info!(app, file = %part.display(), "removed an unfinished recording with no whole fragment");
                }
                Err(e) => {
                    tracing::error!(app, file = %part.display(), "cannot recover the unfinished recording: {e}");
                }
            }
        }
    }
    kept
}

fn recover_one(
    dir: &std::path::Path,
    part: &std::path::Path,
    name: &str,
) -> std::io::Result<Option<tern_store::Vod>> {
    let target = dir.join(name);
    if !files::is_safe_name(name) || target.exists() {
        return Err(std::io::Error::other(format!(
            "{name} exists or is no recording name"
        )));
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(part)?;
    let len = file.metadata()?.len();
    let found = if name.ends_with(".webm") {
        tern_record::webm::scan(&mut file, len)
    } else {
        tern_record::recover::scan(&mut file, len)
    }
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    if found.whole == 0 {
        drop(file);
        std::fs::remove_file(part)?;
        return Ok(None);
    }
    file.set_len(found.whole)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(part, &target)?;
    let stream_id = name.rsplit_once('.').map_or(name, |(b, _)| b).to_owned();
    Ok(Some(tern_store::Vod {
        vod_id: writer::new_vod_id(),
        stream_id,
        stream_name: None,
        vod_name: name.to_owned(),
        file_path: format!("streams/{name}"),
        duration: found.duration_ms as i64,
        file_size: found.whole as i64,
        creation_date: db::now_ms(),
        kind: "streamVod".into(),
    }))
}
