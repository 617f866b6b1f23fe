//! ADTS (ISO/IEC 13818-7 §6.2): the headers AAC carries in MPEG-TS, one per
//! frame. Each gives the AudioSpecificConfig the transcoder starts from and
//! the raw access unit.

/// One ADTS frame of a PES payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdtsFrame<'a> {
    /// The AudioSpecificConfig its header describes.
    pub config: [u8; 2],
    pub sample_rate_index: u8,
    pub unit: &'a [u8],
}

/// Why a PES payload's ADTS frames stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdtsError {
    /// No 0xFFF sync word where a frame should start.
    Sync,
    /// A header or frame runs past the payload.
    Truncated,
}

impl std::fmt::Display for AdtsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdtsError::Sync => write!(f, "no ADTS sync word"),
            AdtsError::Truncated => write!(f, "an ADTS frame runs past its PES packet"),
        }
    }
}

impl std::error::Error for AdtsError {}

/// The frames of a PES payload, in order, up to the first broken one.
pub fn frames(mut data: &[u8]) -> (Vec<AdtsFrame<'_>>, Option<AdtsError>) {
    let mut out = Vec::new();
    while !data.is_empty() {
        let Some(h) = data.get(..7) else {
            return (out, Some(AdtsError::Truncated));
        };
        if h[0] != 0xff || h[1] & 0xf0 != 0xf0 {
            return (out, Some(AdtsError::Sync));
        }
        let crc = h[1] & 0x01 == 0;
        let header = if crc { 9 } else { 7 };
        let object_type = (h[2] >> 6) + 1;
        let rate = (h[2] >> 2) & 0x0f;
        let channels = ((h[2] & 0x01) << 2) | (h[3] >> 6);
        let length =
            (usize::from(h[3] & 0x03) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
        if length < header || length > data.len() {
            return (out, Some(AdtsError::Truncated));
        }
        let config = [
            (object_type << 3) | (rate >> 1),
            ((rate & 1) << 7) | (channels << 3),
        ];
        out.push(AdtsFrame {
            config,
            sample_rate_index: rate,
            unit: &data[header..length],
        });
        data = &data[length..];
    }
    (out, None)
}

/// Sampling rate of an ADTS rate index; `None` for the reserved ones.
pub fn sample_rate(index: u8) -> Option<u32> {
    const RATES: [u32; 13] = [
        96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
    ];
    RATES.get(usize::from(index)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ADTS header for AAC-LC, 44.1 kHz, stereo, around `payload` bytes.
    fn frame(payload: &[u8]) -> Vec<u8> {
        let len = payload.len() + 7;
        let mut f = vec![
            0xff,
            0xf1,
            (1 << 6) | (4 << 2),
            (2 << 6) | ((len >> 11) as u8 & 0x03),
            (len >> 3) as u8,
            ((len & 0x07) << 5) as u8 | 0x1f,
            0xfc,
        ];
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn reads_config_and_units_and_stops_at_garbage() {
        let mut pes = frame(&[1, 2, 3]);
        pes.extend(frame(&[4, 5]));
        let (f, err) = frames(&pes);
        assert_eq!(err, None);
        assert_eq!(f.len(), 2);
        // AAC-LC (2), 44.1 kHz (4), stereo (2): 0x12 0x10, as ffmpeg writes it.
        assert_eq!(f[0].config, [0x12, 0x10]);
        assert_eq!(f[0].unit, &[1, 2, 3]);
        assert_eq!(f[1].unit, &[4, 5]);
        assert_eq!(sample_rate(f[0].sample_rate_index), Some(44100));
        pes.extend([0x00, 0x01]);
        assert_eq!(frames(&pes).1, Some(AdtsError::Truncated));
        let (f, err) = frames(&[0x12; 20]);
        assert!(f.is_empty());
        assert_eq!(err, Some(AdtsError::Sync));
        let mut cut = frame(&[9; 30]);
        cut.truncate(20);
        assert_eq!(frames(&cut).1, Some(AdtsError::Truncated));
    }
}
