//! The machine's own limit for fan-out (bench/fanout.sh): how many SRTP-sized
//! datagrams one core sends when it does nothing else, through Tern's send
//! path (`udp_batch`: `sendmmsg`, and UDP GSO for runs to one destination).
//! Each "frame" is `--segments` datagrams of `--size` bytes to each of
//! `--dests` receivers, as a forwarded video frame is. The shapes:
//! - `sendmmsg`: destinations interleaved, so every datagram is a message of
//!   its own (the limit without GSO);
//! - `gso`: each destination's datagrams together, one segmented message per
//!   destination and frame;
//! - `gso_srtp`: as `gso`, but each datagram is made for its receiver first,
//!   as any SFU must: an RTP header with the receiver's SSRC and sequence
//!   number, and AES-256-GCM (RFC 7714) under the receiver's own key. This is
//!   the ceiling of a forwarder that encrypts per player and sends with GSO;
//! - `media_srtp`: the load generator's own traffic, sealed the same way: a
//!   video frame of `--frame-bytes` in packets of at most `--size` (a shorter
//!   last one) as one segmented message per receiver, and `--audio-pps`
//!   packets of `--audio-bytes` between the frames, each a message of its own
//!   (one arrives at a time). Each frame or audio packet is one `send_all` to
//!   every receiver, as one publisher packet is for a forwarder. Its packets
//!   per second are the ceiling for forwarding this traffic on this core.
//!
//! The receivers are sockets bound here that are never read: the kernel drops
//! at their full buffers, on the core the receive work is steered to. Prints
//! one JSON object: datagrams per second and CPU µs per datagram for each.

use std::net::{IpAddr, SocketAddr, UdpSocket as StdSocket};
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
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
    /// Bytes of one video frame (`media_srtp`; 1.5 Mbit/s at 30 fps).
    #[arg(long, default_value_t = 6250)]
    frame_bytes: usize,
    /// Video frames per second (`media_srtp`).
    #[arg(long, default_value_t = 30)]
    fps: usize,
    /// Audio packets per second and payload bytes of each (`media_srtp`).
    #[arg(long, default_value_t = 50)]
    audio_pps: usize,
    #[arg(long, default_value_t = 120)]
    audio_bytes: usize,
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

/// One receiver's SRTP state: its key, salt, SSRC and next sequence number.
struct Receiver {
    key: LessSafeKey,
    salt: [u8; 12],
    ssrc: u32,
    seq: u16,
}

/// RTP header (12 bytes) plus the GCM tag (16): the rest of a datagram is payload.
const RTP_HEADER: usize = 12;
const TAG: usize = 16;

impl Receiver {
    fn new(i: usize) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("32-byte key"));
        Receiver {
            key,
            salt: [i as u8; 12],
            ssrc: 0x1000_0000 + i as u32,
            seq: 0,
        }
    }

    /// Writes one SRTP packet carrying `payload` into `out` (cleared first).
    fn seal(&mut self, payload: &[u8], ts: u32, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&[0x80, 96]);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&ts.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(payload);
        // RFC 7714 IV: 00 00 | SSRC | ROC | SEQ, XORed with the salt (ROC 0).
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&self.ssrc.to_be_bytes());
        iv[10..12].copy_from_slice(&self.seq.to_be_bytes());
        for (b, s) in iv.iter_mut().zip(self.salt) {
            *b ^= s;
        }
        let (header, body) = out.split_at_mut(RTP_HEADER);
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(&*header), body)
            .expect("GCM seal");
        out.extend_from_slice(tag.as_ref());
        self.seq = self.seq.wrapping_add(1);
    }
}

/// What a forwarder sends to each receiver at one publisher packet: the
/// payload sizes, in order, of the packets it sends to each receiver.
fn media_events(args: &Args) -> Vec<Vec<usize>> {
    let chunk = args.size.saturating_sub(RTP_HEADER + TAG).max(1);
    let frame: Vec<usize> = (0..args.frame_bytes.div_ceil(chunk))
        .map(|i| chunk.min(args.frame_bytes - i * chunk))
        .collect();
    // One second of media: frames and audio packets in the order of their times.
    let mut timed: Vec<(usize, Vec<usize>)> = (0..args.fps)
        .map(|i| (i * 1_000_000 / args.fps.max(1), frame.clone()))
        .chain(
            (0..args.audio_pps).map(|i| (i * 1_000_000 / args.audio_pps, vec![args.audio_bytes])),
        )
        .collect();
    timed.sort_by_key(|(t, _)| *t);
    timed.into_iter().map(|(_, sizes)| sizes).collect()
}

