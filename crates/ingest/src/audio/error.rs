//! Why the transcoder could not be made (`AacToOpus::new`: the first seven)
//! or why one access unit gave no audio (`AacToOpus::push`: the last four).
//! All come from peer input or from a library refusing it; none leaves a
//! transcoder unusable.

use std::fmt;

/// Why an AudioSpecificConfig or an access unit was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioError {
    /// The config ends before the fields it declares (a valid one has 2 bytes
    /// or more): the AAC sequence header was cut, or is not one.
    ConfigTruncated,
    /// An audio object type other than AAC-LC (2), or HE-AAC v1/v2 (5/29)
    /// over anything but an AAC-LC core: set the encoder to AAC-LC.
    ObjectType(u8),
    /// Sampling-frequency index 13 or 14, which the standard reserves: the
    /// config is corrupt.
    ReservedRateIndex(u8),
    /// An explicit sample rate (Hz) outside AAC's standard set of 7350 to
    /// 96000 Hz: set the encoder to 44.1 or 48 kHz.
    SampleRate(u32),
    /// Channel configuration other than 1 (mono) or 2 (stereo): 0 (a layout
    /// given by a program config element), 3 to 7 (surround), or a reserved
    /// value. Set the encoder to stereo or mono.
    Channels(u8),
    /// 960-sample frames (the frameLengthFlag); the decoder takes only the
    /// usual 1024. RTMP encoders do not send these unless told to.
    FrameLength960,
    /// The decoder, the resampler or libopus could not be set up for a config
    /// this module accepted (their message): a bug or a broken libopus
    /// install, not the peer.
    Setup(String),
    /// A zero-length access unit: the FLV tag carried no AAC payload. Skip it.
    EmptyUnit,
    /// The AAC decoder could not decode the unit (its message): corrupt or
    /// cut data, or a tool the decoder lacks (coupling channels, a program
    /// config element). Skip it; the time it covered is filled with silence
    /// once the next unit's time shows the gap, so sync holds.
    Decode(String),
    /// The resampler refused a chunk (its message): a bug, since the buffers
    /// are sized from the resampler's own figures. The unit's audio is lost.
    Resample(String),
    /// libopus failed to encode a 20 ms frame (its message): out of memory
    /// or a bug, not the peer. That frame is lost; packets finished before
    /// it in this call come out of the next call.
    Encode(String),
}

impl fmt::Display for AudioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ConfigTruncated => write!(f, "AAC config shorter than its fields"),
            Self::ObjectType(n) => write!(
                f,
                "AAC object type {n}; only AAC-LC (2) and HE-AAC over AAC-LC are taken"
            ),
            Self::ReservedRateIndex(n) => write!(f, "AAC config has reserved rate index {n}"),
            Self::SampleRate(hz) => write!(f, "AAC sample rate {hz} Hz is not a standard one"),
            Self::Channels(n) => write!(
                f,
                "AAC channel configuration {n}; only mono (1) and stereo (2) are taken"
            ),
            Self::FrameLength960 => write!(f, "AAC with 960-sample frames is not taken"),
            Self::Setup(e) => write!(f, "transcoder setup failed: {e}"),
            Self::EmptyUnit => write!(f, "empty AAC access unit"),
            Self::Decode(e) => write!(f, "AAC access unit did not decode: {e}"),
            Self::Resample(e) => write!(f, "resampling failed: {e}"),
            Self::Encode(e) => write!(f, "Opus encoding failed: {e}"),
        }
    }
}

impl std::error::Error for AudioError {}
