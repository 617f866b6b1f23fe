//! Per-application settings the session logic and media need, with Ant Media's
//! names in the configuration (`[apps.<Name>]`).

use tern_signal::IceServers;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::media_api::{MediaProfile, PlayerData};

/// Settings of one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSettings {
    /// Offer/accept VP8 (`vp8Enabled`).
    pub vp8_enabled: bool,
    /// Offer/accept H.264 (`h264Enabled`).
    pub h264_enabled: bool,
    /// Prefer H.264 over VP8 when answering a publisher: HLS carries only
    /// H.264 without transcoding (set with `hlsMuxingEnabled`).
    pub prefer_h264: bool,
    /// Accept `m=application` and relay data channels (`dataChannelEnabled`).
    pub data_channel_enabled: bool,
    /// `webRTCClientStartTimeoutMs`: how long a publish may take to reach media,
    /// and how long a dropped publisher's stream waits for it to come back.
    pub client_start_timeout: Duration,
    /// `dropWebRTCIngestIfNoPacketReceived`: end a publish whose media stops
    /// for `client_start_timeout`.
    pub drop_if_no_packets: bool,
    /// Publish and play peers one session may hold (a server limit).
    pub max_peers_per_session: usize,
    /// `dataChannelPlayerDistribution`.
    pub player_data: PlayerData,
    /// `participantVisibilityMatrix`: viewer role → participant roles it sees.
    pub visibility: BTreeMap<String, Vec<String>>,
    /// What `iceServerConfig` announces (`stunServerURI`, `turnServerUsername`,
    /// `turnServerCredential`).
    pub ice: IceServers,
    /// The session's peers run full ICE: set for a cluster relay's session
    /// only (never from a setting), as two ICE-lite agents cannot connect.
    pub full_ice: bool,
    /// The session's peer uses this UDP address of its own (a cluster relay).
    pub relay_local: Option<std::net::SocketAddr>,
    /// The session's publisher relays a stream whose origin's source gives
    /// frames (RTMP, SRT): new players get its whole group of pictures, as on
    /// the origin, since a keyframe request cannot be served there.
    pub relay_whole_gop: bool,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            vp8_enabled: true,
            h264_enabled: true,
            prefer_h264: false,
            data_channel_enabled: true,
            client_start_timeout: Duration::from_secs(10),
            drop_if_no_packets: false,
            max_peers_per_session: 64,
            player_data: PlayerData::All,
            visibility: default_visibility(),
            ice: IceServers {
                stun_server_uri: "stun:stun1.l.google.com:19302".into(),
                turn_server_username: String::new(),
                turn_server_credential: String::new(),
                servers: Vec::new(),
            },
            full_ice: false,
            relay_local: None,
            relay_whole_gop: false,
        }
    }
}

impl AppSettings {
    pub fn media_profile(&self) -> MediaProfile {
        MediaProfile {
            vp8: self.vp8_enabled,
            h264: self.h264_enabled,
            prefer_h264: self.prefer_h264,
            data_channel: self.data_channel_enabled,
            player_data: self.player_data,
            no_media_timeout: self.drop_if_no_packets.then_some(self.client_start_timeout),
            full_ice: self.full_ice,
            local: self.relay_local,
            whole_gop: self.relay_whole_gop,
            all_layers: false,
        }
    }

    /// May a viewer of role `viewer` see a participant of role `participant`?
    /// Roles missing from the matrix see everyone.
    pub fn sees(&self, viewer: &str, participant: &str) -> bool {
        match self.visibility.get(viewer) {
            Some(roles) => roles.iter().any(|r| r == participant),
            None => true,
        }
    }
}

/// Ant Media's default `participantVisibilityMatrix` (PROTOCOL.md §4.5.4).
pub fn default_visibility() -> BTreeMap<String, Vec<String>> {
    let row = |viewer: &str, seen: &[&str]| {
        (
            viewer.to_owned(),
            seen.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
        )
    };
    [
        row("default", &["default"]),
        row("speaker", &["speaker", "active_attendee"]),
        row("attendee", &["speaker", "active_attendee"]),
        row("active_attendee", &["active_attendee", "speaker"]),
    ]
    .into_iter()
    .collect()
}
