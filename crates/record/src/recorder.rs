//! A stream's recording as a state machine: frames in, bytes to append to
//! the `.part` file out (fragmented MP4), and at the end the plan of the
//! fast-start file. No IO and no clock of its own: frames carry their times.

use std::time::{Duration, Instant};

use tern_media::codec_info::{h264_sps_size, vp8_size};
use tern_media::frames::{Frame, FrameCodec};

use crate::fmp4::{self, FragmentTrack, Mp4Error};
use crate::h264;
use crate::tracks::{SampleEntry, TrackCodec, TrackInfo};

/// A fragment is written at each keyframe and at least this often, which
/// bounds what a crash can lose.
pub const FRAGMENT_EVERY: Duration = Duration::from_secs(1);
/// Audio with no video this long after its first frame is recorded alone.
pub const AUDIO_ONLY_AFTER: Duration = Duration::from_secs(2);
/// Video with no audio this long after its first keyframe is recorded alone.
pub const AUDIO_WAIT: Duration = Duration::from_millis(500);
/// Frames kept at most while waiting (a few seconds of audio and video).
const MAX_WAITING: usize = 1000;

/// A track while the recording runs.
struct Track {
    info: TrackInfo,
    /// First frame's ticks, and its decode time in the file (when it
    /// arrived after the recording's first frame: A/V start together).
    first_ticks: Option<u64>,
    offset: u64,
    last_dts: Option<u64>,
    /// When the frame of `last_dts` arrived.
    last_arrived: Option<Instant>,
    last_duration: u32,
    /// The newest sample: its duration is known when the next one comes.
    held: Option<Held>,
    done: Vec<(SampleEntry, Vec<u8>)>,
}

struct Held {
    dts: u64,
    sync: bool,
    data: Vec<u8>,
}

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
}

pub struct Recorder {
    /// Besides each keyframe, a fragment at least this often...
    fragment_every: Duration,
    /// ...unless these are HLS segments of a stream with video: they start
    /// at keyframes only, and no index is kept (there is no fast-start file).
    segments: bool,
    /// The init segment, once the tracks are known.
    init: Option<Vec<u8>>,
    /// Where the media written so far ends, in ms (the end of each
    /// fragment).
    flushed_ms: u64,
    started: Option<Instant>,
    first_audio: Option<Instant>,
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
            fragment_every: FRAGMENT_EVERY,
            segments: false,
            init: None,
            flushed_ms: 0,
            started: None,
            first_audio: None,
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

