//! A subscriber that counts every packet cheaply and decrypts only a sample.
//!
//! It reads its UDP socket itself. STUN, DTLS and RTCP always go to str0m (it
//! answers ICE, runs DTLS and SCTP and sends reports); of the SRTP media
//! packets it reads only the clear RTP header (SSRC and sequence number, for
//! counts and loss) and hands one in `sample` to str0m, which runs in RTP mode
//! so that each decrypted packet comes back on its own: its payload is checked
//! byte for byte and its send time gives the one-way delay. NACKs are
//! suppressed on every receive stream, since str0m sees gaps by design.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use str0m::change::SdpOffer;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};
use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::payload;
use crate::synth::now_micros;

/// What one subscriber has seen so far; read by the runner while it runs.
#[derive(Default)]
pub struct Counters {
    /// SRTP media packets received.
    pub packets: AtomicU64,
    pub bytes: AtomicU64,
    /// Packets the sequence numbers say were sent (per SSRC: highest - first + 1).
    pub expected: AtomicU64,
    /// Sampled packets decrypted and found intact.
    pub intact: AtomicU64,
    /// Sampled packets that decrypted but whose payload was not what was sent.
    pub corrupt: AtomicU64,
    /// Microseconds from the join request to the first media packet; 0 until then.
    pub join_us: AtomicU64,
    /// Microseconds from the join request to the server's SDP; set by the runner.
    pub offer_us: AtomicU64,
    /// Microseconds from the join request to ICE and DTLS being up; 0 until then.
    pub connected_us: AtomicU64,
    /// One-way delays (µs) of intact samples taken while `recording` is set.
    pub delays: Mutex<Vec<u32>>,
}

/// Set by the runner for the measuring window.
pub type Recording = Arc<AtomicBool>;

/// Sequence tracking of one SSRC.
struct SeqTrack {
    ssrc: u32,
    /// Extended highest sequence number.
    highest: u64,
}

/// Receive buffer asked for per subscriber socket.
const RECV_BUFFER: usize = 2 << 20;

pub struct Subscriber {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
}

impl Subscriber {
    pub async fn new(ip: std::net::IpAddr) -> anyhow::Result<Subscriber> {
        let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        // Hundreds of subscribers share one generator thread: a buffer that
        // rides out its scheduling stalls keeps the generator's own drops out
        // of the server's loss figure (the kernel caps it at rmem_max).
        let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(RECV_BUFFER);
        let local = socket.local_addr()?;
        let mut rtc = RtcConfig::new()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(true)
            .build(Instant::now());
        let candidate = Candidate::host(local, "udp").map_err(|e| anyhow!("{e}"))?;
        rtc.add_local_candidate(candidate);
        Ok(Subscriber { rtc, socket, local })
    }

    /// Answers the server's offer.
    pub fn accept_offer(&mut self, sdp: &str) -> anyhow::Result<String> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| anyhow!("offer: {e}"))?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| anyhow!("offer refused: {e}"))?;
        Ok(answer.to_sdp_string())
    }

    /// Runs until `stop` turns true; `joined` is when the join was requested.
    pub fn spawn(
        self,
        joined: Instant,
        sample: u64,
        counters: Arc<Counters>,
        recording: Recording,
        stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<Result<(), String>> {
        tokio::spawn(run(self, joined, sample.max(1), counters, recording, stop))
    }
}

async fn run(
    sub: Subscriber,
    joined: Instant,
    sample: u64,
    c: Arc<Counters>,
    recording: Recording,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let Subscriber {
        mut rtc,
        socket,
        local,
    } = sub;
    let mut buf = vec![0u8; 2048];
    let mut tracks: Vec<SeqTrack> = Vec::new();
    // Media packets until the next one goes to str0m.
    let mut until_sample: u64 = 1;
    let mut timeout = drain(&mut rtc, &socket, &c, &recording, joined).await?;
    loop {
        let wait = timeout
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let mut fed = false;
                let mut next = r;
                // Everything queued on the socket is handled before str0m is polled.
                for _ in 0..64 {
                    let Ok((n, source)) = next else { break };
                    let d = &buf[..n];
                    let to_rtc = match rtp_header(d) {
                        Some((ssrc, seq)) => {
                            if c.packets.fetch_add(1, Ordering::Relaxed) == 0 {
                                let us = joined.elapsed().as_micros().max(1) as u64;
                                c.join_us.store(us, Ordering::Relaxed);
                            }
                            c.bytes.fetch_add(n as u64, Ordering::Relaxed);
                            let added = track(&mut tracks, ssrc, seq);
                            if added > 0 {
                                c.expected.fetch_add(added, Ordering::Relaxed);
                            }
                            until_sample -= 1;
                            if until_sample == 0 {
                                until_sample = sample;
                            }
                            until_sample == sample
                        }
                        None => true,
                    };
                    if to_rtc {
                        if let Ok(contents) = d.try_into() {
                            let input = Input::Receive(Instant::now(), Receive {
                                proto: Protocol::Udp,
                                source,
                                destination: local,
                                contents,
                            });
                            rtc.handle_input(input).map_err(|e| format!("input: {e}"))?;
                            fed = true;
                        }
                    }
                    next = socket.try_recv_from(&mut buf);
                }
                if fed {
                    timeout = drain(&mut rtc, &socket, &c, &recording, joined).await?;
                }
            }
            _ = tokio::time::sleep(wait) => {
                rtc.handle_input(Input::Timeout(Instant::now())).map_err(|e| format!("timeout: {e}"))?;
                timeout = drain(&mut rtc, &socket, &c, &recording, joined).await?;
            }
            _ = crate::stopped(&mut stop) => {
                rtc.disconnect();
                return Ok(());
            }
        }
    }
}

