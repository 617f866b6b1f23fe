//! HLS of a live H.264 stream (issue #17): fMP4 segments cut at keyframes
//! (one is asked of the source every `hlsTime`), kept in memory, the newest
//! `hlsListSize` listed in `/{App}/streams/{id}.m3u8`, with the init segment
//! at `{id}_init.mp4` and segments at `{id}_{n}.m4s`. Each stream has its own
//! thread fed by the stream's frame tap; the stream's end removes it.
//! VP8 has no place in HLS without transcoding: such a stream gets no HLS
//! and the log says so.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tern_media::frames::{Frame, FrameCodec};
use tern_media::FrameSink;
use tern_record::Recorder;

use super::sink::{next_frame, ThreadSink};

/// Frames waiting for the segmenter.
const QUEUE: usize = 512;

/// The live HLS streams of the node, by (app, stream id).
pub type HlsStreams = Arc<Mutex<HashMap<(String, String), Arc<Mutex<Playlist>>>>>;

pub struct Segment {
    pub seq: u64,
    pub duration_ms: u64,
    pub data: Arc<[u8]>,
}

/// What the playlist and its files are made of.
pub struct Playlist {
    pub init: Option<Arc<[u8]>>,
    pub segments: VecDeque<Segment>,
    list_size: usize,
    target_s: u64,
    /// When each viewer (a hash of its address and user agent) last fetched
    /// a segment.
    viewers: HashMap<u64, Instant>,
}

impl Playlist {
    fn new(list_size: u32, hls_time: u32) -> Self {
        Playlist {
            init: None,
            segments: VecDeque::new(),
            list_size: list_size.max(1) as usize,
            target_s: hls_time.max(1) as u64,
            viewers: HashMap::new(),
        }
    }

    /// A viewer counts while it fetched a segment within three segment
    /// lengths (at least 6 s): players fetch one per segment length.
    fn viewer_window(&self) -> Duration {
        Duration::from_secs((self.target_s * 3).max(6))
    }

    /// Viewer `who` fetched a segment.
    pub fn seen(&mut self, who: u64, now: Instant) {
        let window = self.viewer_window();
        self.viewers
            .retain(|_, at| now.saturating_duration_since(*at) < window);
        self.viewers.insert(who, now);
    }

    /// Viewers now (`hlsViewerCount`).
    pub fn viewers(&self, now: Instant) -> usize {
        let window = self.viewer_window();
        self.viewers
            .values()
            .filter(|at| now.saturating_duration_since(**at) < window)
            .count()
    }

    fn push(&mut self, seq: u64, duration_ms: u64, data: Vec<u8>) {
        self.segments.push_back(Segment {
            seq,
            duration_ms,
            data: data.into(),
        });
        // Two more than listed stay, for players that read the playlist
        // just before it moved on.
        while self.segments.len() > self.list_size + 2 {
            self.segments.pop_front();
        }
        self.target_s = self.target_s.max(duration_ms.div_ceil(1000));
    }

    /// The media playlist (RFC 8216, version 7 for fMP4).
    pub fn text(&self, id: &str) -> Option<String> {
        self.init.as_ref()?;
        let skip = self.segments.len().saturating_sub(self.list_size);
        let listed: Vec<&Segment> = self.segments.iter().skip(skip).collect();
        let first = listed.first()?.seq;
        let mut t = String::new();
        let _ = write!(
            t,
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{first}\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"{id}_init.mp4\"\n",
            self.target_s
        );
        for s in listed {
            let _ = write!(
                t,
                "#EXTINF:{}.{:03},\n{id}_{}.m4s\n",
                s.duration_ms / 1000,
                s.duration_ms % 1000,
                s.seq
            );
        }
        Some(t)
    }

    pub fn segment(&self, seq: u64) -> Option<Arc<[u8]>> {
        self.segments
            .iter()
            .find(|s| s.seq == seq)
            .map(|s| s.data.clone())
    }
}

/// Starts the HLS of a stream; its playlist is in `streams` until it ends.
pub fn start(
    streams: &HlsStreams,
    app: &str,
    id: &str,
    hls_time: u32,
    list_size: u32,
) -> Option<Box<dyn FrameSink>> {
    let key = (app.to_owned(), id.to_owned());
    let playlist = Arc::new(Mutex::new(Playlist::new(list_size, hls_time)));
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
    let every = Duration::from_secs(hls_time.max(1) as u64);
    let spawned = std::thread::Builder::new()
        .name(format!("hls {id}"))
        .spawn(move || {
            segment(&key, &rx, &playlist, every, &thread_stop, &thread_want);
            let mut map = streams.lock().unwrap_or_else(|e| e.into_inner());
            if map.get(&key).is_some_and(|p| Arc::ptr_eq(p, &playlist)) {
                map.remove(&key);
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
    every: Duration,
    stop: &AtomicBool,
    want_keyframe: &AtomicBool,
) {
    let (app, id) = (&key.0, &key.1);
    let mut rec = Recorder::for_segments(every);
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
                playlist.lock().unwrap_or_else(|e| e.into_inner()).init = Some(init.into());
                init_sent = true;
                cut_at = Some(frame.arrived);
                tracing::info!(app, stream = id, "HLS started");
            }
        }
        if !bytes.is_empty() {
            let end = rec.flushed_ms();
            playlist
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(seq, end - flushed, bytes);
            seq += 1;
            flushed = end;
            cut_at = Some(frame.arrived);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_playlist_lists_the_newest_segments_with_their_lengths() {
        let mut p = Playlist::new(3, 2);
        assert_eq!(p.text("s"), None, "nothing before the init segment");
        p.init = Some(Arc::from(&b"init"[..]));
        for (seq, ms) in [(0, 2000), (1, 2100), (2, 1950), (3, 3500), (4, 2000)] {
            p.push(seq, ms, vec![seq as u8; 10]);
        }
        let text = p.text("s").unwrap();
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:2\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"s_init.mp4\"\n\
             #EXTINF:1.950,\ns_2.m4s\n#EXTINF:3.500,\ns_3.m4s\n#EXTINF:2.000,\ns_4.m4s\n"
        );
        // Two segments more than listed stay for late readers; older ones go.
        assert!(p.segment(1).is_some() && p.segment(0).is_some());
        p.push(5, 2000, vec![5; 10]);
        assert!(p.segment(0).is_none() && p.segment(1).is_some());
    }

    #[test]
    fn viewers_count_while_they_fetch_segments() {
        let t0 = Instant::now();
        let mut p = Playlist::new(5, 2);
        p.seen(1, t0);
        p.seen(2, t0);
        p.seen(1, t0 + Duration::from_secs(4));
        assert_eq!(p.viewers(t0 + Duration::from_secs(5)), 2);
        // Viewer 2 stopped fetching 6 s ago (three 2 s segments).
        assert_eq!(p.viewers(t0 + Duration::from_secs(7)), 1);
        assert_eq!(p.viewers(t0 + Duration::from_secs(11)), 0);
    }
}
