//! A player's media written and sealed by Tern, past str0m's poll: its
//! packets (`header.rs`, `vp8.rs`, `srtp.rs`), its sender reports
//! (`report.rs`), and answers to its NACKs from a short history.
//!
//! str0m still runs the peer's ICE, DTLS, data channel and incoming RTCP
//! (receiver reports, keyframe requests); it only never sees these packets.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use str0m::media::{MediaKind, Mid, Rid};
use str0m::net::{Protocol, Transmit};
use str0m::rtp::rtcp::Nack;
use str0m::rtp::{ExtensionValues, VideoOrientation};
use str0m::Rtc;

use super::header::{self, ExtIds, Fields};
use super::keys::KeySlot;
use super::outbox::{Datagram, Outbox};
use super::report::{sender_report, SentStream};
use super::srtp::{SrtpSealer, SRTCP_INDEX_LEN, TAG_LEN};
use super::vp8;

/// Sender reports of each stream, for audio as for video.
pub(crate) const REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// Video packets kept per stream to answer NACKs: about 2 s at 1.5 Mbit/s,
/// as str0m's cache was for Tern's players.
const HISTORY: usize = 300;
/// At most this many packets sent again per NACK, and none again sooner than
/// `RESEND_GAP` after its last resend: a player that asks too much only
/// gets less.
const MAX_RESENDS: usize = 64;
const RESEND_GAP: Duration = Duration::from_millis(50);

/// One packet to send, as the fast path hands it over.
pub(crate) struct Outgoing<'a> {
    pub kind: MediaKind,
    pub fields: Fields,
    /// Extended sequence number (its rollover counter is `seq >> 16`).
    pub seq: u64,
    pub ids: ExtIds,
    pub ext: &'a ExtensionValues,
    pub payload: &'a Arc<[u8]>,
    pub vp8: Vp8Ids,
    /// When the source's packet arrived, and its RTP clock rate.
    pub arrived: Instant,
    pub hz: u32,
}

/// A packet kept to answer a NACK, small (40 bytes, a history is read
/// through once per packet sent): its header is written again from these.
struct Kept {
    seq: u64,
    payload: Arc<[u8]>,
    timestamp: u32,
    /// Payload type, marker bit set as in the header.
    pt_marker: u8,
    /// The video-orientation byte, `NONE8` for none.
    orientation: u8,
    /// Rewritten VP8 picture id (`NONE16` for none) and TL0PICIDX.
    vp8_picture: u16,
    vp8_tl0: Option<u8>,
    /// Milliseconds after the stream's start when last sent again, 0 never.
    resent_ms: u32,
}

const NONE8: u8 = 0xff;
/// Rewritten VP8 picture id and TL0PICIDX.
type Vp8Ids = (Option<u16>, Option<u8>);
/// A kept packet to send again: its header's fields and extension values,
/// payload, extended sequence number and VP8 ids.
type Resend = (Fields, ExtensionValues, Arc<[u8]>, u64, Vp8Ids);
const NONE16: u16 = 0xffff;

/// One stream (SSRC) this player is sent.
struct Stream {
    ssrc: u32,
    /// Its payload type's header extension ids.
    ids: ExtIds,
    started: Instant,
    packets: u32,
    octets: u32,
    /// RTP time of the last packet and when its source's packet came.
    last: (u32, Instant),
    hz: u32,
    next_report: Instant,
    history: VecDeque<Kept>,
    nackable: bool,
}

/// Packets sealed and bytes sent this way, for the quality reports.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct DirectCounts {
    pub bytes: u64,
    pub video_packets: u64,
    pub audio_packets: u64,
}

/// One player's direct sending state.
#[derive(Default)]
pub(crate) struct DirectTx {
    /// Filled by its DTLS when the handshake ends.
    slot: Option<KeySlot>,
    sealer: Option<SrtpSealer>,
    /// Its keys are of a profile not sealed here: str0m sends.
    refused: bool,
    /// Where str0m last sent this peer's datagrams from and to.
    route: Option<(Protocol, SocketAddr, SocketAddr)>,
    /// Sealed packets not yet handed to the socket.
    outbox: Outbox,
    /// On the SFU's list of players with packets waiting.
    listed: bool,
    /// A stream began since the SFU last asked: its report timer is new.
    new_timer: bool,
    streams: Vec<Stream>,
    /// The wall clock against the SFU's clock, for sender reports' NTP time.
    epoch: Option<(Instant, SystemTime)>,
    cname: String,
    pub counts: DirectCounts,
}

impl DirectTx {
    /// `slot` is the peer's DTLS key slot; without one it never sends.
    pub fn new(slot: Option<KeySlot>, cname: String) -> Self {
        DirectTx {
            slot,
            cname,
            ..DirectTx::default()
        }
    }

