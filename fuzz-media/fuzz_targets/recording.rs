//! Any frames a publisher can make (codec, keyframe flag, time, bytes; AAC
//! with any ADTS header) through
//! the recorder, its fragments, the fast-start plan; and any bytes as a
//! `.part` file through the scan a restart makes. Bytes or an error, never a
//! panic; the plan never points past what was written.
#![no_main]

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_media::frames::{Frame, FrameCodec};
use tern_record::Recorder;

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut rec = Recorder::new();
    let mut written = 0u64;
    let mut rest = data;
    let mut ms = 0u64;
    // Records: kind and flags, time step, ticks step, length, bytes.
    while let [kind, step, tick, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (bytes, next) = tail.split_at(n);
        rest = next;
        ms += u64::from(*step);
        let codec = match kind % 4 {
            0 => FrameCodec::Opus,
            1 => FrameCodec::Vp8,
            2 => FrameCodec::Aac,
            _ => FrameCodec::H264,
        };
        let frame = Frame {
            codec,
            ticks: ms * 90 + u64::from(*tick),
            keyframe: kind & 0x80 != 0,
            arrived: t0 + Duration::from_millis(ms),
            data: Arc::from(bytes),
        };
        if let Ok(Ok(out)) = rec.push(&frame) {
            written += out.len() as u64;
        }
    }
    if let Ok(last) = rec.finish() {
        written += last.len() as u64;
        if let Ok(plan) = rec.fast_start() {
            for (at, len) in plan.ranges {
                assert!(at + len <= written, "the plan points past the file");
            }
        }
    }
    let _ = tern_record::recover::scan(&mut Cursor::new(data), data.len() as u64);
});
