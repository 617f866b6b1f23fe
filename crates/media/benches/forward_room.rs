//! The room both forwarding benchmarks drive: a publisher and players on
//! str0m clients, a memory network and a virtual clock.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RawPacket;
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};
use tern_core::{
    MediaCommand, MediaEvent, MediaProfile, PeerId, PlayerData, SessionId, Source, StreamKey,
};
use tern_media::{LocalAddrs, Sfu, SfuOutput};

const SERVER: &str = "10.0.0.1:50000";
/// Virtual time between two video packets of the publisher (about 1 Mbit/s).
pub const PACKET_GAP: Duration = Duration::from_micros(10_000);
const PAYLOAD: usize = 1_100;

pub struct Client {
    rtc: Rtc,
    addr: SocketAddr,
    /// Every RTP and RTCP packet it sent and got, decrypted (tests only).
    pub raw: Option<Vec<RawPacket>>,
}

impl Client {
    fn new(now: Instant, n: u16, inspect: bool) -> Client {
        let addr: SocketAddr = format!("10.0.1.{}:{}", 1 + n / 250, 10_000 + n)
            .parse()
            .unwrap();
        let mut rtc = RtcConfig::new()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_raw_packets(inspect)
            .build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let raw = inspect.then(Vec::new);
        Client { rtc, addr, raw }
    }

    /// Feeds the client one datagram and returns what it sends.
    fn input(&mut self, now: Instant, from: SocketAddr, data: &[u8]) -> Vec<Vec<u8>> {
        let contents = data.try_into().unwrap();
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: from,
                destination: self.addr,
                contents,
            },
        );
        self.rtc.handle_input(input).unwrap();
        self.drain(now)
    }

    fn drain(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(t) => {
                    if t <= now {
                        self.rtc.handle_input(Input::Timeout(now)).unwrap();
                        continue;
                    }
                    return out;
                }
                Output::Transmit(t) => out.push(t.contents.to_vec()),
                Output::Event(Event::RawPacket(p)) => {
                    if let Some(raw) = &mut self.raw {
                        raw.push(*p);
                    }
                }
                Output::Event(_) => {}
            }
        }
    }
}

/// A publisher and `players` players of it, all connected.
pub struct Room {
    sfu: Sfu,
    now: Instant,
    server: SocketAddr,
    publisher: Client,
    video_mid: Mid,
    players: HashMap<SocketAddr, Client>,
    seq: u64,
    /// Peers the server saw connect.
    connected: usize,
    /// Drop the server's RTP packet with this sequence number to this
    /// player, once (a loss on its path).
    pub drop_once: Option<(SocketAddr, u16)>,
}

fn profile() -> MediaProfile {
    MediaProfile {
        vp8: true,
        h264: false,
        prefer_h264: false,
        data_channel: false,
        player_data: PlayerData::None,
        no_media_timeout: None,
        full_ice: false,
        local: None,
        whole_gop: false,
        all_layers: false,
    }
}

impl Room {
    pub fn new(players: u16, metrics: bool) -> Room {
        Room::with(players, metrics, true, false)
    }

    /// `direct`: players' media sealed by Tern (the default); `inspect`:
    /// clients keep every packet they send and get.
    pub fn with(players: u16, metrics: bool, direct: bool, inspect: bool) -> Room {
        let now = Instant::now();
        let server: SocketAddr = SERVER.parse().unwrap();
        let sfu = Sfu::new(LocalAddrs::new(vec![server]).unwrap())
            .unwrap()
            .with_direct_egress(direct);
        let sfu = if metrics {
            sfu
        } else {
            sfu.without_peer_stats()
        };
        let mut publisher = Client::new(now, 0, false);
        let mut api = publisher.rtc.sdp_api();
        api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let video_mid = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let (offer, pending) = api.apply().unwrap();
        let mut room = Room {
            sfu,
            now,
            server,
            publisher,
            video_mid,
            players: HashMap::new(),
            seq: 0,
            connected: 0,
            drop_once: None,
        };
        let stream = StreamKey {
            app: "LiveApp".into(),
            id: "bench".into(),
        };
        room.sfu.handle_command(
            now,
            MediaCommand::OpenPublisher {
                peer: PeerId(0),
                session: SessionId(0),
                stream: stream.clone(),
                group: "g".into(),
                profile: profile(),
                offer: offer.to_sdp_string(),
            },
        );
        let answer = room.answer_sdp();
        let answer = SdpAnswer::from_sdp_string(&answer).unwrap();
        room.publisher
            .rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .unwrap();
        room.settle(|r| r.publisher.rtc.is_connected());
        // A first frame so that players are offered its tracks' media.
        room.send_packet();
        for n in 1..=players {
            let id = PeerId(u64::from(n));
            room.sfu.handle_command(
                room.now,
                MediaCommand::OpenPlayer {
                    peer: id,
                    session: SessionId(u64::from(n)),
                    stream: stream.clone(),
                    sources: vec![Source {
                        peer: PeerId(0),
                        stream_id: "bench".into(),
                    }],
                    profile: profile(),
                    offer: None,
                },
            );
            let offer = room.offer_sdp();
            let mut player = Client::new(room.now, n, inspect);
            let offer = SdpOffer::from_sdp_string(&offer).unwrap();
            let answer = player.rtc.sdp_api().accept_offer(offer).unwrap();
            room.sfu.handle_command(
                room.now,
                MediaCommand::ApplyAnswer {
                    peer: id,
                    answer: answer.to_sdp_string(),
                },
            );
            room.players.insert(player.addr, player);
        }
        let all = usize::from(players) + 1;
        room.settle(|r| r.connected == all && r.players.values().all(|p| p.rtc.is_connected()));
        room
    }

