//! H.264 access units as Tern's frames carry them (Annex B: start codes) and
//! as MP4 stores them (each NAL unit behind its 4-byte length).

/// NAL unit types this module looks at.
const SPS: u8 = 7;
const PPS: u8 = 8;
const AUD: u8 = 9;

/// The NAL units of an Annex B access unit, start codes removed.
pub fn nal_units(annex_b: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = annex_b;
    std::iter::from_fn(move || loop {
        let start = find_start_code(rest)?;
        let body = &rest[start..];
        let end = find_start_code_at(body).unwrap_or(body.len());
        // Trailing zero bytes belong to the next start code (zero_byte).
        let mut unit = &body[..end];
        while let [head @ .., 0] = unit {
            unit = head;
        }
        rest = &body[end..];
        if !unit.is_empty() {
            return Some(unit);
        }
    })
}

/// Index just past the first start code (00 00 01) in `b`.
fn find_start_code(b: &[u8]) -> Option<usize> {
    b.windows(3).position(|w| w == [0, 0, 1]).map(|i| i + 3)
}

/// Index of the first start code in `b` (where the current unit ends).
fn find_start_code_at(b: &[u8]) -> Option<usize> {
    b.windows(3).position(|w| w == [0, 0, 1])
}

/// One access unit for MP4, and the parameter sets it carried.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Length-prefixed NAL units (access unit delimiters dropped).
    pub data: Vec<u8>,
    pub sps: Option<Vec<u8>>,
    pub pps: Option<Vec<u8>>,
}

/// Rewrites an Annex B access unit for MP4. Parameter sets stay in the
/// sample too, so a decoder follows a change of resolution mid-stream.
pub fn to_sample(annex_b: &[u8]) -> Sample {
    let mut s = Sample::default();
    for unit in nal_units(annex_b) {
        match unit[0] & 0x1f {
            AUD => continue,
            SPS => s.sps = Some(unit.to_vec()),
            PPS => s.pps = Some(unit.to_vec()),
            _ => {}
        }
        s.data.extend_from_slice(&(unit.len() as u32).to_be_bytes());
        s.data.extend_from_slice(unit);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_split_on_three_and_four_byte_start_codes() {
        let au = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 0,
        ];
        let units: Vec<&[u8]> = nal_units(&au).collect();
        assert_eq!(units, vec![&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 4, 5]]);
    }

    #[test]
    fn a_sample_is_length_prefixed_and_keeps_its_parameter_sets() {
        let au = [
            0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2, 0, 0, 1, 0x65, 9,
        ];
        let s = to_sample(&au);
        assert_eq!(s.sps.as_deref(), Some(&[0x67, 1][..]));
        assert_eq!(s.pps.as_deref(), Some(&[0x68, 2][..]));
        assert_eq!(
            s.data,
            vec![0, 0, 0, 2, 0x67, 1, 0, 0, 0, 2, 0x68, 2, 0, 0, 0, 2, 0x65, 9]
        );
    }

    #[test]
    fn garbage_gives_no_units() {
        assert_eq!(nal_units(&[]).count(), 0);
        assert_eq!(nal_units(&[1, 2, 3]).count(), 0);
        assert_eq!(to_sample(&[0, 0, 1]).data, Vec::<u8>::new());
    }
}