/// `(ssrc, seq)` of an RTP packet; `None` for STUN, DTLS and RTCP.
fn rtp_header(d: &[u8]) -> Option<(u32, u16)> {
    if d.len() < 12 || !(128..192).contains(&d[0]) || (192..224).contains(&d[1]) {
        return None;
    }
    Some((
        u32::from_be_bytes([d[8], d[9], d[10], d[11]]),
        u16::from_be_bytes([d[2], d[3]]),
    ))
}

/// Records `seq` on `ssrc`; returns by how much the expected count grows.
fn track(tracks: &mut Vec<SeqTrack>, ssrc: u32, seq: u16) -> u64 {
    let Some(t) = tracks.iter_mut().find(|t| t.ssrc == ssrc) else {
        tracks.push(SeqTrack {
            ssrc,
            highest: (1 << 16) + u64::from(seq),
        });
        return 1;
    };
    // Extend relative to the highest: the nearest value with these low 16 bits.
    let hi = t.highest;
    let base = hi & !0xffff;
    let ext = [base.wrapping_sub(1 << 16), base, base + (1 << 16)]
        .into_iter()
        .map(|b| b | u64::from(seq))
        .min_by_key(|e| e.abs_diff(hi))
        .unwrap_or(hi);
    if ext > hi {
        t.highest = ext;
        ext - hi
    } else {
        0
    }
}

async fn drain(
    rtc: &mut Rtc,
    socket: &UdpSocket,
    c: &Counters,
    recording: &AtomicBool,
    joined: Instant,
) -> Result<Instant, String> {
    loop {
        if !rtc.is_alive() {
            return Err("connection closed".into());
        }
        match rtc.poll_output().map_err(|e| e.to_string())? {
            Output::Timeout(t) => return Ok(t),
            Output::Transmit(t) => {
                let _ = socket.send_to(&t.contents, t.destination).await;
            }
            Output::Event(Event::Connected) => {
                let us = joined.elapsed().as_micros().max(1) as u64;
                c.connected_us.store(us, Ordering::Relaxed);
            }
            Output::Event(Event::RtpPacket(p)) => {
                if let Some(s) = rtc.direct_api().stream_rx(&p.header.ssrc) {
                    s.suppress_nack(true);
                }
                let stamp = payload::read(&p.payload)
                    .or_else(|| payload::read(payload::vp8_body(&p.payload)?));
                match stamp {
                    Some(s) => {
                        c.intact.fetch_add(1, Ordering::Relaxed);
                        if recording.load(Ordering::Relaxed) {
                            let d = now_micros().saturating_sub(s.sent_us).min(u32::MAX as u64);
                            if let Ok(mut v) = c.delays.lock() {
                                v.push(d as u32);
                            }
                        }
                    }
                    // A frame's short tail holds no whole cell and cannot be placed.
                    None if p.payload.len() >= 64 => {
                        c.corrupt.fetch_add(1, Ordering::Relaxed);
                    }
                    None => {}
                }
            }
            Output::Event(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_extend_across_wraps_and_gaps() {
        let mut t = Vec::new();
        assert_eq!(track(&mut t, 1, 65_534), 1);
        assert_eq!(track(&mut t, 1, 65_535), 1);
        assert_eq!(track(&mut t, 1, 2), 3, "wrap with one lost");
        assert_eq!(track(&mut t, 1, 1), 0, "late packet");
        assert_eq!(track(&mut t, 2, 10), 1, "another stream");
        assert_eq!(track(&mut t, 1, 3), 1);
    }

    #[test]
    fn rtp_is_told_from_rtcp_stun_and_dtls() {
        let mut rtp = [0u8; 12];
        rtp[0] = 0x80;
        rtp[1] = 96;
        rtp[3] = 7;
        rtp[11] = 5;
        assert_eq!(rtp_header(&rtp), Some((5, 7)));
        let mut rtcp = rtp;
        rtcp[1] = 200;
        assert_eq!(rtp_header(&rtcp), None);
        assert_eq!(rtp_header(&[22u8; 40]), None, "DTLS");
        assert_eq!(rtp_header(&[0u8; 40]), None, "STUN");
    }
}
