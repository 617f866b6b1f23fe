//! ADTS (ISO/IEC 13818-7 §6.2): the headers AAC carries in MPEG-TS, one per
//! frame. Each gives the AudioSpecificConfig the transcoder starts from and
//! the raw access unit.

use tern_media::frames::adts;

pub use tern_media::frames::adts::AdtsError;

/// One ADTS frame of a PES payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdtsFrame<'a> {
    /// The AudioSpecificConfig its header describes.
    pub config: [u8; 2],
    pub sample_rate_index: u8,
    pub header: adts::Header,
    pub unit: &'a [u8],
}

/// The frames of a PES payload, in order, up to the first broken one.
pub fn frames(mut data: &[u8]) -> (Vec<AdtsFrame<'_>>, Option<AdtsError>) {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (header, unit) = match adts::unit(data) {
            Ok(u) => u,
            Err(e) => return (out, Some(e)),
        };
        out.push(AdtsFrame {
            config: header.config(),
            sample_rate_index: header.rate_index,
            header,
            unit,
        });
        data = &data[header.frame_len..];
    }
    (out, None)
}

/// Sampling rate of an ADTS rate index; `None` for the reserved ones.
pub fn sample_rate(index: u8) -> Option<u32> {
    adts::RATES.get(usize::from(index)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AAC-LC, 44.1 kHz, stereo, around `payload`.
    fn frame(payload: &[u8]) -> Vec<u8> {
        adts::frame(2, 4, 2, payload).unwrap()
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
