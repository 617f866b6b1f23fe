//! Sends many datagrams to many destinations with one system call
//! (`sendmmsg`), and runs of equal-sized datagrams to one destination (the
//! packets of one video frame for one player) as one UDP GSO send: the kernel's
//! per-datagram send path was the largest share of the cost of forwarding.

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Messages handed to the kernel per call.
const MAX_BATCH: usize = 256;
/// Segments per GSO send (the kernel's limit is 64 on older kernels).
const MAX_SEGMENTS: usize = 64;
/// A GSO send carries at most this many bytes.
const MAX_GSO_BYTES: usize = 65_000;

/// Cleared when the kernel refuses a segmented send; plain sends from then on.
static GSO: AtomicBool = AtomicBool::new(true);

/// Splits `datagrams` into runs that can go as one GSO send: one destination,
/// every datagram as long as the first except a shorter last one.
fn gso_runs(datagrams: &[(SocketAddr, &[u8])], gso: bool) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < datagrams.len() {
        let (dest, first) = datagrams[i];
        let size = first.len();
        let mut end = i + 1;
        let mut bytes = size;
        while gso && size > 0 && end < datagrams.len() && end - i < MAX_SEGMENTS {
            let (d, data) = datagrams[end];
            // The previous datagram must be full-sized for this one to follow it.
            let previous_full = datagrams[end - 1].1.len() == size;
            if d != dest
                || data.len() > size
                || !previous_full
                || bytes + data.len() > MAX_GSO_BYTES
            {
                break;
            }
            bytes += data.len();
            end += 1;
        }
        runs.push(i..end);
        i = end;
    }
    runs
}

/// Sends every datagram it can; returns how many were dropped. As with a
/// single `try_send_to`, a full socket buffer drops the rest (UDP: media
/// recovers by retransmission or the next keyframe) and a destination the
/// kernel refuses drops only its own datagram.
pub fn send_all(socket: &UdpSocket, datagrams: &[(SocketAddr, &[u8])]) -> usize {
    send_counted(socket, datagrams).dropped
}

/// What [`send_counted`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Datagrams dropped.
    pub dropped: usize,
    /// Messages handed to the kernel (a GSO message carries several datagrams).
    pub messages: usize,
}

/// As [`send_all`], also counting the messages the datagrams went out in.
pub fn send_counted(socket: &UdpSocket, datagrams: &[(SocketAddr, &[u8])]) -> Sent {
    if datagrams.is_empty() {
        return Sent::default();
    }
    imp::send_all(socket, datagrams)
}

#[cfg(target_os = "linux")]
mod imp {
    use super::*;
    use socket2::SockAddr;
    use std::os::fd::AsRawFd;

    /// `UDP_SEGMENT` from linux/udp.h (not in the libc crate for glibc).
    const UDP_SEGMENT: libc::c_int = 103;
    /// Room for one control message carrying a u16, 8-byte aligned.
    type Cmsg = [u64; 4];

    pub fn send_all(socket: &UdpSocket, datagrams: &[(SocketAddr, &[u8])]) -> Sent {
        let gso = GSO.load(Ordering::Relaxed);
        let runs = gso_runs(datagrams, gso);
        match send_runs(socket, datagrams, &runs) {
            Ok(dropped) => Sent {
                dropped,
                messages: runs.len(),
            },
            Err(failed) => {
                // The kernel refused a segmented send: no more GSO, and the
                // rest goes out plain.
                tracing::info!("UDP GSO refused by the kernel; sending datagrams one by one");
                GSO.store(false, Ordering::Relaxed);
                let rest = &datagrams[runs[failed].start..];
                let plain = gso_runs(rest, false);
                Sent {
                    dropped: send_runs(socket, rest, &plain).unwrap_or(rest.len()),
                    messages: failed + plain.len(),
                }
            }
        }
    }

