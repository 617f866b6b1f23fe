//! Where the relay may send. A TURN server that relays anywhere is an open
//! proxy into the operator's network (databases on loopback included), so by
//! default it reaches only Tern's own media sockets, by address and port.
//! Wider relaying is explicit configuration: CIDR ranges, any port in them.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

#[derive(Debug, Clone, Default)]
pub struct Policy {
    media: HashSet<SocketAddr>,
    media_ips: HashSet<IpAddr>,
    open: Vec<IpNet>,
}

impl Policy {
    /// Relays only to `media` (Tern's media sockets as clients see them), and
    /// to any port of the `open` ranges.
    pub fn new(media: impl IntoIterator<Item = SocketAddr>, open: Vec<IpNet>) -> Policy {
        let media: HashSet<SocketAddr> = media.into_iter().map(canonical).collect();
        let media_ips = media.iter().map(|a| a.ip()).collect();
        Policy {
            media,
            media_ips,
            open,
        }
    }

    /// May a permission be made for `ip` (CreatePermission names no port)?
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        self.media_ips.contains(&ip) || self.open.iter().any(|n| n.contains(&ip))
    }

    /// May a packet be relayed to `peer`?
    pub fn allows(&self, peer: SocketAddr) -> bool {
        let peer = canonical(peer);
        self.media.contains(&peer) || self.open.iter().any(|n| n.contains(&peer.ip()))
    }

    /// Is `peer` one of Tern's own media sockets?
    pub fn is_media(&self, peer: SocketAddr) -> bool {
        self.media.contains(&canonical(peer))
    }
}

fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(canonical_ip(addr.ip()), addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn by_default_only_the_media_sockets_are_reachable() {
        let p = Policy::new([a("10.0.0.5:50000"), a("10.0.0.5:50001")], vec![]);
        assert!(p.allows(a("10.0.0.5:50000")));
        assert!(p.allows(a("[::ffff:10.0.0.5]:50001")));
        // Same host, another port (a database, say): refused.
        assert!(!p.allows(a("10.0.0.5:6379")));
        assert!(!p.allows(a("10.0.0.6:50000")));
        assert!(p.allows_ip("10.0.0.5".parse().unwrap()));
        assert!(!p.allows_ip("127.0.0.1".parse().unwrap()));
        assert!(p.is_media(a("10.0.0.5:50001")));
    }

    #[test]
    fn open_ranges_allow_any_port_in_them() {
        let p = Policy::new([], vec!["192.0.2.0/24".parse().unwrap()]);
        assert!(p.allows(a("192.0.2.9:1234")));
        assert!(!p.allows(a("192.0.3.9:1234")));
        assert!(!p.is_media(a("192.0.2.9:1234")));
    }
}
