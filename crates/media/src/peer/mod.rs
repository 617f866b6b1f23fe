//! One WebRTC peer connection (a publisher source or a player sink): its
//! `Rtc` and what Tern knows about its tracks.

pub mod events;
pub mod quality;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpPendingOffer;
use str0m::channel::ChannelId;
use str0m::media::{KeyframeRequestKind, MediaKind, Mid, Pt, Rid};
use str0m::net::Protocol;
use str0m::rtp::Ssrc;
use str0m::Rtc;
use tern_core::{MediaProfile, PeerId, PeerRole, SessionId, Source};

use crate::keyframe_throttle::KeyframeThrottle;
use crate::rtp::rewrite::RtpRewrite;
use crate::simulcast::selector::LayerSelector;
use crate::simulcast::stuck_estimate::StuckEstimate;
use crate::simulcast::switch::LayerSwitch;
use crate::source::stats::SourceStats;

/// A peer that has not connected this long after it was created is dropped: its
/// page went away between SDP and ICE.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// A connected peer whose ICE stays disconnected this long is gone.
pub const DISCONNECT_GRACE: Duration = Duration::from_secs(5);
/// A connected peer that sent nothing at all this long is gone: browsers send
/// RTCP every second or so and ICE consent checks every 2.5 s (RFC 7675's
/// idea, on the ICE-lite side that sends no checks of its own).
pub const SILENCE: Duration = Duration::from_secs(4);
/// Incoming streams a publisher may have: audio and three video layers, with room to spare.
const MAX_INGEST_STREAMS: usize = 16;
/// How often a player of a simulcast stream gets `bitrateMeasurement`.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(5);
/// How often a player's simulcast layers are chosen again.
pub const LAYER_CHECK: Duration = Duration::from_millis(500);

/// A player's outgoing track and the publisher track that feeds it.
#[derive(Debug, Clone, Copy)]
pub struct TrackOut {
    pub source: PeerId,
    pub source_mid: Mid,
    pub mid: Mid,
    pub kind: MediaKind,
    /// Forwarded now (`enableTrack`, `toggleAudio`/`toggleVideo`).
    pub enabled: bool,
    /// Its m-line is being stopped in the pending offer.
    pub stopping: bool,
    /// Sequence numbers, RTP time and VP8 picture ids, continuous across
    /// changes of source.
    pub rewrite: RtpRewrite,
    /// The last payload type matched: (the source's, this player's).
    pub pt: Option<(Pt, Pt)>,
    /// The player's answer accepts no codec the source sends (told once).
    pub refused: bool,
    /// The SSRC of its send stream, found once: a lookup by mid scans them all.
    pub tx: Option<Ssrc>,
    /// The header extension ids of its m-line, for media Tern seals itself.
    pub ext_ids: Option<crate::egress::header::ExtIds>,
    /// Sends this one layer of a simulcast source as its own send stream,
    /// never switched (a player that gets every layer, `all_layers`).
    pub fixed_rid: Option<Rid>,
    /// Video of a simulcast source: the layer forwarded and the one wanted.
    pub simulcast: bool,
    pub layers: LayerSwitch,
    pub selector: LayerSelector,
}

impl TrackOut {
    /// A track that sends the source's layer `rid` of `source_mid` as is.
    pub fn layer(source: PeerId, source_mid: Mid, mid: Mid, rid: Rid) -> Self {
        TrackOut {
            fixed_rid: Some(rid),
            ..TrackOut::new(source, source_mid, mid, MediaKind::Video, false)
        }
    }

    /// Whether it forwards this packet's track and layer.
    pub fn carries(&self, source: PeerId, source_mid: Mid, rid: Option<Rid>) -> bool {
        self.source == source
            && self.source_mid == source_mid
            && (self.fixed_rid.is_none() || self.fixed_rid == rid)
    }

    /// A track newly sent to a player, forwarded from its source's `source_mid`.
    pub fn new(
        source: PeerId,
        source_mid: Mid,
        mid: Mid,
        kind: MediaKind,
        simulcast: bool,
    ) -> Self {
        TrackOut {
            source,
            source_mid,
            mid,
            kind,
            enabled: true,
            stopping: false,
            rewrite: RtpRewrite::default(),
            pt: None,
            refused: false,
            tx: None,
            ext_ids: None,
            fixed_rid: None,
            simulcast: simulcast && kind == MediaKind::Video,
            layers: LayerSwitch::default(),
            selector: LayerSelector::default(),
        }
    }
}

