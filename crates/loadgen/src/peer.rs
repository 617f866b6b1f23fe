//! One client peer connection on its own UDP socket, driven by a task.
//!
//! Build it with [`ClientPeer::new`], do the SDP exchange with the methods that
//! take `&mut self`, then [`ClientPeer::spawn`] it: the task answers ICE and
//! DTLS for real, writes what it is told to and reports what arrives.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::ChannelId;
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// What a running peer reports.
#[derive(Debug)]
pub enum PeerEvent {
    Connected,
    /// One depacketized frame of `kind` arrived on `mid`.
    Media {
        mid: Mid,
        kind: MediaKind,
        data: Vec<u8>,
    },
    ChannelOpen {
        label: String,
    },
    ChannelData {
        binary: bool,
        data: Vec<u8>,
    },
    /// The connection ended; no more events follow.
    Closed(String),
}

/// What a running peer is told.
#[derive(Debug)]
pub enum PeerCmd {
    /// Send one frame on the first track of `kind`.
    Frame { kind: MediaKind, data: Vec<u8> },
    /// Write on the data channel (the first one open).
    Data { binary: bool, data: Vec<u8> },
    /// Close the peer connection as `pc.close()` does: RTCP BYE and DTLS
    /// close_notify, then nothing more.
    Close,
    /// Answer a new offer (renegotiation) and send the answer back.
    Offer {
        sdp: String,
        reply: tokio::sync::oneshot::Sender<anyhow::Result<String>>,
    },
}

pub struct ClientPeer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    /// Tracks this peer sends on.
    send_mids: Vec<(MediaKind, Mid)>,
}

/// The owner's ends of a running peer.
pub struct PeerHandle {
    pub cmd: mpsc::Sender<PeerCmd>,
    pub events: mpsc::Receiver<PeerEvent>,
    pub task: tokio::task::JoinHandle<()>,
    /// RTP packets this peer has sent on its tracks' main SSRCs (not
    /// retransmissions, which go on RTX SSRCs that start sending later).
    pub sent_rtp: Arc<AtomicU64>,
}

impl ClientPeer {
    /// A peer bound to `ip:0` offering Opus, VP8 and H.264.
    pub async fn new(ip: std::net::IpAddr) -> anyhow::Result<ClientPeer> {
        ClientPeer::with_video_codecs(ip, true, true).await
    }

    /// A peer that accepts Opus and only the video codecs named.
    pub async fn with_video_codecs(
        ip: std::net::IpAddr,
        vp8: bool,
        h264: bool,
    ) -> anyhow::Result<ClientPeer> {
        let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let local = socket.local_addr()?;
        let now = Instant::now();
        let mut rtc = RtcConfig::new()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(vp8)
            .enable_h264(h264)
            .build(now);
        let candidate = Candidate::host(local, "udp").map_err(|e| anyhow!("{e}"))?;
        rtc.add_local_candidate(candidate);
        Ok(ClientPeer {
            rtc,
            socket,
            local,
            pending: None,
            send_mids: Vec::new(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// An offer to publish audio and/or video, and a data channel labelled `label`.
    pub fn publish_offer(&mut self, label: &str, audio: bool, video: bool, data: bool) -> String {
        let mut api = self.rtc.sdp_api();
        for (wanted, kind) in [(audio, MediaKind::Audio), (video, MediaKind::Video)] {
            if wanted {
                let mid = api.add_media(kind, Direction::SendOnly, Some(label.into()), None, None);
                self.send_mids.push((kind, mid));
            }
        }
        if data {
            api.add_channel(label.to_owned());
        }
        let (offer, pending) = api.apply().expect("an offer with at least one section");
        self.pending = Some(pending);
        offer.to_sdp_string()
    }

    /// An offer to receive audio and/or video (a WHEP player).
    pub fn play_offer(&mut self, audio: bool, video: bool) -> String {
        let mut api = self.rtc.sdp_api();
        for (wanted, kind) in [(audio, MediaKind::Audio), (video, MediaKind::Video)] {
            if wanted {
                api.add_media(kind, Direction::RecvOnly, None, None, None);
            }
        }
        let (offer, pending) = api.apply().expect("an offer with at least one section");
        self.pending = Some(pending);
        offer.to_sdp_string()
    }

    pub fn accept_answer(&mut self, sdp: &str) -> anyhow::Result<()> {
        let pending = self.pending.take().context("no offer pending")?;
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| anyhow!("answer: {e}"))?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| anyhow!("answer refused: {e}"))
    }

    /// Answers the server's offer (a player).
    pub fn accept_offer(&mut self, sdp: &str) -> anyhow::Result<String> {
        accept_offer(&mut self.rtc, sdp)
    }

    /// Runs the peer until it closes or every handle is dropped.
    pub fn spawn(self) -> PeerHandle {
        let (cmd_tx, cmd_rx) = mpsc::channel(1024);
        let (ev_tx, ev_rx) = mpsc::channel(4096);
        let sent_rtp = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(run(
            self.rtc,
            self.socket,
            self.local,
            self.send_mids,
            cmd_rx,
            ev_tx,
            sent_rtp.clone(),
        ));
        PeerHandle {
            cmd: cmd_tx,
            events: ev_rx,
            task,
            sent_rtp,
        }
    }
}

fn accept_offer(rtc: &mut Rtc, sdp: &str) -> anyhow::Result<String> {
    let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| anyhow!("offer: {e}"))?;
    let answer = rtc
        .sdp_api()
        .accept_offer(offer)
        .map_err(|e| anyhow!("offer refused: {e}"))?;
    Ok(answer.to_sdp_string())
}

async fn run(
    mut rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    send_mids: Vec<(MediaKind, Mid)>,
    mut cmd_rx: mpsc::Receiver<PeerCmd>,
    ev_tx: mpsc::Sender<PeerEvent>,
    sent_rtp: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 2048];
    let mut channel: Option<ChannelId> = None;
    let start = Instant::now();
    let mut sent = SentCount {
        total: sent_rtp,
        mains: Vec::new(),
        tracks: send_mids.len(),
    };
    loop {
        let timeout = match drain(&mut rtc, &socket, &ev_tx, &mut channel, &mut sent).await {
            Ok(t) => t,
            Err(why) => {
                let _ = ev_tx.send(PeerEvent::Closed(why)).await;
                return;
            }
        };
        let wait = timeout
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((n, source)) = r else { continue };
                let Ok(contents) = buf[..n].try_into() else { continue };
                let input = Input::Receive(Instant::now(), Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: local,
                    contents,
                });
                if let Err(e) = rtc.handle_input(input) {
                    let _ = ev_tx.send(PeerEvent::Closed(format!("input: {e}"))).await;
                    return;
                }
            }
            _ = tokio::time::sleep(wait) => {
                if rtc.handle_input(Input::Timeout(Instant::now())).is_err() {
                    return;
                }
            }
            cmd = cmd_rx.recv() => match cmd {
                None => return,
                Some(PeerCmd::Frame { kind, data }) => {
                    if let Some((_, mid)) = send_mids.iter().find(|(k, _)| *k == kind) {
                        write_frame(&mut rtc, *mid, kind, data, start);
                        // str0m sends queued media when time advances: tell it
                        // now, so the frame leaves at once rather than at the
                        // next timeout (which added ~2.5 ms of delay).
                        if rtc.handle_input(Input::Timeout(Instant::now())).is_err() {
                            return;
                        }
                    }
                }
                Some(PeerCmd::Data { binary, data }) => {
                    if let Some(mut ch) = channel.and_then(|c| rtc.channel(c)) {
                        let _ = ch.write(binary, &data);
                    }
                }
                Some(PeerCmd::Close) => {
                    let _ = rtc.close();
                }
                Some(PeerCmd::Offer { sdp, reply }) => {
                    let _ = reply.send(accept_offer(&mut rtc, &sdp));
                }
            },
        }
    }
}