    fn answer_sdp(&mut self) -> String {
        while let Some(o) = self.sfu.poll_output() {
            if let SfuOutput::Event(MediaEvent::Answer { sdp, .. }) = o {
                return sdp;
            }
        }
        panic!("no answer");
    }

    fn offer_sdp(&mut self) -> String {
        while let Some(o) = self.sfu.poll_output() {
            if let SfuOutput::Event(MediaEvent::Offer { sdp, .. }) = o {
                return sdp;
            }
        }
        panic!("no offer");
    }

    /// Runs the network until `done` holds (bounded).
    fn settle(&mut self, done: impl Fn(&Room) -> bool) {
        for _ in 0..2_000 {
            self.tick(Duration::from_millis(5));
            if done(self) {
                // A little longer, so DTLS finishes on the server side too.
                for _ in 0..20 {
                    self.tick(Duration::from_millis(5));
                }
                return;
            }
        }
        panic!("the in-memory network did not settle");
    }

    /// Advances the clock and delivers everything both ways.
    fn tick(&mut self, by: Duration) {
        self.now += by;
        let now = self.now;
        if self.sfu.poll_timeout().is_some_and(|t| t <= now) {
            self.sfu.handle_timeout(now);
        }
        let mut to_server: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
        for d in self.publisher.drain(now) {
            to_server.push((self.publisher.addr, d));
        }
        for p in self.players.values_mut() {
            for d in p.drain(now) {
                to_server.push((p.addr, d));
            }
        }
        self.exchange(to_server);
    }

    /// Hands datagrams to the server and its answers to the clients until
    /// both are quiet (bounded).
    fn exchange(&mut self, mut to_server: Vec<(SocketAddr, Vec<u8>)>) {
        for _ in 0..50 {
            for (from, d) in to_server.drain(..) {
                self.sfu.handle_datagram(self.now, from, &d);
            }
            let out = self.server_output();
            if out.is_empty() {
                break;
            }
            to_server = self.deliver(out);
        }
    }

    fn server_output(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(o) = self.sfu.poll_output() {
            match o {
                SfuOutput::Transmit(t) => out.push((t.destination, t.contents.to_vec())),
                SfuOutput::Event(MediaEvent::Connected { .. }) => self.connected += 1,
                SfuOutput::Event(_) => {}
                SfuOutput::Relay { .. } => unreachable!("one worker"),
            }
        }
        self.take_sealed(&mut out);
        out
    }

    /// What the server sealed itself (direct egress), as its driver takes it.
    fn take_sealed(&mut self, out: &mut Vec<(SocketAddr, Vec<u8>)>) {
        out.extend(
            self.sfu
                .sealed()
                .map(|d| (d.destination, d.contents.to_vec())),
        );
        self.sfu.sealed_sent();
    }

    fn deliver(&mut self, out: Vec<(SocketAddr, Vec<u8>)>) -> Vec<(SocketAddr, Vec<u8>)> {
        let (now, server) = (self.now, self.server);
        let mut back = Vec::new();
        for (to, d) in out {
            let rtp_seq = (d.len() >= 12 && d[0] >> 6 == 2 && !(200..=206).contains(&d[1]))
                .then(|| u16::from_be_bytes([d[2], d[3]]));
            if let Some((addr, seq)) = self.drop_once {
                if addr == to && rtp_seq == Some(seq) {
                    self.drop_once = None;
                    continue;
                }
            }
            let client = if to == self.publisher.addr {
                &mut self.publisher
            } else if let Some(p) = self.players.get_mut(&to) {
                p
            } else {
                continue;
            };
            let from = client.addr;
            for r in client.input(now, server, &d) {
                back.push((from, r));
            }
        }
        back
    }

