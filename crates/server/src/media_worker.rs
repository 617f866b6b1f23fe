//! Media workers: each a thread with its own event loop, UDP socket and SFU.
//! The peers of one stream (or one room) live on one worker, so media never
//! crosses threads, and streams spread over the workers and so over the cores.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_core::{MediaCommand, MediaEvent};
use tern_media::{Sfu, SfuOutput};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::udp_batch;

/// Largest datagram read; WebRTC keeps packets under the MTU, so more is garbage.
const RECV_BUF: usize = 2048;
/// Datagrams read per wakeup before the loop looks at commands and timers.
const RECV_BATCH: usize = 64;

/// The hub's end of a worker.
pub struct Worker {
    commands: mpsc::UnboundedSender<MediaCommand>,
    pub addr: SocketAddr,
}

impl Worker {
    /// Starts a worker on `socket` (bound, not yet registered with any event
    /// loop). Its events go to `events`; it stops when the hub drops it.
    pub fn spawn(
        index: usize,
        socket: std::net::UdpSocket,
        sfu: Sfu,
        events: mpsc::UnboundedSender<MediaEvent>,
    ) -> anyhow::Result<Worker> {
        let addr = socket.local_addr()?;
        socket.set_nonblocking(true)?;
        let (commands, rx) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name(format!("tern-media-{index}"))
            .spawn(move || runtime.block_on(run(socket, sfu, rx, events)))?;
        Ok(Worker { commands, addr })
    }

    /// False when the worker has stopped.
    pub fn send(&self, cmd: MediaCommand) -> bool {
        self.commands.send(cmd).is_ok()
    }
}

/// The worker for a stream group (`app` and the room or stream id): a hash,
/// so every peer of a group lands on the same worker without a table.
pub fn worker_for(app: &str, group: &str, workers: usize) -> usize {
    let mut h = DefaultHasher::new();
    (app, group).hash(&mut h);
    (h.finish() % workers.max(1) as u64) as usize
}

async fn run(
    socket: std::net::UdpSocket,
    mut sfu: Sfu,
    mut commands: mpsc::UnboundedReceiver<MediaCommand>,
    events: mpsc::UnboundedSender<MediaEvent>,
) {
    let udp = match UdpSocket::from_std(socket) {
        Ok(u) => u,
        Err(e) => {
            tracing::error!("media worker cannot use its socket: {e}");
            return;
        }
    };
    let mut buf = vec![0u8; RECV_BUF];
    loop {
        let idle = Instant::now() + Duration::from_secs(1);
        let wake = sfu.poll_timeout().unwrap_or(idle).min(idle);
        tokio::select! {
            cmd = commands.recv() => match cmd {
                Some(cmd) => {
                    sfu.handle_command(Instant::now(), cmd);
                    while let Ok(cmd) = commands.try_recv() {
                        sfu.handle_command(Instant::now(), cmd);
                    }
                }
                None => break,
            },
            res = udp.recv_from(&mut buf) => {
                if let Ok((n, src)) = res {
                    sfu.handle_datagram(Instant::now(), src, &buf[..n]);
                    for _ in 1..RECV_BATCH {
                        match udp.try_recv_from(&mut buf) {
                            Ok((n, src)) => sfu.handle_datagram(Instant::now(), src, &buf[..n]),
                            Err(_) => break,
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => sfu.handle_timeout(Instant::now()),
        }
        pump(&mut sfu, &udp, &events);
    }
}

/// Sends what the SFU produced: datagrams in one batch, events to the hub.
fn pump(sfu: &mut Sfu, udp: &UdpSocket, events: &mpsc::UnboundedSender<MediaEvent>) {
    let mut outgoing = Vec::new();
    while let Some(out) = sfu.poll_output() {
        match out {
            SfuOutput::Transmit(t) => outgoing.push(t),
            SfuOutput::Event(e) => {
                let _ = events.send(e);
            }
        }
    }
    // A full send buffer drops datagrams, as the network would; RTP recovers
    // through NACK and keyframes.
    let batch: Vec<(SocketAddr, &[u8])> = outgoing
        .iter()
        .map(|t| (t.destination, &t.contents[..]))
        .collect();
    let dropped = udp_batch::send_all(udp, &batch);
    if dropped > 0 {
        tracing::debug!(dropped, "media socket dropped datagrams");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_always_lands_on_one_worker_and_groups_spread() {
        assert_eq!(
            worker_for("LiveApp", "room1", 4),
            worker_for("LiveApp", "room1", 4)
        );
        assert_eq!(worker_for("LiveApp", "anything", 1), 0);
        let used: std::collections::BTreeSet<usize> = (0..64)
            .map(|i| worker_for("LiveApp", &format!("stream{i}"), 4))
            .collect();
        assert_eq!(used.len(), 4, "64 streams use all 4 workers");
    }
}
