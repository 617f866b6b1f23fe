//! Configuration: defaults → TOML file (unknown keys rejected) → environment /
//! command line, validated into one [`Config`].

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use serde::Deserialize;

use crate::app_settings::{Settings, SettingsPatch};
use crate::tls::TlsFiles;

/// Applications every Tern has, as Ant Media does.
pub const DEFAULT_APPS: [&str; 2] = ["LiveApp", "WebRTCAppEE"];
/// About a quarter of a core's fan-out at 1.5 Mbit/s (see bench/README.md):
/// below it, keeping a stream on one worker saves the relay; above it, the
/// other cores take the rest.
pub const DEFAULT_SPREAD_PLAYERS_AFTER: usize = 200;

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
    /// UDP address of the first media worker; worker i uses its port + i [default: 0.0.0.0:50000].
    #[arg(long, env = "TERN_MEDIA_ADDR")]
    pub media_addr: Option<SocketAddr>,
    /// Media worker threads, each with its own UDP port (media port + i) [default: one per core].
    #[arg(long, env = "TERN_MEDIA_WORKERS")]
    pub media_workers: Option<usize>,
    /// Peers a media worker holds before more players of its streams go to the
    /// least loaded worker, which gets the packets relayed [default: 200].
    #[arg(long, env = "TERN_SPREAD_PLAYERS_AFTER")]
    pub spread_players_after: Option<usize>,
    /// Address announced in ICE candidates instead of the interfaces': IPv4 or
    /// IPv6, with `:PORT` (IPv6: `[ADDR]:PORT`) when a 1:1 NAT maps the first
    /// media port to another; may be given several times (env: comma-separated).
    #[arg(long, env = "TERN_PUBLIC_IP", value_delimiter = ',')]
    pub public_ip: Vec<PublicAddr>,
    /// Where Tern keeps its data [default: ./data].
    #[arg(long, env = "TERN_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PEM certificate chain: serve HTTPS and WSS (with --tls-key).
    #[arg(long, env = "TERN_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "TERN_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Who may open the web console at `/`, as CIDRs [default: loopback].
    #[arg(long, env = "TERN_CONSOLE_ALLOWED_CIDR")]
    pub console_allowed_cidr: Option<String>,
    /// Password of the web console; without one, the address filter alone guards it.
    #[arg(long, env = "TERN_CONSOLE_PASSWORD", hide_env_values = true)]
    pub console_password: Option<String>,
    /// The built-in TURN server's UDP and TCP address, "" for none [default: 0.0.0.0:3478].
    #[arg(long, env = "TERN_TURN_ADDR")]
    pub turn_addr: Option<String>,
    /// TCP address of RTMP ingest, "" for none [default: 0.0.0.0:1935].
    #[arg(long, env = "TERN_RTMP_ADDR")]
    pub rtmp_addr: Option<String>,
    /// UDP address of SRT ingest, "" for none [default: 0.0.0.0:4200].
    #[arg(long, env = "TERN_SRT_ADDR")]
    pub srt_addr: Option<String>,
    /// Shared secret of the TURN REST API credentials [default: random per start].
    #[arg(long, env = "TERN_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,
    /// Cluster mode: the Redis every node shares (`redis://` or `rediss://`) [default: single node, SQLite].
    #[arg(long, env = "TERN_CLUSTER_REDIS", hide_env_values = true)]
    pub cluster_redis: Option<String>,
    /// This node's id in the cluster [default: host name and HTTP port].
    #[arg(long, env = "TERN_CLUSTER_NODE_ID")]
    pub cluster_node_id: Option<String>,
    /// The URL other nodes and clients reach this node's HTTP port at [default: from --http-addr].
    #[arg(long, env = "TERN_CLUSTER_NODE_URL")]
    pub cluster_node_url: Option<String>,
    /// Cluster mode: over this CPU use (percent of one core) the node takes no new publish or play (`highResourceUsage`).
    #[arg(long, env = "TERN_CLUSTER_MAX_CPU_PERCENT")]
    pub cluster_max_cpu_percent: Option<f64>,
    /// Cluster mode: likewise over this egress, Mbit/s.
    #[arg(long, env = "TERN_CLUSTER_MAX_EGRESS_MBPS")]
    pub cluster_max_egress_mbps: Option<f64>,
    /// Cluster mode: how long at most another node's players wait, after their stream's origin node vanished,
    /// for its publisher to come back on some node (else `play_finished`), ms [default: 4500].
    #[arg(long, env = "TERN_CLUSTER_FAILOVER_MS")]
    pub cluster_failover_ms: Option<u64>,
    /// Players' media sealed and sent by Tern itself, past str0m's per-packet poll
    /// (players of simulcast streams always go through str0m) [default: false: a cluster relay test failed with it on].
    #[arg(long, env = "TERN_DIRECT_EGRESS")]
    pub direct_egress: Option<bool>,
    /// Copy the records of --data-dir's SQLite store into --cluster-redis, then exit.
    #[arg(long)]
    pub migrate_to_redis: bool,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub http_addr: SocketAddr,
    pub media_addr: SocketAddr,
    /// Threads that carry media; a stream's (or room's) peers share one.
    pub media_workers: usize,
    /// Peers on a stream's worker before its new players go elsewhere.
    pub spread_players_after: usize,
    pub public_ip: Vec<PublicAddr>,
    pub data_dir: PathBuf,
    /// Every application with its settings as the file gives them. These seed
    /// the stored settings of an app the first time it is seen; see
    /// `crate::apps` for the precedence.
    pub apps: BTreeMap<String, Settings>,
    pub limits: Limits,
    /// Serve HTTPS/WSS with these files; plain HTTP when `None`.
    pub tls: Option<TlsFiles>,
    /// Who may read `GET /metrics` (`metrics_allowed_cidr`; loopback by default).
    pub metrics_allowed: tern_auth::cidr::CidrList,
    /// Who may open the console (`console_allowed_cidr`; loopback by default).
    pub console_allowed: tern_auth::cidr::CidrList,
    pub console_password: Option<String>,
    /// Passive ICE-TCP candidates on each media worker's address (`ice_tcp`, on by default).
    pub ice_tcp: bool,
    /// Players' media sealed and sent by Tern past str0m's per-packet poll
    /// (`direct_egress`, on by default).
    pub direct_egress: bool,
    /// The built-in TURN server (`[turn]`).
    pub turn: crate::turn::TurnConfig,
    /// RTMP ingest (`rtmp_addr`).
    pub rtmp: crate::encoder::ListenConfig,
    /// SRT ingest (`srt_addr`).
    pub srt: crate::encoder::ListenConfig,
    /// Cluster mode (`cluster_redis`); `None` for a single node.
    pub cluster: Option<crate::cluster::ClusterConfig>,
}