/// Sends `events` round and round for `args.seconds`: at each, a packet
/// per payload size for every receiver, made for it (RTP header, its key),
/// then one batch. As [`run`]: (datagrams sent per second, CPU µs per one).
async fn run_sealed(
    socket: &tokio::net::UdpSocket,
    dests: &[SocketAddr],
    events: &[Vec<usize>],
    args: &Args,
) -> (f64, f64) {
    let payload = vec![0x5au8; args.size];
    let mut receivers: Vec<Receiver> = (0..dests.len()).map(Receiver::new).collect();
    let most = events.iter().map(Vec::len).max().unwrap_or(1);
    let mut bufs: Vec<Vec<u8>> = vec![Vec::with_capacity(args.size); dests.len() * most];
    let (start, cpu0) = (Instant::now(), thread_cpu());
    let until = start + Duration::from_secs_f64(args.seconds);
    let mut sent = 0u64;
    let mut ts = 0u32;
    for sizes in events.iter().cycle() {
        if Instant::now() >= until || socket.writable().await.is_err() {
            break;
        }
        ts = ts.wrapping_add(3000);
        let n = sizes.len();
        for (r, chunk) in receivers.iter_mut().zip(bufs.chunks_mut(most)) {
            for (buf, &size) in chunk.iter_mut().zip(sizes) {
                r.seal(&payload[..size], ts, buf);
            }
        }
        let order: Vec<(SocketAddr, &[u8])> = dests
            .iter()
            .zip(bufs.chunks(most))
            .flat_map(|(d, chunk)| chunk[..n].iter().map(move |b| (*d, b.as_slice())))
            .collect();
        let dropped = send_all(socket, &order);
        sent += (order.len() - dropped) as u64;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = (thread_cpu() - cpu0).as_secs_f64();
    (sent as f64 / wall, cpu * 1e6 / sent.max(1) as f64)
}

/// Packets per message of the `media_srtp` shape (a frame is one message).
fn media_packets_per_message(events: &[Vec<usize>]) -> f64 {
    let packets: usize = events.iter().map(Vec::len).sum();
    (packets as f64 / events.len().max(1) as f64 * 1000.0).round() / 1000.0
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
    // gso_srtp: one frame of full-sized packets per event.
    let frame = vec![args.size.saturating_sub(RTP_HEADER + TAG); args.segments];
    let (srtp_pps, srtp_us) = run_sealed(&socket, &dests, &[frame], &args).await;
    let (media_pps, media_us) = run_sealed(&socket, &dests, &media_events(&args), &args).await;
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
            "gso_srtp_pps": srtp_pps.round(),
            "gso_srtp_us_per_packet": (srtp_us * 1000.0).round() / 1000.0,
            "media_srtp_pps": media_pps.round(),
            "media_srtp_us_per_packet": (media_us * 1000.0).round() / 1000.0,
            "media_packets_per_message": media_packets_per_message(&media_events(&args)),
        })
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_second_of_the_load_s_media_in_order() {
        let args = Args::parse_from(["tern-rawsend"]);
        let events = media_events(&args);
        assert_eq!(
            events.len(),
            30 + 50,
            "a frame or an audio packet per event"
        );
        let frames: Vec<&Vec<usize>> = events.iter().filter(|e| e.len() > 1).collect();
        assert_eq!(frames.len(), 30);
        // 6,250 bytes in payloads of at most 1,140 - 28: five full and a short last.
        assert_eq!(frames[0], &vec![1112, 1112, 1112, 1112, 1112, 690]);
        assert_eq!(
            events[0],
            vec![1112, 1112, 1112, 1112, 1112, 690],
            "t=0: the frame first"
        );
        assert_eq!(events[1], vec![120], "then the audio packet of t=0");
        assert_eq!(media_packets_per_message(&events), 2.875);
    }
}
