//! What the recorder tests share: frames in, and the files read back the way
//! a third party does (Debian's ffprobe and ffmpeg).

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_media::frames::{Frame, FrameCodec};
use tern_record::Recorder;

/// A 20 ms Opus frame (CELT, stereo) that decodes to silence.
pub const OPUS_SILENCE: [u8; 3] = [0xfc, 0xff, 0xfe];

/// A fresh folder under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tern-record-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `video` frames at 30 fps (ticks from `first_ticks`) and `seconds` of Opus
/// silence every 20 ms, in arrival order.
pub fn with_audio(
    codec: FrameCodec,
    video: &[Vec<u8>],
    first_ticks: u64,
    keyframe: impl Fn(&[u8]) -> bool,
    seconds: u32,
) -> Vec<Frame> {
    let t0 = Instant::now();
    let mut out = Vec::new();
    for (i, f) in video.iter().enumerate() {
        out.push(Frame {
            codec,
            ticks: first_ticks + i as u64 * 3000,
            keyframe: keyframe(f),
            arrived: t0 + Duration::from_micros(i as u64 * 33_333),
            data: Arc::from(f.as_slice()),
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

/// Stream codecs and the duration, as ffprobe reports them.
pub fn probe(file: &Path) -> (Vec<String>, f64) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name:format=duration",
        ])
        .args(["-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.trim_end_matches(',').to_string())
        .collect();
    let duration = lines.last().and_then(|l| l.parse().ok()).unwrap_or(0.0);
    (lines[..lines.len().saturating_sub(1)].to_vec(), duration)
}

/// What ffmpeg says while it decodes every frame (empty: no error).
pub fn decode_errors(file: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Video packets ffprobe reads in `file`.
pub fn video_packets(file: &Path) -> u32 {
    let out = Command::new("ffprobe")
        .args(["-v", "quiet", "-select_streams", "v", "-count_packets"])
        .args(["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The final file, as the server writes it: the recorder's head, then its
/// ranges of the `.part` file.
pub fn write_final(rec: &Recorder, part: &Path, to: &Path) {
    let plan = rec.fast_start().unwrap();
    let mut out = std::fs::File::create(to).unwrap();
    out.write_all(&plan.head).unwrap();
    let mut src = std::fs::File::open(part).unwrap();
    for (at, len) in plan.ranges {
        src.seek(SeekFrom::Start(at)).unwrap();
        let mut buf = vec![0; len as usize];
        src.read_exact(&mut buf).unwrap();
        out.write_all(&buf).unwrap();
    }
}