    /// The publisher writes one single-packet video frame; returns its SRTP datagrams.
    fn send_packet(&mut self) -> Vec<Vec<u8>> {
        self.seq += 1;
        let now = self.now;
        let w = self.publisher.rtc.writer(self.video_mid).unwrap();
        let pt = w.payload_params().next().unwrap().pt();
        let mut frame = vec![0u8; PAYLOAD];
        // A VP8 keyframe (640x480) first, delta frames after.
        let header = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
        frame[..10].copy_from_slice(&header);
        if self.seq > 1 {
            frame[0] |= 1;
        }
        frame[10..18].copy_from_slice(&self.seq.to_be_bytes());
        let time = MediaTime::new(self.seq * 3_000, str0m::media::Frequency::NINETY_KHZ);
        w.write(pt, now, time, frame).unwrap();
        self.publisher.drain(now)
    }
}

impl Room {
    /// One publisher packet through the server: what the timed part of a
    /// benchmark covers. The server's timers run as they come due (str0m's
    /// pacer releases media on a timeout, as in the server's loop) until every
    /// player has its packet.
    #[inline(never)]
    pub fn serve(&mut self, packets: &[Vec<u8>], players: u16) -> Vec<(SocketAddr, Vec<u8>)> {
        let from = self.publisher.addr;
        let now = self.now;
        if self.sfu.poll_timeout().is_some_and(|t| t <= now) {
            self.sfu.handle_timeout(now);
        }
        for p in packets {
            self.sfu.handle_datagram(now, from, p);
        }
        let mut out = Vec::new();
        for _ in 0..1_000 {
            while let Some(o) = self.sfu.poll_output() {
                match o {
                    // Taken as the server's driver takes it: not copied.
                    SfuOutput::Transmit(t) => out.push((t.destination, t.contents.into())),
                    SfuOutput::Event(e) => {
                        assert!(!matches!(e, MediaEvent::Disconnected { .. }), "{e:?}")
                    }
                    SfuOutput::Relay { .. } => unreachable!("one worker"),
                }
            }
            // Sealed datagrams are read in place by the server's driver; here
            // they are copied after `serve`, outside what is counted.
            if out.len() + self.sfu.sealed().count() >= usize::from(players) {
                break;
            }
            let Some(due) = self.sfu.poll_timeout() else {
                break;
            };
            self.now = self.now.max(due);
            self.sfu.handle_timeout(self.now);
        }
        out
    }

    /// The next publisher packet, its way through the server, and the
    /// players' answers (RTCP) back: returns the time `serve` took and what
    /// it sent.
    pub fn step(&mut self, players: u16, count: impl FnOnce(&[(SocketAddr, Vec<u8>)])) -> Duration {
        self.now += PACKET_GAP;
        let packets = self.send_packet();
        let start = Instant::now();
        let mut out = self.serve(&packets, players);
        let mut spent = start.elapsed();
        self.take_sealed(&mut out);
        let start = Instant::now();
        count(&out);
        spent += start.elapsed();
        assert!(
            out.len() >= usize::from(players),
            "{} packets out",
            out.len()
        );
        let back = self.deliver(out);
        self.exchange(back);
        spent
    }
}

impl Room {
    /// `n` publisher packets handled in one batch before the server is
    /// polled (as a wakeup that reads a whole frame), delivered to everyone.
    pub fn step_batch(&mut self, n: usize, players: u16) {
        let mut packets = Vec::new();
        for _ in 0..n {
            self.now += PACKET_GAP;
            packets.extend(self.send_packet());
        }
        let mut out = self.serve(&packets, players);
        self.take_sealed(&mut out);
        let back = self.deliver(out);
        self.exchange(back);
    }

    /// Advances the clock by `by` in 5 ms steps, delivering everything.
    pub fn run_for(&mut self, by: Duration) {
        let steps = by.as_millis() / 5;
        for _ in 0..steps {
            self.tick(Duration::from_millis(5));
        }
    }

    pub fn players(&self) -> impl Iterator<Item = &Client> {
        self.players.values()
    }

    pub fn player_mut(&mut self, addr: SocketAddr) -> Option<&mut Client> {
        self.players.get_mut(&addr)
    }

    pub fn now(&self) -> Instant {
        self.now
    }
}

impl Client {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}
