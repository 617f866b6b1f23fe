//! WebSockets per client address: how many it holds at once, and how fast it
//! may open new ones (a token bucket). A whole office behind one NAT, or a
//! load test from one machine, holds thousands of sockets; what hurts the
//! server is a flood of new ones, so the rate is the tight limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Addresses tracked before idle ones are forgotten.
const TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The address holds this many sockets already.
    TooMany(usize),
    /// The address opens sockets faster than this many a second.
    TooFast(u32),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    open: usize,
    tokens: f64,
    refilled: Instant,
}

#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub per_ip: usize,
    /// New sockets a second, with bursts of twice that.
    pub new_per_second: u32,
}

impl Rules {
    fn burst(&self) -> f64 {
        f64::from(self.new_per_second) * 2.0
    }
}

/// Shared by every WebSocket upgrade.
#[derive(Clone, Default)]
pub struct SocketCounts(Arc<Mutex<HashMap<IpAddr, Entry>>>);

/// One counted socket; dropping it frees the slot.
pub struct Slot {
    counts: SocketCounts,
    ip: IpAddr,
}

impl SocketCounts {
    pub fn acquire(&self, ip: IpAddr, rules: Rules, now: Instant) -> Result<Slot, Refusal> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= TRACKED {
            // Forget addresses that hold nothing and whose bucket is full
            // again: remembering them changes nothing.
            map.retain(|_, e| e.open > 0 || refill(e, rules, now) < rules.burst());
        }
        let e = map.entry(ip).or_insert(Entry {
            open: 0,
            tokens: rules.burst(),
            refilled: now,
        });
        refill(e, rules, now);
        if e.open >= rules.per_ip {
            return Err(Refusal::TooMany(rules.per_ip));
        }
        if e.tokens < 1.0 {
            return Err(Refusal::TooFast(rules.new_per_second));
        }
        e.tokens -= 1.0;
        e.open += 1;
        Ok(Slot {
            counts: self.clone(),
            ip,
        })
    }
}

/// Tops the bucket up for the time passed; returns its tokens.
fn refill(e: &mut Entry, rules: Rules, now: Instant) -> f64 {
    let secs = now.saturating_duration_since(e.refilled).as_secs_f64();
    e.tokens = (e.tokens + secs * f64::from(rules.new_per_second)).min(rules.burst());
    e.refilled = now;
    e.tokens
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        // The entry stays (its bucket matters); idle ones go when the table is full.
        if let Some(e) = map.get_mut(&self.ip) {
            e.open = e.open.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const RULES: Rules = Rules {
        per_ip: 3,
        new_per_second: 2,
    };

    #[test]
    fn a_burst_is_cut_at_twice_the_rate_and_refills_with_time() {
        let counts = SocketCounts::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let rules = Rules {
            per_ip: 100,
            new_per_second: 2,
        };
        let t0 = Instant::now();
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(counts.acquire(ip, rules, t0).expect("within the burst"));
        }
        assert_eq!(
            counts.acquire(ip, rules, t0).err(),
            Some(Refusal::TooFast(2))
        );
        let later = t0 + Duration::from_millis(500);
        held.push(
            counts
                .acquire(ip, rules, later)
                .expect("one more after 0.5 s"),
        );
        assert!(counts.acquire(ip, rules, later).is_err());
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(
            counts.acquire(other, rules, t0).is_ok(),
            "other addresses are apart"
        );
    }

    #[test]
    fn closing_frees_a_slot_but_not_the_rate() {
        let counts = SocketCounts::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        let a = counts.acquire(ip, RULES, t0).unwrap();
        let _b = counts.acquire(ip, RULES, t0).unwrap();
        let _c = counts.acquire(ip, RULES, t0).unwrap();
        assert_eq!(
            counts.acquire(ip, RULES, t0).err(),
            Some(Refusal::TooMany(3))
        );
        drop(a);
        // One token left of the burst of four.
        let d = counts.acquire(ip, RULES, t0).unwrap();
        drop(d);
        assert_eq!(
            counts.acquire(ip, RULES, t0).err(),
            Some(Refusal::TooFast(2)),
            "open-and-close does not reset the bucket"
        );
    }
}
