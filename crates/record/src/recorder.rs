//! A stream's recording as a state machine: frames in, bytes to append to
//! the `.part` file out (fragmented MP4, or WebM clusters), and at the end
//! the plan of the final file. No IO and no clock of its own: frames carry
//! their times.

use std::time::{Duration, Instant};

use tern_media::frames::{Frame, FrameCodec};

use crate::fmp4::{self, FragmentTrack, Mp4Error};
use crate::tracks::{SampleEntry, TrackCodec, TrackInfo};
use crate::webm;

use crate::recorder_track::{
    audio_config, complete, new_track, sample_data, track_dts, video_config, Held, Track,
};

/// A fragment is written at each keyframe and at least this often, which
/// bounds what a crash can lose.
pub const FRAGMENT_EVERY: Duration = Duration::from_secs(1);
/// Audio with no video this long after its first frame is recorded alone.
pub const AUDIO_ONLY_AFTER: Duration = Duration::from_secs(2);
/// Video with no audio this long after its first keyframe is recorded alone.
pub const AUDIO_WAIT: Duration = Duration::from_millis(500);
/// Frames kept at most while waiting (a few seconds of audio and video).
const MAX_WAITING: usize = 1000;

/// Why a frame was not recorded (counted, never fatal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// Before the first keyframe (or before the recording's tracks are known).
    Waiting,
    /// A kind or codec the file has no track for.
    NoTrack,
    /// A track's frame from before the recording's first frame (audio that
    /// came out of its encoder a little behind the first keyframe): placing
    /// it at the start would put the whole track late.
    BeforeStart,
    /// Video the container cannot carry (H.264 in WebM): nothing is recorded.
    NotInContainer,
}

/// What the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Container {
    /// Fragmented MP4 while running, fast-start MP4 at the end.
    #[default]
    Mp4,
    /// WebM (VP8 and Opus): clusters while running, sized at the end.
    WebM,
}

pub struct Recorder {
    container: Container,
    /// Besides each keyframe, a fragment at least this often...
    fragment_every: Duration,
    /// ...unless these are HLS segments of a stream with video: they start
    /// at keyframes only, and no index is kept (there is no fast-start file).
    segments: bool,
    /// Low-latency HLS parts: segments, cut at keyframes and every
    /// `fragment_every` too.
    parts: bool,
    /// The init segment, once the tracks are known.
    init: Option<Vec<u8>>,
    /// Where the media written so far ends, in ms (the end of each
    /// fragment).
    flushed_ms: u64,
    started: Option<Instant>,
    first_audio: Option<Instant>,
    /// The audio track's codec, from its first frame (the encoder's AAC
    /// where a source gives it beside Opus, in MP4).
    audio_codec: Option<TrackCodec>,
    video_seen: bool,
    /// Frames kept while the tracks are not known yet.
    waiting: Vec<Frame>,
    video: Option<Track>,
    audio: Option<Track>,
    fragment_since: Option<Instant>,
    sequence: u32,
    /// Bytes handed out so far (the `.part` file's length).
    written: u64,
    /// Every sample written, in file order, and where the media data of each
    /// fragment lies in the `.part` file.
    index: Vec<SampleEntry>,
    payloads: Vec<(u64, u64)>,
}

/// How to build the fast-start file: `head`, then these ranges of the
/// `.part` file, in order.
pub struct FastStart {
    pub head: Vec<u8>,
    pub ranges: Vec<(u64, u64)>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            container: Container::Mp4,
            fragment_every: FRAGMENT_EVERY,
            segments: false,
            parts: false,
            init: None,
            flushed_ms: 0,
            started: None,
            first_audio: None,
            audio_codec: None,
            video_seen: false,
            waiting: Vec::new(),
            video: None,
            audio: None,
            fragment_since: None,
            sequence: 0,
            written: 0,
            index: Vec::new(),
            payloads: Vec::new(),
        }
    }
}

impl Recorder {
    /// A recording: a fragment at each keyframe and at least every second.
    pub fn new() -> Self {
        Recorder::default()
    }

    /// A WebM recording (VP8 and Opus), fragments as [`Recorder::new`].
    pub fn webm() -> Self {
        Recorder {
            container: Container::WebM,
            ..Recorder::default()
        }
    }

    pub fn container(&self) -> Container {
        self.container
    }

    /// HLS segments: a fragment at each video keyframe only (audio alone:
    /// every `every`).
    pub fn for_segments(every: Duration) -> Self {
        Recorder {
            fragment_every: every,
            segments: true,
            ..Recorder::default()
        }
    }

    /// Low-latency HLS parts: a fragment at each keyframe and every `part`
    /// (no index is kept).
    pub fn for_parts(part: Duration) -> Self {
        Recorder {
            fragment_every: part,
            segments: true,
            parts: true,
            ..Recorder::default()
        }
    }

    /// The init segment (`ftyp` + `moov`), once the tracks are known.
    pub fn init(&self) -> Option<&[u8]> {
        self.init.as_deref()
    }