pub struct Peer {
    pub rtc: Rtc,
    pub role: PeerRole,
    pub session: SessionId,
    /// When the next `Input::Timeout` is due, as str0m last said.
    pub next_timeout: Option<Instant>,
    /// Peer is dropped at this instant unless it (re)connects first.
    pub deadline: Option<Instant>,
    pub connected: bool,
    /// When its last datagram came.
    pub last_heard: Instant,
    /// When its silence is checked next (once connected).
    pub silence_check: Option<Instant>,
    /// Publisher: when media last arrived (set once media flows).
    pub last_media: Option<Instant>,
    /// Remote addresses this peer was seen at, to clean the demultiplexing cache.
    pub addrs: Vec<SocketAddr>,
    /// Publisher: incoming tracks in m-line order.
    pub tracks_in: Vec<(Mid, MediaKind)>,
    /// Publisher: incoming streams by SSRC, with their track and layer.
    pub ingest: Vec<(Ssrc, Mid, Option<Rid>)>,
    /// Publisher: keyframe requests sent and deferred, per track.
    pub keyframes: KeyframeThrottle,
    pub stats: SourceStats,
    /// Publisher: the data channel it opened. Player: the channel the server
    /// opened (or the first one the page opened).
    pub channel: Option<ChannelId>,
    /// Player: the stream or room id it plays (its channel label).
    pub stream_id: String,
    /// Player: the publishers it receives, with the ids their tracks are named by.
    pub sources: Vec<Source>,
    /// Player: sources asked for while an offer was pending.
    pub wanted: Option<Vec<Source>>,
    /// Player: forwarding switched off per source, as (audio off, video off).
    pub muted: HashMap<PeerId, (bool, bool)>,
    pub tracks_out: Vec<TrackOut>,
    /// Player: the offer waiting for the page's answer.
    pub pending: Option<SdpPendingOffer>,
    /// Its DTLS has started (a publisher's with the answer Tern made, a
    /// player's with the page's answer).
    pub dtls_started: bool,
    /// The last DTLS datagram that came before that: a player's browser
    /// connects ICE and sends its ClientHello while its answer is still on
    /// the way. Only the last is kept: before the server answers, each is a
    /// whole retransmission of the same first flight, and handing over
    /// several makes the server answer each.
    pub early_dtls: Option<(Protocol, SocketAddr, Vec<u8>)>,
    pub profile: MediaProfile,
    /// The instant this peer is filed under in the SFU's timer index.
    pub wake_at: Option<Instant>,
    /// Publisher: its offer has simulcast layers.
    pub simulcast: bool,
    /// Publisher: the rids of its video's simulcast layers, as offered.
    pub rids: Vec<Rid>,
    /// Publisher: its first video packet came (a keyframe was asked for then
    /// if it was none).
    pub video_seen: bool,
    /// Player: a height the page pinned with `forceStreamQuality`.
    pub pinned: Option<u32>,
    /// Player: the latest bandwidth estimate towards it, bits/s.
    pub estimate: Option<u64>,
    /// Player: watches that estimate for a standstill.
    pub stuck: StuckEstimate,
    /// Player with simulcast tracks: next layer check, and the bitrate report.
    pub next_tick: Option<Instant>,
    pub report: ForwardedBytes,
    pub quality: quality::QualityTally,
    /// Player: media sealed and sent by Tern itself (`egress/`).
    pub direct: crate::egress::direct::DirectTx,
}

/// Media bytes written to a player since its last bitrate report.
#[derive(Debug, Clone, Copy)]
pub struct ForwardedBytes {
    pub since: Instant,
    pub due: Instant,
    pub video: u64,
    pub audio: u64,
}

