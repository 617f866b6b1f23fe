//! 48 kHz PCM into 20 ms Opus packets (libopus, through opusic-c).

use opusic_c::{Application, Bitrate, Channels, Encoder, SampleRate};

use super::error::AudioError;

/// Frames in one 20 ms packet at 48 kHz: WebRTC's usual packet length.
pub const PACKET_FRAMES: usize = 960;

/// Bits per second: enough for music (browsers' own stereo default is
/// lower, but an RTMP source is usually music or a mixed programme).
const STEREO_BITRATE: u32 = 64_000;
const MONO_BITRATE: u32 = 32_000;

/// libopus's largest 20 ms packet is 1275 bytes.
const MAX_PACKET: usize = 1275;

pub struct Encode {
    inner: Encoder,
    channels: usize,
    /// Interleaved samples not yet making up a whole packet.
    fifo: Vec<f32>,
    /// Frames still to be dropped from the input before any is kept.
    skip: usize,
}

impl Encode {
    pub fn new(channels: usize) -> Result<Encode, AudioError> {
        let (layout, bitrate) = if channels == 1 {
            (Channels::Mono, MONO_BITRATE)
        } else {
            (Channels::Stereo, STEREO_BITRATE)
        };
        let err = |e: opusic_c::ErrorCode| AudioError::Setup(e.message().to_owned());
        let mut inner =
            Encoder::new(layout, SampleRate::Hz48000, Application::Audio).map_err(err)?;
        inner.set_bitrate(Bitrate::Value(bitrate)).map_err(err)?;
        Ok(Encode {
            inner,
            channels,
            fifo: Vec::new(),
            skip: 0,
        })
    }

    /// Frames by which a decoder's output lags this encoder's input (the
    /// Ogg Opus "pre-skip"): 312 for this application at 48 kHz.
    pub fn lookahead(&mut self) -> Result<usize, AudioError> {
        self.inner
            .get_look_ahead()
            .map(|n| n as usize)
            .map_err(|e| AudioError::Setup(e.message().to_owned()))
    }

    /// Starts afresh: drops buffered input and the encoder's state, and
    /// drops the next `skip` frames given to `push`.
    pub fn restart(&mut self, skip: usize) -> Result<(), AudioError> {
        self.fifo.clear();
        self.skip = skip;
        self.inner
            .reset()
            .map_err(|e| AudioError::Encode(e.message().to_owned()))
    }

    /// Takes interleaved 48 kHz samples.
    pub fn push(&mut self, samples: &[f32]) {
        let dropped = (self.skip * self.channels).min(samples.len());
        self.skip -= dropped / self.channels;
        self.fifo.extend_from_slice(&samples[dropped..]);
    }

    /// The next 20 ms packet, if a whole one's samples are in.
    pub fn next_packet(&mut self) -> Option<Result<Vec<u8>, AudioError>> {
        let len = PACKET_FRAMES * self.channels;
        if self.fifo.len() < len {
            return None;
        }
        let mut data = Vec::with_capacity(MAX_PACKET);
        let result = self
            .inner
            .encode_float_to_vec(&self.fifo[..len], &mut data)
            .map(|_| data)
            .map_err(|e| AudioError::Encode(e.message().to_owned()));
        // A frame that failed is dropped too: trying it again would fail
        // again, and its time is accounted for by the caller either way.
        self.fifo.drain(..len);
        Some(result)
    }
}
