//! What one incoming RTP payload says about its frame, read without
//! depacketizing: whether it starts a keyframe (a simulcast switch waits for
//! one) and, when it carries a keyframe header or an SPS, the frame size.
//! Payloads are peer data: every read is bounds-checked.

use str0m::format::Codec;
use str0m::rtp::Vp8Descriptor;

use crate::rtp::codec_info::{h264_sps_size, vp8_size};

#[derive(Debug, Default, Clone, Copy)]
pub struct PacketInfo {
    /// The packet starts a keyframe (VP8), or carries an SPS or the start of an
    /// IDR slice (H.264).
    pub keyframe: bool,
    pub size: Option<(u32, u32)>,
    /// VP8: the payload descriptor, so players' picture ids can be rewritten.
    pub vp8: Option<Vp8Descriptor>,
}

pub fn inspect(codec: Codec, payload: &[u8]) -> PacketInfo {
    match codec {
        Codec::Vp8 => vp8(payload),
        Codec::H264 => h264(payload),
        _ => PacketInfo::default(),
    }
}

/// RFC 7741 §4.2: the descriptor, then (on a partition start) the VP8 header.
fn vp8(payload: &[u8]) -> PacketInfo {
    let descriptor = Vp8Descriptor::parse(payload).ok();
    let Some(offset) = vp8_header_offset(payload) else {
        return PacketInfo::default();
    };
    let first = payload[0];
    let starts_frame = first & 0x10 != 0 && first & 0x07 == 0;
    let header = &payload[offset..];
    let keyframe = starts_frame && header.first().is_some_and(|b| b & 0x01 == 0);
    PacketInfo {
        keyframe,
        size: if keyframe { vp8_size(header) } else { None },
        vp8: descriptor,
    }
}

fn vp8_header_offset(p: &[u8]) -> Option<usize> {
    let first = *p.first()?;
    let mut at = 1;
    if first & 0x80 != 0 {
        let ext = *p.get(at)?;
        at += 1;
        if ext & 0x80 != 0 {
            let pid = *p.get(at)?;
            at += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            at += 1;
        }
        if ext & 0x30 != 0 {
            at += 1;
        }
    }
    (at < p.len()).then_some(at)
}

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// RFC 6184 §5.6–5.8: a single NAL unit, an aggregate (STAP-A) or a fragment (FU-A).
fn h264(payload: &[u8]) -> PacketInfo {
    let mut info = PacketInfo::default();
    let Some(&header) = payload.first() else {
        return info;
    };
    match header & 0x1f {
        STAP_A => {
            let mut at = 1;
            while let Some(len) = payload.get(at..at + 2) {
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                let Some(nal) = payload.get(at + 2..at + 2 + len) else {
                    break;
                };
                nal_unit(nal, &mut info);
                at += 2 + len;
            }
        }
        FU_A => {
            if let Some(&fu) = payload.get(1) {
                let start = fu & 0x80 != 0;
                info.keyframe = start && matches!(fu & 0x1f, NAL_IDR | NAL_SPS);
            }
        }
        1..=23 => nal_unit(payload, &mut info),
        _ => {}
    }
    info
}

fn nal_unit(nal: &[u8], info: &mut PacketInfo) {
    match nal.first().map(|b| b & 0x1f) {
        Some(NAL_IDR) => info.keyframe = true,
        Some(NAL_SPS) => {
            info.keyframe = true;
            info.size = info.size.or_else(|| h264_sps_size(nal));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 640x480 VP8 keyframe header: frame tag, start code, sizes.
    const KEY_HEADER: [u8; 10] = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];

    fn vp8_packet(descriptor: &[u8], body: &[u8]) -> Vec<u8> {
        [descriptor, body].concat()
    }

    #[test]
    fn vp8_keyframe_start_with_a_15_bit_picture_id() {
        // X=1 S=1 PID=0; I=1 L=1 T=1; picture id 0x1234 (M=1); TL0PICIDX; TID.
        let p = vp8_packet(&[0x90, 0xe0, 0x92, 0x34, 7, 0x20], &KEY_HEADER);
        let info = inspect(Codec::Vp8, &p);
        assert!(info.keyframe);
        assert_eq!(info.size, Some((640, 480)));
        let d = info.vp8.expect("descriptor");
        assert_eq!(d.picture_id(), Some(0x1234));
        assert_eq!(d.tl0_pic_idx(), Some(7));
    }

    #[test]
    fn vp8_inter_frames_and_continuations_are_not_keyframes() {
        let mut inter = KEY_HEADER;
        inter[0] |= 1;
        assert!(!inspect(Codec::Vp8, &vp8_packet(&[0x10], &inter)).keyframe);
        // S=0: the middle of a keyframe, whose bytes only look like a header.
        let mid = inspect(Codec::Vp8, &vp8_packet(&[0x00], &KEY_HEADER));
        assert!(!mid.keyframe);
        assert_eq!(mid.size, None);
        // Partition 1 start.
        assert!(!inspect(Codec::Vp8, &vp8_packet(&[0x11], &KEY_HEADER)).keyframe);
    }

    #[test]
    fn truncated_vp8_descriptors_give_nothing() {
        for p in [
            &[][..],
            &[0x90],
            &[0x90, 0x80],
            &[0x90, 0x80, 0x92],
            &[0x10],
        ] {
            let info = inspect(Codec::Vp8, p);
            assert!(!info.keyframe && info.size.is_none(), "{p:?}");
        }
    }

    /// Constrained baseline SPS of 640x480 (see `codec_info`).
    const SPS: [u8; 9] = [0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xf6, 0x40];

    #[test]
    fn h264_sps_alone_or_aggregated_gives_the_size() {
        let single = inspect(Codec::H264, &SPS);
        assert!(single.keyframe);
        assert_eq!(single.size, Some((640, 480)));
        let pps = [0x68, 0xce, 0x06, 0xe2];
        let mut stap = vec![0x78, 0, SPS.len() as u8];
        stap.extend_from_slice(&SPS);
        stap.extend_from_slice(&[0, pps.len() as u8]);
        stap.extend_from_slice(&pps);
        let agg = inspect(Codec::H264, &stap);
        assert!(agg.keyframe);
        assert_eq!(agg.size, Some((640, 480)));
        // An aggregate whose length runs past the end stops there.
        stap[2] = 200;
        assert!(!inspect(Codec::H264, &stap).keyframe);
    }

    #[test]
    fn h264_fragments_start_keyframes_only_on_their_first_packet() {
        let idr_start = [0x7c, 0x85, 1, 2, 3];
        assert!(inspect(Codec::H264, &idr_start).keyframe);
        let idr_middle = [0x7c, 0x05, 1, 2, 3];
        assert!(!inspect(Codec::H264, &idr_middle).keyframe);
        let slice_start = [0x7c, 0x81, 1, 2, 3];
        assert!(!inspect(Codec::H264, &slice_start).keyframe);
        assert!(!inspect(Codec::H264, &[0x7c]).keyframe);
        assert!(!inspect(Codec::H264, &[]).keyframe);
    }
}
