//! What the AAC → Opus tests share: real AAC made by FFmpeg, cut from its
//! ADTS stream into raw access units as FLV carries them, and the Opus that
//! comes out decoded by libopus and measured.
#![allow(dead_code)] // each test file uses its own part

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use opusic_c::{Channels, Decoder, SampleRate};
use tern_ingest::audio::OpusPacket;

/// A raw AAC track: its AudioSpecificConfig and access units.
pub struct Aac {
    pub config: Vec<u8>,
    pub rate: u32,
    pub channels: usize,
    pub units: Vec<Vec<u8>>,
}

impl Aac {
    /// FLV time of unit `n` when unit 0 is at `first_ms`: the sample count
    /// rounded down to the millisecond, as encoders stamp FLV.
    pub fn pts(&self, first_ms: u64, n: usize) -> u64 {
        first_ms + n as u64 * 1024 * 1000 / u64::from(self.rate)
    }
}

/// Runs FFmpeg with a lavfi source `source` (e.g. `sine=...`) and returns
/// what it wrote to stdout.
fn ffmpeg(source: &str, output: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        .args(["-f", "lavfi", "-i", source])
        .args(output)
        .arg("pipe:1")
        .stdin(Stdio::null())
        .output()
        .expect("ffmpeg runs (Debian package ffmpeg)");
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// AAC-LC in ADTS, made by FFmpeg's encoder from a lavfi source.
pub fn encode_adts(source: &str, channels: usize) -> Vec<u8> {
    let channels = channels.to_string();
    ffmpeg(source, &["-ac", &channels, "-c:a", "aac", "-f", "adts"])
}

/// The same AAC decoded by FFmpeg itself: what a standard player hears,
/// mixed to mono, f32 at the source rate, from the first unit's first sample.
pub fn ffmpeg_decode(adts: &[u8]) -> Vec<f32> {
    static FILES: AtomicUsize = AtomicUsize::new(0);
    let n = FILES.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("tern-aac-{}-{n}.aac", std::process::id()));
    std::fs::write(&path, adts).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i"])
        .arg(&path)
        .args(["-ac", "1", "-f", "f32le", "pipe:1"])
        .stdin(Stdio::null())
        .output()
        .expect("ffmpeg runs");
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success());
    out.stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Cuts an ADTS stream into raw access units (ISO/IEC 14496-3 §1.A.2.2)
/// and builds the 2-byte AudioSpecificConfig from the first header.
pub fn split_adts(mut adts: &[u8]) -> Aac {
    const RATES: [u32; 13] = [
        96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
    ];
    let mut units = Vec::new();
    let mut first = None;
    while adts.len() >= 7 {
        assert_eq!((adts[0], adts[1] & 0xf0), (0xff, 0xf0), "ADTS sync word");
        let protection_absent = adts[1] & 1 == 1;
        let profile = adts[2] >> 6; // object type - 1
        let rate_index = (adts[2] >> 2) & 0x0f;
        let channels = ((adts[2] & 1) << 2) | (adts[3] >> 6);
        let frame_len = (usize::from(adts[3] & 3) << 11)
            | (usize::from(adts[4]) << 3)
            | usize::from(adts[5] >> 5);
        assert_eq!(adts[6] & 3, 0, "one raw data block per ADTS frame");
        let header = if protection_absent { 7 } else { 9 };
        units.push(adts[header..frame_len].to_vec());
        first.get_or_insert((profile, rate_index, channels));
        adts = &adts[frame_len..];
    }
    let (profile, rate_index, channels) = first.expect("at least one ADTS frame");
    let object_type = profile + 1;
    let config = vec![
        (object_type << 3) | (rate_index >> 1),
        ((rate_index & 1) << 7) | (channels << 3),
    ];
    Aac {
        config,
        rate: RATES[usize::from(rate_index)],
        channels: usize::from(channels),
        units,
    }
}

/// Pushes every unit, unit 0 at `first_ms`; all must decode.
pub fn transcode(aac: &Aac, first_ms: u64) -> Vec<OpusPacket> {
    let mut t = tern_ingest::audio::AacToOpus::new(&aac.config).expect("config taken");
    let mut packets = Vec::new();
    for (n, unit) in aac.units.iter().enumerate() {
        packets.extend(t.push(unit, aac.pts(first_ms, n)).expect("unit decodes"));
    }
    packets
}

/// Decodes packets in order with libopus into one plane per channel.
pub fn decode_opus(packets: &[OpusPacket], channels: usize) -> Vec<Vec<f32>> {
    let layout = if channels == 1 {
        Channels::Mono
    } else {
        Channels::Stereo
    };
    let mut decoder = Decoder::new(layout, SampleRate::Hz48000).unwrap();
    let mut planes = vec![Vec::new(); channels];
    let mut pcm = vec![0.0f32; 960 * channels];
    for p in packets {
        let frames = decoder
            .decode_float_to_slice(&p.data, &mut pcm, false)
            .expect("our own Opus decodes");
        assert_eq!(frames, 960, "20 ms packets");
        for (i, s) in pcm.iter().enumerate() {
            planes[i % channels].push(*s);
        }
    }
    planes
}

/// Ticks go up by 960 from the first packet's, with no gap.
pub fn assert_continuous(packets: &[OpusPacket]) {
    for pair in packets.windows(2) {
        assert_eq!(pair[1].ticks, pair[0].ticks + 960, "continuous ticks");
    }
}

pub fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|s| s * s).sum::<f32>() / x.len() as f32).sqrt()
}

/// Frequency from the count of rising zero crossings.
pub fn zero_crossing_hz(x: &[f32], rate: f32) -> f32 {
    let rising = x.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
    rising as f32 * rate / x.len() as f32
}

/// The share of `x`'s power at `hz` (Goertzel), from 0 to 1.
pub fn power_share_at(x: &[f32], hz: f32, rate: f32) -> f32 {
    let w = 2.0 * std::f32::consts::PI * hz / rate;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &v in x {
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    // A pure tone of RMS r gives power (r * n)^2 / 2 here.
    let total = x.iter().map(|s| s * s).sum::<f32>() * x.len() as f32 / 2.0;
    power / total
}

/// Index of the first sample louder than `threshold`.
pub fn first_loud(x: &[f32], threshold: f32) -> Option<usize> {
    x.iter().position(|s| s.abs() > threshold)
}
