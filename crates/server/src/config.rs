//! Configuration: defaults → TOML file (unknown keys rejected) → environment /
//! command line, validated into one [`Config`].

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Parser;
use serde::Deserialize;

use crate::app_settings::{Settings, SettingsPatch};

/// Applications every Tern has, as Ant Media does.
pub const DEFAULT_APPS: [&str; 2] = ["LiveApp", "WebRTCAppEE"];

/// Command line; every flag can also come from a `TERN_*` variable.
#[derive(Debug, Default, Parser)]
#[command(
    name = "tern",
    version,
    about = "Tern: an Ant Media-compatible WebRTC SFU"
)]
pub struct Cli {
    /// TOML configuration file (see config.example.toml).
    #[arg(long, env = "TERN_CONFIG")]
    pub config: Option<PathBuf>,
    /// TCP address for HTTP and WebSocket [default: 0.0.0.0:5080].
    #[arg(long, env = "TERN_HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,
    /// The one UDP address all peers share [default: 0.0.0.0:50000].
    #[arg(long, env = "TERN_MEDIA_ADDR")]
    pub media_addr: Option<SocketAddr>,
    /// Address announced in ICE candidates when the media address is unspecified.
    #[arg(long, env = "TERN_PUBLIC_IP")]
    pub public_ip: Option<IpAddr>,
    /// Where Tern keeps its data [default: ./data].
    #[arg(long, env = "TERN_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub http_addr: SocketAddr,
    pub media_addr: SocketAddr,
    pub public_ip: Option<IpAddr>,
    pub data_dir: PathBuf,
    /// Every application with its settings as the file gives them. These seed
    /// the stored settings of an app the first time it is seen; see
    /// `crate::apps` for the precedence.
    pub apps: BTreeMap<String, Settings>,
    pub limits: Limits,
}

/// Bounds that protect the server from one client.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest WebSocket message accepted; larger ones close the socket (1009).
    pub max_message_bytes: usize,
    /// Frames queued for one socket; a client that reads slower is disconnected.
    pub session_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 1 << 20,
            session_queue: 512,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    http_addr: Option<SocketAddr>,
    media_addr: Option<SocketAddr>,
    public_ip: Option<IpAddr>,
    data_dir: Option<PathBuf>,
    max_message_bytes: Option<usize>,
    session_queue: Option<usize>,
    #[serde(default)]
    apps: BTreeMap<String, SettingsPatch>,
}

impl Config {
    /// Builds the configuration from the command line (and what it names).
    pub fn load(cli: Cli) -> anyhow::Result<Config> {
        let file = match &cli.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        Self::merge(cli, file)
    }

    /// Parses a TOML text as the configuration file would be.
    pub fn from_toml(text: &str) -> anyhow::Result<Config> {
        let file: FileConfig = toml::from_str(text).context("invalid configuration")?;
        Self::merge(Cli::default(), file)
    }

    fn merge(cli: Cli, file: FileConfig) -> anyhow::Result<Config> {
        let mut limits = Limits::default();
        if let Some(n) = file.max_message_bytes {
            limits.max_message_bytes = n;
        }
        if let Some(n) = file.session_queue {
            limits.session_queue = n;
        }
        if limits.max_message_bytes < 64 * 1024 {
            bail!("max_message_bytes must be at least 65536 (SDP of large sessions)");
        }
        if limits.session_queue == 0 {
            bail!("session_queue must be at least 1");
        }
        let mut apps: BTreeMap<String, Settings> = DEFAULT_APPS
            .iter()
            .map(|a| (a.to_string(), Settings::default()))
            .collect();
        for (name, patch) in file.apps {
            if !tern_signal::stream_id::is_valid(&name) {
                bail!("application name {name:?} may only use letters, digits, '_', '.', '-'");
            }
            let app = apps.entry(name.clone()).or_default();
            app.apply(patch);
            app.validate()
                .with_context(|| format!("in [apps.{name}]"))?;
        }
        Ok(Config {
            http_addr: cli
                .http_addr
                .or(file.http_addr)
                .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 5080))),
            media_addr: cli
                .media_addr
                .or(file.media_addr)
                .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 50000))),
            public_ip: cli.public_ip.or(file.public_ip),
            data_dir: cli
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("data")),
            apps,
            limits,
        })
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid configuration file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c.http_addr.port(), 5080);
        assert!(c.apps.contains_key("LiveApp") && c.apps.contains_key("WebRTCAppEE"));
    }

    #[test]
    fn apps_from_the_file() {
        let c = Config::from_toml(
            "[apps.H264App]\nvp8Enabled = false\nstunServerURI = \"stun:127.0.0.1:3478\"\n",
        )
        .unwrap();
        let app = &c.apps["H264App"];
        assert!(!app.vp8_enabled && app.h264_enabled);
        assert_eq!(app.stun_server_uri, "stun:127.0.0.1:3478");
    }

    #[test]
    fn security_settings_from_the_file() {
        let c = Config::from_toml(
            "[apps.Locked]\npublishTokenControlEnabled = true\nwebRTCViewerLimit = 3\n\
             remoteAllowedCIDR = \"10.0.0.0/8\"\n",
        )
        .unwrap();
        let app = &c.apps["Locked"];
        assert!(app.publish_token_control_enabled && !app.play_token_control_enabled);
        assert_eq!(app.webrtc_viewer_limit, 3);
        assert_eq!(app.remote_allowed_cidr, "10.0.0.0/8");
    }

    #[test]
    fn mistakes_are_named() {
        for (text, needle) in [
            ("colour = 1", "unknown field"),
            ("[apps.X]\nvp9Enabled = true", "unknown field"),
            (
                "[apps.X]\nvp8Enabled = false\nh264Enabled = false",
                "at least one video codec",
            ),
            ("[apps.\"a b\"]", "may only use"),
            ("[apps.X]\nstunServerURI = \"http://x\"", "stun:"),
            ("max_message_bytes = 10", "at least 65536"),
            (
                "[apps.X]\nremoteAllowedCIDR = \"10.0.0.0/40\"",
                "remoteAllowedCIDR",
            ),
            (
                "[apps.X]\nplayJwtControlEnabled = true",
                "jwtStreamSecretKey",
            ),
        ] {
            let err = format!("{:#}", Config::from_toml(text).unwrap_err());
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}

#[cfg(test)]
mod example {
    #[test]
    fn the_example_file_is_valid() {
        let text = include_str!("../../../config.example.toml");
        let c = super::Config::from_toml(text).expect("config.example.toml parses");
        assert!(c.apps.contains_key("H264App"));
    }
}