    /// Sends each run as one message. `Err(i)`: run `i`, segmented, was refused.
    fn send_runs(
        socket: &UdpSocket,
        datagrams: &[(SocketAddr, &[u8])],
        runs: &[Range<usize>],
    ) -> Result<usize, usize> {
        let addrs: Vec<SockAddr> = runs
            .iter()
            .map(|r| SockAddr::from(datagrams[r.start].0))
            .collect();
        let mut iovs: Vec<libc::iovec> = datagrams
            .iter()
            .map(|(_, d)| libc::iovec {
                iov_base: d.as_ptr() as *mut libc::c_void,
                iov_len: d.len(),
            })
            .collect();
        let mut cmsgs: Vec<Cmsg> = vec![[0; 4]; runs.len()];
        let mut msgs: Vec<libc::mmsghdr> = Vec::with_capacity(runs.len());
        for (i, run) in runs.iter().enumerate() {
            // SAFETY: msghdr is plain data; all-zero is its empty value.
            let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
            hdr.msg_name = addrs[i].as_ptr() as *mut libc::c_void;
            hdr.msg_namelen = addrs[i].len();
            hdr.msg_iov = iovs[run.clone()].as_mut_ptr();
            hdr.msg_iovlen = run.len();
            if run.len() > 1 {
                let segment = datagrams[run.start].1.len() as u16;
                hdr.msg_control = cmsgs[i].as_mut_ptr() as *mut libc::c_void;
                // SAFETY: CMSG_SPACE of a u16 (24 bytes) fits the 32-byte,
                // 8-aligned buffer the header points at.
                unsafe {
                    hdr.msg_controllen = libc::CMSG_SPACE(2) as usize;
                    let c = libc::CMSG_FIRSTHDR(&hdr);
                    (*c).cmsg_level = libc::SOL_UDP;
                    (*c).cmsg_type = UDP_SEGMENT;
                    (*c).cmsg_len = libc::CMSG_LEN(2) as usize;
                    std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut u16, segment);
                }
            }
            msgs.push(libc::mmsghdr {
                msg_hdr: hdr,
                msg_len: 0,
            });
        }
        let fd = socket.as_raw_fd();
        let mut done = 0;
        let mut dropped = 0;
        while done < msgs.len() {
            let chunk = (msgs.len() - done).min(MAX_BATCH);
            let rest = &mut msgs[done..];
            let result = socket.try_io(Interest::WRITABLE, || {
                // SAFETY: `rest` holds at least `chunk` headers whose pointers
                // go into `addrs`, `iovs`, `cmsgs` and `datagrams`, all alive
                // and unmoved for this call.
                let n = unsafe { libc::sendmmsg(fd, rest.as_mut_ptr(), chunk as u32, 0) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            let unsent = |from: usize| runs[from..].iter().map(|r| r.len()).sum::<usize>();
            match result {
                Ok(0) => return Ok(dropped + unsent(done)),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(dropped + unsent(done));
                }
                // A segmented send refused (no GSO on this path): the caller
                // retries plain. A plain datagram refused costs only itself.
                Err(_) if runs[done].len() > 1 => return Err(done),
                Err(_) => {
                    dropped += 1;
                    done += 1;
                }
            }
        }
        Ok(dropped)
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;

    pub fn send_all(socket: &UdpSocket, datagrams: &[(SocketAddr, &[u8])]) -> Sent {
        let dropped = datagrams
            .iter()
            .filter(|(a, d)| socket.try_send_to(d, *a).is_err())
            .count();
        Sent {
            dropped,
            messages: datagrams.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_one_destination_and_one_size_become_one_send() {
        let (a, b): (SocketAddr, SocketAddr) =
            ("10.0.0.1:1".parse().unwrap(), "10.0.0.2:1".parse().unwrap());
        let (full, short, long) = ([0u8; 1200], [0u8; 300], [0u8; 1300]);
        let batch: Vec<(SocketAddr, &[u8])> = vec![
            (a, &full),  // 0 ┐ a frame: full, full, short
            (a, &full),  // 1 │
            (a, &short), // 2 ┘
            (a, &full),  // 3 ┐ after a short one a new run starts
            (b, &full),  // 4 ┐ another destination
            (b, &long),  // 5 ┐ longer than the run's size
            (b, &short), // 6 ┘
            (b, &long),  // 7   after a short one
        ];
        assert_eq!(gso_runs(&batch, true), [0..3, 3..4, 4..5, 5..7, 7..8]);
        let plain: Vec<Range<usize>> = (0..8).map(|i| i..i + 1).collect();
        assert_eq!(gso_runs(&batch, false), plain);
        // Bounded in segments and bytes.
        let many: Vec<(SocketAddr, &[u8])> = vec![(a, &full[..]); 200];
        let runs = gso_runs(&many, true);
        assert!(runs
            .iter()
            .all(|r| r.len() <= MAX_SEGMENTS && r.len() * 1200 <= MAX_GSO_BYTES));
        assert_eq!(runs.iter().map(|r| r.len()).sum::<usize>(), 200);
    }

    #[tokio::test]
    async fn every_datagram_reaches_its_own_destination_whole() {
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // As in the server's loop, the reactor has seen the socket writable.
        sender.writable().await.unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (to_a, to_b) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let payloads: Vec<Vec<u8>> = (0..300u32)
            .map(|i| (0..(20 + i % 100)).map(|j| (i + j) as u8).collect())
            .collect();
        let batch: Vec<(SocketAddr, &[u8])> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| (if i % 2 == 0 { to_a } else { to_b }, p.as_slice()))
            .collect();
        // 300 datagrams: more than one system call's worth (256).
        let dropped = send_all(&sender, &batch);
        assert_eq!(dropped, 0);
        let mut buf = vec![0u8; 2_048];
        for (i, p) in payloads.iter().enumerate() {
            let socket = if i % 2 == 0 { &a } else { &b };
            let n = tokio::time::timeout(std::time::Duration::from_secs(2), socket.recv(&mut buf))
                .await
                .expect("datagram arrives")
                .unwrap();
            assert_eq!(&buf[..n], p.as_slice(), "datagram {i}");
        }
    }

    #[tokio::test]
    async fn a_segmented_frame_arrives_as_its_datagrams() {
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sender.writable().await.unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (to_a, to_b) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        // Per player, a frame of three full packets and a short one, each
        // packet's bytes its own.
        let packets: Vec<Vec<u8>> = (0..8u8)
            .map(|i| vec![i; if i % 4 == 3 { 300 } else { 1_200 }])
            .collect();
        let batch: Vec<(SocketAddr, &[u8])> = packets
            .iter()
            .enumerate()
            .map(|(i, p)| (if i < 4 { to_a } else { to_b }, p.as_slice()))
            .collect();
        assert_eq!(gso_runs(&batch, true), [0..4, 4..8]);
        assert_eq!(send_all(&sender, &batch), 0);
        let mut buf = vec![0u8; 65_536];
        for (i, p) in packets.iter().enumerate() {
            let socket = if i < 4 { &a } else { &b };
            let n = socket.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], p.as_slice(), "datagram {i}");
        }
        assert!(
            GSO.load(Ordering::Relaxed),
            "loopback takes segmented sends"
        );
    }

    #[tokio::test]
    async fn a_refused_destination_costs_only_its_own_datagram() {
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // As in the server's loop, the reactor has seen the socket writable.
        sender.writable().await.unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to_a = a.local_addr().unwrap();
        // An IPv6 destination on an IPv4 socket is refused by the kernel.
        let bad: SocketAddr = "[::1]:9".parse().unwrap();
        let batch: Vec<(SocketAddr, &[u8])> = vec![(to_a, b"one"), (bad, b"lost"), (to_a, b"two")];
        assert_eq!(send_all(&sender, &batch), 1);
        let mut buf = [0u8; 16];
        for want in [&b"one"[..], b"two"] {
            let n = a.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], want);
        }
    }
}
