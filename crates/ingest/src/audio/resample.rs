//! PCM at the source rate into 48 kHz, Opus's rate: rubato's FFT resampler,
//! whose ratio is fixed and exact (44.1 kHz → 48 kHz is 147 frames in, 160
//! out), so frames in and out can be counted against each other for timing.
//! 48 kHz sources pass through untouched.

use audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use super::error::AudioError;

pub const OPUS_RATE: u32 = 48_000;

/// Wanted input frames per FFT block; rubato rounds it up to a whole number
/// of the ratio's smallest blocks (294 at 44.1 kHz). Output lags input by
/// half an output block (`delay`): 3 to 16 ms over 8..96 kHz, while a longer
/// block would only sharpen the anti-aliasing cutoff, which Opus's own
/// 20 kHz band limit hides.
const BLOCK_HINT: usize = 256;

pub struct Resample {
    /// `None` when the source is at 48 kHz already.
    fft: Option<Fft<f32>>,
    channels: usize,
    /// Input frames not yet making up a whole block, one vector per channel.
    pending: Vec<Vec<f32>>,
    /// One block's output, one vector per channel.
    block: Vec<Vec<f32>>,
}

impl Resample {
    pub fn new(rate: u32, channels: usize) -> Result<Resample, AudioError> {
        let fft = if rate == OPUS_RATE {
            None
        } else {
            let fft = Fft::new(
                rate as usize,
                OPUS_RATE as usize,
                BLOCK_HINT,
                channels,
                FixedSync::Both,
            )
            .map_err(|e| AudioError::Setup(e.to_string()))?;
            Some(fft)
        };
        let block_len = fft.as_ref().map_or(0, |f| f.output_frames_max());
        Ok(Resample {
            fft,
            channels,
            pending: vec![Vec::new(); channels],
            block: vec![vec![0.0; block_len]; channels],
        })
    }

    /// Output frames by which the output lags the input.
    pub fn delay(&self) -> usize {
        self.fft.as_ref().map_or(0, |f| f.output_delay())
    }

    /// Takes `planes` (one slice per channel, of equal length) and appends
    /// the 48 kHz frames now complete to `out`, interleaved.
    pub fn push<P: AsRef<[f32]>>(
        &mut self,
        planes: &[P],
        out: &mut Vec<f32>,
    ) -> Result<(), AudioError> {
        let Some(fft) = self.fft.as_mut() else {
            let frames = planes.iter().map(|p| p.as_ref().len()).min().unwrap_or(0);
            interleave(planes, frames, out);
            return Ok(());
        };
        for (pending, plane) in self.pending.iter_mut().zip(planes) {
            pending.extend_from_slice(plane.as_ref());
        }
        let available = self.pending.first().map_or(0, Vec::len);
        let (block_in, block_out) = (fft.input_frames_next(), fft.output_frames_next());
        let mut used = 0;
        while available - used >= block_in {
            let input = SequentialSliceOfVecs::new(&self.pending, self.channels, available)
                .map_err(|e| AudioError::Resample(e.to_string()))?;
            let mut output =
                SequentialSliceOfVecs::new_mut(&mut self.block, self.channels, block_out)
                    .map_err(|e| AudioError::Resample(e.to_string()))?;
            let indexing = Indexing::new().input_offset(used);
            fft.process_into_buffer(&input, &mut output, Some(&indexing))
                .map_err(|e| AudioError::Resample(e.to_string()))?;
            interleave(&self.block, block_out, out);
            used += block_in;
        }
        for pending in &mut self.pending {
            pending.drain(..used);
        }
        Ok(())
    }

    /// As `push`, with `frames` frames of silence.
    pub fn push_silence(&mut self, frames: usize, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let silence = vec![vec![0.0; frames]; self.channels];
        self.push(&silence, out)
    }

    /// Drops buffered input and the filter's memory, after a discontinuity.
    pub fn reset(&mut self) {
        if let Some(fft) = self.fft.as_mut() {
            fft.reset();
        }
        for pending in &mut self.pending {
            pending.clear();
        }
    }
}

/// Appends the first `frames` frames of `planes` to `out`, interleaved.
fn interleave<P: AsRef<[f32]>>(planes: &[P], frames: usize, out: &mut Vec<f32>) {
    out.reserve(frames * planes.len());
    for i in 0..frames {
        out.extend(planes.iter().map(|p| p.as_ref()[i]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_exact_and_the_delay_is_where_it_is_said() {
        for rate in [8000, 11025, 22050, 44100, 48000, 88200, 96000] {
            let mut r = Resample::new(rate, 1).unwrap();
            // An impulse at input frame 1000, fed in units of 1024.
            let mut input = vec![0.0f32; 8192];
            input[1000] = 1.0;
            let mut out = Vec::new();
            for unit in input.chunks(1024) {
                r.push(&[unit.to_vec()], &mut out).unwrap();
            }
            // Whole blocks only: at most one block short of the exact count.
            let exact = 8192 * 48_000 / rate as usize;
            assert!(
                out.len() <= exact && exact - out.len() < 1536,
                "{rate}: {}",
                out.len()
            );
            let peak = (0..out.len())
                .max_by(|&a, &b| out[a].abs().total_cmp(&out[b].abs()))
                .unwrap();
            let expected = 1000 * 48_000 / rate as usize + r.delay();
            assert!(
                peak.abs_diff(expected) <= 1,
                "{rate}: peak {peak}, expected {expected}"
            );
        }
    }
}
