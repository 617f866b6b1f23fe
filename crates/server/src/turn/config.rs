//! The `[turn]` section of the configuration.

use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use serde::Deserialize;
use tern_turn::relay::Limits;

/// Where the TURN listeners are when nothing says otherwise.
pub const DEFAULT_ADDR: &str = "0.0.0.0:3478";
pub const DEFAULT_TLS_ADDR: &str = "0.0.0.0:5349";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnFile {
    addr: Option<String>,
    tls_addr: Option<String>,
    secret: Option<String>,
    credential_ttl_secs: Option<u64>,
    relay_ip: Option<IpAddr>,
    allowed_peers: Option<String>,
    host: Option<String>,
    max_allocations: Option<usize>,
    allocations_per_ip: Option<usize>,
    max_bitrate: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct TurnConfig {
    /// UDP and TCP listeners (one port); `None` turns TURN off.
    pub addr: Option<SocketAddr>,
    /// TLS listener, used when TLS is configured.
    pub tls_addr: Option<SocketAddr>,
    /// The listeners' addresses were not configured: a busy port is a
    /// warning, not a failed start.
    pub defaulted: bool,
    /// REST API secret; random per start when not configured.
    pub secret: String,
    pub credential_ttl_secs: u64,
    /// Address of the relay sockets; the media address when it names one,
    /// else loopback (the relay reaches only Tern's media sockets).
    pub relay_ip: Option<IpAddr>,
    /// Where else the relay may send (an open relay when `0.0.0.0/0`).
    pub allowed_peers: Vec<tern_turn::IpNet>,
    /// Host name in the URIs handed out; the one the client used by default.
    pub host: Option<String>,
    pub limits: Limits,
}

fn addr_or_off(
    value: Option<String>,
    default: &str,
    key: &str,
) -> anyhow::Result<Option<SocketAddr>> {
    let value = value.unwrap_or_else(|| default.to_owned());
    if value.trim().is_empty() || value == "off" {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .with_context(|| format!("{key} {value:?} is not an IP:PORT (or \"\" to turn it off)"))
}

impl TurnConfig {
    pub fn build(
        cli_addr: Option<String>,
        cli_secret: Option<String>,
        file: TurnFile,
    ) -> anyhow::Result<TurnConfig> {
        let addr_given = cli_addr.is_some() || file.addr.is_some();
        let defaulted = !addr_given && file.tls_addr.is_none();
        let addr = addr_or_off(cli_addr.or(file.addr), DEFAULT_ADDR, "turn addr")?;
        let tls_addr = match addr {
            // TURN off is off for TLS too, unless TLS alone is asked for.
            None if file.tls_addr.is_none() => None,
            _ => addr_or_off(file.tls_addr, DEFAULT_TLS_ADDR, "turn tls_addr")?,
        };
        let allowed_peers = file
            .allowed_peers
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<tern_turn::IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(tern_turn::IpNet::from))
                    .with_context(|| format!("turn allowed_peers: {s:?} is not a CIDR range"))
            })
            .collect::<anyhow::Result<_>>()?;
        let defaults = Limits::default();
        let secret = match cli_secret.or(file.secret).filter(|s| !s.is_empty()) {
            Some(s) => s,
            None => tern_turn::credentials::random_secret(),
        };
        Ok(TurnConfig {
            addr,
            tls_addr,
            defaulted,
            secret,
            credential_ttl_secs: file.credential_ttl_secs.unwrap_or(3600).max(60),
            relay_ip: file.relay_ip,
            allowed_peers,
            host: file.host.filter(|h| !h.is_empty()),
            limits: Limits {
                max_allocations: file.max_allocations.unwrap_or(defaults.max_allocations),
                allocations_per_ip: file
                    .allocations_per_ip
                    .unwrap_or(defaults.allocations_per_ip),
                bitrate: file.max_bitrate.unwrap_or(defaults.bitrate),
            },
        })
    }
}
