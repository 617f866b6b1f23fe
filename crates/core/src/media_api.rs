//! What the session logic asks of the media layer, and what it hears back.

use std::time::Duration;

use tern_signal::StreamInfo;

use crate::ids::{PeerId, SessionId, StreamKey};

/// Codecs and features a peer connection may negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaProfile {
    pub vp8: bool,
    pub h264: bool,
    /// H.264 before VP8 in the codecs a publisher's answer keeps.
    pub prefer_h264: bool,
    pub data_channel: bool,
    /// Where a player's data-channel messages go.
    pub player_data: PlayerData,
    /// Publishers: report `NoMedia` when no packet came for this long.
    pub no_media_timeout: Option<Duration>,
    /// Run full ICE (controlling) instead of ICE-lite: for a cluster relay,
    /// whose other side is an ICE-lite Tern.
    pub full_ice: bool,
    /// The peer's own UDP address instead of the worker's (a cluster relay:
    /// one socket per relay keeps every relay's 5-tuple apart, as str0m
    /// tells its peers apart by their remote address alone).
    pub local: Option<std::net::SocketAddr>,
    /// A publisher whose packets keep a whole group of pictures for new
    /// players (a cluster relay of a stream whose origin cannot make a
    /// keyframe on request).
    pub whole_gop: bool,
    /// A player gets each simulcast layer of its sources as a send stream of
    /// its own, unchosen (a cluster relay, whose edge chooses per viewer).
    pub all_layers: bool,
}

/// `dataChannelPlayerDistribution` (PROTOCOL.md §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlayerData {
    /// Dropped.
    None,
    /// To the publisher only.
    Publisher,
    /// To the publisher and the other players.
    #[default]
    All,
}

/// One publisher a player receives, and the stream id its tracks are named by
/// (`ARDAMSa<id>`/`ARDAMSv<id>`, msid stream `<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub peer: PeerId,
    pub stream_id: String,
}

/// Which side of a stream a peer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerRole {
    Publisher,
    Player,
}

/// Work for the media layer.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaCommand {
    /// Accept a publisher's offer; answer with `Answer` or `SdpFailed`.
    OpenPublisher {
        peer: PeerId,
        /// The session it belongs to (a session gets a relayed message once).
        session: SessionId,
        stream: StreamKey,
        /// The id whose peers share a media worker: the room of a room
        /// participant, else the stream itself.
        group: String,
        profile: MediaProfile,
        offer: String,
    },
    /// Open a publisher that gives frames instead of an offer (RTMP, SRT
    /// ingest); `Connected` follows at once.
    OpenFrameSource {
        peer: PeerId,
        session: SessionId,
        stream: StreamKey,
        group: String,
        audio: bool,
        video: bool,
    },
    /// Build an offer that sends the media of `sources` to a new player (one
    /// source for a stream, one per participant for a room); answer with
    /// `Offer` or `SdpFailed`.
    OpenPlayer {
        peer: PeerId,
        session: SessionId,
        stream: StreamKey,
        sources: Vec<Source>,
        profile: MediaProfile,
        /// The player's own offer (WHEP): answer it with `Answer` instead.
        offer: Option<String>,
    },
    /// Change a player's sources; the media layer renegotiates with a new
    /// `Offer` (after any offer still waiting for its answer).
    UpdateSources {
        peer: PeerId,
        sources: Vec<Source>,
    },
    /// Start or stop forwarding one source's audio and/or video to a player.
    SetForwarding {
        peer: PeerId,
        source: PeerId,
        audio: Option<bool>,
        video: Option<bool>,
    },
    /// A republished stream: move a player's tracks from the old publisher to
    /// the new one, kind by kind, without renegotiating.
    SwitchSource {
        peer: PeerId,
        from: PeerId,
        to: PeerId,
    },
    /// Write one message on a peer's data channel (dropped if it has none).
    ChannelSend {
        peer: PeerId,
        binary: bool,
        data: Vec<u8>,
    },
    /// Apply a player's answer; `SdpFailed` if it does not fit.
    /// A player pins the simulcast layer of this height (`None`: automatic).
    PinLayer {
        peer: PeerId,
        height: Option<u32>,
    },
    ApplyAnswer {
        peer: PeerId,
        answer: String,
    },
    /// A trickled remote ICE candidate line.
    AddCandidate {
        peer: PeerId,
        candidate: String,
    },
    /// Free everything of this peer. No event follows.
    Close {
        peer: PeerId,
    },
}

