//! An SRT publisher's MPEG-TS into the frames of a Tern stream: H.264 passed
//! through (its parameter sets kept and put before keyframes that lack
//! them), AAC (ADTS) passed through for recordings and HLS and transcoded to
//! Opus for WebRTC players, all timed from the PES clock.

pub mod adts;
pub mod demux;

use std::time::Instant;

use tern_media::frames::{Frame, FrameCodec};

use crate::aac::{AacFrames, AacTrack};
use crate::audio::{AacToOpus, AudioError};
use crate::clock::MediaClock;
use demux::{Demux, Kind, Pes};

const START_CODE: [u8; 4] = [0, 0, 0, 1];
/// PTS wrap: 33 bits.
const PTS_WRAP: i64 = 1 << 33;

/// Why some of the stream was not passed on.
#[derive(Debug)]
pub enum TsError {
    /// A video PES packet had no time stamp.
    NoTime,
    /// An audio PES packet's ADTS frames were broken.
    Adts(adts::AdtsError),
    /// The transcoder refused the AAC config or a unit.
    Transcode(AudioError),
}

impl std::fmt::Display for TsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TsError::NoTime => write!(f, "a PES packet without a time stamp"),
            TsError::Adts(e) => write!(f, "{e}"),
            TsError::Transcode(e) => write!(f, "AAC to Opus: {e}"),
        }
    }
}

impl std::error::Error for TsError {}

/// One SRT publisher's transport stream into frames.
#[derive(Default)]
pub struct TsToFrames {
    demux: Demux,
    audio: Option<([u8; 2], AacToOpus)>,
    aac: AacFrames,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
    /// The first time stamp seen: media time 0.
    base: Option<u64>,
    clock: MediaClock,
    /// A frame whose decode time differs from its presentation time came.
    pub b_frames: bool,
}

/// The NAL units of an Annex B access unit.
fn nal_units(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut out = Vec::with_capacity(starts.len());
    for (n, &s) in starts.iter().enumerate() {
        let mut end = starts.get(n + 1).map_or(data.len(), |&next| next - 3);
        // A 4-byte start code leaves its leading zero on the unit before.
        while end > s && data[end - 1] == 0 {
            end -= 1;
        }
        if end > s {
            out.push(&data[s..end]);
        }
    }
    out
}

impl TsToFrames {
    /// Stream types of the program not taken (HEVC is 0x24, MP3 0x03/0x04).
    pub fn ignored(&self) -> &[u8] {
        self.demux.ignored()
    }

    /// Media time (90 kHz, since the first time stamp) of a PES time stamp.
    fn since_base(&mut self, t: u64) -> u64 {
        let base = *self.base.get_or_insert(t);
        let mut d = (t as i64 - base as i64).rem_euclid(PTS_WRAP);
        if d >= PTS_WRAP / 2 {
            d -= PTS_WRAP; // before the base: a track that started a little earlier
        }
        d.max(0) as u64
    }

    /// Transport stream bytes received at `now`: the frames they complete, and
    /// what was skipped.
    pub fn push(&mut self, now: Instant, data: &[u8]) -> (Vec<Frame>, Vec<TsError>) {
        let mut frames = Vec::new();
        let mut errors = Vec::new();
        for pes in self.demux.push(data) {
            let done = match pes.kind {
                Kind::H264 => self.video(now, pes).map(|f| frames.extend(f)),
                Kind::Adts => self.audio(now, pes, &mut frames),
            };
            if let Err(e) = done {
                errors.push(e);
            }
        }
        (frames, errors)
    }

    fn video(&mut self, now: Instant, pes: Pes) -> Result<Option<Frame>, TsError> {
        let pts = pes.pts.ok_or(TsError::NoTime)?;
        let dts = pes.dts.unwrap_or(pts);
        if dts != pts {
            self.b_frames = true;
        }
        let ticks = self.since_base(pts);
        let decode = self.since_base(dts);
        let units = nal_units(&pes.data);
        let kind = |n: &[u8]| n[0] & 0x1f;
        let mut idr = false;
        let mut has_sps = false;
        for n in &units {
            match kind(n) {
                5 => idr = true,
                7 => {
                    has_sps = true;
                    self.sps = Some(n.to_vec());
                }
                8 => self.pps = Some(n.to_vec()),
                _ => {}
            }
        }
        if units.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(pes.data.len() + 64);
        if idr && !has_sps {
            for ps in [&self.sps, &self.pps].into_iter().flatten() {
                out.extend_from_slice(&START_CODE);
                out.extend_from_slice(ps);
            }
        }
        // Access unit delimiters mean nothing to a WebRTC player.
        for n in units.into_iter().filter(|n| kind(n) != 9) {
            out.extend_from_slice(&START_CODE);
            out.extend_from_slice(n);
        }
        Ok(Some(Frame {
            codec: FrameCodec::H264,
            ticks,
            keyframe: idr,
            arrived: self.clock.arrival(now, decode / 90),
            data: out.into(),
        }))
    }

    fn audio(&mut self, now: Instant, pes: Pes, frames: &mut Vec<Frame>) -> Result<(), TsError> {
        let pts = pes.pts.ok_or(TsError::NoTime)?;
        let start = self.since_base(pts);
        let (units, broken) = adts::frames(&pes.data);
        for (i, f) in units.iter().enumerate() {
            let changed = self.audio.as_ref().is_none_or(|(c, _)| *c != f.config);
            if changed {
                let t = AacToOpus::new(&f.config).map_err(TsError::Transcode)?;
                self.audio = Some((f.config, t));
            }
            let Some(rate) = adts::sample_rate(f.sample_rate_index) else {
                continue;
            };
            let at = start + (i as u64) * 1024 * 90_000 / u64::from(rate);
            let h = f.header;
            let track = AacTrack {
                object_type: h.object_type,
                rate_index: h.rate_index,
                channels: h.channels,
            };
            frames.extend(self.aac.frame(&mut self.clock, now, track, f.unit, at));
            let Some((_, transcoder)) = self.audio.as_mut() else {
                continue;
            };
            match transcoder.push(f.unit, at / 90) {
                Ok(packets) => {
                    for p in packets {
                        frames.push(Frame {
                            codec: FrameCodec::Opus,
                            ticks: p.ticks,
                            keyframe: false,
                            arrived: self.clock.arrival(now, p.ticks / 48),
                            data: p.data.into(),
                        });
                    }
                }
                Err(e) => return Err(TsError::Transcode(e)),
            }
        }
        match broken {
            Some(e) => Err(TsError::Adts(e)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_annex_b_at_three_and_four_byte_start_codes() {
        let au = [
            0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2, 0, 0, 0, 1, 0x65, 3, 3,
        ];
        assert_eq!(
            nal_units(&au),
            vec![&[0x67, 1][..], &[0x68, 2][..], &[0x65, 3, 3][..]]
        );
        assert!(nal_units(&[1, 2, 3]).is_empty());
    }
}
