//! The REST IP filter: a comma-separated list of addresses and CIDR blocks
//! (`remoteAllowedCIDR`, e.g. `127.0.0.1,10.0.0.0/8,::1`).

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// Why a CIDR list does not parse; names the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidrError {
    /// Not an IPv4 or IPv6 address.
    BadAddress(String),
    /// The prefix length is not a number up to 32 (IPv4) or 128 (IPv6).
    BadPrefix(String),
}

impl std::fmt::Display for CidrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CidrError::BadAddress(e) => write!(f, "{e:?} is not an IP address or CIDR block"),
            CidrError::BadPrefix(e) => write!(f, "{e:?} has an invalid prefix length"),
        }
    }
}

impl std::error::Error for CidrError {}

/// One entry: a block, or a bare address as a block of one (/32 or /128).
fn entry(s: &str) -> Result<IpNet, CidrError> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(IpNet::from(ip));
    }
    s.parse::<IpNet>().map_err(|_| {
        // ipnet does not say which half is wrong; the address half tells.
        let addr = s.split_once('/').map_or(s, |(a, _)| a);
        if addr.parse::<IpAddr>().is_ok() {
            CidrError::BadPrefix(s.to_owned())
        } else {
            CidrError::BadAddress(s.to_owned())
        }
    })
}

/// IPv4 peers reached over a dual-stack socket arrive as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The allowed blocks; empty entries are skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CidrList(Vec<IpNet>);

impl FromStr for CidrList {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(entry)
            .collect::<Result<Vec<_>, _>>()
            .map(CidrList)
    }
}

impl CidrList {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_blocks() {
        let list: CidrList = "127.0.0.1, 10.0.0.0/8,2001:db8::/32".parse().unwrap();
        assert!(list.contains(ip("127.0.0.1")));
        assert!(list.contains(ip("::ffff:127.0.0.1")));
        assert!(!list.contains(ip("127.0.0.2")));
        assert!(list.contains(ip("10.200.3.4")));
        assert!(!list.contains(ip("11.0.0.1")));
        assert!(list.contains(ip("2001:db8::7")));
        assert!(!list.contains(ip("2001:db9::7")));
        let all: CidrList = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!(!CidrList::default().contains(ip("127.0.0.1")));
        // Host bits in a block do not matter; a bare IPv6 address is a /128.
        let odd: CidrList = "10.1.2.3/8, ::1".parse().unwrap();
        assert!(odd.contains(ip("10.9.9.9")));
        assert!(odd.contains(ip("::1")));
        assert!(!odd.contains(ip("::2")));
        assert!(!odd.contains(ip("::ffff:11.0.0.1")));
    }

    #[test]
    fn mistakes_name_the_entry() {
        assert_eq!(
            "127.0.0.1,localhost".parse::<CidrList>(),
            Err(CidrError::BadAddress("localhost".into()))
        );
        assert_eq!(
            "10.0.0.0/33".parse::<CidrList>(),
            Err(CidrError::BadPrefix("10.0.0.0/33".into()))
        );
        assert_eq!(
            "::1/129".parse::<CidrList>(),
            Err(CidrError::BadPrefix("::1/129".into()))
        );
        assert_eq!(
            "10.0.0.0/x".parse::<CidrList>(),
            Err(CidrError::BadPrefix("10.0.0.0/x".into()))
        );
        assert_eq!(
            "10.0.0/8".parse::<CidrList>(),
            Err(CidrError::BadAddress("10.0.0/8".into()))
        );
    }
}