impl Peer {
    pub fn new(
        rtc: Rtc,
        role: PeerRole,
        session: SessionId,
        profile: MediaProfile,
        now: Instant,
    ) -> Self {
        Peer {
            rtc,
            role,
            session,
            next_timeout: Some(now),
            deadline: Some(now + CONNECT_TIMEOUT),
            connected: false,
            last_heard: now,
            silence_check: None,
            last_media: None,
            addrs: Vec::new(),
            tracks_in: Vec::new(),
            ingest: Vec::new(),
            keyframes: KeyframeThrottle::default(),
            stats: SourceStats::default(),
            channel: None,
            stream_id: String::new(),
            sources: Vec::new(),
            wanted: None,
            muted: HashMap::new(),
            tracks_out: Vec::new(),
            pending: None,
            dtls_started: role == PeerRole::Publisher,
            early_dtls: None,
            video_seen: false,
            profile,
            wake_at: None,
            simulcast: false,
            rids: Vec::new(),
            pinned: None,
            estimate: None,
            stuck: StuckEstimate::new(now),
            next_tick: None,
            report: ForwardedBytes {
                since: now,
                due: now + REPORT_INTERVAL,
                video: 0,
                audio: 0,
            },
            quality: quality::QualityTally::default(),
            direct: Default::default(),
        }
    }

    /// Keeps a DTLS datagram that came before DTLS started (str0m would
    /// drop it). True if kept.
    pub fn hold_early_dtls(&mut self, proto: Protocol, source: SocketAddr, data: &[u8]) -> bool {
        // RFC 7983: DTLS records start with 20..=63.
        if self.dtls_started || !data.first().is_some_and(|b| (20..=63).contains(b)) {
            return false;
        }
        self.early_dtls = Some((proto, source, data.to_vec()));
        true
    }

    /// The earliest instant any of this peer's timers is due.
    pub fn wake(&self) -> Option<Instant> {
        [
            self.next_timeout,
            self.deadline,
            self.silence_check,
            self.silent_deadline(),
            self.keyframes.next_due(),
            self.next_tick,
            self.direct.next_report(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Publisher: when it counts as silent (`dropWebRTCIngestIfNoPacketReceived`).
    pub fn silent_deadline(&self) -> Option<Instant> {
        Some(self.last_media? + self.profile.no_media_timeout?)
    }

    /// Whether `mid` carries audio or video, in either direction.
    pub fn kind_of(&self, mid: Mid) -> Option<MediaKind> {
        self.tracks_in
            .iter()
            .find(|(m, _)| *m == mid)
            .map(|(_, k)| *k)
            .or_else(|| {
                self.tracks_out
                    .iter()
                    .find(|t| t.mid == mid)
                    .map(|t| t.kind)
            })
    }

    /// Whether media of `kind` from `source` may be forwarded to this player.
    pub fn forwards(&self, source: PeerId, kind: MediaKind) -> bool {
        match self.muted.get(&source) {
            Some((audio_off, video_off)) => {
                if kind == MediaKind::Audio {
                    !audio_off
                } else {
                    !video_off
                }
            }
            None => true,
        }
    }

    /// True when a keyframe request for `mid` may go out now (else it is
    /// deferred and sent by the timeout handling).
    pub fn keyframe_allowed(&mut self, mid: Mid, rid: Option<Rid>, now: Instant) -> bool {
        self.keyframes.request((mid, rid), now)
    }

    /// Publisher: sends a keyframe request for one incoming stream. False when
    /// no such stream is known (yet).
    pub fn ask_keyframe(&mut self, mid: Mid, rid: Option<Rid>, kind: KeyframeRequestKind) -> bool {
        match self.rtc.direct_api().stream_rx_by_mid(mid, rid) {
            Some(stream) => {
                stream.request_keyframe(kind);
                true
            }
            None => false,
        }
    }

    /// Publisher: the track and layer of an incoming SSRC.
    pub fn ingest_stream(&mut self, ssrc: Ssrc) -> Option<(Mid, Option<Rid>)> {
        if let Some((_, mid, rid)) = self.ingest.iter().find(|(s, _, _)| *s == ssrc) {
            return Some((*mid, *rid));
        }
        let mut api = self.rtc.direct_api();
        let stream = api.stream_rx(&ssrc)?;
        let entry = (ssrc, stream.mid(), stream.rid());
        // Only streams str0m mapped get here; a publisher that keeps changing
        // SSRCs just refills the list.
        if self.ingest.len() >= MAX_INGEST_STREAMS {
            self.ingest.clear();
        }
        self.ingest.push(entry);
        Some((entry.1, entry.2))
    }
}