/// Counts sent RTP packets on the first SSRC of each track.
struct SentCount {
    total: Arc<AtomicU64>,
    /// SSRCs in the order they first sent; the first `tracks` are the main ones.
    mains: Vec<u32>,
    tracks: usize,
}

impl SentCount {
    fn count(&mut self, d: &[u8]) {
        // RTP, not RTCP (RFC 5761 §4): version 2 and a payload type outside 64..96.
        if d.len() < 12 || d[0] >> 6 != 2 || (192..224).contains(&d[1]) {
            return;
        }
        let ssrc = u32::from_be_bytes([d[8], d[9], d[10], d[11]]);
        if !self.mains.contains(&ssrc) {
            if self.mains.len() >= self.tracks {
                return;
            }
            self.mains.push(ssrc);
        }
        self.total.fetch_add(1, Ordering::Relaxed);
    }
}

/// Writes one frame on track `mid`, timestamped by wall clock.
fn write_frame(rtc: &mut Rtc, mid: Mid, kind: MediaKind, data: Vec<u8>, start: Instant) {
    let Some(writer) = rtc.writer(mid) else {
        return;
    };
    let want = if kind == MediaKind::Audio {
        Codec::Opus
    } else {
        Codec::Vp8
    };
    let Some(pt) = writer
        .payload_params()
        .find(|p| p.spec().codec == want)
        .or_else(|| writer.payload_params().next())
        .map(|p| p.pt())
    else {
        return;
    };
    let now = Instant::now();
    let rate = if kind == MediaKind::Audio {
        48_000
    } else {
        90_000
    };
    let ticks = (now - start).as_micros() as u64 * rate / 1_000_000;
    let time = MediaTime::new(
        ticks,
        str0m::media::Frequency::new(rate as u32).expect("nonzero"),
    );
    let _ = writer.write(pt, now, time, data);
}

async fn drain(
    rtc: &mut Rtc,
    socket: &UdpSocket,
    ev_tx: &mpsc::Sender<PeerEvent>,
    channel: &mut Option<ChannelId>,
    sent: &mut SentCount,
) -> Result<Instant, String> {
    loop {
        if !rtc.is_alive() {
            return Err("connection closed".into());
        }
        match rtc.poll_output().map_err(|e| e.to_string())? {
            Output::Timeout(t) => return Ok(t),
            Output::Transmit(t) => {
                sent.count(&t.contents);
                let _ = socket.send_to(&t.contents, t.destination).await;
            }
            Output::Event(e) => {
                let ev = match e {
                    Event::Connected => Some(PeerEvent::Connected),
                    Event::MediaData(d) => Some(PeerEvent::Media {
                        mid: d.mid,
                        kind: if d.params.spec().codec.is_audio() {
                            MediaKind::Audio
                        } else {
                            MediaKind::Video
                        },
                        data: d.data.to_vec(),
                    }),
                    Event::ChannelOpen(id, label) => {
                        channel.get_or_insert(id);
                        Some(PeerEvent::ChannelOpen { label })
                    }
                    Event::ChannelData(d) => Some(PeerEvent::ChannelData {
                        binary: d.binary,
                        data: d.data,
                    }),
                    _ => None,
                };
                if let Some(ev) = ev {
                    // A full queue drops events rather than stalling the peer.
                    let _ = ev_tx.try_send(ev);
                }
            }
        }
    }
}
