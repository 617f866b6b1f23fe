//! A recording's track: its timing (where each frame lands in the file) and
//! the samples it has ready for the next fragment.

use std::time::Instant;

use tern_media::codec_info::{h264_sps_size, vp8_size};
use tern_media::frames::{adts, Frame, FrameCodec};

use crate::h264;
use crate::tracks::{SampleEntry, TrackCodec, TrackInfo};

/// A track while the recording runs.
pub(crate) struct Track {
    pub(crate) info: TrackInfo,
    /// First frame's ticks, and its decode time in the file (when it
    /// arrived after the recording's first frame: A/V start together).
    pub(crate) first_ticks: Option<u64>,
    pub(crate) offset: u64,
    pub(crate) last_dts: Option<u64>,
    /// When the frame of `last_dts` arrived.
    pub(crate) last_arrived: Option<Instant>,
    pub(crate) last_duration: u32,
    /// The newest sample: its duration is known when the next one comes.
    pub(crate) held: Option<Held>,
    pub(crate) done: Vec<(SampleEntry, Vec<u8>)>,
}

pub(crate) struct Held {
    pub(crate) dts: u64,
    pub(crate) sync: bool,
    pub(crate) data: Vec<u8>,
}

/// The sample entry and size a video keyframe gives; none for an H.264
/// keyframe without its parameter sets.
pub(crate) fn video_config(frame: &Frame) -> Option<(TrackCodec, (u32, u32))> {
    match frame.codec {
        FrameCodec::H264 => {
            let s = h264::to_sample(&frame.data);
            let (sps, pps) = (s.sps?, s.pps?);
            let size = h264_sps_size(&sps).unwrap_or((0, 0));
            Some((TrackCodec::H264 { sps, pps }, size))
        }
        FrameCodec::Vp8 => Some((TrackCodec::Vp8, vp8_size(&frame.data).unwrap_or((0, 0)))),
        FrameCodec::Opus | FrameCodec::Aac => None,
    }
}

/// The sample entry an audio frame gives; none for AAC whose ADTS header is
/// broken or says a rate ADTS has none for.
pub(crate) fn audio_config(frame: &Frame) -> Option<TrackCodec> {
    match frame.codec {
        FrameCodec::Opus => Some(TrackCodec::Opus),
        FrameCodec::Aac => {
            let h = adts::read(&frame.data).ok()?;
            Some(TrackCodec::Aac {
                config: h.config(),
                rate: h.sample_rate()?,
                channels: h.channels,
            })
        }
        FrameCodec::H264 | FrameCodec::Vp8 => None,
    }
}

/// A frame's sample data for a track of `codec`; none when the frame is not
/// of that track (another codec, AAC of another config).
pub(crate) fn sample_data(codec: &TrackCodec, frame: &Frame) -> Option<Vec<u8>> {
    match (codec, frame.codec) {
        (TrackCodec::H264 { .. }, FrameCodec::H264) => Some(h264::to_sample(&frame.data).data),
        (TrackCodec::Vp8, FrameCodec::Vp8) | (TrackCodec::Opus, FrameCodec::Opus) => {
            Some(frame.data.to_vec())
        }
        (TrackCodec::Aac { config, .. }, FrameCodec::Aac) => {
            let (h, unit) = adts::unit(&frame.data).ok()?;
            (h.config() == *config).then(|| unit.to_vec())
        }
        _ => None,
    }
}

pub(crate) fn new_track(id: u32, codec: TrackCodec, size: (u32, u32)) -> Track {
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
pub(crate) fn track_dts(
    track: &mut Track,
    frame: &Frame,
    reference: (Instant, u64),
) -> Option<u64> {
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

pub(crate) fn complete(track: &mut Track, h: Held, duration: u32) {
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
