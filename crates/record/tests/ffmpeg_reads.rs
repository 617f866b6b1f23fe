//! The recorder's files as a third party reads them: H.264 from Debian's
//! FFmpeg (libx264) and Opus frames go through the recorder; `ffprobe` must
//! find both streams with the right duration in the fragmented `.part` file
//! and in the fast-start file, and `ffmpeg` must decode every frame of both
//! without an error. A `.part` cut short (a crash) must still play. An
//! encoder's AAC (from FFmpeg's encoder) is recorded as AAC.

mod readers;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use readers::{decode_errors, probe, temp_dir, video_packets, write_final};
use tern_media::frames::{adts, Frame, FrameCodec};
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

/// Records `frames` into `dir`: the `.part` file and the fast-start file.
fn record(dir: &Path, frames: &[Frame]) -> (PathBuf, PathBuf) {
    let mut rec = Recorder::new();
    let part_path = dir.join("s.mp4.part");
    let mut part = std::fs::File::create(&part_path).unwrap();
    for f in frames {
        if let Ok(bytes) = rec.push(f).unwrap() {
            part.write_all(&bytes).unwrap();
        }
    }
    part.write_all(&rec.finish().unwrap()).unwrap();
    drop(part);
    let final_path = dir.join("s.mp4");
    write_final(&rec, &part_path, &final_path);
    (part_path, final_path)
}

/// ffprobe finds `codecs` lasting `seconds`, and ffmpeg decodes it all.
fn assert_reads(file: &Path, codecs: &[&str], seconds: f64) {
    let (streams, duration) = probe(file);
    assert_eq!(streams, codecs, "{}", file.display());
    assert!(
        (duration - seconds).abs() < 0.2,
        "{} lasts {duration} s",
        file.display()
    );
    assert_eq!(decode_errors(file), "", "{} decodes", file.display());
}

#[test]
fn ffmpeg_reads_the_fragmented_and_the_fast_start_file() {
    let dir = temp_dir("whole");
    let video = access_units(&encode_h264(&dir, 4));
    assert_eq!(video.len(), 120);
    let (part_path, final_path) = record(&dir, &frames(&video, 4));
    assert_reads(&part_path, &["h264", "opus"], 4.0);
    assert_reads(&final_path, &["h264", "opus"], 4.0);
    // Fast start: the movie box comes before the media data.
    let bytes = std::fs::read(&final_path).unwrap();
    let moov = bytes.windows(4).position(|w| w == b"moov").unwrap();
    let mdat = bytes.windows(4).position(|w| w == b"mdat").unwrap();
    assert!(moov < mdat);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `seconds` of AAC-LC at 44.1 kHz from Debian's FFmpeg, as ADTS frames.
fn encode_aac(dir: &Path, seconds: u32) -> Vec<Vec<u8>> {
    let out = dir.join("in.aac");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency=440:sample_rate=44100:duration={seconds}"
        ))
        .args(["-ac", "2", "-c:a", "aac", "-b:a", "96k", "-f", "adts"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    let mut stream = &std::fs::read(out).unwrap()[..];
    let mut frames = Vec::new();
    while !stream.is_empty() {
        let h = adts::read(stream).expect("FFmpeg writes whole ADTS frames");
        frames.push(stream[..h.frame_len].to_vec());
        stream = &stream[h.frame_len..];
    }
    frames
}

/// An encoder's source gives its AAC beside the Opus made from it (which
/// comes after it, out of the transcoder): the MP4 keeps the AAC (an `mp4a`
/// track at the AAC's own rate).
#[test]
fn an_encoders_aac_is_recorded_as_aac() {
    let dir = temp_dir("aac");
    let video = access_units(&encode_h264(&dir, 4));
    let aac = encode_aac(&dir, 4);
    let mut all = frames(&video, 4);
    let t0 = all.iter().map(|f| f.arrived).min().unwrap();
    for (i, data) in aac.iter().enumerate() {
        let ticks = 5_000 + i as u64 * 1024;
        all.push(Frame {
            codec: FrameCodec::Aac,
            ticks,
            keyframe: false,
            arrived: t0 + Duration::from_micros(i as u64 * 1024 * 1_000_000 / 44_100),
            data: Arc::from(data.as_slice()),
        });
    }
    all.sort_by_key(|f| f.arrived);
    let (part_path, final_path) = record(&dir, &all);
    assert_reads(&part_path, &["h264", "aac"], 4.0);
    assert_reads(&final_path, &["h264", "aac"], 4.0);
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