    /// Notes the path of a datagram str0m sends to the peer: media follows
    /// it. Not STUN: an ICE-lite server answers checks on every candidate
    /// pair, while DTLS, RTCP and SCTP go only on the selected one.
    pub fn saw(&mut self, t: &Transmit) {
        let stun = t.contents.first().is_some_and(|b| *b < 2);
        if !stun {
            self.route = Some((t.proto, t.source, t.destination));
        }
    }

    /// Whether media goes out this way now (keys of a profile sealed here,
    /// and a path).
    pub fn ready(&mut self) -> bool {
        if self.sealer.is_none() && !self.refused {
            let Some(keys) = self.slot.as_ref().and_then(KeySlot::get) else {
                return false;
            };
            match SrtpSealer::new(&keys) {
                Ok(s) => self.sealer = Some(s),
                Err(e) => {
                    tracing::debug!("media through str0m: {e:?}");
                    self.refused = true;
                }
            }
        }
        self.sealer.is_some() && self.route.is_some()
    }

    /// Whether a key slot was ever given (the peer was made for this path).
    pub fn intended(&self) -> bool {
        self.slot.is_some()
    }

    /// The extension ids of m-line `mid` (layer `rid`), as the player's
    /// answer gave them.
    pub fn ext_ids(mid: Mid, rid: Option<Rid>, rtc: &Rtc) -> ExtIds {
        rtc.media(mid)
            .map(|m| ExtIds::new(m.remote_extmap(), &mid, rid.as_deref()))
            .unwrap_or_default()
    }

