//! AAC-LC access units into planar f32 PCM at the core rate (symphonia).

use std::panic::{self, AssertUnwindSafe};

use symphonia_codec_aac::AacDecoder;
use symphonia_core::audio::layouts::{CHANNEL_LAYOUT_MONO, CHANNEL_LAYOUT_STEREO};
use symphonia_core::codecs::audio::well_known::CODEC_ID_AAC;
use symphonia_core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia_core::packet::PacketRef;
use symphonia_core::units::{Duration, Timestamp};

use super::config::AacConfig;
use super::error::AudioError;

/// Frames in one AAC-LC access unit (960-sample configs are refused).
pub const UNIT_FRAMES: usize = 1024;

pub struct Decoder {
    inner: AacDecoder,
    /// To make a new `inner` after a panic.
    params: AudioCodecParameters,
    channels: usize,
    /// The last unit's samples, one vector per channel.
    planes: Vec<Vec<f32>>,
}

impl Decoder {
    pub fn new(config: &AacConfig) -> Result<Decoder, AudioError> {
        let layout = if config.channels == 1 {
            CHANNEL_LAYOUT_MONO
        } else {
            CHANNEL_LAYOUT_STEREO
        };
        // No extra data: the decoder then takes AAC-LC at this rate and
        // layout, which is all `config` lets through. Its own config parser
        // never sees peer bytes.
        let mut params = AudioCodecParameters::new();
        params
            .for_codec(CODEC_ID_AAC)
            .with_sample_rate(config.sample_rate)
            .with_channels(layout);
        let inner = make(&params)?;
        Ok(Decoder {
            inner,
            params,
            channels: usize::from(config.channels),
            planes: Vec::new(),
        })
    }

    /// Decodes one raw access unit into `UNIT_FRAMES` frames per channel.
    pub fn decode(&mut self, unit: &[u8]) -> Result<&[Vec<f32>], AudioError> {
        if unit.is_empty() {
            return Err(AudioError::EmptyUnit);
        }
        let packet = PacketRef::new(0, Timestamp::ZERO, Duration::from(UNIT_FRAMES as u64), unit);
        // symphonia forbids unsafe code, so its worst case on hostile bytes
        // is a panic; none is known (fuzzed), but one must cost this unit,
        // not the publisher's session.
        let (inner, planes) = (&mut self.inner, &mut self.planes);
        let decoded = panic::catch_unwind(AssertUnwindSafe(|| {
            inner
                .decode_ref(&packet)
                .map(|buf| buf.copy_to_vecs_planar::<f32>(planes))
        }));
        match decoded {
            // Always so for AAC-LC; checked since the resampler's buffers
            // would stay out of step for good otherwise.
            Ok(Ok(())) if self.planes.len() == self.channels && same_len(&self.planes) => {
                Ok(&self.planes)
            }
            Ok(Ok(())) => Err(AudioError::Decode("unexpected channel layout".into())),
            Ok(Err(e)) => Err(AudioError::Decode(e.to_string())),
            Err(_) => {
                // Its state is unknown after a panic: a new one.
                self.inner = make(&self.params).map_err(|e| AudioError::Decode(e.to_string()))?;
                Err(AudioError::Decode("the decoder panicked".into()))
            }
        }
    }

    /// Forgets the previous unit's overlap, after a discontinuity.
    pub fn reset(&mut self) {
        self.inner.reset();
    }
}

fn make(params: &AudioCodecParameters) -> Result<AacDecoder, AudioError> {
    AacDecoder::try_new(params, &AudioDecoderOptions::default())
        .map_err(|e| AudioError::Setup(e.to_string()))
}

fn same_len(planes: &[Vec<f32>]) -> bool {
    planes.windows(2).all(|w| w[0].len() == w[1].len())
}
