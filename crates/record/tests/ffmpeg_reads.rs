//! The recorder's files as a third party reads them: H.264 from Debian's
//! FFmpeg (libx264) and Opus frames go through the recorder; `ffprobe` must
//! find both streams with the right duration in the fragmented `.part` file
//! and in the fast-start file, and `ffmpeg` must decode every frame of both
//! without an error. A `.part` cut short (a crash) must still play.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_media::frames::{Frame, FrameCodec};
use tern_record::Recorder;

/// A 20 ms Opus frame (CELT, stereo) that decodes to silence.
const OPUS_SILENCE: [u8; 3] = [0xfc, 0xff, 0xfe];

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
    let t0 = Instant::now();
    let mut out = Vec::new();
    for (i, au) in video.iter().enumerate() {
        out.push(Frame {
            codec: FrameCodec::H264,
            ticks: 1_000_000 + i as u64 * 3000,
            keyframe: is_idr(au),
            arrived: t0 + Duration::from_micros(i as u64 * 33_333),
            data: Arc::from(au.as_slice()),
        });
    }
    for j in 0..(seconds as u64 * 50) {
        out.push(Frame {
            codec: FrameCodec::Opus,
            ticks: 7_000 + j * 960,
            keyframe: false,
            arrived: t0 + Duration::from_millis(j * 20 + 5),
            data: Arc::from(&OPUS_SILENCE[..]),
        });
    }
    out.sort_by_key(|f| f.arrived);
    out
}

fn probe(file: &Path) -> (Vec<String>, f64) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name:format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.trim_end_matches(',').to_string())
        .collect();
    let duration = lines.last().and_then(|l| l.parse().ok()).unwrap_or(0.0);
    (lines[..lines.len().saturating_sub(1)].to_vec(), duration)
}

fn decode_errors(file: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn ffmpeg_reads_the_fragmented_and_the_fast_start_file() {
    let dir = tempfile_dir("whole");
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

    let plan = rec.fast_start().unwrap();
    let final_path = dir.join("s.mp4");
    let mut out = std::fs::File::create(&final_path).unwrap();
    out.write_all(&plan.head).unwrap();
    let mut src = std::fs::File::open(&part_path).unwrap();
    for (at, len) in plan.ranges {
        src.seek(SeekFrom::Start(at)).unwrap();
        let mut buf = vec![0; len as usize];
        src.read_exact(&mut buf).unwrap();
        out.write_all(&buf).unwrap();
    }
    drop(out);
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
    let dir = tempfile_dir("crash");
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
    let out = Command::new("ffprobe")
        .args(["-v", "quiet", "-select_streams", "v", "-count_packets"])
        .args(["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"])
        .arg(&cut)
        .output()
        .unwrap();
    let packets: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(
        (60..90).contains(&packets),
        "video packets in the cut file: {packets}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tern-record-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
