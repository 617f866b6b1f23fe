//! The AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1) an encoder
//! sends once before its first frame: the parameter sets, and how long the
//! NAL unit length fields of every later frame are.

/// What a decoder needs before the first frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcConfig {
    /// Bytes in each NAL unit's length field (1, 2 or 4).
    pub length_size: usize,
    pub sps: Vec<Vec<u8>>,
    pub pps: Vec<Vec<u8>>,
    /// profile_idc, constraint flags, level_idc, as `profile-level-id` has them.
    pub profile: [u8; 3],
}

/// Why a configuration record was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AvcConfigError {
    /// It ends before its fields do; the encoder sent a broken header.
    Truncated,
    /// Its version byte is not 1: not an AVC configuration record.
    Version(u8),
    /// A length field of 3 bytes (the record says 3): no standard allows it.
    LengthSize(usize),
    /// No sequence or no picture parameter set: nothing could be decoded.
    NoParameterSets,
}

impl std::fmt::Display for AvcConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated => write!(f, "the AVC configuration record is cut short"),
            Self::Version(v) => write!(f, "AVC configuration record version {v} (1 expected)"),
            Self::LengthSize(n) => write!(f, "NAL unit length fields of {n} bytes"),
            Self::NoParameterSets => write!(f, "the AVC configuration has no SPS or no PPS"),
        }
    }
}

impl std::error::Error for AvcConfigError {}

/// Reads bytes off the front of a slice, failing past its end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AvcConfigError> {
        if self.0.len() < n {
            return Err(AvcConfigError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, AvcConfigError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize, AvcConfigError> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
}

impl AvcConfig {
    pub fn parse(data: &[u8]) -> Result<AvcConfig, AvcConfigError> {
        let mut r = Reader(data);
        let version = r.u8()?;
        if version != 1 {
            return Err(AvcConfigError::Version(version));
        }
        let p = r.take(3)?;
        let profile = [p[0], p[1], p[2]];
        let length_size = usize::from(r.u8()? & 0b11) + 1;
        if length_size == 3 {
            return Err(AvcConfigError::LengthSize(3));
        }
        let mut sps = Vec::new();
        for _ in 0..(r.u8()? & 0x1f) {
            let n = r.u16()?;
            sps.push(r.take(n)?.to_vec());
        }
        let mut pps = Vec::new();
        for _ in 0..r.u8()? {
            let n = r.u16()?;
            pps.push(r.take(n)?.to_vec());
        }
        sps.retain(|s| !s.is_empty());
        pps.retain(|s| !s.is_empty());
        if sps.is_empty() || pps.is_empty() {
            return Err(AvcConfigError::NoParameterSets);
        }
        Ok(AvcConfig {
            length_size,
            sps,
            pps,
            profile,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Vec<u8> {
        let mut r = vec![1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 1, 2, 3];
        r.extend([1, 0, 3, 0x68, 9, 9]);
        r
    }

    #[test]
    fn reads_parameter_sets_and_length_size() {
        let c = AvcConfig::parse(&record()).unwrap();
        assert_eq!(c.length_size, 4);
        assert_eq!(c.sps, vec![vec![0x67, 1, 2, 3]]);
        assert_eq!(c.pps, vec![vec![0x68, 9, 9]]);
        assert_eq!(c.profile, [0x42, 0xc0, 0x1f]);
    }

    #[test]
    fn refuses_every_broken_record() {
        let good = record();
        for cut in 0..good.len() {
            assert!(AvcConfig::parse(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut v2 = good.clone();
        v2[0] = 2;
        assert_eq!(AvcConfig::parse(&v2), Err(AvcConfigError::Version(2)));
        let mut three = good.clone();
        three[4] = 0xfe;
        assert_eq!(AvcConfig::parse(&three), Err(AvcConfigError::LengthSize(3)));
        let mut no_pps = good;
        no_pps.truncate(12);
        no_pps.push(0);
        assert_eq!(
            AvcConfig::parse(&no_pps),
            Err(AvcConfigError::NoParameterSets)
        );
    }
}
