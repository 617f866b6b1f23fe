//! SRT's MPEG-TS from Debian's ffmpeg (H.264 + AAC, as an encoder sends it)
//! into frames: every video frame, keyframes with their parameter sets, the
//! AAC itself and Opus made from it, all on one clock; garbage and cut
//! packets cost only themselves.

use std::process::Command;
use std::time::{Duration, Instant};

use tern_ingest::ts::TsToFrames;
use tern_media::frames::{adts, FrameCodec};

fn ffmpeg_ts(extra: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000"])
        .args([
            "-t", "3", "-c:v", "libx264", "-preset", "veryfast", "-g", "30",
        ])
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac"])
        .args(extra)
        .args(["-f", "mpegts", "-"])
        .output()
        .expect("Debian's ffmpeg runs");
    assert!(out.status.success());
    out.stdout
}

#[test]
fn ffmpeg_s_transport_stream_gives_every_frame_on_one_clock() {
    let ts = ffmpeg_ts(&["-bf", "0"]);
    let t0 = Instant::now();
    let mut d = TsToFrames::default();
    let mut frames = Vec::new();
    // In SRT's 1316-byte payloads, 100 ms apart per 30 of them.
    for (i, chunk) in ts.chunks(1316).enumerate() {
        let now = t0 + Duration::from_millis(i as u64 * 3);
        let (f, errors) = d.push(now, chunk);
        assert!(errors.is_empty(), "{errors:?}");
        frames.extend(f);
    }
    let video: Vec<_> = frames
        .iter()
        .filter(|f| f.codec == FrameCodec::H264)
        .collect();
    let audio: Vec<_> = frames
        .iter()
        .filter(|f| f.codec == FrameCodec::Opus)
        .collect();
    // The last video PES ends only when another begins: all but one.
    assert!(
        (88..=90).contains(&video.len()),
        "{} video frames",
        video.len()
    );
    assert!(video[0].keyframe);
    assert_eq!(video.iter().filter(|f| f.keyframe).count(), 3);
    for key in video.iter().filter(|f| f.keyframe) {
        // Parameter sets first (in-band, or put there).
        assert_eq!(key.data[4] & 0x1f, 7, "SPS before the IDR");
    }
    assert!(video.windows(2).all(|w| w[1].ticks == w[0].ticks + 3000));
    assert!(
        (140..=150).contains(&audio.len()),
        "{} Opus packets",
        audio.len()
    );
    assert!(audio.windows(2).all(|w| w[1].ticks == w[0].ticks + 960));
    // The AAC as sent, for recordings: 48 kHz, 1024 samples a frame, each
    // a whole ADTS frame.
    let aac: Vec<_> = frames
        .iter()
        .filter(|f| f.codec == FrameCodec::Aac)
        .collect();
    assert!((130..=141).contains(&aac.len()), "{} AAC frames", aac.len());
    assert!(aac.windows(2).all(|w| w[1].ticks == w[0].ticks + 1024));
    assert!(aac[0].ticks <= 48 * 50, "AAC starts at {}", aac[0].ticks);
    for f in &aac {
        let h = adts::read(&f.data).expect("a whole ADTS frame");
        assert_eq!((h.sample_rate(), h.frame_len), (Some(48_000), f.data.len()));
    }
    // Both tracks start together: video at 0, audio within 50 ms of it.
    assert_eq!(video[0].ticks, 0);
    assert!(
        audio[0].ticks <= 48 * 50,
        "audio starts at {}",
        audio[0].ticks
    );
    assert!(!d.b_frames);
}

#[test]
fn b_frames_are_noticed_and_garbage_costs_only_itself() {
    let ts = ffmpeg_ts(&["-bf", "2"]);
    let t0 = Instant::now();
    let mut d = TsToFrames::default();
    let mut video = 0;
    for (i, chunk) in ts.chunks(1316).enumerate() {
        let now = t0 + Duration::from_millis(i as u64 * 3);
        if i == 40 {
            // Garbage, and a packet cut short, between good ones.
            let _ = d.push(now, &[0x47; 500]);
            let _ = d.push(now, &[0x55; 1000]);
        }
        let (f, _) = d.push(now, chunk);
        video += f.iter().filter(|f| f.codec == FrameCodec::H264).count();
    }
    assert!(d.b_frames);
    assert!(video > 60, "{video} video frames");
}
