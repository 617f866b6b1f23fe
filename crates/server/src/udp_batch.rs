//! Sends many datagrams to many destinations with one system call
//! (`sendmmsg`). Fan-out makes one packet per player for every packet in, and
//! a `sendto` each was a large share of the cost of forwarding.

use std::io;
use std::net::SocketAddr;

use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Datagrams handed to the kernel per call.
const MAX_BATCH: usize = 256;

/// Sends every datagram it can; returns how many were dropped. As with a
/// single `try_send_to`, a full socket buffer drops the rest (UDP: media
/// recovers by retransmission or the next keyframe) and a destination the
/// kernel refuses drops only its own datagram.
pub fn send_all(socket: &UdpSocket, datagrams: &[(SocketAddr, &[u8])]) -> usize {
    if datagrams.is_empty() {
        return 0;
    }
    imp::send_all(socket, datagrams)
}

#[cfg(target_os = "linux")]
mod imp {
    use super::*;
    use socket2::SockAddr;
    use std::os::fd::AsRawFd;

    pub fn send_all(socket: &UdpSocket, datagrams: &[(SocketAddr, &[u8])]) -> usize {
        let addrs: Vec<SockAddr> = datagrams.iter().map(|(a, _)| SockAddr::from(*a)).collect();
        let mut iovs: Vec<libc::iovec> = datagrams
            .iter()
            .map(|(_, d)| libc::iovec {
                iov_base: d.as_ptr() as *mut libc::c_void,
                iov_len: d.len(),
            })
            .collect();
        let mut msgs: Vec<libc::mmsghdr> = Vec::with_capacity(datagrams.len());
        for (addr, iov) in addrs.iter().zip(iovs.iter_mut()) {
            // SAFETY: msghdr is plain data; all-zero is its empty value.
            let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
            hdr.msg_name = addr.as_ptr() as *mut libc::c_void;
            hdr.msg_namelen = addr.len();
            hdr.msg_iov = iov;
            hdr.msg_iovlen = 1;
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
                // SAFETY: `rest` holds at least `chunk` headers whose name and
                // iovec pointers point into `addrs`, `iovs` and `datagrams`,
                // all alive and unmoved for this call.
                let n = unsafe { libc::sendmmsg(fd, rest.as_mut_ptr(), chunk as u32, 0) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match result {
                Ok(0) => {
                    dropped += msgs.len() - done;
                    break;
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    dropped += msgs.len() - done;
                    break;
                }
                // The first datagram of the chunk was refused: skip it alone.
                Err(_) => {
                    done += 1;
                    dropped += 1;
                }
            }
        }
        dropped
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;

    pub fn send_all(socket: &UdpSocket, datagrams: &[(SocketAddr, &[u8])]) -> usize {
        datagrams
            .iter()
            .filter(|(a, d)| socket.try_send_to(d, *a).is_err())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
