//! Any text as a publisher's offer through the SFU's accept path: an answer or a
//! clear SDP error, never a panic.
#![no_main]

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use tern_core::{MediaCommand, MediaProfile, PeerId, PlayerData, StreamKey};
use tern_media::{LocalAddrs, Sfu};

fuzz_target!(|data: &[u8]| {
    let Ok(offer) = std::str::from_utf8(data) else {
        return;
    };
    // One SFU for every run: making its DTLS certificate per run would slow
    // the fuzzer a hundredfold; each run closes the peer it opened.
    static SFU: OnceLock<Mutex<Sfu>> = OnceLock::new();
    let sfu = SFU.get_or_init(|| {
        let local = LocalAddrs::new(vec!["127.0.0.1:5000".parse().unwrap()]).unwrap();
        Mutex::new(Sfu::new(local).unwrap())
    });
    let mut sfu = sfu.lock().unwrap();
    let profile = MediaProfile {
        vp8: true,
        h264: true,
        prefer_h264: false,
        data_channel: true,
        player_data: PlayerData::All,
        no_media_timeout: None,
        full_ice: false,
        local: None,
        whole_gop: false,
        all_layers: false,
    };
    sfu.handle_command(
        Instant::now(),
        MediaCommand::OpenPublisher {
            peer: PeerId(1),
            session: tern_core::SessionId(1),
            stream: StreamKey { app: "LiveApp".into(), id: "s".into() },
            group: "g".into(),
            profile,
            offer: offer.to_owned(),
        },
    );
    sfu.handle_command(Instant::now(), MediaCommand::Close { peer: PeerId(1) });
    while sfu.poll_output().is_some() {}
    assert_eq!(sfu.peer_count(), 0);
});
