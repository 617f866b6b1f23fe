//! The AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) that an FLV AAC
//! sequence header carries. It is checked here, field by field, so that the
//! decoder only ever sees the one shape it takes: AAC-LC, 1024-sample frames,
//! mono or stereo, at a standard rate.

use symphonia_core::io::{BitReaderLtr, ReadBitsLtr};

use super::error::AudioError;

/// The sampling-frequency table; indices 13 and 14 are reserved.
const RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

const AOT_LC: u8 = 2;
/// HE-AAC v1: SBR over an AAC-LC core.
const AOT_SBR: u8 = 5;
/// HE-AAC v2: SBR and parametric stereo over a mono AAC-LC core.
const AOT_PS: u8 = 29;

/// What the transcoder needs from a valid config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AacConfig {
    /// Rate of the AAC-LC core, in Hz: one of the standard set.
    pub sample_rate: u32,
    /// 1 or 2.
    pub channels: u8,
    /// HE-AAC (v1 or v2) signalled explicitly. Only its AAC-LC core is
    /// decoded: the decoder has no SBR or PS, so the sound is band-limited
    /// to the core's half rate, and v2 comes out mono.
    pub he_aac: bool,
}

/// Checks an AudioSpecificConfig; any bytes are safe to pass.
pub fn parse(asc: &[u8]) -> Result<AacConfig, AudioError> {
    let mut bits = BitReaderLtr::new(asc);
    let mut object_type = read_object_type(&mut bits)?;
    let sample_rate = read_rate(&mut bits)?;
    let channels = read(&mut bits, 4)? as u8;

    let he_aac = object_type == AOT_SBR || object_type == AOT_PS;
    if he_aac {
        // The extension's (output) rate: the core's rate above is the one
        // the decoder runs at, so this one is read past, not used.
        read_rate(&mut bits)?;
        object_type = read_object_type(&mut bits)?;
    }
    if object_type != AOT_LC {
        return Err(AudioError::ObjectType(object_type));
    }
    if !RATES.contains(&sample_rate) {
        return Err(AudioError::SampleRate(sample_rate));
    }
    if channels != 1 && channels != 2 {
        return Err(AudioError::Channels(channels));
    }

    // GASpecificConfig: frameLengthFlag, then dependsOnCoreCoder and
    // extensionFlag, which change nothing for AAC-LC.
    if read(&mut bits, 1)? == 1 {
        return Err(AudioError::FrameLength960);
    }
    Ok(AacConfig {
        sample_rate,
        channels,
        he_aac,
    })
}

fn read(bits: &mut BitReaderLtr<'_>, width: u32) -> Result<u32, AudioError> {
    bits.read_bits_leq32(width)
        .map_err(|_| AudioError::ConfigTruncated)
}

fn read_object_type(bits: &mut BitReaderLtr<'_>) -> Result<u8, AudioError> {
    let first = read(bits, 5)?;
    let object_type = if first == 31 {
        32 + read(bits, 6)?
    } else {
        first
    };
    // At most 32 + 63.
    Ok(object_type as u8)
}

fn read_rate(bits: &mut BitReaderLtr<'_>) -> Result<u32, AudioError> {
    match read(bits, 4)? {
        15 => read(bits, 24),
        index @ (13 | 14) => Err(AudioError::ReservedRateIndex(index as u8)),
        // Indices 0..=12 are the table's.
        index => Ok(RATES[index as usize]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lc_mono_and_stereo() {
        // 44.1 kHz stereo, as ffmpeg and OBS send it.
        assert_eq!(
            parse(&[0x12, 0x10]),
            Ok(AacConfig {
                sample_rate: 44100,
                channels: 2,
                he_aac: false
            })
        );
        // 48 kHz mono, with trailing bytes (a sync extension) ignored.
        assert_eq!(
            parse(&[0x11, 0x88, 0x56, 0xe5, 0x00]),
            Ok(AacConfig {
                sample_rate: 48000,
                channels: 1,
                he_aac: false
            })
        );
    }

    #[test]
    fn he_aac_decodes_its_core() {
        // AOT 5, core 24 kHz stereo, SBR at 48 kHz, core AOT 2.
        let asc = [0x2b, 0x11, 0x88, 0x00];
        assert_eq!(
            parse(&asc),
            Ok(AacConfig {
                sample_rate: 24000,
                channels: 2,
                he_aac: true
            })
        );
    }

    #[test]
    fn explicit_rate_must_be_a_standard_one() {
        // AOT 2, index 15, 44100 (0x00ac44), 2 channels, GA flags 0.
        let asc = [0x17, 0x80, 0x56, 0x22, 0x10];
        assert_eq!(parse(&asc).map(|c| c.sample_rate), Ok(44100));
        // The same with 44101 Hz.
        let asc = [0x17, 0x80, 0x56, 0x22, 0x90];
        assert_eq!(parse(&asc), Err(AudioError::SampleRate(44101)));
    }

    #[test]
    fn refusals() {
        assert_eq!(parse(&[]), Err(AudioError::ConfigTruncated));
        assert_eq!(parse(&[0x12]), Err(AudioError::ConfigTruncated));
        // AAC Main (1) and AAC-LD (23, 0xb8 = 10111 000).
        assert_eq!(parse(&[0x0a, 0x10]), Err(AudioError::ObjectType(1)));
        assert_eq!(parse(&[0xb9, 0x88]), Err(AudioError::ObjectType(23)));
        // Escaped object type 42 (USAC): 11111 001010.
        assert_eq!(
            parse(&[0xf9, 0x40, 0x00, 0x00]),
            Err(AudioError::ObjectType(42))
        );
        // Reserved rate index 13.
        assert_eq!(parse(&[0x16, 0x90]), Err(AudioError::ReservedRateIndex(13)));
        // 5.1 (channel configuration 6) and a PCE layout (0).
        assert_eq!(parse(&[0x12, 0x30]), Err(AudioError::Channels(6)));
        assert_eq!(parse(&[0x12, 0x00]), Err(AudioError::Channels(0)));
        // frameLengthFlag set.
        assert_eq!(parse(&[0x12, 0x14]), Err(AudioError::FrameLength960));
    }

    #[test]
    fn any_two_bytes_are_safe() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let _ = parse(&[a, b]);
                let _ = parse(&[a, b, a ^ 0x5a]);
            }
        }
    }
}
