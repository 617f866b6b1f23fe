//! The REST IP filter: a comma-separated list of addresses and CIDR blocks
//! (`remoteAllowedCIDR`, e.g. `127.0.0.1,10.0.0.0/8,::1`).

use std::net::IpAddr;
use std::str::FromStr;

/// One address block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

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

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| CidrError::BadAddress(s.to_owned()))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.trim().parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(CidrError::BadPrefix(s.to_owned())),
            },
        };
        Ok(Cidr { net, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
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
pub struct CidrList(Vec<Cidr>);

impl FromStr for CidrList {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(Cidr::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(CidrList)
    }
}

impl CidrList {
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
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
    }
}
