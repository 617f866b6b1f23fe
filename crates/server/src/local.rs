//! Which addresses go into ICE candidates.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::bail;
use tern_media::LocalAddrs;

use crate::config::PublicAddr;

/// The candidate addresses of media worker `index`, bound at `bound`.
///
/// Configured public addresses come first, each with the worker's port, or
/// with the NAT's port + `index` when one was given. A socket bound to one
/// address also announces that address when no public one is set; a socket
/// bound to `0.0.0.0` announces every IPv4 interface address when none is set.
/// Loopback is always included so that pages on the same machine connect.
pub fn candidate_addrs(
    bound: SocketAddr,
    public: &[PublicAddr],
    index: usize,
) -> anyhow::Result<LocalAddrs> {
    let port = bound.port();
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for p in public {
        // A dual-stack socket ([::]) takes both families; an IPv4 one only IPv4.
        if p.ip.is_ipv6() && !bound.is_ipv6() {
            tracing::warn!(ip = %p.ip, %bound, "public address of another IP family than the media socket: not announced");
            continue;
        }
        let port = match p.port {
            Some(base) => u16::try_from(usize::from(base) + index).map_err(|_| {
                anyhow::anyhow!("public_ip port {base} + worker {index} goes past 65535")
            })?,
            None => port,
        };
        addrs.push(SocketAddr::new(p.ip, port));
    }
    if bound.ip().is_unspecified() {
        // `[::]` is dual-stack: IPv6 interface addresses too (not link-local,
        // which would need a scope in the candidate).
        let v6 = bound.is_ipv6();
        if public.is_empty() {
            if let Ok(ifaces) = if_addrs::get_if_addrs() {
                addrs.extend(
                    ifaces
                        .iter()
                        .map(|i| i.ip())
                        .filter(|ip| !ip.is_loopback())
                        .filter(|ip| match ip {
                            IpAddr::V4(_) => true,
                            IpAddr::V6(a) => v6 && (a.segments()[0] & 0xffc0) != 0xfe80,
                        })
                        .map(|ip| SocketAddr::new(ip, port)),
                );
            }
        }
        addrs.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
        if v6 {
            addrs.push(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port));
        }
    } else if public.is_empty() {
        addrs.push(bound);
    }
    let mut seen = Vec::new();
    addrs.retain(|a| {
        let new = !seen.contains(a);
        seen.push(*a);
        new
    });
    if index == 0 && public.is_empty() && !addrs.iter().any(|a| is_public(a.ip())) {
        tracing::warn!(
            candidates = ?addrs,
            "the media candidates are private or loopback addresses only: viewers on other networks \
             cannot reach them; set --public-ip to the address they can reach (with :PORT behind a 1:1 NAT)"
        );
    }
    match LocalAddrs::new(addrs) {
        Some(l) => Ok(l),
        None => bail!("no address to announce for the media socket; set --public-ip"),
    }
}

/// A media socket; `[::]` is made dual-stack (IPv4 arrives as mapped
/// addresses, which the worker turns back into IPv4).
pub fn bind_udp(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(!addr.ip().is_unspecified())?;
    }
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// The plain form of an address a dual-stack socket reports (`::ffff:a.b.c.d`
/// is IPv4 `a.b.c.d`).
pub fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

/// The form a dual-stack socket sends to: IPv4 as a mapped IPv6 address.
pub fn for_socket(a: SocketAddr, v6_socket: bool) -> SocketAddr {
    match a {
        SocketAddr::V4(v4) if v6_socket => {
            SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
        }
        other => other,
    }
}

/// Whether other networks can reach `ip`: not private, loopback, link-local,
/// shared (CGNAT), documentation or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_documentation()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(list: &[&str]) -> Vec<PublicAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn public_addresses_come_first_with_the_nat_port_per_worker() {
        let bound: SocketAddr = "0.0.0.0:50001".parse().unwrap();
        let l = candidate_addrs(bound, &public(&["203.0.113.7:40000", "198.51.100.2"]), 1).unwrap();
        let want: Vec<SocketAddr> = ["203.0.113.7:40001", "198.51.100.2:50001", "127.0.0.1:50001"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(l.all(), &want[..]);
    }

    #[test]
    fn a_bound_address_is_announced_without_a_public_one() {
        let bound: SocketAddr = "10.0.0.5:50000".parse().unwrap();
        let l = candidate_addrs(bound, &[], 0).unwrap();
        assert_eq!(l.all(), &[bound][..]);
    }

    #[test]
    fn public_or_not() {
        for ip in [
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "127.0.0.1",
            "100.64.1.1",
            "169.254.1.1",
            "fd00::1",
            "fe80::1",
            "::1",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "100.128.0.1", "2a00:1450::1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn public_addr_parses_ip_and_nat_port() {
        assert_eq!("1.2.3.4".parse::<PublicAddr>().unwrap().port, None);
        assert_eq!(
            "1.2.3.4:40000".parse::<PublicAddr>().unwrap().port,
            Some(40000)
        );
        assert_eq!("[2a00::1]:5".parse::<PublicAddr>().unwrap().port, Some(5));
        assert!("1.2.3.4:0".parse::<PublicAddr>().is_err());
        assert!("host.example".parse::<PublicAddr>().is_err());
    }
}