/// Which SDP step failed, so the client gets the matching error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdpFailure {
    /// The client's SDP could not be parsed or applied.
    Remote(String),
    /// The server could not build its own SDP (e.g. no codec in common).
    Local(String),
}

/// The server's ICE candidates of one peer connection, tagged with the first
/// m-line (index 0) since everything is bundled on it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalCandidates {
    pub mid: String,
    pub lines: Vec<String>,
}

/// How a peer connection fares, from its RTCP and ICE: reported every few
/// seconds for REST's client statistics and the console.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeerQuality {
    /// Media bits/s sent to the peer and received from it over the last interval.
    pub send_bitrate: u64,
    pub receive_bitrate: u64,
    pub rtt_ms: Option<u32>,
    /// Packets the peer reports lost so far (RTCP receiver reports), and the
    /// share lost over the last interval.
    pub packets_lost: u64,
    pub loss_percent: Option<f32>,
    /// RTP packets sent (player) or received (publisher) so far.
    pub video_packets: u64,
    pub audio_packets: u64,
    /// The address its media comes from (the selected ICE pair).
    pub remote: Option<std::net::SocketAddr>,
}

/// What the media layer reports.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// The answer to a publisher's offer, and the server's candidates (also sent
    /// as trickle `takeCandidate` for clients that want them).
    Answer {
        peer: PeerId,
        sdp: String,
        candidates: LocalCandidates,
    },
    /// The offer for a player, its `mid → track id` mapping and the server's
    /// candidates.
    Offer {
        peer: PeerId,
        sdp: String,
        id_mapping: Vec<(String, String)>,
        candidates: LocalCandidates,
    },
    SdpFailed {
        peer: PeerId,
        failure: SdpFailure,
    },
    /// ICE and DTLS are up.
    Connected {
        peer: PeerId,
    },
    /// The peer is gone (ICE failed or timed out, DTLS failed, or an error);
    /// the media layer has already freed it.
    Disconnected {
        peer: PeerId,
        reason: String,
    },
    /// A connected publisher sent no media for its `no_media_timeout`.
    NoMedia {
        peer: PeerId,
    },
    /// A publisher's renditions changed (codec, size or bitrate).
    SourceInfo {
        peer: PeerId,
        info: Vec<StreamInfo>,
    },
    /// A player now receives the simulcast layer of this height.
    LayerChanged {
        peer: PeerId,
        height: u32,
    },
    /// What a player of a simulcast stream gets, in bits/s: its bandwidth
    /// estimate and the media rates forwarded to it.
    PlayerBitrates {
        peer: PeerId,
        target: u64,
        video: u64,
        audio: u64,
    },
    /// The peer's connection quality, every few seconds once connected.
    Quality {
        peer: PeerId,
        quality: PeerQuality,
    },
}

impl MediaCommand {
    /// The peer the command is about.
    pub fn peer(&self) -> PeerId {
        match self {
            MediaCommand::OpenPublisher { peer, .. }
            | MediaCommand::OpenFrameSource { peer, .. }
            | MediaCommand::OpenPlayer { peer, .. }
            | MediaCommand::UpdateSources { peer, .. }
            | MediaCommand::SetForwarding { peer, .. }
            | MediaCommand::SwitchSource { peer, .. }
            | MediaCommand::ChannelSend { peer, .. }
            | MediaCommand::PinLayer { peer, .. }
            | MediaCommand::ApplyAnswer { peer, .. }
            | MediaCommand::AddCandidate { peer, .. }
            | MediaCommand::Close { peer } => *peer,
        }
    }
}

impl MediaEvent {
    pub fn peer(&self) -> PeerId {
        match self {
            MediaEvent::Answer { peer, .. }
            | MediaEvent::Offer { peer, .. }
            | MediaEvent::SdpFailed { peer, .. }
            | MediaEvent::Connected { peer }
            | MediaEvent::Disconnected { peer, .. }
            | MediaEvent::NoMedia { peer }
            | MediaEvent::SourceInfo { peer, .. }
            | MediaEvent::LayerChanged { peer, .. }
            | MediaEvent::PlayerBitrates { peer, .. }
            | MediaEvent::Quality { peer, .. } => *peer,
        }
    }
}