    /// HLS segments: a fragment at each video keyframe only (audio alone:
    /// every `every`).
    pub fn for_segments(every: Duration) -> Self {
        Recorder {
            fragment_every: every,
            segments: true,
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
        let data = match (&track.info.codec, frame.codec) {
            (TrackCodec::H264 { .. }, FrameCodec::H264) => h264::to_sample(&frame.data).data,
            (TrackCodec::Vp8, FrameCodec::Vp8) | (TrackCodec::Opus, FrameCodec::Opus) => {
                frame.data.to_vec()
            }
            _ => return Ok(Err(Skipped::NoTrack)),
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
        let timed = !(self.segments && self.video.is_some());
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
                    0 if track.info.is_video() => 3000,
                    0 => 960,
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
        let head = crate::progressive::head(&tracks, &self.index)?;
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
            self.first_audio.get_or_insert(frame.arrived);
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
        if self.first_audio.is_some() {
            self.audio = Some(new_track(2, TrackCodec::Opus, (0, 0)));
        }
        self.started = Some(first);
        let infos: Vec<TrackInfo> = [&self.video, &self.audio]
            .into_iter()
            .flatten()
            .map(|t| t.info.clone())
            .collect();
        let init = fmp4::init_segment(&infos);
        if let Ok(bytes) = &init {
            self.init = Some(bytes.clone());
        }
        Some(init)
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
        let (bytes, data_start) = fmp4::fragment(self.sequence, &frag)?;
        let payload = (bytes.len() - data_start) as u64;
        for e in entries.iter().flatten() {
            let clock = if e.track == 1 && self.video.is_some() {
                crate::tracks::VIDEO_CLOCK
            } else {
                crate::tracks::AUDIO_CLOCK
            };
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

/// The sample entry and size a video keyframe gives; none for an H.264
/// keyframe without its parameter sets.
fn video_config(frame: &Frame) -> Option<(TrackCodec, (u32, u32))> {
    match frame.codec {
        FrameCodec::H264 => {
            let s = h264::to_sample(&frame.data);
            let (sps, pps) = (s.sps?, s.pps?);
            let size = h264_sps_size(&sps).unwrap_or((0, 0));
            Some((TrackCodec::H264 { sps, pps }, size))
        }
        FrameCodec::Vp8 => Some((TrackCodec::Vp8, vp8_size(&frame.data).unwrap_or((0, 0)))),
        FrameCodec::Opus => None,
    }
}

fn new_track(id: u32, codec: TrackCodec, size: (u32, u32)) -> Track {
    Track {
        info: TrackInfo {
            id,
            codec,
            width: size.0,
            height: size.1,
        },
        first_ticks: None,
        offset: 0,
        last_dts: None,
        last_arrived: None,
        last_duration: 0,
        held: None,
        done: Vec::new(),
    }
}

/// A frame's decode time: its ticks from the track's first frame, never
/// going back (a reordered or repeated time gets the next tick). A track's
/// first frame is placed by its arrival against `reference` (an arrival and
/// its time in the file, µs); none when that falls before the file's start.
fn track_dts(track: &mut Track, frame: &Frame, reference: (Instant, u64)) -> Option<u64> {
    let first = match track.first_ticks {
        Some(t) => t,
        None => {
            let (at, us) = reference;
            let us = if frame.arrived >= at {
                us + frame.arrived.duration_since(at).as_micros() as u64
            } else {
                us.checked_sub(at.duration_since(frame.arrived).as_micros() as u64)?
            };
            track.offset = us * track.info.clock() as u64 / 1_000_000;
            track.first_ticks = Some(frame.ticks);
            frame.ticks
        }
    };
    let dts = track.offset + frame.ticks.saturating_sub(first);
    Some(match track.last_dts {
        Some(last) if dts <= last => last + 1,
        _ => dts,
    })
}

fn complete(track: &mut Track, h: Held, duration: u32) {
    track.done.push((
        SampleEntry {
            track: track.info.id,
            dts: h.dts,
            duration: duration.max(1),
            size: h.data.len() as u32,
            sync: h.sync,
        },
        h.data,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn frame(codec: FrameCodec, ticks: u64, arrived: Instant, data: &[u8]) -> Frame {
        Frame {
            codec,
            ticks,
            keyframe: codec.is_video(),
            arrived,
            data: Arc::from(data),
        }
    }

    /// RTMP audio leaves its transcoder ~40 ms after the video of the same
    /// instant: the first Opus frames pushed after the first keyframe are
    /// older than it. They are dropped rather than placed at 0, which would
    /// make the whole audio track play late.
    #[test]
    fn audio_from_before_the_first_keyframe_is_dropped_not_moved_late() {
        let t0 = Instant::now();
        let idr: &[u8] = &[
            0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 0,
            1, 0x65, 0x88, 0x84, 0x00,
        ];
        let opus: &[u8] = &[0xfc, 0xff, 0xfe];
        let ms = Duration::from_millis;
        let mut rec = Recorder::new();
        // Video at media time 23 ms; audio at 0, 20, 40 ms, each on the
        // same clock (arrival = anchor + media time).
        let key = frame(FrameCodec::H264, 23 * 90, t0 + ms(23), idr);
        assert!(matches!(rec.push(&key), Ok(Err(Skipped::Waiting))));
        let a0 = frame(FrameCodec::Opus, 0, t0, opus);
        assert!(rec.push(&a0).unwrap().is_ok(), "the recording starts");
        let a1 = frame(FrameCodec::Opus, 960, t0 + ms(20), opus);
        assert!(matches!(rec.push(&a1), Ok(Err(Skipped::BeforeStart))));
        let a2 = frame(FrameCodec::Opus, 1920, t0 + ms(40), opus);
        assert!(rec.push(&a2).unwrap().is_ok());
        let audio = rec.audio.as_ref().unwrap();
        // 40 ms of audio is 17 ms after the video's 23 ms.
        assert_eq!(audio.last_dts, Some(17 * 48));
        assert_eq!(rec.video.as_ref().unwrap().last_dts, Some(0));
    }

    /// The encoder's clock moved back 40 ms after the first keyframe was
    /// stamped (its first frames came in a burst): the audio is placed by the
    /// video frame stamped just before it, on the settled clock.
    #[test]
    fn a_new_track_is_placed_by_the_other_tracks_newest_frame() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut rec = Recorder::new();
        let idr: &[u8] = &[
            0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 0,
            1, 0x65, 0x88, 0x84, 0x00,
        ];
        let p: &[u8] = &[0, 0, 0, 1, 0x41, 0x9a, 0x02];
        // Keyframe at 0 ms stamped t0 + 40; the next frames on the settled
        // clock (t0 + media time).
        let _ = rec.push(&frame(FrameCodec::H264, 0, t0 + ms(40), idr));
        let mut f = frame(FrameCodec::H264, 33 * 90, t0 + ms(33), p);
        f.keyframe = false;
        let _ = rec.push(&f);
        let a = frame(FrameCodec::Opus, 50 * 48, t0 + ms(50), &[0xfc, 0xff, 0xfe]);
        assert!(rec.push(&a).unwrap().is_ok());
        assert_eq!(rec.audio.as_ref().unwrap().last_dts, Some(50 * 48));
    }
}
