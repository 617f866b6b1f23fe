//! Any packets as a source's RTP payloads through frame assembly (reorder,
//! loss, str0m's depacketizers), and any bytes as a frame through the
//! packetizers: frames or nothing, never a panic or an unbounded buffer.
#![no_main]

use std::sync::Arc;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_media::frames::{Assembler, Frame, FrameCodec, Packetizer};

fuzz_target!(|data: &[u8]| {
    let Some((&head, mut rest)) = data.split_first() else {
        return;
    };
    let codec = match head % 3 {
        0 => FrameCodec::Opus,
        1 => FrameCodec::Vp8,
        _ => FrameCodec::H264,
    };
    let t0 = Instant::now();
    let mut a = Assembler::new(codec);
    let (mut seq, mut ticks, mut ms) = (1_000u64, 0u64, 0u64);
    // Records: seq step (signed), ticks step, flags (marker, time step), length, payload.
    while let [step, tick, flags, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(n);
        rest = next;
        seq = seq.saturating_add_signed(i64::from(*step as i8));
        ticks += u64::from(*tick) * 90;
        ms += u64::from(flags >> 1);
        let now = t0 + Duration::from_millis(ms);
        a.handle_timeout(now);
        a.handle_packet(now, seq, ticks, flags & 1 == 1, Arc::from(payload));
        while let Some(f) = a.poll_frame() {
            assert_eq!(f.codec, codec);
        }
        let _ = a.take_keyframe_request();
    }
    let frame = Frame {
        codec,
        ticks,
        keyframe: true,
        arrived: t0,
        data: Arc::from(data),
    };
    let mut p = Packetizer::new(codec, 0);
    if let Ok(packets) = p.packetize(&frame) {
        assert!(packets.iter().all(|p| p.payload.len() <= tern_media::frames::MAX_PAYLOAD + 16));
    }
});