    /// Where the media of the fragments written so far ends, in ms.
    pub fn flushed_ms(&self) -> u64 {
        self.flushed_ms
    }

    /// The video codec of the recording, once started.
    pub fn video_codec(&self) -> Option<&TrackCodec> {
        self.video.as_ref().map(|t| &t.info.codec)
    }

    pub fn is_started(&self) -> bool {
        self.started.is_some()
    }

    /// Media time recorded so far, in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        [&self.video, &self.audio]
            .into_iter()
            .flatten()
            .filter_map(|t| {
                let end = t.held.as_ref().map(|h| h.dts).or(t.last_dts)?;
                Some((end + t.last_duration as u64) * 1000 / t.info.clock() as u64)
            })
            .max()
            .unwrap_or(0)
    }

    /// Takes one frame; returns the bytes to append, if a fragment (or the
    /// init segment) is complete.
    pub fn push(&mut self, frame: &Frame) -> Result<Result<Vec<u8>, Skipped>, Mp4Error> {
        if self.started.is_some() {
            return self.push_running(frame);
        }
        if self.container == Container::WebM && frame.codec == FrameCodec::H264 {
            // Never started: no file rather than one without the video.
            self.video_seen = true;
            return Ok(Err(Skipped::NotInContainer));
        }
        let Some(init) = self.try_start(frame) else {
            return Ok(Err(Skipped::Waiting));
        };
        let mut out = init?;
        self.written += out.len() as u64;
        for f in std::mem::take(&mut self.waiting) {
            if let Ok(bytes) = self.push_running(&f)? {
                out.extend(bytes);
            }
        }
        Ok(Ok(out))
    }

    fn push_running(&mut self, frame: &Frame) -> Result<Result<Vec<u8>, Skipped>, Mp4Error> {
        let video = frame.codec.is_video();
        let started = self.started.unwrap_or(frame.arrived);
        // Where a new track begins is measured from the other track's newest
        // frame, whose arrival was stamped on the same clock moments ago: an
        // encoder's clock settles in its first frames, so the start is a
        // worse reference.
        let other = if video { &self.audio } else { &self.video };
        let reference = other
            .as_ref()
            .and_then(|t| {
                Some((
                    t.last_arrived?,
                    t.last_dts? * 1_000_000 / t.info.clock() as u64,
                ))
            })
            .unwrap_or((started, 0));
        let Some(track) = (if video {
            self.video.as_mut()
        } else {
            self.audio.as_mut()
        }) else {
            return Ok(Err(Skipped::NoTrack));
        };
        let Some(data) = sample_data(&track.info.codec, frame) else {
            return Ok(Err(Skipped::NoTrack));
        };
        if data.is_empty() {
            return Ok(Err(Skipped::NoTrack));
        }
        let Some(dts) = track_dts(track, frame, reference) else {
            return Ok(Err(Skipped::BeforeStart));
        };
        if let Some(h) = track.held.take() {
            let duration = (dts - h.dts).min(u32::MAX as u64) as u32;
            track.last_duration = duration;
            complete(track, h, duration);
        }
        track.held = Some(Held {
            dts,
            sync: !video || frame.keyframe,
            data,
        });
        track.last_dts = Some(dts);
        track.last_arrived = Some(frame.arrived);
        let since = *self.fragment_since.get_or_insert(frame.arrived);
        let timed = self.parts || !(self.segments && self.video.is_some());
        let cut = (video && frame.keyframe)
            || (timed && frame.arrived.saturating_duration_since(since) >= self.fragment_every);
        if !cut {
            return Ok(Ok(Vec::new()));
        }
        self.fragment_since = Some(frame.arrived);
        let out = self.flush()?;
        self.written += out.len() as u64;
        Ok(Ok(out))
    }

    /// Ends the recording: the last samples as a last fragment.
    pub fn finish(&mut self) -> Result<Vec<u8>, Mp4Error> {
        for track in [&mut self.video, &mut self.audio].into_iter().flatten() {
            if let Some(h) = track.held.take() {
                let duration = match track.last_duration {
                    0 => track.info.usual_duration(),
                    d => d,
                };
                complete(track, h, duration);
            }
        }
        let out = self.flush()?;
        self.written += out.len() as u64;
        Ok(out)
    }

    /// The head and copy plan of the fast-start file, from the index.
    pub fn fast_start(&self) -> Result<FastStart, Mp4Error> {
        let tracks: Vec<TrackInfo> = [&self.video, &self.audio]
            .into_iter()
            .flatten()
            .map(|t| t.info.clone())
            .collect();
        let head = match self.container {
            Container::Mp4 => crate::progressive::head(&tracks, &self.index)?,
            Container::WebM => {
                let clusters = self.payloads.iter().map(|(_, len)| len).sum();
                webm::head(&tracks, self.duration_ms(), clusters)?
            }
        };
        Ok(FastStart {
            head,
            ranges: self.payloads.clone(),
        })
    }

    /// Before the tracks are known: gathers frames from the first video
    /// keyframe on, and starts once audio has shown up too (or has not for
    /// `AUDIO_WAIT`), or with audio alone when no video comes. Returns the
    /// init segment when it starts; `waiting` then holds the frames to write.
    fn try_start(&mut self, frame: &Frame) -> Option<Result<Vec<u8>, Mp4Error>> {
        if frame.codec.is_video() {
            self.video_seen = true;
            if frame.keyframe && self.video.is_none() {
                let (codec, size) = video_config(frame)?;
                self.video = Some(new_track(1, codec, size));
                self.waiting.clear();
            }
            self.video.as_ref()?;
        } else {
            self.choose_audio(frame)?;
        }
        if self.waiting.len() >= MAX_WAITING {
            self.waiting.remove(0);
        }
        self.waiting.push(frame.clone());
        let first = self.waiting.first().map_or(frame.arrived, |f| f.arrived);
        let waited = frame.arrived.saturating_duration_since(first);
        let ready = match (&self.video, self.first_audio) {
            (Some(_), Some(_)) => true,
            (Some(_), None) => waited >= AUDIO_WAIT,
            (None, Some(_)) => !self.video_seen && waited >= AUDIO_ONLY_AFTER,
            (None, None) => false,
        };
        if !ready {
            return None;
        }
        if let Some(codec) = self.audio_codec.clone() {
            self.audio = Some(new_track(2, codec, (0, 0)));
        }
        self.started = Some(first);
        let infos: Vec<TrackInfo> = [&self.video, &self.audio]
            .into_iter()
            .flatten()
            .map(|t| t.info.clone())
            .collect();
        let init = match self.container {
            Container::Mp4 => fmp4::init_segment(&infos),
            Container::WebM => webm::init(&infos),
        };
        if let Ok(bytes) = &init {
            self.init = Some(bytes.clone());
        }
        Some(init)
    }

    /// Before the start, an audio frame: sets the audio track's codec from
    /// the first. A source that gives its encoder's AAC beside the Opus made
    /// from it has the AAC recorded in MP4 (WebM carries Opus only). None
    /// when the frame is not for the recording.
    fn choose_audio(&mut self, frame: &Frame) -> Option<()> {
        if self.container == Container::WebM && frame.codec != FrameCodec::Opus {
            return None;
        }
        let codec = audio_config(frame)?;
        match &self.audio_codec {
            Some(TrackCodec::Opus) if frame.codec == FrameCodec::Aac => {
                self.waiting.retain(|f| f.codec != FrameCodec::Opus);
                self.first_audio = None;
            }
            Some(TrackCodec::Aac { .. }) if frame.codec == FrameCodec::Opus => return None,
            _ => {}
        }
        if self.first_audio.is_none() {
            self.audio_codec = Some(codec);
            self.first_audio = Some(frame.arrived);
        }
        Some(())
    }

    /// Writes what each track has complete as one fragment.
    fn flush(&mut self) -> Result<Vec<u8>, Mp4Error> {
        let mut parts: Vec<Vec<(SampleEntry, Vec<u8>)>> = Vec::new();
        for track in [&mut self.video, &mut self.audio].into_iter().flatten() {
            parts.push(std::mem::take(&mut track.done));
        }
        if parts.iter().all(|p| p.is_empty()) {
            return Ok(Vec::new());
        }
        let entries: Vec<Vec<SampleEntry>> = parts
            .iter()
            .map(|p| p.iter().map(|(e, _)| *e).collect())
            .collect();
        let data: Vec<Vec<&[u8]>> = parts
            .iter()
            .map(|p| p.iter().map(|(_, d)| d.as_slice()).collect())
            .collect();
        let frag: Vec<FragmentTrack> = entries
            .iter()
            .zip(&data)
            .filter(|(e, _)| !e.is_empty())
            .map(|(e, d)| FragmentTrack {
                samples: e,
                data: d,
            })
            .collect();
        self.sequence += 1;
        let (bytes, data_start) = match self.container {
            Container::Mp4 => fmp4::fragment(self.sequence, &frag)?,
            Container::WebM => {
                let info = |id: u32| {
                    [&self.video, &self.audio]
                        .into_iter()
                        .flatten()
                        .map(|t| &t.info)
                        .find(|i| i.id == id)
                };
                let with: Vec<_> = frag
                    .into_iter()
                    .filter_map(|f| Some((info(f.samples.first()?.track)?, f)))
                    .collect();
                // The whole cluster is what the final file copies.
                (webm::cluster(&with)?, 0)
            }
        };
        let payload = (bytes.len() - data_start) as u64;
        for e in entries.iter().flatten() {
            let clock = [&self.video, &self.audio]
                .into_iter()
                .flatten()
                .find(|t| t.info.id == e.track)
                .map_or(crate::tracks::AUDIO_CLOCK, |t| t.info.clock());
            let end = (e.dts + e.duration as u64) * 1000 / clock as u64;
            self.flushed_ms = self.flushed_ms.max(end);
        }
        if !self.segments {
            self.payloads
                .push((self.written + data_start as u64, payload));
            self.index.extend(entries.iter().flatten().copied());
        }
        Ok(bytes)
    }
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
