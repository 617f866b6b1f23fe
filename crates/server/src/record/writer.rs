//! One recording's thread: takes the stream's frames from a bounded queue,
//! appends fragments to the `.part` file as they complete, and when the
//! stream ends (the queue closes) or the recording is stopped, writes the
//! fast-start file, removes the `.part` and files a VoD record.
//!
//! A write error (disk full, folder gone) ends the recording with an error in
//! the log; the live stream does not notice.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use tern_media::frames::Frame;
use tern_media::FrameSink;
use tern_record::{Container, Recorder, Skipped};
use tern_store::Vod;

use super::files::Target;
use super::sink::{next_frame, ThreadSink};
use crate::db::{self, now_ms, SharedStore};

/// Frames a recording may have waiting: a few seconds of audio and video.
/// A thread that falls further behind loses frames until the next keyframe.
const QUEUE: usize = 512;

pub struct Job {
    pub app: String,
    pub stream_id: String,
    pub container: Container,
    pub target: Target,
    pub store: SharedStore,
    pub apps: crate::apps::Apps,
    pub webhooks: crate::webhooks::Webhooks,
    pub errors: super::Errors,
}

pub fn spawn(
    job: Job,
    stop: Arc<AtomicBool>,
    done: impl FnOnce() + Send + 'static,
) -> Box<dyn FrameSink> {
    let (tx, rx) = sync_channel(QUEUE);
    let thread_stop = stop.clone();
    let name = format!("record {}", job.target.name);
    let spawned = std::thread::Builder::new().name(name).spawn(move || {
        run(&job, &rx, &thread_stop);
        done();
    });
    if let Err(e) = spawned {
        tracing::error!("cannot start a recording thread: {e}");
        stop.store(true, Ordering::Relaxed);
    }
    Box::new(ThreadSink {
        tx,
        stop,
        want_keyframe: None,
    })
}

fn run(job: &Job, rx: &Receiver<Arc<Frame>>, stop: &AtomicBool) {
    let (app, id) = (&job.app, &job.stream_id);
    let mut rec = match job.container {
        Container::Mp4 => Recorder::new(),
        Container::WebM => Recorder::webm(),
    };
    let result = record(job, rx, stop, &mut rec).and_then(|()| {
        if rec.is_started() {
            finish(&job.target, &mut rec).map(Some)
        } else {
            Ok(None)
        }
    });
    match result {
        Ok(Some(size)) => {
            let _ = std::fs::remove_file(&job.target.part);
            let vod = Vod {
                vod_id: new_vod_id(),
                stream_id: id.clone(),
                stream_name: db::lock(&job.store)
                    .broadcast(app, id)
                    .ok()
                    .flatten()
                    .and_then(|b| b.name),
                vod_name: job.target.name.clone(),
                file_path: format!("streams/{}", job.target.name),
                duration: rec.duration_ms() as i64,
                file_size: size as i64,
                creation_date: now_ms(),
                kind: "streamVod".into(),
            };
            tracing::info!(app, stream = id, file = %job.target.path().display(), duration_ms = vod.duration, size, "recording finished");
            if let Err(e) = db::lock(&job.store).insert_vod(app, &vod) {
                tracing::error!(
                    app,
                    stream = id,
                    "the recording's VoD record was not saved: {e}"
                );
            }
            vod_ready(job, &vod);
        }
        Ok(None) => {
            tracing::info!(
                app,
                stream = id,
                "recording ended before any keyframe: no file"
            );
            let _ = std::fs::remove_file(&job.target.part);
        }
        Err(e) => {
            // The .part stays: it plays up to its last whole fragment.
            tracing::error!(app, stream = id, file = %job.target.part.display(), "recording stopped: {e}");
            let why = format!("recording stopped: {e} ({})", job.target.part.display());
            super::note_error(&job.errors, app, id, Some(why));
            stop.store(true, Ordering::Relaxed);
        }
    }
}

/// Appends fragments until the stream ends or the recording is stopped.
fn record(
    job: &Job,
    rx: &Receiver<Arc<Frame>>,
    stop: &AtomicBool,
    rec: &mut Recorder,
) -> io::Result<()> {
    let mut part = BufWriter::new(File::options().append(true).open(&job.target.part)?);
    let mut told = false;
    while let Some(frame) = next_frame(rx, stop) {
        match rec.push(&frame) {
            Ok(Err(Skipped::NotInContainer)) if !std::mem::replace(&mut told, true) => {
                tracing::warn!(
                    app = job.app,
                    stream = job.stream_id,
                    "WebM carries VP8, not H.264: this stream is not recorded to WebM (mp4MuxingEnabled records it)"
                );
            }
            Ok(Ok(bytes)) if !bytes.is_empty() => {
                part.write_all(&bytes)?;
                // Each fragment reaches the file at once: a crash loses at
                // most the one being gathered.
                part.flush()?;
            }
            Ok(_) => {}
            Err(e) => return Err(io::Error::other(e.to_string())),
        }
    }
    let last = rec.finish().map_err(|e| io::Error::other(e.to_string()))?;
    part.write_all(&last)?;
    part.flush()?;
    part.get_ref().sync_all()
}

/// Writes the fast-start file from the `.part`; returns its size.
fn finish(target: &Target, rec: &mut Recorder) -> io::Result<u64> {
    let plan = rec
        .fast_start()
        .map_err(|e| io::Error::other(e.to_string()))?;
    let path = target.path();
    let tmp = target.dir.join(format!(".{}.tmp", target.name));
    let mut out = BufWriter::new(File::create(&tmp)?);
    out.write_all(&plan.head)?;
    let mut src = File::open(&target.part)?;
    for (at, len) in plan.ranges {
        src.seek(SeekFrom::Start(at))?;
        let copied = io::copy(&mut (&mut src).take(len), &mut out)?;
        if copied != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the .part file is shorter than written",
            ));
        }
    }
    out.flush()?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    let size = file.metadata()?.len();
    std::fs::rename(&tmp, &path)?;
    Ok(size)
}

/// The `vodReady` hook, as Ant Media sends it: `vodName` without its
/// extension.
fn vod_ready(job: &Job, vod: &Vod) {
    let Some(settings) = job.apps.settings(&job.app) else {
        return;
    };
    let b = db::lock(&job.store)
        .broadcast(&job.app, &job.stream_id)
        .ok()
        .flatten();
    let base = vod
        .vod_name
        .rsplit_once('.')
        .map_or(vod.vod_name.as_str(), |(b, _)| b);
    let fields = vec![
        ("id", job.stream_id.clone()),
        ("action", "vodReady".into()),
        ("vodName", base.to_owned()),
        ("vodId", vod.vod_id.clone()),
        ("duration", vod.duration.to_string()),
        (
            "metadata",
            b.as_ref()
                .and_then(|b| b.meta_data.clone())
                .unwrap_or_default(),
        ),
        ("timestamp", now_ms().to_string()),
    ];
    if let Some(hook) = crate::webhooks::Hook::for_stream(&settings, b.as_ref(), fields) {
        job.webhooks.send(hook);
    }
}

pub(super) fn new_vod_id() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 16)
}
