//! What an RTMP or SRT client can send, on each layer Tern parses it: the
//! RTMP handshake, the chunk stream with its AMF commands (rml_rtmp's server
//! session, as `rtmp/conn.rs` drives it), the FLV audio and video tags inside
//! (`tern_ingest`: AVC configuration, NAL units, AAC into Opus), and SRT's
//! MPEG-TS (`tern_ingest::ts`: PAT, PMT, PES, ADTS). Results or errors,
//! never a panic (rml_rtmp's panics are caught, as the server catches them).
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rml_rtmp::handshake::{Handshake, PeerType};
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult,
};
use tern_ingest::frames::FlvToFrames;
use tern_ingest::ts::TsToFrames;

/// Tags as (kind, time step, length, bytes) records.
fn tags(data: &[u8]) {
    let t0 = Instant::now();
    let mut flv = FlvToFrames::default();
    let mut rest = data;
    let mut ms = 0u32;
    while let [kind, step, len_hi, len_lo, tail @ ..] = rest {
        let n = usize::from(u16::from_be_bytes([*len_hi, *len_lo])).min(tail.len());
        let (tag, next) = tail.split_at(n);
        rest = next;
        ms = ms.wrapping_add(u32::from(*step) * 7);
        let now = t0 + Duration::from_millis(u64::from(ms));
        if kind % 2 == 0 {
            let _ = flv.handle_video(now, tag, ms);
        } else {
            let _ = flv.handle_audio(now, tag, ms);
        }
    }
}

/// Chunk-stream bytes into a server session, in pieces, and its media on.
fn session(data: &[u8]) {
    let Ok((mut session, _)) = ServerSession::new(ServerSessionConfig::new()) else {
        return;
    };
    let t0 = Instant::now();
    let mut flv = FlvToFrames::default();
    for piece in data.chunks(97) {
        // The server catches rml_rtmp's own panics (a malformed chunk stream
        // ends that connection): so does this target, to look further.
        // (libfuzzer-sys's panic hook aborts: set aside for this call only.)
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let fed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            session.handle_input(piece)
        }));
        std::panic::set_hook(hook);
        let Ok(Ok(results)) = fed else {
            return;
        };
        for r in results {
            let ServerSessionResult::RaisedEvent(e) = r else {
                continue;
            };
            match e {
                ServerSessionEvent::ConnectionRequested { request_id, .. }
                | ServerSessionEvent::PublishStreamRequested { request_id, .. } => {
                    let _ = session.accept_request(request_id);
                }
                ServerSessionEvent::VideoDataReceived {
                    data, timestamp, ..
                } => {
                    let _ = flv.handle_video(t0, &data, timestamp.value);
                }
                ServerSessionEvent::AudioDataReceived {
                    data, timestamp, ..
                } => {
                    let _ = flv.handle_audio(t0, &data, timestamp.value);
                }
                _ => {}
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => tags(rest),
        1 => session(rest),
        3 => {
            // SRT's payloads: MPEG-TS in any cut.
            let mut ts = TsToFrames::default();
            let t0 = Instant::now();
            for piece in rest.chunks(1316) {
                let _ = ts.push(t0, piece);
            }
        }
        _ => {
            let mut hs = Handshake::new(PeerType::Server);
            for piece in rest.chunks(513) {
                if hs.process_bytes(piece).is_err() {
                    break;
                }
            }
        }
    }
});
