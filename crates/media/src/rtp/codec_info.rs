//! Frame sizes read from the bitstream, for `getStreamInfo`: a VP8 keyframe
//! header, or an H.264 sequence parameter set NAL unit. Input is peer data: every read is
//! bounds-checked and gives `None` on anything odd.

/// Width and height of a VP8 keyframe (RFC 6386 §9.1).
pub fn vp8_size(frame: &[u8]) -> Option<(u32, u32)> {
    if frame.len() < 10 || frame[0] & 1 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let h = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((u32::from(w), u32::from(h)))
}

/// Width and height from one SPS NAL unit, header byte included.
pub fn h264_sps_size(sps: &[u8]) -> Option<(u32, u32)> {
    let rbsp = unescape(sps.get(1..)?);
    parse_sps(&rbsp)
}

/// Removes emulation-prevention bytes (`00 00 03`).
fn unescape(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(b))
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0u32, |acc, _| Some((acc << 1) | self.bit()?))
    }

    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some(((1u64 << zeros) - 1 + u64::from(self.bits(zeros)?)).min(u64::from(u32::MAX)) as u32)
    }

    fn se(&mut self) -> Option<i64> {
        let v = i64::from(self.ue()?);
        Some(if v % 2 == 1 { (v + 1) / 2 } else { -(v / 2) })
    }
}

fn parse_sps(rbsp: &[u8]) -> Option<(u32, u32)> {
    let mut r = Bits { data: rbsp, pos: 0 };
    let profile = r.bits(8)?;
    r.bits(16)?; // constraint flags, level
    r.ue()?; // seq_parameter_set_id
    let mut chroma_format = 1;
    if matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format = r.ue()?;
        if chroma_format == 3 {
            r.bit()?;
        }
        r.ue()?;
        r.ue()?;
        r.bit()?;
        if r.bit()? == 1 {
            return None; // scaling matrices: rare from browsers, not worth parsing
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?;
        }
        1 => {
            r.bit()?;
            r.se()?;
            r.se()?;
            let n = r.ue()?;
            if n > 255 {
                return None;
            }
            for _ in 0..n {
                r.se()?;
            }
        }
        _ => {}
    }
    r.ue()?; // max_num_ref_frames
    r.bit()?;
    let w_mbs = u64::from(r.ue()?) + 1;
    let h_units = u64::from(r.ue()?) + 1;
    let frame_mbs_only = u64::from(r.bit()?);
    if frame_mbs_only == 0 {
        r.bit()?;
    }
    r.bit()?;
    let (mut cl, mut cr, mut ct, mut cb) = (0, 0, 0, 0);
    if r.bit()? == 1 {
        cl = u64::from(r.ue()?);
        cr = u64::from(r.ue()?);
        ct = u64::from(r.ue()?);
        cb = u64::from(r.ue()?);
    }
    let (sub_w, sub_h) = match chroma_format {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    };
    let crop_x = sub_w;
    let crop_y = sub_h * (2 - frame_mbs_only);
    let width = (w_mbs * 16).checked_sub((cl + cr) * crop_x)?;
    let height = ((2 - frame_mbs_only) * h_units * 16).checked_sub((ct + cb) * crop_y)?;
    Some((u32::try_from(width).ok()?, u32::try_from(height).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_keyframe_header() {
        // 640x480 keyframe header: frame tag, start code, sizes.
        let frame = [
            0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0, 0,
        ];
        assert_eq!(vp8_size(&frame), Some((640, 480)));
        let mut inter = frame;
        inter[0] |= 1;
        assert_eq!(vp8_size(&inter), None);
        assert_eq!(vp8_size(&frame[..5]), None);
    }

    #[test]
    fn h264_sps_sizes() {
        // Constrained baseline SPSs written bit by bit: 640x480 (40x30 macroblocks)
        // and 320x180 (20x12 macroblocks, 12 rows cropped at the bottom).
        let vga = [0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xf6, 0x40];
        assert_eq!(h264_sps_size(&vga), Some((640, 480)));
        let cropped = [0x67, 0x42, 0xc0, 0x1e, 0xda, 0x05, 0x06, 0x7e, 0x74];
        assert_eq!(h264_sps_size(&cropped), Some((320, 180)));
    }

    #[test]
    fn h264_garbage_gives_none() {
        assert_eq!(h264_sps_size(&[0x67]), None);
        assert_eq!(h264_sps_size(&[0x67, 0x42, 0xc0]), None, "truncated");
        // All-ones bits decode as the smallest picture; the point is no panic.
        let _ = h264_sps_size(&[0x67, 0xff, 0xff, 0xff, 0xff, 0xff]);
        let _ = h264_sps_size(&[0x67, 0x64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(h264_sps_size(&[]), None);
    }
}
