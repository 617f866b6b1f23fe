//! HLS of a live H.264 stream (issue #17): fMP4 segments cut at keyframes
//! (one is asked of the source every `hlsTime`), kept in memory, the newest
//! `hlsListSize` listed in `/{App}/streams/{id}.m3u8`, with the init segment
//! at `{id}_init.mp4` and segments at `{id}_{n}.m4s`. Low-latency HLS
//! (`llHlsEnabled`) cuts each segment into parts of about 200 ms as well,
//! `{id}_{n}.{part}.m4s` (`playlist`). Each stream has its own thread fed by
//! the stream's frame tap; the stream's end removes it.
//! VP8 has no place in HLS without transcoding: such a stream gets no HLS
//! and the log says so.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tern_media::frames::{Frame, FrameCodec};
use tern_media::FrameSink;
use tern_record::Recorder;

use super::hls_disk::HlsDisk;
use super::playlist::Playlist;
use super::sink::{next_frame, ThreadSink};

/// Low-latency HLS: a part about this long (cut at the first frame past it).
pub const PART: Duration = Duration::from_millis(200);

/// Frames waiting for the segmenter.
const QUEUE: usize = 512;

/// The live HLS streams of the node, by (app, stream id).
pub type HlsStreams = Arc<Mutex<HashMap<(String, String), Arc<Mutex<Playlist>>>>>;

/// How a stream's HLS is made (its app's settings).
pub struct HlsOptions {
    /// `hlsTime`, seconds.
    pub hls_time: u32,
    /// `hlsListSize`.
    pub list_size: u32,
    /// `llHlsEnabled`.
    pub low_latency: bool,
    /// `hlsPlayListType = "event"`.
    pub event: bool,
    /// `deleteHLSFilesOnEnded = false`: kept on disk as VoD.
    pub keep_files: bool,
    /// Where files on disk go (the app's streams folder).
    pub dir: std::path::PathBuf,
}

/// Where segments (about `every`) and parts (`part`, low-latency) end.
#[derive(Clone, Copy)]
struct Cuts {
    every: Duration,
    part: Option<Duration>,
}

/// Starts the HLS of a stream; its playlist is in `streams` until it ends.
pub fn start(
    streams: &HlsStreams,
    app: &str,
    id: &str,
    o: HlsOptions,
) -> Option<Box<dyn FrameSink>> {
    let key = (app.to_owned(), id.to_owned());
    let part = o.low_latency.then_some(PART);
    let playlist = Arc::new(Mutex::new(Playlist::new(
        o.list_size,
        o.hls_time,
        part,
        o.event,
    )));
    let disk = (o.event || o.keep_files).then(|| HlsDisk::new(o.dir.clone(), id, o.keep_files));
    {
        let mut map = streams.lock().unwrap_or_else(|e| e.into_inner());
        if map.contains_key(&key) {
            return None;
        }
        map.insert(key.clone(), playlist.clone());
    }
    let (tx, rx) = sync_channel(QUEUE);
    let stop = Arc::new(AtomicBool::new(false));
    let want_keyframe = Arc::new(AtomicBool::new(false));
    let (thread_stop, thread_want) = (stop.clone(), want_keyframe.clone());
    let streams = streams.clone();
    let every = Duration::from_secs(o.hls_time.max(1) as u64);
    let spawned = std::thread::Builder::new()
        .name(format!("hls {id}"))
        .spawn(move || {
            let cuts = Cuts { every, part };
            let disk = segment(&key, &rx, &playlist, cuts, disk, &thread_stop, &thread_want);
            let mut map = streams.lock().unwrap_or_else(|e| e.into_inner());
            if map.get(&key).is_some_and(|p| Arc::ptr_eq(p, &playlist)) {
                map.remove(&key);
            }
            drop(map);
            // Out of the live map first: from now on the files on disk answer.
            if let Some(d) = disk {
                d.finish();
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start an HLS thread: {e}");
        stop.store(true, Ordering::Relaxed);
    }
    Some(Box::new(ThreadSink {
        tx,
        stop,
        want_keyframe: Some(want_keyframe),
    }))
}

fn segment(
    key: &(String, String),
    rx: &Receiver<Arc<Frame>>,
    playlist: &Mutex<Playlist>,
    Cuts { every, part }: Cuts,
    mut disk: Option<HlsDisk>,
    stop: &AtomicBool,
    want_keyframe: &AtomicBool,
) -> Option<HlsDisk> {
    let (app, id) = (&key.0, &key.1);
    let mut rec = match part {
        Some(p) => Recorder::for_parts(p),
        None => Recorder::for_segments(every),
    };
    // The next part starts with a keyframe (the first does).
    let mut independent = true;
    let mut seq = 0u64;
    let mut flushed = 0u64;
    let mut init_sent = false;
    let mut cut_at: Option<Instant> = None;
    let mut asked_at: Option<Instant> = None;
    while let Some(frame) = next_frame(rx, stop) {
        if frame.codec == FrameCodec::Vp8 {
            tracing::warn!(app, stream = id, "no HLS for this stream: it is VP8, and HLS carries H.264 (publish H.264, e.g. an app with h264Enabled only)");
            break;
        }
        let mut bytes = match rec.push(&frame) {
            Ok(Ok(b)) => b,
            Ok(Err(_)) => continue,
            Err(e) => {
                tracing::error!(app, stream = id, "HLS stopped: {e}");
                break;
            }
        };
        if !init_sent {
            if let Some(init) = rec.init() {
                let init = init.to_vec();
                if bytes.starts_with(&init) {
                    bytes.drain(..init.len());
                }
                if let Some(d) = &mut disk {
                    d.init(&init);
                }
                playlist.lock().unwrap_or_else(|e| e.into_inner()).init = Some(init.into());
                init_sent = true;
                cut_at = Some(frame.arrived);
                tracing::info!(app, stream = id, "HLS started");
            }
        }
        if !bytes.is_empty() {
            let end = rec.flushed_ms();
            // A cut at a keyframe ends the segment: the keyframe opens the
            // next. Without parts every cut is one; audio alone is cut by time.
            let at_keyframe = frame.codec.is_video() && frame.keyframe;
            let mut p = playlist.lock().unwrap_or_else(|e| e.into_inner());
            p.push_part(end - flushed, independent, bytes);
            let audio_only = rec.video_codec().is_none();
            let closes = part.is_none()
                || at_keyframe
                || (audio_only && p.open_ms() >= every.as_millis() as u64);
            if closes {
                p.close_segment();
                if let (Some(d), Some(s)) = (&mut disk, p.segments.back()) {
                    d.segment(s.seq, s.duration_ms, &s.data);
                }
                seq += 1;
                cut_at = Some(frame.arrived);
            }
            drop(p);
            independent = at_keyframe || audio_only;
            flushed = end;
        }
        // Ask for the next segment's keyframe when this one is long enough,
        // and again each segment length while it does not come.
        if let Some(cut) = cut_at {
            let long = frame.arrived.saturating_duration_since(cut) >= every;
            let asked_recently =
                asked_at.is_some_and(|a| frame.arrived.saturating_duration_since(a) < every);
            if long && !asked_recently {
                want_keyframe.store(true, Ordering::Relaxed);
                asked_at = Some(frame.arrived);
            }
        }
    }
    tracing::info!(app, stream = id, segments = seq, "HLS ended");
    disk
}
