//! What a run does: defaults, then a TOML file, then command-line flags.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Parser;
use serde::Deserialize;

/// Which server and which of its APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Tern (Ant Media's WebSocket signaling).
    Tern,
    /// Janus with its VideoRoom plugin.
    Janus,
}

/// One load scenario. Every key can be set in the TOML file and by a flag.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    pub target: Target,
    /// Tern: `ws://HOST:PORT/APP/websocket`; Janus: `ws://HOST:PORT`.
    pub url: String,
    /// Janus: the VideoRoom room the publishers join.
    pub room: u64,
    /// Streams, each with one publisher.
    pub publishers: usize,
    /// Subscribers per stream.
    pub subscribers: usize,
    /// Length of the measuring window, seconds.
    pub duration: f64,
    /// Seconds between the last join and the measuring window.
    pub warmup: f64,
    /// Seeds stream names, join order and publisher phases.
    pub seed: u64,
    pub video_kbps: u32,
    pub fps: u32,
    /// Opus packets per second (one frame each).
    pub audio_pps: u32,
    pub audio_bytes: usize,
    /// One video frame in this many is a keyframe (1: every one).
    pub keyframe_every: u32,
    /// Subscribers started per second (0: as fast as `join_concurrency` allows).
    pub join_rate: f64,
    /// Joins in flight at once.
    pub join_concurrency: usize,
    /// Seconds a join may take before it counts as failed.
    pub join_timeout: f64,
    /// One media packet in this many is decrypted and checked.
    pub sample: u64,
    /// Address the client sockets bind to.
    pub bind: IpAddr,
    /// The server's process id, to read its CPU time and memory.
    pub server_pid: Option<u32>,
    /// Where to write the JSON report.
    pub json: Option<PathBuf>,
    /// A name for the report.
    pub label: String,
    /// Runtime threads of the generator (1: a single-threaded runtime).
    pub threads: usize,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            target: Target::Tern,
            url: "ws://127.0.0.1:5080/LiveApp/websocket".into(),
            room: 1000,
            publishers: 1,
            subscribers: 10,
            duration: 10.0,
            warmup: 2.0,
            seed: 1,
            video_kbps: 1500,
            fps: 30,
            audio_pps: 50,
            audio_bytes: 120,
            keyframe_every: 1,
            join_rate: 100.0,
            join_concurrency: 16,
            join_timeout: 10.0,
            sample: 32,
            bind: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            server_pid: None,
            json: None,
            label: String::new(),
            threads: 1,
        }
    }
}

/// tern-load: publishers × subscribers of synthetic audio+video through Tern
/// or Janus; prints join time, delivered packets/s, loss and one-way delay.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Args {
    /// TOML file with scenario keys (flags win over it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Server kind [default: tern]
    #[arg(long, value_enum)]
    pub target: Option<Target>,
    /// Tern: ws://HOST:PORT/APP/websocket; Janus: ws://HOST:PORT [default: ws://127.0.0.1:5080/LiveApp/websocket]
    #[arg(long)]
    pub url: Option<String>,
    /// Janus: the VideoRoom room [default: 1000]
    #[arg(long)]
    pub room: Option<u64>,
    /// Streams, one publisher each [default: 1]
    #[arg(long, short = 'p')]
    pub publishers: Option<usize>,
    /// Subscribers per stream [default: 10]
    #[arg(long, short = 's')]
    pub subscribers: Option<usize>,
    /// Measuring window, seconds [default: 10]
    #[arg(long, short = 'd')]
    pub duration: Option<f64>,
    /// Seconds between the last join and the window [default: 2]
    #[arg(long)]
    pub warmup: Option<f64>,
    /// Seeds stream names, join order and publisher phases [default: 1]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Video bitrate per publisher [default: 1500]
    #[arg(long)]
    pub video_kbps: Option<u32>,
    /// Video frames per second [default: 30]
    #[arg(long)]
    pub fps: Option<u32>,
    /// Opus packets per second [default: 50]
    #[arg(long)]
    pub audio_pps: Option<u32>,
    /// Bytes of one Opus packet's payload [default: 120]
    #[arg(long)]
    pub audio_bytes: Option<usize>,
    /// One video frame in N is a keyframe, the others VP8 interframes [default: 1]
    #[arg(long)]
    pub keyframe_every: Option<u32>,
    /// Subscribers started per second, 0 = no pacing [default: 100]
    #[arg(long)]
    pub join_rate: Option<f64>,
    /// Joins in flight at once [default: 16]
    #[arg(long)]
    pub join_concurrency: Option<usize>,
    /// Seconds a join may take before it counts as failed [default: 10]
    #[arg(long)]
    pub join_timeout: Option<f64>,
    /// Decrypt and check one media packet in N [default: 32]
    #[arg(long)]
    pub sample: Option<u64>,
    /// Address client sockets bind to [default: 127.0.0.1]
    #[arg(long)]
    pub bind: Option<IpAddr>,
    /// Server process id: its CPU time and RSS go in the report
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Also write the JSON report to this file
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// A name put in the report
    #[arg(long)]
    pub label: Option<String>,
    /// Runtime threads; 1 = single-threaded [default: 1]
    #[arg(long)]
    pub threads: Option<usize>,
}

impl Args {
    /// The scenario these flags (and the file they name) describe.
    pub fn scenario(self) -> anyhow::Result<Scenario> {
        let mut s = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("in {}", path.display()))?
            }
            None => Scenario::default(),
        };
        macro_rules! over {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { s.$f = v; } )* };
        }
        over!(
            target,
            url,
            room,
            publishers,
            subscribers,
            duration,
            warmup,
            seed,
            video_kbps,
            fps,
            audio_pps,
            audio_bytes,
            keyframe_every,
            join_rate,
            join_concurrency,
            join_timeout,
            sample,
            bind,
            label,
            threads
        );
        if self.server_pid.is_some() {
            s.server_pid = self.server_pid;
        }
        if self.json.is_some() {
            s.json = self.json;
        }
        s.validate()?;
        Ok(s)
    }
}

impl Scenario {
    fn validate(&self) -> anyhow::Result<()> {
        if self.publishers == 0
            || self.fps == 0
            || self.join_concurrency == 0
            || self.keyframe_every == 0
        {
            bail!("publishers, fps, join_concurrency and keyframe_every must be at least 1");
        }
        if !(self.duration > 0.0 && self.duration <= 3600.0) {
            bail!("duration must be in (0, 3600] seconds");
        }
        if !(0.0..=600.0).contains(&self.warmup) || self.join_timeout <= 0.0 {
            bail!("warmup must be in [0, 600] and join_timeout positive");
        }
        Ok(())
    }

    /// Bytes of one video frame.
    pub fn video_frame_bytes(&self) -> usize {
        (self.video_kbps as usize * 1000 / 8 / self.fps as usize).max(64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file() {
        let dir = std::env::temp_dir().join(format!("tern-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("s.toml");
        std::fs::write(
            &file,
            "target = \"janus\"\nsubscribers = 7\nduration = 3.5\n",
        )
        .unwrap();
        let args = Args::parse_from(["tern-load", "--config", file.to_str().unwrap(), "-s", "9"]);
        let s = args.scenario().unwrap();
        assert_eq!(s.target, Target::Janus);
        assert_eq!(s.subscribers, 9);
        assert_eq!(s.duration, 3.5);
        assert_eq!(s.fps, 30);
        std::fs::write(&file, "subscriber = 7\n").unwrap();
        let args = Args::parse_from(["tern-load", "--config", file.to_str().unwrap()]);
        assert!(args.scenario().is_err(), "unknown keys are refused");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
