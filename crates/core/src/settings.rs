//! Per-application settings the session logic and media need, with Ant Media's
//! names in the configuration (`[apps.<Name>]`).

use tern_signal::IceServers;

use crate::media_api::MediaProfile;

/// Settings of one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSettings {
    /// Offer/accept VP8 (`vp8Enabled`).
    pub vp8_enabled: bool,
    /// Offer/accept H.264 (`h264Enabled`).
    pub h264_enabled: bool,
    /// Accept `m=application` and relay data channels (`dataChannelEnabled`).
    pub data_channel_enabled: bool,
    /// What `iceServerConfig` announces (`stunServerURI`, `turnServerUsername`,
    /// `turnServerCredential`).
    pub ice: IceServers,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            vp8_enabled: true,
            h264_enabled: true,
            data_channel_enabled: true,
            ice: IceServers {
                stun_server_uri: "stun:stun1.l.google.com:19302".into(),
                turn_server_username: String::new(),
                turn_server_credential: String::new(),
            },
        }
    }
}

impl AppSettings {
    pub fn media_profile(&self) -> MediaProfile {
        MediaProfile {
            vp8: self.vp8_enabled,
            h264: self.h264_enabled,
            data_channel: self.data_channel_enabled,
        }
    }
}
