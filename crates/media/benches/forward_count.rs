//! The forwarding path's cost in instructions, which unlike time is the same
//! on a busy machine: run under callgrind, counting only inside `Room::serve`
//! (bench/metrics_cost.sh does this with and without metrics).
//!
//! `forward_count PLAYERS PACKETS on|off [direct|str0m]`: builds the room
//! (not counted), then forwards PACKETS publisher packets, with metrics as
//! the server keeps them (`on`) or without (`off`), players' media sealed by
//! Tern (`direct`, the default) or written through str0m (`str0m`), and
//! prints how many packets went out.

#[path = "forward_room.rs"]
mod forward_room;
use forward_room::Room;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` runs every bench target with `--bench`: nothing to do then.
    if args.len() != 4 && args.len() != 5 {
        eprintln!("usage: forward_count PLAYERS PACKETS on|off [direct|str0m]");
        return;
    }
    let players: u16 = args[1].parse().expect("PLAYERS");
    let packets: u32 = args[2].parse().expect("PACKETS");
    let metrics = args[3] == "on";
    let datagrams_out = prometheus_client::metrics::counter::Counter::<u64>::default();
    let bytes_out = prometheus_client::metrics::counter::Counter::<u64>::default();
    let direct = args.get(4).is_none_or(|a| a != "str0m");
    let mut room = Room::with(players, metrics, direct, false);
    let mut sent = 0u64;
    for _ in 0..packets {
        room.step(players, |out| {
            sent += out.len() as u64;
            if metrics {
                count_batch(&datagrams_out, &bytes_out, out);
            }
        });
    }
    println!("{sent}");
}

/// What the server's worker does per batch; counted with `serve` under
/// callgrind (bench/metrics_cost.sh toggles collection on both).
#[inline(never)]
fn count_batch(
    datagrams: &prometheus_client::metrics::counter::Counter<u64>,
    bytes: &prometheus_client::metrics::counter::Counter<u64>,
    out: &[(std::net::SocketAddr, Vec<u8>)],
) {
    datagrams.inc_by(out.len() as u64);
    bytes.inc_by(out.iter().map(|(_, d)| d.len() as u64).sum());
}
