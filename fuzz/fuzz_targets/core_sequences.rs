//! Arbitrary sequences of client frames from a few sessions, interleaved with
//! media events and time steps, drive the session logic: no input may panic it.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_core::{AppSettings, Core, LocalCandidates, MediaCommand, MediaEvent, Output, PeerId};

/// Frames the fuzzer combines; arbitrary bytes pick among them and mutate ids,
/// so sequences reach deep states instead of dying in the JSON parser.
const FRAMES: &[&str] = &[
    r#"{"command":"publish","streamId":"S"}"#,
    r#"{"command":"publish","streamId":"S","mainTrack":"R"}"#,
    r#"{"command":"play","streamId":"S"}"#,
    r#"{"command":"play","streamId":"R","userPublishId":"S"}"#,
    r#"{"command":"play","streamId":"R","disableTracksByDefault":true,"trackList":["!S"]}"#,
    r#"{"command":"stop","streamId":"S"}"#,
    r#"{"command":"stop","streamId":"R"}"#,
    r#"{"command":"takeConfiguration","streamId":"S","type":"offer","sdp":"v=0"}"#,
    r#"{"command":"takeConfiguration","streamId":"S","type":"answer","sdp":"v=0"}"#,
    r#"{"command":"takeConfiguration","streamId":"R","type":"answer","sdp":"v=0"}"#,
    r#"{"command":"takeCandidate","streamId":"S","label":0,"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host"}"#,
    r#"{"command":"join","streamId":"S"}"#,
    r#"{"command":"leave","streamId":"S"}"#,
    r#"{"command":"peerMessageCommand","streamId":"S","data":1}"#,
    r#"{"command":"joinRoom","room":"R"}"#,
    r#"{"command":"joinRoom","room":"R","streamId":"S"}"#,
    r#"{"command":"leaveFromRoom","room":"R"}"#,
    r#"{"command":"getRoomInfo","room":"R","streamId":"S"}"#,
    r#"{"command":"getTrackList","streamId":"R"}"#,
    r#"{"command":"enableTrack","streamId":"R","trackId":"S","enabled":false}"#,
    r#"{"command":"toggleVideo","streamId":"R","trackId":"S","enabled":false}"#,
    r#"{"command":"getBroadcastObject","streamId":"R"}"#,
    r#"{"command":"getSubtracks","streamId":"R","offset":1,"size":2}"#,
    r#"{"command":"getStreamInfo","streamId":"S"}"#,
    r#"{"command":"forceStreamQuality","streamId":"S","streamHeight":180}"#,
    r#"{"command":"forceStreamQuality","streamId":"S","streamHeight":0}"#,
    r#"{"command":"updateStreamMetaData","streamId":"S","metaData":"x"}"#,
    r#"{"command":"ping"}"#,
    r#"{"#,
];

fuzz_target!(|data: &[u8]| {
    let mut core = Core::new();
    let mut now = Instant::now();
    let mut sessions = Vec::new();
    let mut peers: Vec<PeerId> = Vec::new();
    for chunk in data.chunks(3) {
        let [op, a, b] = match chunk {
            [op, a, b] => [*op, *a, *b],
            _ => break,
        };
        match op % 8 {
            0 => sessions.push(core.open_session(now, "LiveApp", AppSettings::default())),
            1 if !sessions.is_empty() => {
                let s = sessions.remove(a as usize % sessions.len());
                core.close_session(now, s);
            }
            2..=4 if !sessions.is_empty() => {
                let s = sessions[a as usize % sessions.len()];
                let frame = FRAMES[b as usize % FRAMES.len()]
                    .replace('S', if b & 0x80 != 0 { "s2" } else { "s1" })
                    .replace('R', "room");
                match tern_signal::parse(&frame) {
                    Ok(m) => core.handle_message(now, s, m),
                    Err(e) => core.handle_parse_error(now, s, e),
                }
            }
            5 if !peers.is_empty() => {
                let peer = peers[a as usize % peers.len()];
                let event = match b % 10 {
                    0 => MediaEvent::Connected { peer },
                    1 => MediaEvent::Disconnected { peer, reason: String::new() },
                    2 => MediaEvent::Answer { peer, sdp: String::new(), candidates: LocalCandidates::default() },
                    3 => MediaEvent::Offer { peer, sdp: String::new(), id_mapping: vec![], candidates: LocalCandidates::default() },
                    4 => MediaEvent::NoMedia { peer },
                    5 => MediaEvent::LayerChanged { peer, height: u32::from(a) },
                    6 => MediaEvent::PlayerBitrates { peer, target: 1, video: 2, audio: 3 },
                    8 => MediaEvent::Quality { peer, quality: tern_core::PeerQuality { send_bitrate: u64::from(a), ..Default::default() } },
                    7 => MediaEvent::SourceInfo {
                        peer,
                        info: (0..a % 4).map(|i| tern_signal::StreamInfo {
                            width: 0,
                            height: u32::from(i) * 180,
                            video_bitrate: 1,
                            audio_bitrate: 1,
                            video_codec: "VP8".into(),
                            fps: 30,
                            b_frames: i == 3,
                        }).collect(),
                    },
                    _ => MediaEvent::SdpFailed { peer, failure: tern_core::SdpFailure::Local(String::new()) },
                };
                core.handle_media_event(now, event);
            }
            6 => {
                now += Duration::from_millis(u64::from(a) * 100);
                core.handle_timeout(now);
            }
            _ => {}
        }
        while let Some(out) = core.poll_output() {
            if let Output::Media(
                MediaCommand::OpenPublisher { peer, .. } | MediaCommand::OpenPlayer { peer, .. },
            ) = out
            {
                peers.push(peer);
            }
        }
    }
});
