//! The recorder's timing rules.

use super::*;
use std::sync::Arc;

fn frame(codec: FrameCodec, ticks: u64, arrived: Instant, data: &[u8]) -> Frame {
    Frame {
        codec,
        ticks,
        keyframe: codec.is_video(),
        arrived,
        data: Arc::from(data),
    }
}

/// RTMP audio leaves its transcoder ~40 ms after the video of the same
/// instant: the first Opus frames pushed after the first keyframe are
/// older than it. They are dropped rather than placed at 0, which would
/// make the whole audio track play late.
#[test]
fn audio_from_before_the_first_keyframe_is_dropped_not_moved_late() {
    let t0 = Instant::now();
    let idr: &[u8] = &[
        0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 0, 1,
        0x65, 0x88, 0x84, 0x00,
    ];
    let opus: &[u8] = &[0xfc, 0xff, 0xfe];
    let ms = Duration::from_millis;
    let mut rec = Recorder::new();
    // Video at media time 23 ms; audio at 0, 20, 40 ms, each on the
    // same clock (arrival = anchor + media time).
    let key = frame(FrameCodec::H264, 23 * 90, t0 + ms(23), idr);
    assert!(matches!(rec.push(&key), Ok(Err(Skipped::Waiting))));
    let a0 = frame(FrameCodec::Opus, 0, t0, opus);
    assert!(rec.push(&a0).unwrap().is_ok(), "the recording starts");
    let a1 = frame(FrameCodec::Opus, 960, t0 + ms(20), opus);
    assert!(matches!(rec.push(&a1), Ok(Err(Skipped::BeforeStart))));
    let a2 = frame(FrameCodec::Opus, 1920, t0 + ms(40), opus);
    assert!(rec.push(&a2).unwrap().is_ok());
    let audio = rec.audio.as_ref().unwrap();
    // 40 ms of audio is 17 ms after the video's 23 ms.
    assert_eq!(audio.last_dts, Some(17 * 48));
    assert_eq!(rec.video.as_ref().unwrap().last_dts, Some(0));
}

/// The encoder's clock moved back 40 ms after the first keyframe was
/// stamped (its first frames came in a burst): the audio is placed by the
/// video frame stamped just before it, on the settled clock.
#[test]
fn a_new_track_is_placed_by_the_other_tracks_newest_frame() {
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    let mut rec = Recorder::new();
    let idr: &[u8] = &[
        0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 0, 1,
        0x65, 0x88, 0x84, 0x00,
    ];
    let p: &[u8] = &[0, 0, 0, 1, 0x41, 0x9a, 0x02];
    // Keyframe at 0 ms stamped t0 + 40; the next frames on the settled
    // clock (t0 + media time).
    let _ = rec.push(&frame(FrameCodec::H264, 0, t0 + ms(40), idr));
    let mut f = frame(FrameCodec::H264, 33 * 90, t0 + ms(33), p);
    f.keyframe = false;
    let _ = rec.push(&f);
    let a = frame(FrameCodec::Opus, 50 * 48, t0 + ms(50), &[0xfc, 0xff, 0xfe]);
    assert!(rec.push(&a).unwrap().is_ok());
    assert_eq!(rec.audio.as_ref().unwrap().last_dts, Some(50 * 48));
}

/// A source that gives its encoder's AAC beside the Opus made from it: MP4
/// records the AAC even when Opus came first; WebM keeps to Opus.
#[test]
fn mp4_keeps_an_encoders_aac_and_webm_its_opus() {
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    let idr: &[u8] = &[
        0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 0, 1,
        0x65, 0x88, 0x84, 0x00,
    ];
    let opus = frame(FrameCodec::Opus, 0, t0, &[0xfc, 0xff, 0xfe]);
    let adts = tern_media::frames::adts::frame(2, 4, 2, &[0x21, 0x10, 0x04]).unwrap();
    let aac = frame(FrameCodec::Aac, 0, t0 + ms(5), &adts);
    let key = frame(FrameCodec::H264, 0, t0 + ms(10), idr);

    let mut rec = Recorder::new();
    assert!(matches!(rec.push(&opus), Ok(Err(Skipped::Waiting))));
    assert!(matches!(rec.push(&aac), Ok(Err(Skipped::Waiting))));
    assert!(rec.push(&key).unwrap().is_ok(), "the recording starts");
    let audio = &rec.audio.as_ref().unwrap().info;
    assert_eq!(audio.clock(), 44100);
    assert!(matches!(
        audio.codec,
        TrackCodec::Aac {
            config: [0x12, 0x10],
            channels: 2,
            ..
        }
    ));
    // Opus after the start is not for this recording; a broken AAC frame
    // neither.
    let later = frame(FrameCodec::Opus, 960, t0 + ms(20), &[0xfc, 0xff, 0xfe]);
    assert!(matches!(rec.push(&later), Ok(Err(Skipped::NoTrack))));
    let broken = frame(FrameCodec::Aac, 1024, t0 + ms(28), &[0x12, 0x34]);
    assert!(matches!(rec.push(&broken), Ok(Err(Skipped::NoTrack))));
    let init = rec.init().unwrap();
    assert!(init.windows(4).any(|w| w == b"mp4a") && init.windows(4).any(|w| w == b"esds"));

    let mut webm = Recorder::webm();
    let vp8 = frame(
        FrameCodec::Vp8,
        0,
        t0 + ms(10),
        &[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a],
    );
    assert!(matches!(webm.push(&aac), Ok(Err(Skipped::Waiting))));
    assert!(matches!(webm.push(&opus), Ok(Err(Skipped::Waiting))));
    assert!(webm.push(&vp8).unwrap().is_ok());
    assert_eq!(webm.audio.as_ref().unwrap().info.codec, TrackCodec::Opus);
}