/// Bounds that protect the server from one client.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest WebSocket message accepted; larger ones close the socket (1009).
    pub max_message_bytes: usize,
    /// Frames queued for one socket; a client that reads slower is disconnected.
    pub session_queue: usize,
    /// Messages one socket may send per second (burst: twice that).
    pub messages_per_second: u32,
    /// WebSockets one client IP may hold at once.
    pub sockets_per_ip: usize,
    /// New WebSockets one client IP may open a second (bursts of twice that).
    pub new_sockets_per_second: u32,
    /// Publish and play peers one socket may hold at once.
    pub peers_per_socket: usize,
    /// A socket that sends nothing (the SDK pings every 3 s) for this long is closed.
    pub idle_timeout: Duration,
    /// On SIGTERM/SIGINT, how long sessions get after `server_will_stop`.
    pub shutdown_drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 1 << 20,
            session_queue: 512,
            messages_per_second: 100,
            sockets_per_ip: 5000,
            new_sockets_per_second: 100,
            peers_per_socket: 64,
            idle_timeout: Duration::from_secs(60),
            shutdown_drain: Duration::from_secs(3),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    http_addr: Option<SocketAddr>,
    media_addr: Option<SocketAddr>,
    rtmp_addr: Option<String>,
    srt_addr: Option<String>,
    media_workers: Option<usize>,
    spread_players_after: Option<usize>,
    #[serde(default)]
    public_ip: OneOrMany,
    data_dir: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    max_message_bytes: Option<usize>,
    session_queue: Option<usize>,
    messages_per_second: Option<u32>,
    sockets_per_ip: Option<usize>,
    new_sockets_per_second: Option<u32>,
    peers_per_socket: Option<usize>,
    idle_timeout_secs: Option<u64>,
    shutdown_drain_ms: Option<u64>,
    metrics_allowed_cidr: Option<String>,
    console_allowed_cidr: Option<String>,
    console_password: Option<String>,
    ice_tcp: Option<bool>,
    direct_egress: Option<bool>,
    cluster_redis: Option<String>,
    cluster_node_id: Option<String>,
    cluster_node_url: Option<String>,
    cluster_max_cpu_percent: Option<f64>,
    cluster_max_egress_mbps: Option<f64>,
    cluster_failover_ms: Option<u64>,
    #[serde(default)]
    turn: crate::turn::TurnFile,
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
        if let Some(n) = file.messages_per_second {
            limits.messages_per_second = n;
        }
        if let Some(n) = file.sockets_per_ip {
            limits.sockets_per_ip = n;
        }
        if let Some(n) = file.new_sockets_per_second {
            limits.new_sockets_per_second = n;
        }
        if let Some(n) = file.peers_per_socket {
            limits.peers_per_socket = n;
        }
        if let Some(n) = file.idle_timeout_secs {
            limits.idle_timeout = Duration::from_secs(n);
        }
        if let Some(n) = file.shutdown_drain_ms {
            limits.shutdown_drain = Duration::from_millis(n);
        }
        if limits.messages_per_second == 0
            || limits.sockets_per_ip == 0
            || limits.new_sockets_per_second == 0
            || limits.peers_per_socket == 0
        {
            bail!("messages_per_second, sockets_per_ip, new_sockets_per_second and peers_per_socket must be at least 1");
        }
        if limits.idle_timeout < Duration::from_secs(5) {
            bail!("idle_timeout_secs must be at least 5 (the SDK pings every 3 s)");
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
        let tls = match (cli.tls_cert.or(file.tls_cert), cli.tls_key.or(file.tls_key)) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => bail!("give both --tls-cert and --tls-key, or neither"),
        };
        let metrics_cidr = file
            .metrics_allowed_cidr
            .clone()
            .unwrap_or_else(|| "127.0.0.1/32,::1/128".into());
        let metrics_allowed = metrics_cidr
            .parse()
            .map_err(|e| anyhow::anyhow!("metrics_allowed_cidr {metrics_cidr:?}: {e}"))?;
        let console_cidr = cli
            .console_allowed_cidr
            .clone()
            .or(file.console_allowed_cidr.clone())
            .unwrap_or_else(|| "127.0.0.1/32,::1/128".into());
        let console_allowed = console_cidr
            .parse()
            .map_err(|e| anyhow::anyhow!("console_allowed_cidr {console_cidr:?}: {e}"))?;
        let console_password = cli
            .console_password
            .clone()
            .or(file.console_password.clone())
            .filter(|p| !p.is_empty());
        let cluster = match cli
            .cluster_redis
            .or(file.cluster_redis)
            .filter(|u| !u.is_empty())
        {
            None => None,
            Some(url) => {
                if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                    bail!("cluster_redis must be a redis:// or rediss:// URL");
                }
                let max_cpu_percent = cli.cluster_max_cpu_percent.or(file.cluster_max_cpu_percent);
                let max_egress = cli.cluster_max_egress_mbps.or(file.cluster_max_egress_mbps);
                if max_cpu_percent.is_some_and(|v| v.is_nan() || v < 0.0)
                    || max_egress.is_some_and(|v| v.is_nan() || v < 0.0)
                {
                    bail!("cluster_max_cpu_percent and cluster_max_egress_mbps must be 0 or more");
                }
                Some(crate::cluster::ClusterConfig {
                    redis_url: url,
                    node_id: cli.cluster_node_id.or(file.cluster_node_id),
                    node_url: cli.cluster_node_url.or(file.cluster_node_url),
                    max_cpu_percent,
                    max_egress_bps: max_egress.map(|m| (m * 1e6) as u64),
                    failover: cli
                        .cluster_failover_ms
                        .or(file.cluster_failover_ms)
                        .map_or(crate::cluster::FAILOVER_WINDOW, Duration::from_millis),
                })
            }
        };
        Ok(Config {
            cluster,
            tls,
            metrics_allowed,
            console_allowed,
            console_password,
            ice_tcp: file.ice_tcp.unwrap_or(true),
            direct_egress: cli.direct_egress.or(file.direct_egress).unwrap_or(true),
            rtmp: crate::encoder::ListenConfig::build(
                cli.rtmp_addr.clone().or(file.rtmp_addr.clone()),
                crate::rtmp::DEFAULT_ADDR,
                "rtmp_addr",
            )?,
            srt: crate::encoder::ListenConfig::build(
                cli.srt_addr.clone().or(file.srt_addr.clone()),
                crate::srt::DEFAULT_ADDR,
                "srt_addr",
            )?,
            turn: crate::turn::TurnConfig::build(
                cli.turn_addr.clone(),
                cli.turn_secret.clone(),
                file.turn,
            )?,
            http_addr: cli
                .http_addr
                .or(file.http_addr)
                .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 5080))),
            media_addr: cli
                .media_addr
                .or(file.media_addr)
                .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 50000))),
            media_workers: match cli.media_workers.or(file.media_workers) {
                Some(0) => bail!("media_workers must be at least 1"),
                Some(n) => n,
                None => std::thread::available_parallelism().map_or(1, |n| n.get()),
            },
            spread_players_after: cli
                .spread_players_after
                .or(file.spread_players_after)
                .unwrap_or(DEFAULT_SPREAD_PLAYERS_AFTER),
            public_ip: if cli.public_ip.is_empty() {
                file.public_ip
                    .0
                    .iter()
                    .map(|s| s.parse())
                    .collect::<Result<_, _>>()
                    .map_err(|e| anyhow::anyhow!("public_ip: {e}"))?
            } else {
                cli.public_ip
            },
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
    fn public_ip_is_one_address_or_a_list() {
        let one = Config::from_toml("public_ip = \"203.0.113.7\"\n").unwrap();
        assert_eq!(one.public_ip.len(), 1);
        let many =
            Config::from_toml("public_ip = [\"203.0.113.7:40000\", \"2001:db8::7\"]\n").unwrap();
        assert_eq!(many.public_ip[0].port, Some(40000));
        assert!(many.public_ip[1].ip.is_ipv6());
        let err = Config::from_toml("public_ip = \"nope\"\n").unwrap_err();
        assert!(format!("{err:#}").contains("nope"), "{err:#}");
        let cli =
            Cli::try_parse_from(["tern", "--public-ip", "1.2.3.4", "--public-ip", "5.6.7.8:9"])
                .unwrap();
        assert_eq!(cli.public_ip.len(), 2);
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

/// A public address for ICE candidates: an IP, and the port a 1:1 NAT maps the
/// first media port to (worker i then uses that port + i), if it differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicAddr {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

impl std::str::FromStr for PublicAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(PublicAddr { ip, port: None });
        }
        match s.parse::<SocketAddr>() {
            Ok(a) if a.port() != 0 => Ok(PublicAddr {
                ip: a.ip(),
                port: Some(a.port()),
            }),
            _ => Err(format!(
                "{s:?} is not an IP address, IP:PORT or [IPv6]:PORT with a port above 0"
            )),
        }
    }
}

/// `public_ip` in the file: one address or a list.
#[derive(Debug, Default, Deserialize)]
#[serde(from = "OneOrManyRaw")]
struct OneOrMany(Vec<String>);

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrManyRaw {
    One(String),
    Many(Vec<String>),
}

impl From<OneOrManyRaw> for OneOrMany {
    fn from(r: OneOrManyRaw) -> Self {
        match r {
            OneOrManyRaw::One(s) => OneOrMany(vec![s]),
            OneOrManyRaw::Many(v) => OneOrMany(v),
        }
    }
}
