//! The per-packet forwarding path: one SRTP video packet from a publisher in,
//! one encrypted packet per player out. Everything is real (ICE, DTLS, SRTP,
//! RTCP on str0m clients) but the network is memory and the clock is virtual,
//! so the figure is Tern's user-space cost only, repeatable run to run.
//!
//! `cargo bench -p tern-media --bench forward` (criterion prints time per input
//! packet and output packets per second for 1, 10 and 100 players), with
//! metrics as the server keeps them (per-peer quality statistics, and the
//! worker's datagram and byte counters bumped once per batch) and without.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

#[path = "forward_room.rs"]
mod forward_room;
use forward_room::Room;

fn forward(c: &mut Criterion) {
    for metrics in [false, true] {
        let name = if metrics {
            "forward one video packet, metrics on"
        } else {
            "forward one video packet, metrics off"
        };
        forward_group(c, name, metrics);
    }
}

fn forward_group(c: &mut Criterion, name: &str, metrics: bool) {
    // The server's worker counters: plain atomics, bumped once per batch.
    let datagrams_out = prometheus_client::metrics::counter::Counter::<u64>::default();
    let bytes_out = prometheus_client::metrics::counter::Counter::<u64>::default();
    let mut group = c.benchmark_group(name);
    for players in [1u16, 10, 100] {
        let mut room = Room::new(players, metrics);
        group.throughput(Throughput::Elements(u64::from(players)));
        group.bench_with_input(BenchmarkId::from_parameter(players), &players, |b, _| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        room.step(players, |out| {
                            if metrics {
                                datagrams_out.inc_by(out.len() as u64);
                                bytes_out.inc_by(out.iter().map(|(_, d)| d.len() as u64).sum());
                            }
                        })
                    })
                    .sum()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(4));
    targets = forward
}
criterion_main!(benches);
