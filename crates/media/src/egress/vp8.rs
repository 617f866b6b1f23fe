//! Rewriting a VP8 payload descriptor's picture id and TL0PICIDX in place
//! (RFC 7741 §4.2), as str0m's `Vp8Patch` does for packets it writes.

/// Puts `picture` and `tl0` into the descriptor at the start of `payload`.
/// Returns false, changing nothing, when the descriptor is too short or has
/// no room for the value (a 7-bit picture id cannot take more than 127).
pub fn patch(payload: &mut [u8], picture: Option<u16>, tl0: Option<u8>) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    if first & 0x80 == 0 {
        // No extension byte: no ids to rewrite.
        return picture.is_none() && tl0.is_none();
    }
    let Some(&ext) = payload.get(1) else {
        return false;
    };
    let (has_picture, has_tl0) = (ext & 0x80 != 0, ext & 0x40 != 0);
    let mut at = 2;
    let mut picture_at = None;
    if has_picture {
        let Some(&b) = payload.get(at) else {
            return false;
        };
        let long = b & 0x80 != 0;
        picture_at = Some((at, long));
        at += if long { 2 } else { 1 };
    }
    let tl0_at = has_tl0.then_some(at);
    if tl0_at.is_some_and(|i| i >= payload.len()) || at > payload.len() {
        return false;
    }
    if let Some(p) = picture {
        match picture_at {
            Some((i, true)) => {
                let v = 0x8000 | (p & 0x7fff);
                payload[i..i + 2].copy_from_slice(&v.to_be_bytes());
            }
            Some((i, false)) if p <= 0x7f => payload[i] = p as u8,
            _ => return false,
        }
    }
    if let (Some(t), Some(i)) = (tl0, tl0_at) {
        payload[i] = t;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use str0m::rtp::Vp8Descriptor;

    #[test]
    fn ids_land_where_a_parser_reads_them() {
        // X=1, S=1; I=1, L=1, T=1; 15-bit picture id 0x1234; TL0PICIDX 7; TID.
        let mut p = vec![0x90, 0xe0, 0x92, 0x34, 7, 0x20, 0xaa, 0xbb];
        assert!(patch(&mut p, Some(0x0567), Some(42)));
        let d = Vp8Descriptor::parse(&p).unwrap();
        assert_eq!(d.picture_id(), Some(0x0567));
        assert_eq!(d.tl0_pic_idx(), Some(42));
        assert_eq!(&p[5..], &[0x20, 0xaa, 0xbb], "the rest is untouched");
        // A 7-bit picture id takes small values only.
        let mut short = vec![0x90, 0x80, 0x05, 0xaa];
        assert!(patch(&mut short, Some(100), None));
        assert_eq!(
            Vp8Descriptor::parse(&short).unwrap().picture_id(),
            Some(100)
        );
        assert!(!patch(&mut short, Some(300), None));
        // Truncated descriptors are refused, never read past.
        for cut in [
            vec![],
            vec![0x90],
            vec![0x90, 0xe0, 0x92],
            vec![0x90, 0xe0, 0x12],
        ] {
            let mut c = cut.clone();
            assert!(!patch(&mut c, Some(1), Some(1)), "{cut:?}");
            assert_eq!(c, cut);
        }
    }
}
