//! WebM recordings as FFmpeg reads them: VP8 from Debian's FFmpeg (libvpx)
//! and Opus frames go through the recorder; `ffprobe` must find both streams
//! with the right duration in the `.part` file and in the final file, and
//! `ffmpeg` must decode every frame of both without an error. A `.part` cut
//! short (a crash) plays up to its last whole cluster. H.264 is refused.

mod readers;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use readers::{decode_errors, probe, temp_dir, video_packets, write_final};
use tern_media::frames::{Frame, FrameCodec};
use tern_record::{Recorder, Skipped};

/// VP8 frames of `seconds` at 30 fps, a keyframe every second, from an IVF
/// file FFmpeg writes.
fn vp8_frames(dir: &Path, seconds: u32) -> Vec<Vec<u8>> {
    let out = dir.join("in.ivf");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size=320x240:rate=30:duration={seconds}"))
        .args(["-c:v", "libvpx", "-g", "30", "-b:v", "300k", "-f", "ivf"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs (Debian package ffmpeg)");
    assert!(status.success());
    let ivf = std::fs::read(out).unwrap();
    let mut frames = Vec::new();
    let mut at = u16::from_le_bytes([ivf[6], ivf[7]]) as usize;
    while at + 12 <= ivf.len() {
        let size = u32::from_le_bytes(ivf[at..at + 4].try_into().unwrap()) as usize;
        frames.push(ivf[at + 12..at + 12 + size].to_vec());
        at += 12 + size;
    }
    frames
}

/// Frames of video and audio, in arrival order.
fn frames(video: &[Vec<u8>], seconds: u32) -> Vec<Frame> {
    readers::with_audio(FrameCodec::Vp8, video, 500_000, |f| f[0] & 1 == 0, seconds)
}

#[test]
fn ffmpeg_reads_the_running_and_the_final_webm() {
    let d = temp_dir("webm");
    let video = vp8_frames(&d, 4);
    assert_eq!(video.len(), 120);
    let mut rec = Recorder::webm();
    let part_path = d.join("s.webm.part");
    let mut part = std::fs::File::create(&part_path).unwrap();
    let mut cuts = Vec::new();
    for f in frames(&video, 4) {
        if let Ok(bytes) = rec.push(&f).unwrap() {
            part.write_all(&bytes).unwrap();
        }
        if f.codec.is_video() && f.ticks == 500_000 + 60 * 3000 {
            cuts.push(part.metadata().unwrap().len());
        }
    }
    part.write_all(&rec.finish().unwrap()).unwrap();
    drop(part);
    let (streams, duration) = probe(&part_path);
    assert_eq!(streams, vec!["vp8", "opus"], "running file");
    assert_eq!(decode_errors(&part_path), "", "running file decodes");

    let final_path = d.join("s.webm");
    write_final(&rec, &part_path, &final_path);
    let (streams, duration_final) = probe(&final_path);
    assert_eq!(streams, vec!["vp8", "opus"], "final file");
    assert!(
        (duration_final - 4.0).abs() < 0.2,
        "final duration {duration_final} (running: {duration})"
    );
    assert_eq!(decode_errors(&final_path), "", "final file decodes");

    // A crash half-way through the cluster after 2 s: the first 2 s play.
    let bytes = std::fs::read(&part_path).unwrap();
    let at_2s = cuts[0] as usize;
    let cut = d.join("cut.webm.part");
    std::fs::write(&cut, &bytes[..at_2s + 700]).unwrap();
    let packets = video_packets(&cut);
    assert!(
        (55..=61).contains(&packets),
        "video packets in the cut file: {packets}"
    );
    // What a restart keeps of each: the whole clusters, and how long they play.
    let scan = |p: &Path| {
        let mut f = std::fs::File::open(p).unwrap();
        let len = f.metadata().unwrap().len();
        (tern_record::webm::scan(&mut f, len).unwrap(), len)
    };
    let (whole, len) = scan(&part_path);
    assert_eq!(whole.whole, len, "a finished .part is whole");
    assert!((3900..=4000).contains(&whole.duration_ms), "{whole:?}");
    let (cut_scan, cut_len) = scan(&cut);
    assert!(
        cut_scan.whole > 0 && cut_scan.whole < cut_len,
        "{cut_scan:?} of {cut_len}"
    );
    assert!(
        (1800..=2000).contains(&cut_scan.duration_ms),
        "{cut_scan:?}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn h264_is_not_recorded_to_webm() {
    let mut rec = Recorder::webm();
    let f = Frame {
        codec: FrameCodec::H264,
        ticks: 0,
        keyframe: true,
        arrived: Instant::now(),
        data: Arc::from(&[0u8, 0, 0, 1, 0x65, 0x88][..]),
    };
    assert_eq!(rec.push(&f).unwrap(), Err(Skipped::NotInContainer));
    assert!(!rec.is_started());
}
