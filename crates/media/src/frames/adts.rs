//! AAC's ADTS header (ISO/IEC 13818-7 §6.2): the 7 bytes (9 with a CRC)
//! before each access unit of an AAC elementary stream, saying its object
//! type, rate and channels. An AAC frame carries one, so a sink needs no
//! config from elsewhere (MPEG-TS carries AAC this way; RTMP's raw units get
//! one from their sequence header).

/// The sampling-frequency table; indices 13 to 15 have no rate.
pub const RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// The largest ADTS frame: its length field has 13 bits.
pub const MAX_FRAME: usize = (1 << 13) - 1;
/// Samples per AAC frame (1024-sample frames are the only kind Tern takes).
pub const FRAME_SAMPLES: u64 = 1024;

/// What an ADTS header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The MPEG-4 audio object type, 1 to 4 (2 is AAC-LC).
    pub object_type: u8,
    pub rate_index: u8,
    /// Channel configuration, 0 to 7.
    pub channels: u8,
    /// 7, or 9 with a CRC.
    pub header_len: usize,
    /// Header and access unit.
    pub frame_len: usize,
}

impl Header {
    /// The two-byte AudioSpecificConfig it amounts to.
    pub fn config(&self) -> [u8; 2] {
        [
            (self.object_type << 3) | (self.rate_index >> 1),
            ((self.rate_index & 1) << 7) | (self.channels << 3),
        ]
    }

    /// In Hz; none for the reserved rate indices.
    pub fn sample_rate(&self) -> Option<u32> {
        RATES.get(usize::from(self.rate_index)).copied()
    }
}

/// Why bytes are not an ADTS frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdtsError {
    /// No 0xFFF sync word where a frame should start.
    Sync,
    /// A header or frame runs past the data.
    Truncated,
}

impl std::fmt::Display for AdtsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdtsError::Sync => write!(f, "no ADTS sync word"),
            AdtsError::Truncated => write!(f, "an ADTS frame runs past its data"),
        }
    }
}

impl std::error::Error for AdtsError {}

/// The header at the start of `data`; its frame must fit in `data`.
pub fn read(data: &[u8]) -> Result<Header, AdtsError> {
    let h = data.get(..7).ok_or(AdtsError::Truncated)?;
    if h[0] != 0xff || h[1] & 0xf0 != 0xf0 {
        return Err(AdtsError::Sync);
    }
    let header_len = if h[1] & 0x01 == 0 { 9 } else { 7 };
    let frame_len =
        (usize::from(h[3] & 0x03) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
    if frame_len < header_len || frame_len > data.len() {
        return Err(AdtsError::Truncated);
    }
    Ok(Header {
        object_type: (h[2] >> 6) + 1,
        rate_index: (h[2] >> 2) & 0x0f,
        channels: ((h[2] & 0x01) << 2) | (h[3] >> 6),
        header_len,
        frame_len,
    })
}

/// The access unit of one ADTS frame, with its header.
pub fn unit(data: &[u8]) -> Result<(Header, &[u8]), AdtsError> {
    let h = read(data)?;
    Ok((h, &data[h.header_len..h.frame_len]))
}

/// One access unit behind a 7-byte header (no CRC). None when a field is out
/// of ADTS's range (object type past 4, a 4-bit rate index, 3-bit channels)
/// or the unit is too long for its length field.
pub fn frame(object_type: u8, rate_index: u8, channels: u8, unit: &[u8]) -> Option<Vec<u8>> {
    let len = unit.len() + 7;
    if !(1..=4).contains(&object_type) || rate_index > 12 || channels > 7 || len > MAX_FRAME {
        return None;
    }
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&[
        0xff,
        0xf1, // MPEG-4, layer 0, no CRC
        ((object_type - 1) << 6) | (rate_index << 2) | (channels >> 2),
        ((channels & 0x03) << 6) | ((len >> 11) as u8 & 0x03),
        (len >> 3) as u8,
        ((len & 0x07) << 5) as u8 | 0x1f, // buffer fullness 0x7ff: variable rate
        0xfc,
    ]);
    out.extend_from_slice(unit);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_frame_reads_back() {
        // AAC-LC, 44.1 kHz, stereo: the config ffmpeg writes as 0x12 0x10.
        let f = frame(2, 4, 2, &[1, 2, 3]).unwrap();
        let (h, u) = unit(&f).unwrap();
        assert_eq!(u, &[1, 2, 3]);
        assert_eq!(h.config(), [0x12, 0x10]);
        assert_eq!(h.sample_rate(), Some(44100));
        assert_eq!((h.header_len, h.frame_len), (7, 10));
        let long = frame(2, 3, 1, &vec![9; 3000]).unwrap();
        assert_eq!(unit(&long).unwrap().1.len(), 3000);
    }

    #[test]
    fn refuses_what_is_not_a_whole_frame() {
        assert_eq!(read(&[0x12; 20]), Err(AdtsError::Sync));
        assert_eq!(read(&[0xff, 0xf1]), Err(AdtsError::Truncated));
        let mut cut = frame(2, 4, 2, &[9; 30]).unwrap();
        cut.truncate(20);
        assert_eq!(read(&cut), Err(AdtsError::Truncated));
        assert_eq!(frame(5, 4, 2, &[1]), None);
        assert_eq!(frame(2, 13, 2, &[1]), None);
        assert_eq!(frame(2, 4, 2, &vec![0; MAX_FRAME]), None);
    }
}
