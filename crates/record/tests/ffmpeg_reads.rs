//! The recorder's files as a third party reads them: H.264 from Debian's
//! FFmpeg (libx264) and Opus frames go through the recorder; `ffprobe` must
//! find both streams with the right duration in the fragmented `.part` file
//! and in the fast-start file, and `ffmpeg` must decode every frame of both
//! without an error. A `.part` cut short (a crash) must still play.

mod readers;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use readers::{decode_errors, probe, temp_dir, video_packets, write_final};
use tern_media::frames::{Frame, FrameCodec};
use tern_record::Recorder;

fn encode_h264(dir: &Path, seconds: u32) -> Vec<u8> {
    let out = dir.join("in.h264");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size=320x240:rate=30:duration={seconds}"))
        .args([
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            "-profile:v",
            "baseline",
            "-g",
            "30",
            "-bf",
            "0",
        ])
        .args(["-x264-params", "aud=1", "-f", "h264"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs (Debian package ffmpeg)");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

/// Access units of an Annex B stream written with access unit delimiters.
fn access_units(stream: &[u8]) -> Vec<Vec<u8>> {
    let aud = [0u8, 0, 0, 1, 0x09];
    let mut starts: Vec<usize> = stream
        .windows(5)
        .enumerate()
        .filter(|(_, w)| *w == aud)
        .map(|(i, _)| i)
        .collect();
    starts.push(stream.len());
    starts
        .windows(2)
        .map(|w| stream[w[0]..w[1]].to_vec())
        .collect()
}

fn is_idr(au: &[u8]) -> bool {
    tern_record::h264::nal_units(au).any(|n| n[0] & 0x1f == 5)
}

/// Frames of `seconds` of video and audio, in arrival order.
fn frames(video: &[Vec<u8>], seconds: u32) -> Vec<Frame> {
    readers::with_audio(FrameCodec::H264, video, 1_000_000, is_idr, seconds)
}

#[test]
fn ffmpeg_reads_the_fragmented_and_the_fast_start_file() {
    let dir = temp_dir("whole");
    let video = access_units(&encode_h264(&dir, 4));
    assert_eq!(video.len(), 120);
    let mut rec = Recorder::new();
    let part_path = dir.join("s.mp4.part");
    let mut part = std::fs::File::create(&part_path).unwrap();
    for f in frames(&video, 4) {
        if let Ok(bytes) = rec.push(&f).unwrap() {
            part.write_all(&bytes).unwrap();
        }
    }
    part.write_all(&rec.finish().unwrap()).unwrap();
    drop(part);

    let (streams, duration) = probe(&part_path);
    assert_eq!(streams, vec!["h264", "opus"], "fragmented");
    assert!(
        (duration - 4.0).abs() < 0.2,
        "fragmented duration {duration}"
    );
    assert_eq!(decode_errors(&part_path), "", "fragmented decodes");

    let final_path = dir.join("s.mp4");
    write_final(&rec, &part_path, &final_path);
    let (streams, duration) = probe(&final_path);
    assert_eq!(streams, vec!["h264", "opus"], "fast start");
    assert!(
        (duration - 4.0).abs() < 0.2,
        "fast-start duration {duration}"
    );
    assert_eq!(decode_errors(&final_path), "", "fast start decodes");
    // Fast start: the movie box comes before the media data.
    let bytes = std::fs::read(&final_path).unwrap();
    let moov = bytes.windows(4).position(|w| w == b"moov").unwrap();
    let mdat = bytes.windows(4).position(|w| w == b"mdat").unwrap();
    assert!(moov < mdat);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_part_file_cut_short_plays_up_to_its_last_whole_fragment() {
    let dir = temp_dir("crash");
    let video = access_units(&encode_h264(&dir, 4));
    let mut rec = Recorder::new();
    let mut bytes = Vec::new();
    let (mut at_2s, mut at_3s) = (0, 0);
    for f in frames(&video, 4) {
        if let Ok(b) = rec.push(&f).unwrap() {
            bytes.extend(b);
        }
        if f.ticks == 1_000_000 + 60 * 3000 {
            at_2s = bytes.len();
        }
        if f.ticks == 1_000_000 + 90 * 3000 {
            at_3s = bytes.len();
        }
    }
    // The process died half-way through writing the fragment of 2 s to 3 s:
    // the first two seconds play.
    assert!(at_2s < at_3s);
    let cut = dir.join("cut.mp4.part");
    std::fs::write(&cut, &bytes[..(at_2s + at_3s) / 2]).unwrap();
    let (streams, duration) = probe(&cut);
    assert_eq!(streams, vec!["h264", "opus"]);
    assert!(
        (1.9..=3.0).contains(&duration),
        "cut file plays {duration} s"
    );
    // Every video frame of the first two seconds is there to decode.
    let packets = video_packets(&cut);
    assert!(
        (60..90).contains(&packets),
        "video packets in the cut file: {packets}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
