//! The addresses the media socket is reachable at, as ICE host candidates.

use std::net::{IpAddr, SocketAddr};

/// The media socket's candidate addresses. When the socket is bound to one
/// address that is the only candidate; when bound to `0.0.0.0`, every interface
/// address (or the configured public address) is.
#[derive(Debug, Clone)]
pub struct LocalAddrs {
    addrs: Vec<SocketAddr>,
}

impl LocalAddrs {
    /// `addrs` must not be empty; all share the socket's port.
    pub fn new(addrs: Vec<SocketAddr>) -> Option<Self> {
        if addrs.is_empty() {
            return None;
        }
        Some(LocalAddrs { addrs })
    }

    pub fn all(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The candidate address a datagram from `source` most likely arrived at: the
    /// socket cannot tell (no `IP_PKTINFO`), but loopback talks to loopback and
    /// the rest to the first routable address.
    pub fn local_for(&self, source: SocketAddr) -> SocketAddr {
        let want_loopback = source.ip().is_loopback();
        let same_family = |a: &&SocketAddr| a.is_ipv4() == source.is_ipv4();
        self.addrs
            .iter()
            .filter(same_family)
            .find(|a| a.ip().is_loopback() == want_loopback)
            .or_else(|| self.addrs.iter().find(same_family))
            .copied()
            .unwrap_or(self.addrs[0])
    }

    /// True when `ip` is one of the candidate addresses.
    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        self.addrs.iter().any(|a| a.ip() == ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_sources_reach_the_loopback_candidate() {
        let l = LocalAddrs::new(vec![
            "10.0.0.5:5000".parse().unwrap(),
            "127.0.0.1:5000".parse().unwrap(),
        ])
        .unwrap();
        assert_eq!(
            l.local_for("127.0.0.1:4444".parse().unwrap()),
            "127.0.0.1:5000".parse().unwrap()
        );
        assert_eq!(
            l.local_for("10.0.0.9:4444".parse().unwrap()),
            "10.0.0.5:5000".parse().unwrap()
        );
    }

    #[test]
    fn a_single_address_serves_everyone() {
        let l = LocalAddrs::new(vec!["127.0.0.1:5000".parse().unwrap()]).unwrap();
        assert_eq!(
            l.local_for("10.0.0.9:4444".parse().unwrap()),
            "127.0.0.1:5000".parse().unwrap()
        );
        assert!(LocalAddrs::new(vec![]).is_none());
    }
}
