//! Any sequence of client datagrams, TCP stream pieces, peer datagrams and
//! clock steps through Tern's TURN relay (gate, quotas, TCP framing and the
//! protocol core): never a panic, and nothing is ever relayed to a peer the
//! policy does not allow.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_turn::credentials::Secret;
use tern_turn::framing::Framer;
use tern_turn::gate::Gate;
use tern_turn::policy::Policy;
use tern_turn::relay::{Limits, Output, Relay, Transport};

/// The seeds' credentials expire after this; see corpus/turn_relay.
const NOW_UNIX: u64 = 1_800_000_000;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fuzz_target!(|data: &[u8]| {
    let listener = addr("10.0.0.1:3478");
    let media = addr("10.0.0.2:50000");
    let mut now = Instant::now();
    let mut relay = Relay::new(
        &[(Transport::Udp, listener), (Transport::Tcp, listener)],
        Gate::new(Secret::new(b"fuzz"), "tern".into()),
        Policy::new([media], vec![]),
        Limits {
            max_allocations: 4,
            allocations_per_ip: 2,
            bitrate: 100_000,
        },
        now,
        NOW_UNIX,
    );
    let mut framers = [Framer::default(), Framer::default()];
    let mut relays: Vec<SocketAddr> = Vec::new();
    let mut rest = data;
    while let [op, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        rest = next;
        let client = SocketAddr::new([192, 0, 2, 1 + (op >> 4) % 3].into(), 5000);
        match op % 5 {
            0 => relay.from_client(now, Transport::Udp, listener, client, bytes),
            1 => {
                let f = &mut framers[usize::from(op >> 4) % 2];
                f.push(bytes);
                loop {
                    match f.next_message() {
                        Ok(Some(m)) => relay.from_client(now, Transport::Tcp, listener, client, &m),
                        Ok(None) => break,
                        Err(_) => {
                            *f = Framer::default();
                            relay.client_closed(now, listener, client);
                            break;
                        }
                    }
                }
            }
            2 => {
                let at = relays
                    .get(usize::from(op >> 4) % relays.len().max(1))
                    .copied()
                    .unwrap_or(addr("10.0.0.1:40000"));
                relay.from_peer(now, at, media, bytes);
            }
            3 => {
                now += Duration::from_millis(len as u64 * 100);
                relay.handle_timeout(now);
            }
            _ => relay.client_closed(now, listener, client),
        }
        while let Some(out) = relay.poll_output() {
            match out {
                Output::Transmit { from, to, .. } => {
                    if relay.is_relay(from) {
                        assert!(relay.policy().allows(to), "relayed to {to}");
                    }
                }
                Output::BindRelay {
                    transport,
                    listener,
                    client,
                    ipv6,
                } => {
                    let a = SocketAddr::new([10, 0, 0, 1].into(), 40_000 + relays.len() as u16);
                    relays.push(a);
                    relay.relay_bound(now, transport, listener, client, ipv6, Ok(a));
                }
                Output::CloseRelay(a) => relays.retain(|r| *r != a),
                Output::CloseTcp { .. } => {}
            }
        }
        assert!(relay.stats().allocations <= 4);
    }
});
