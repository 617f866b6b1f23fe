//! Which addresses go into ICE candidates.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::bail;
use tern_media::LocalAddrs;

/// A socket bound to one address announces that address (or the public IP when
/// one is configured). A socket bound to `0.0.0.0` announces the public IP, or
/// else every IPv4 interface address; loopback is always included so that pages
/// on the same machine connect.
pub fn candidate_addrs(bound: SocketAddr, public_ip: Option<IpAddr>) -> anyhow::Result<LocalAddrs> {
    let port = bound.port();
    let mut ips: Vec<IpAddr> = Vec::new();
    if let Some(ip) = public_ip {
        ips.push(ip);
    }
    if bound.ip().is_unspecified() {
        if public_ip.is_none() {
            if let Ok(ifaces) = if_addrs::get_if_addrs() {
                ips.extend(
                    ifaces
                        .iter()
                        .map(|i| i.ip())
                        .filter(|ip| ip.is_ipv4() && !ip.is_loopback()),
                );
            }
        }
        ips.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    } else if public_ip.is_none() {
        ips.push(bound.ip());
    }
    ips.dedup();
    let addrs: Vec<SocketAddr> = ips
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect();
    match LocalAddrs::new(addrs) {
        Some(l) => Ok(l),
        None => bail!("no address to announce for the media socket; set --public-ip"),
    }
}
