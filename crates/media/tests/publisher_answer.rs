//! The SFU's answer to a browser-like publisher offer.

use std::time::Instant;

use tern_core::{
    MediaCommand, MediaEvent, MediaProfile, PeerId, PlayerData, SdpFailure, StreamKey,
};
use tern_media::{LocalAddrs, Sfu, SfuOutput};

const OFFER: &str = include_str!("fixtures/chrome_offer.sdp");

fn profile(vp8: bool, h264: bool, data_channel: bool) -> MediaProfile {
    MediaProfile {
        vp8,
        h264,
        prefer_h264: false,
        data_channel,
        player_data: PlayerData::All,
        no_media_timeout: None,
        full_ice: false,
        local: None,
        whole_gop: false,
        all_layers: false,
    }
}

/// Opens a publisher with `offer` and returns the SFU's event about it.
fn open(offer: &str, profile: MediaProfile) -> MediaEvent {
    let local = LocalAddrs::new(vec!["127.0.0.1:5000".parse().unwrap()]).unwrap();
    let mut sfu = Sfu::new(local).unwrap();
    sfu.handle_command(
        Instant::now(),
        MediaCommand::OpenPublisher {
            peer: PeerId(1),
            session: tern_core::SessionId(1),
            stream: StreamKey {
                app: "LiveApp".into(),
                id: "s".into(),
            },
            group: "s".into(),
            profile,
            offer: offer.to_owned(),
        },
    );
    std::iter::from_fn(|| sfu.poll_output())
        .find_map(|o| match o {
            SfuOutput::Event(e) => Some(e),
            SfuOutput::Transmit(_) | SfuOutput::Relay { .. } => None,
        })
        .expect("an event")
}

fn answer(e: MediaEvent) -> String {
    match e {
        MediaEvent::Answer {
            sdp, candidates, ..
        } => {
            assert_eq!(candidates.mid, "0");
            assert!(
                candidates.lines[0].contains("127.0.0.1 5000"),
                "{:?}",
                candidates.lines
            );
            sdp
        }
        other => panic!("expected an answer, got {other:?}"),
    }
}

#[test]
fn sendrecv_offer_is_answered_recvonly_with_data_channel() {
    let sdp = answer(open(OFFER, profile(true, true, true)));
    assert_eq!(sdp.matches("a=recvonly").count(), 2, "{sdp}");
    assert!(!sdp.contains("a=sendrecv\r\nm=video"));
    assert!(sdp.contains("m=application 9"), "{sdp}");
    assert!(sdp.contains("a=candidate:"), "{sdp}");
}

#[test]
fn h264_only_app_answers_h264() {
    let sdp = answer(open(OFFER, profile(false, true, true)));
    assert!(sdp.contains("H264/90000"), "{sdp}");
    assert!(!sdp.contains("VP8/90000"), "{sdp}");
}

#[test]
fn data_channel_disabled_rejects_the_application_section() {
    let sdp = answer(open(OFFER, profile(true, true, false)));
    assert!(sdp.contains("m=application 0"), "{sdp}");
    assert!(sdp.contains("m=video 9"), "media still accepted: {sdp}");
}

#[test]
fn no_common_video_codec_is_a_local_failure() {
    let vp9 = OFFER
        .replace("VP8/90000", "VP9/90000")
        .replace("H264/90000", "AV1X/90000");
    match open(&vp9, profile(true, true, true)) {
        MediaEvent::SdpFailed {
            failure: SdpFailure::Local(why),
            ..
        } => assert!(why.contains("video"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_is_a_remote_failure() {
    for bad in [
        "",
        "hello",
        "v=0\r\nm=audio x\r\n",
        &OFFER[..OFFER.len() / 2],
    ] {
        match open(bad, profile(true, true, true)) {
            MediaEvent::SdpFailed {
                failure: SdpFailure::Remote(_) | SdpFailure::Local(_),
                ..
            } => {}
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

/// The payload types of the answer's video m-line, in its order.
fn video_codecs(sdp: &str) -> Vec<String> {
    let line = sdp
        .lines()
        .find(|l| l.starts_with("m=video"))
        .expect("a video m-line");
    let pts: Vec<&str> = line.split_whitespace().skip(3).collect();
    pts.iter()
        .filter_map(|pt| {
            let prefix = format!("a=rtpmap:{pt} ");
            sdp.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .map(|c| c.split('/').next().unwrap_or("").to_owned())
        })
        .filter(|c| c != "rtx")
        .collect()
}

#[test]
fn an_app_that_makes_hls_prefers_h264_in_the_answer() {
    let plain = answer(open(OFFER, profile(true, true, true)));
    assert_eq!(
        video_codecs(&plain).first().map(String::as_str),
        Some("VP8")
    );
    let mut hls = profile(true, true, true);
    hls.prefer_h264 = true;
    let sdp = answer(open(OFFER, hls));
    let codecs = video_codecs(&sdp);
    assert_eq!(
        codecs.first().map(String::as_str),
        Some("H264"),
        "{codecs:?}"
    );
    assert!(codecs.iter().any(|c| c == "VP8"), "VP8 stays as a fallback");
}
