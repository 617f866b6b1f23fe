//! The machine's own limit for fan-out (bench/fanout.sh): how many SRTP-sized
//! datagrams one core sends when it does nothing else, through Tern's send
//! path (`udp_batch`: `sendmmsg`, and UDP GSO for runs to one destination).
//! Each "frame" is `--segments` datagrams of `--size` bytes to each of
//! `--dests` receivers, as a forwarded video frame is. Two shapes:
//! - `sendmmsg`: destinations interleaved, so every datagram is a message of
//!   its own (the limit without GSO);
//! - `gso`: each destination's datagrams together, one segmented message per
//!   destination and frame.
//!
//! The receivers are sockets bound here that are never read: the kernel drops
//! at their full buffers, on the core the receive work is steered to. Prints
//! one JSON object: datagrams per second and CPU µs per datagram for each.

use std::net::{IpAddr, SocketAddr, UdpSocket as StdSocket};
use std::time::{Duration, Instant};

use clap::Parser;
use tern_server::udp_batch::send_all;

#[derive(Parser)]
struct Args {
    /// Address to send from (the server's).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Address the receivers bind (the load generator's).
    #[arg(long, default_value = "127.0.0.1")]
    to: IpAddr,
    #[arg(long, default_value_t = 300)]
    dests: usize,
    /// Bytes per datagram: an RTP video packet with Tern's largest payload,
    /// its header extensions and the SRTP tag.
    #[arg(long, default_value_t = 1140)]
    size: usize,
    /// Datagrams per frame (1.5 Mbit/s at 30 fps in 1,100-byte payloads).
    #[arg(long, default_value_t = 6)]
    segments: usize,
    /// Seconds per shape.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
}

/// CPU time of this thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Sends frames in `order` for `seconds`: (datagrams sent per second, CPU µs
/// per datagram sent).
async fn run(
    socket: &tokio::net::UdpSocket,
    order: &[(SocketAddr, &[u8])],
    seconds: f64,
) -> (f64, f64) {
    let (start, cpu0) = (Instant::now(), thread_cpu());
    let until = start + Duration::from_secs_f64(seconds);
    let mut sent = 0u64;
    while Instant::now() < until {
        // As the media loop does: a send only when the socket can take one.
        if socket.writable().await.is_err() {
            break;
        }
        let dropped = send_all(socket, order);
        sent += (order.len() - dropped) as u64;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = (thread_cpu() - cpu0).as_secs_f64();
    (sent as f64 / wall, cpu * 1e6 / sent.max(1) as f64)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(probe(args))
}

async fn probe(args: Args) -> anyhow::Result<()> {
    let mut receivers = Vec::with_capacity(args.dests);
    for _ in 0..args.dests {
        receivers.push(StdSocket::bind((args.to, 0))?);
    }
    let dests: Vec<SocketAddr> = receivers
        .iter()
        .map(|r| r.local_addr())
        .collect::<Result<_, _>>()?;
    let sender = StdSocket::bind((args.bind, 0))?;
    sender.set_nonblocking(true)?;
    let socket = tokio::net::UdpSocket::from_std(sender)?;
    let payload = vec![0x5au8; args.size];
    let data = payload.as_slice();
    let interleaved: Vec<(SocketAddr, &[u8])> = (0..args.segments)
        .flat_map(|_| dests.iter().map(|d| (*d, data)))
        .collect();
    let grouped: Vec<(SocketAddr, &[u8])> = dests
        .iter()
        .flat_map(|d| (0..args.segments).map(move |_| (*d, data)))
        .collect();
    let (plain_pps, plain_us) = run(&socket, &interleaved, args.seconds).await;
    let (gso_pps, gso_us) = run(&socket, &grouped, args.seconds).await;
    println!(
        "{}",
        serde_json::json!({
            "dests": args.dests,
            "size": args.size,
            "segments": args.segments,
            "sendmmsg_pps": plain_pps.round(),
            "sendmmsg_us_per_packet": (plain_us * 1000.0).round() / 1000.0,
            "gso_pps": gso_pps.round(),
            "gso_us_per_packet": (gso_us * 1000.0).round() / 1000.0,
        })
    );
    Ok(())
}