    /// The sealed datagrams waiting, in order.
    pub fn waiting(&self) -> impl Iterator<Item = Datagram<'_>> {
        let route = self.route;
        self.outbox.datagrams().filter_map(move |contents| {
            let (proto, source, destination) = route?;
            Some(Datagram {
                proto,
                source,
                destination,
                contents,
            })
        })
    }

    pub fn has_waiting(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// Puts it on the SFU's list of players with packets waiting: false
    /// when it is there already.
    pub fn list(&mut self) -> bool {
        !std::mem::replace(&mut self.listed, true)
    }

    /// Whether a report timer began since the last call.
    pub fn take_new_timer(&mut self) -> bool {
        std::mem::take(&mut self.new_timer)
    }

    /// The driver took what was waiting.
    pub fn sent(&mut self) {
        self.outbox.clear();
        self.listed = false;
    }

    /// Seals and queues one packet. False when it could not be sent.
    pub fn send(&mut self, now: Instant, p: Outgoing) -> bool {
        let f = p.fields;
        let write = |buf: &mut Vec<u8>| {
            let header_len = header::write(buf, f, &p.ids, p.ext);
            buf.extend_from_slice(p.payload);
            header_len
        };
        let Some(size) = self.seal(write, p.seq, p.vp8) else {
            return false;
        };
        self.counts.bytes += size as u64;
        match p.kind {
            MediaKind::Audio => self.counts.audio_packets += 1,
            _ => self.counts.video_packets += 1,
        }
        let nackable = p.kind == MediaKind::Video;
        let i = match self.streams.iter().position(|s| s.ssrc == f.ssrc) {
            Some(i) => i,
            None => {
                self.new_timer = true;
                self.streams.push(Stream {
                    ssrc: f.ssrc,
                    ids: p.ids,
                    started: now,
                    packets: 0,
                    octets: 0,
                    last: (f.timestamp, p.arrived),
                    hz: p.hz,
                    // The first report soon: a player syncs from two.
                    next_report: now + Duration::from_millis(100),
                    history: VecDeque::new(),
                    nackable,
                });
                self.streams.len() - 1
            }
        };
        let s = &mut self.streams[i];
        s.packets = s.packets.wrapping_add(1);
        s.octets = s.octets.wrapping_add(p.payload.len() as u32);
        s.last = (f.timestamp, p.arrived);
        s.hz = p.hz;
        if s.nackable {
            if s.history.len() == HISTORY {
                s.history.pop_front();
            }
            let kept = Kept {
                seq: p.seq,
                payload: p.payload.clone(),
                timestamp: f.timestamp,
                pt_marker: f.pt & 0x7f | if f.marker { 0x80 } else { 0 },
                orientation: p.ext.video_orientation.map_or(NONE8, |o| o as u8),
                vp8_picture: p.vp8.0.unwrap_or(NONE16),
                vp8_tl0: p.vp8.1,
                resent_ms: 0,
            };
            // In order of sequence number: a late packet of the source (its
            // own retransmission) goes where it belongs.
            match s.history.back() {
                Some(last) if last.seq > kept.seq => {
                    let at = s.history.partition_point(|k| k.seq < kept.seq);
                    s.history.insert(at, kept);
                }
                _ => s.history.push_back(kept),
            }
        }
        true
    }

    /// Writes one RTP packet into the outbox (`write` appends it and returns
    /// its header's length), patches its VP8 ids and seals it. Its sealed
    /// size, or `None` when it cannot go: no path or keys, or a full outbox.
    fn seal(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> usize,
        seq: u64,
        vp8: Vp8Ids,
    ) -> Option<usize> {
        let (Some(_), Some(sealer)) = (self.route, self.sealer.as_mut()) else {
            return None;
        };
        let (buf, start) = self.outbox.begin()?;
        let header_len = write(buf);
        buf.reserve(TAG_LEN);
        let body = start + header_len;
        if (vp8.0.is_some() || vp8.1.is_some()) && !vp8::patch(&mut buf[body..], vp8.0, vp8.1) {
            // As str0m does with a patch that does not fit: the ids as they came.
            tracing::trace!("VP8 ids left as they came");
        }
        if sealer
            .seal_rtp(buf, start, header_len, (seq >> 16) as u32)
            .is_err()
        {
            self.outbox.abort(start);
            return None;
        }
        let size = buf.len() - start;
        self.outbox.commit();
        Some(size)
    }

    /// Sends again what a NACK asks for, from the history.
    pub fn on_nack(&mut self, now: Instant, nack: &Nack) {
        let ssrc = *nack.ssrc;
        let Some(s) = self.streams.iter_mut().find(|s| s.ssrc == ssrc) else {
            return;
        };
        let Some(newest) = s.history.back().map(|k| k.seq) else {
            return;
        };
        let mut again: Vec<Resend> = Vec::new();
        let lost = nack.reports.iter().flat_map(|e| {
            (0..17u16)
                .filter(move |b| *b == 0 || e.blp & (1 << (b - 1)) != 0)
                .map(move |b| e.pid.wrapping_add(b))
        });
        for seq in lost {
            if again.len() == MAX_RESENDS {
                break;
            }
            // The extended number: the newest at or before it.
            let back = u64::from((newest as u16).wrapping_sub(seq));
            let Some(ext) = newest.checked_sub(back) else {
                continue;
            };
            let Ok(i) = s.history.binary_search_by_key(&ext, |k| k.seq) else {
                continue;
            };
            let at_ms = now.saturating_duration_since(s.started).as_millis() as u32 + 1;
            let k = &mut s.history[i];
            if k.resent_ms != 0 && at_ms < k.resent_ms + RESEND_GAP.as_millis() as u32 {
                continue;
            }
            k.resent_ms = at_ms;
            let fields = Fields {
                pt: k.pt_marker & 0x7f,
                marker: k.pt_marker & 0x80 != 0,
                seq: k.seq as u16,
                timestamp: k.timestamp,
                ssrc,
            };
            let ext = ExtensionValues {
                video_orientation: (k.orientation != NONE8)
                    .then(|| VideoOrientation::from(k.orientation)),
                ..ExtensionValues::default()
            };
            let vp8 = (
                (k.vp8_picture != NONE16).then_some(k.vp8_picture),
                k.vp8_tl0,
            );
            again.push((fields, ext, k.payload.clone(), k.seq, vp8));
        }
        let ids = s.ids;
        for (fields, ext, payload, seq, vp8) in again {
            let write = |buf: &mut Vec<u8>| {
                let len = header::write(buf, fields, &ids, &ext);
                buf.extend_from_slice(&payload);
                len
            };
            self.seal(write, seq, vp8);
        }
    }

    /// When the next sender report is due.
    pub fn next_report(&self) -> Option<Instant> {
        self.streams.iter().map(|s| s.next_report).min()
    }

    /// Queues the sender reports due at `now`.
    pub fn reports(&mut self, now: Instant) {
        let (at, wall) = *self.epoch.get_or_insert((now, SystemTime::now()));
        let wall_now = wall + now.saturating_duration_since(at);
        let mut due = Vec::new();
        for s in self.streams.iter_mut().filter(|s| s.next_report <= now) {
            s.next_report = now + REPORT_INTERVAL;
            // The RTP clock runs on from the last packet, as str0m's reports do.
            let since = now.saturating_duration_since(s.last.1);
            let ticks = (since.as_secs_f64() * f64::from(s.hz)) as u64;
            let rtp_now = s.last.0.wrapping_add(ticks as u32);
            let sent = SentStream {
                ssrc: s.ssrc,
                packets: s.packets,
                octets: s.octets,
            };
            due.push(sender_report(sent, wall_now, rtp_now, &self.cname));
        }
        let (Some(_), Some(sealer)) = (self.route, self.sealer.as_mut()) else {
            return;
        };
        for p in due {
            let Some((buf, start)) = self.outbox.begin() else {
                return;
            };
            buf.reserve(p.len() + TAG_LEN + SRTCP_INDEX_LEN);
            buf.extend_from_slice(&p);
            match sealer.seal_rtcp(buf, start) {
                Ok(()) => self.outbox.commit(),
                Err(_) => self.outbox.abort(start),
            }
        }
    }
}
