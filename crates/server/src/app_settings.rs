//! Every application setting, with Ant Media's names (PROTOCOL.md §7), in one
//! table: the config file's `[apps.<Name>]`, the REST `settings` resource and the
//! stored document all use it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tern_auth::cidr::CidrList;
use tern_auth::jwt::{JwkSet, JwtKeys};
use tern_core::{default_visibility, AppSettings, PlayerData};
use tern_signal::IceServers;
use utoipa::ToSchema;

macro_rules! settings_table {
    ($(
        $(#[doc = $doc:literal])*
        $field:ident: $ty:ty = $default:expr, $wire:literal $(, $secret:ident)?;
    )*) => {
        /// The settings of one application.
        #[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
        #[serde(default)]
        pub struct Settings {
            $($(#[doc = $doc])* #[serde(rename = $wire)] pub $field: $ty,)*
        }

        impl Default for Settings {
            fn default() -> Self {
                Settings { $($field: $default.into(),)* }
            }
        }

        /// Any subset of [`Settings`]: a `[apps.<Name>]` table or a REST update.
        /// Unknown names are refused; `null` means "leave as is".
        #[derive(Debug, Clone, Default, Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct SettingsPatch {
            $($(#[doc = $doc])* #[serde(rename = $wire, default)] pub $field: Option<$ty>,)*
        }

        impl Settings {
            /// Overwrites the settings the patch names.
            pub fn apply(&mut self, patch: SettingsPatch) {
                $(if let Some(v) = patch.$field { self.$field = v; })*
            }

            /// Names of the settings that differ between `self` and `other`.
            pub fn differences(&self, other: &Settings) -> Vec<&'static str> {
                let mut out = Vec::new();
                $(if self.$field != other.$field { out.push($wire); })*
                out
            }
        }

        impl fmt::Debug for Settings {
            /// Secrets are shown as `***` so that settings can be logged.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut d = f.debug_struct("Settings");
                $(settings_table!(@field d, self, $field, $wire $(, $secret)?);)*
                d.finish()
            }
        }
    };
    (@field $d:ident, $s:ident, $field:ident, $wire:literal, secret) => {
        $d.field($wire, &if $s.$field.is_empty() { "" } else { "***" });
    };
    (@field $d:ident, $s:ident, $field:ident, $wire:literal) => {
        $d.field($wire, &$s.$field);
    };
}

settings_table! {
    /// Offer and accept VP8.
    vp8_enabled: bool = true, "vp8Enabled";
    /// Offer and accept H.264.
    h264_enabled: bool = true, "h264Enabled";
    /// Accept `m=application` and relay data channels.
    data_channel_enabled: bool = true, "dataChannelEnabled";
    /// Where players' data-channel messages go: `none`, `publisher` or `all`.
    data_channel_player_distribution: String = "all", "dataChannelPlayerDistribution";
    /// Room viewers' role → the participant roles they receive.
    participant_visibility_matrix: BTreeMap<String, Vec<String>> = default_visibility(), "participantVisibilityMatrix";
    /// A publish must reach media this soon, and a dropped publisher's stream
    /// waits this long for it to come back (`session_restored`).
    webrtc_client_start_timeout_ms: u64 = 10_000u64, "webRTCClientStartTimeoutMs";
    /// End a publish whose media stops for `webRTCClientStartTimeoutMs`.
    drop_if_no_packets: bool = false, "dropWebRTCIngestIfNoPacketReceived";
    /// Announced by `iceServerConfig`; starts with `stun:` or `turn:` (or is empty).
    stun_server_uri: String = "stun:stun1.l.google.com:19302", "stunServerURI";
    turn_server_username: String = "", "turnServerUsername";
    turn_server_credential: String = "", "turnServerCredential", secret;
    /// Publish only stream ids created through REST (`not_allowed_unregistered_streams`).
    accept_only_streams_in_data_store: bool = false, "acceptOnlyStreamsInDataStore";
    /// Publishing needs a one-time token from `GET /broadcasts/{id}/token`.
    publish_token_control_enabled: bool = false, "publishTokenControlEnabled";
    /// Playing needs a one-time token.
    play_token_control_enabled: bool = false, "playTokenControlEnabled";
    /// Publishing needs a JWT signed with `jwtStreamSecretKey`.
    publish_jwt_control_enabled: bool = false, "publishJwtControlEnabled";
    /// Playing needs a JWT signed with `jwtStreamSecretKey`.
    play_jwt_control_enabled: bool = false, "playJwtControlEnabled";
    /// HS256 key of stream JWTs (at least 32 characters to mint them through REST).
    jwt_stream_secret_key: String = "", "jwtStreamSecretKey", secret;
    /// Publishing needs `sha256(streamId + "publish" + tokenHashSecret)`.
    hash_control_publish_enabled: bool = false, "hashControlPublishEnabled";
    /// Playing needs `sha256(streamId + "play" + tokenHashSecret)`.
    hash_control_play_enabled: bool = false, "hashControlPlayEnabled";
    token_hash_secret: String = "", "tokenHashSecret", secret;
    /// Publishing needs a TOTP code (`subscriberId` + `subscriberCode`).
    enable_time_token_for_publish: bool = false, "enableTimeTokenForPublish";
    /// Playing needs a TOTP code.
    enable_time_token_for_play: bool = false, "enableTimeTokenForPlay";
    /// TOTP secret for publishers that are not registered subscribers.
    time_token_secret_for_publish: String = "", "timeTokenSecretForPublish", secret;
    /// TOTP secret for players that are not registered subscribers.
    time_token_secret_for_play: String = "", "timeTokenSecretForPlay", secret;
    /// TOTP step, seconds.
    time_token_period: u32 = 60u32, "timeTokenPeriod";
    /// WebRTC players per stream (-1 = no limit); a broadcast's own limit wins.
    webrtc_viewer_limit: i32 = -1, "webRTCViewerLimit";
    /// REST calls need `Authorization: Bearer <JWT>`: HS256 signed with
    /// `jwtSecretKey`, or RS256/ES256 (see `jwksURL`, `jwtPublicKey`).
    jwt_control_enabled: bool = false, "jwtControlEnabled";
    jwt_secret_key: String = "", "jwtSecretKey", secret;
    /// A JWKS URL (http or https): REST JWTs and JWT stream tokens may also be
    /// RS256/ES256 signed by one of its keys (chosen by `kid`). Fetched in the
    /// background when set or changed and every 10 minutes.
    jwks_url: String = "", "jwksURL";
    /// A PEM RSA or EC P-256 public key (Tern's addition): REST JWTs and JWT
    /// stream tokens may also be RS256/ES256 signed by its private key.
    jwt_public_key: String = "", "jwtPublicKey";
    /// REST calls are accepted only from `remoteAllowedCIDR`.
    ip_filter_enabled: bool = true, "ipFilterEnabled";
    /// Comma-separated addresses and CIDR blocks allowed to call REST.
    remote_allowed_cidr: String = "127.0.0.1", "remoteAllowedCIDR";
    /// Where stream events are POSTed (a broadcast's own `listenerHookURL` wins).
    listener_hook_url: String = "", "listenerHookURL";
    /// `application/json` or `application/x-www-form-urlencoded`.
    webhook_content_type: String = "application/json", "webhookContentType";
    /// Further attempts when the receiver does not answer 200.
    webhook_retry_count: u32 = 0u32, "webhookRetryCount";
    /// Milliseconds between attempts.
    webhook_retry_delay: u64 = 1000u64, "webhookRetryDelay";
    /// Signs each hook (`X-Tern-Signature: sha256=<HMAC of the body>`) when set.
    webhook_secret: String = "", "webhookSecret", secret;
    /// Record every stream as MP4 (H.264 or VP8 video, Opus audio, not
    /// transcoded) under `DATA_DIR/{App}/streams`; a broadcast's `mp4Enabled`
    /// (1 on, -1 off) wins over it.
    mp4_muxing_enabled: bool = false, "mp4MuxingEnabled";
    /// Record every VP8 stream as WebM (VP8 and Opus, not transcoded) under
    /// `DATA_DIR/{App}/streams`; a broadcast's `webMEnabled` (1 on, -1 off)
    /// wins over it. H.264 streams are not recorded to WebM.
    web_m_muxing_enabled: bool = false, "webMMuxingEnabled";
    /// Serve every H.264 stream as HLS (fMP4 segments) at
    /// `/{App}/streams/{id}.m3u8`. Off by default in Tern (on in Ant Media):
    /// it costs a thread and memory per stream.
    hls_muxing_enabled: bool = false, "hlsMuxingEnabled";
    /// HLS segment length in seconds: a keyframe is asked for this often.
    hls_time: u32 = 2u32, "hlsTime";
    /// Segments a playlist lists (older ones are dropped from memory).
    hls_list_size: u32 = 5u32, "hlsListSize";
    /// Low-latency HLS (Tern's name): parts of about 200 ms listed as they
    /// come, a preload hint, blocking playlist reload (`_HLS_msn`,
    /// `_HLS_part`); players such as hls.js in low-latency mode play about a
    /// second behind instead of three segments.
    ll_hls_enabled: bool = false, "llHlsEnabled";
    /// `""` (a live window of `hlsListSize` segments) or `"event"` (every
    /// segment from the start stays listed; those out of memory are read
    /// from the streams folder).
    hls_play_list_type: String = "", "hlsPlayListType";
    /// Off: a stream's HLS stays in the streams folder when it ends, as a
    /// VoD playlist (`{id}.m3u8` with `#EXT-X-ENDLIST`) and its segments.
    delete_hls_files_on_ended: bool = true, "deleteHLSFilesOnEnded";
}

/// Why a set of settings is refused; says which setting and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsError {
    /// Neither VP8 nor H.264 is enabled, so no video could be negotiated.
    NoVideoCodec,
    /// `stunServerURI` must start with `stun:` or `turn:` (what the SDK accepts).
    StunScheme(String),
    /// `remoteAllowedCIDR` does not parse.
    Cidr(String),
    /// `timeTokenPeriod` is 0.
    TimeTokenPeriod,
    /// `webRTCViewerLimit` is below -1.
    ViewerLimit(i32),
    /// `dataChannelPlayerDistribution` is not `none`, `publisher` or `all`.
    PlayerDistribution(String),
    /// `webRTCClientStartTimeoutMs` is below 1000.
    StartTimeout(u64),
    /// A control is enabled whose secret is empty, which would lock everyone out
    /// (or, for hashes, make tokens guessable).
    MissingSecret {
        enabled: &'static str,
        secret: &'static str,
    },
    /// `listenerHookURL` is not an http(s) URL, or `webhookContentType` is
    /// neither JSON nor a form.
    Webhook(String),
    /// `jwksURL` is not an http(s) URL, or `jwtPublicKey` is not a PEM RSA or
    /// EC P-256 public key.
    JwtKey(String),
    /// `hlsTime` is not 1 to 60 s, or `hlsListSize` not 1 to 100.
    Hls(String),
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsError::NoVideoCodec => {
                f.write_str("enable at least one video codec (vp8Enabled or h264Enabled)")
            }
            SettingsError::StunScheme(v) => {
                write!(
                    f,
                    "stunServerURI must start with stun: or turn: (got {v:?})"
                )
            }
            SettingsError::Cidr(e) => write!(f, "remoteAllowedCIDR: {e}"),
            SettingsError::TimeTokenPeriod => f.write_str("timeTokenPeriod must be at least 1"),
            SettingsError::ViewerLimit(n) => {
                write!(
                    f,
                    "webRTCViewerLimit must be -1 (no limit) or more (got {n})"
                )
            }
            SettingsError::PlayerDistribution(v) => write!(
                f,
                "dataChannelPlayerDistribution must be none, publisher or all (got {v:?})"
            ),
            SettingsError::StartTimeout(v) => {
                write!(
                    f,
                    "webRTCClientStartTimeoutMs must be at least 1000 (got {v})"
                )
            }
            SettingsError::MissingSecret { enabled, secret } => {
                write!(f, "{enabled} needs {secret} to be set")
            }
            SettingsError::Webhook(why) | SettingsError::JwtKey(why) | SettingsError::Hls(why) => {
                f.write_str(why)
            }
        }
    }
}

impl std::error::Error for SettingsError {}

impl Settings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !self.vp8_enabled && !self.h264_enabled {
            return Err(SettingsError::NoVideoCodec);
        }
        let stun = &self.stun_server_uri;
        if !(stun.is_empty() || stun.starts_with("stun:") || stun.starts_with("turn:")) {
            return Err(SettingsError::StunScheme(stun.clone()));
        }
        self.allowed_cidrs()?;
        if self.time_token_period == 0 {
            return Err(SettingsError::TimeTokenPeriod);
        }
        if self.webrtc_viewer_limit < -1 {
            return Err(SettingsError::ViewerLimit(self.webrtc_viewer_limit));
        }
        self.player_data()?;
        let url = &self.listener_hook_url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return Err(SettingsError::Webhook(format!(
                "listenerHookURL must be an http:// or https:// URL (got {url:?})"
            )));
        }
        if !matches!(
            self.webhook_content_type.as_str(),
            "application/json" | "application/x-www-form-urlencoded"
        ) {
            return Err(SettingsError::Webhook(format!(
                "webhookContentType must be application/json or application/x-www-form-urlencoded (got {:?})",
                self.webhook_content_type
            )));
        }
        if !matches!(self.hls_play_list_type.as_str(), "" | "event") {
            return Err(SettingsError::Hls(format!(
                "hlsPlayListType must be \"\" or \"event\" (got {:?})",
                self.hls_play_list_type
            )));
        }
        if !(1..=60).contains(&self.hls_time) || !(1..=100).contains(&self.hls_list_size) {
            return Err(SettingsError::Hls(format!(
                "hlsTime must be 1 to 60 s and hlsListSize 1 to 100 (got {} and {})",
                self.hls_time, self.hls_list_size
            )));
        }
        if self.webrtc_client_start_timeout_ms < 1000 {
            return Err(SettingsError::StartTimeout(
                self.webrtc_client_start_timeout_ms,
            ));
        }
        let jwks = &self.jwks_url;
        if !(jwks.is_empty() || jwks.starts_with("http://") || jwks.starts_with("https://")) {
            return Err(SettingsError::JwtKey(format!(
                "jwksURL must be an http:// or https:// URL (got {jwks:?})"
            )));
        }
        if !self.jwt_public_key.is_empty() {
            JwtKeys::default()
                .with_public_pem(&self.jwt_public_key)
                .map_err(|e| SettingsError::JwtKey(format!("jwtPublicKey: {e}")))?;
        }
        // A public key or JWKS stands in for the secret of JWT controls.
        let asymmetric = !(self.jwt_public_key.is_empty() && self.jwks_url.is_empty());
        let stream_key = asymmetric || !self.jwt_stream_secret_key.is_empty();
        let rest_key = asymmetric || !self.jwt_secret_key.is_empty();
        let hash_key = !self.token_hash_secret.is_empty();
        let needs = [
            (
                self.publish_jwt_control_enabled,
                "publishJwtControlEnabled",
                stream_key,
                "jwtStreamSecretKey (or jwtPublicKey or jwksURL)",
            ),
            (
                self.play_jwt_control_enabled,
                "playJwtControlEnabled",
                stream_key,
                "jwtStreamSecretKey (or jwtPublicKey or jwksURL)",
            ),
            (
                self.hash_control_publish_enabled,
                "hashControlPublishEnabled",
                hash_key,
                "tokenHashSecret",
            ),
            (
                self.hash_control_play_enabled,
                "hashControlPlayEnabled",
                hash_key,
                "tokenHashSecret",
            ),
            (
                self.jwt_control_enabled,
                "jwtControlEnabled",
                rest_key,
                "jwtSecretKey (or jwtPublicKey or jwksURL)",
            ),
        ];
        for (on, enabled, present, secret) in needs {
            if on && !present {
                return Err(SettingsError::MissingSecret { enabled, secret });
            }
        }
        Ok(())
    }

    /// The keys REST JWTs are verified with: `jwtSecretKey`, `jwtPublicKey`
    /// and the JWKS last fetched from `jwksURL`.
    pub fn rest_jwt_keys(&self, jwks: Option<Arc<JwkSet>>) -> JwtKeys {
        self.jwt_keys(&self.jwt_secret_key, jwks)
    }

    /// The keys JWT stream tokens are verified with: `jwtStreamSecretKey`,
    /// `jwtPublicKey` and the JWKS last fetched from `jwksURL`.
    pub fn stream_jwt_keys(&self, jwks: Option<Arc<JwkSet>>) -> JwtKeys {
        self.jwt_keys(&self.jwt_stream_secret_key, jwks)
    }

    fn jwt_keys(&self, secret: &str, jwks: Option<Arc<JwkSet>>) -> JwtKeys {
        let mut keys = JwtKeys::hs256(secret.as_bytes());
        if !self.jwt_public_key.is_empty() {
            // Validated when saved; a key that did not parse adds nothing.
            if let Ok(with) = keys.clone().with_public_pem(&self.jwt_public_key) {
                keys = with;
            }
        }
        match jwks {
            Some(set) => keys.with_jwks(set),
            None => keys,
        }
    }

    /// The parsed `remoteAllowedCIDR`.
    pub fn allowed_cidrs(&self) -> Result<CidrList, SettingsError> {
        self.remote_allowed_cidr
            .parse()
            .map_err(|e: tern_auth::cidr::CidrError| SettingsError::Cidr(e.to_string()))
    }

    fn player_data(&self) -> Result<PlayerData, SettingsError> {
        match self.data_channel_player_distribution.as_str() {
            "none" => Ok(PlayerData::None),
            "publisher" => Ok(PlayerData::Publisher),
            "all" => Ok(PlayerData::All),
            other => Err(SettingsError::PlayerDistribution(other.to_owned())),
        }
    }

    /// The part the session logic and media need (`max_peers_per_session` is a
    /// server limit: the default until the caller sets it).
    pub fn core(&self) -> AppSettings {
        AppSettings {
            vp8_enabled: self.vp8_enabled,
            h264_enabled: self.h264_enabled,
            prefer_h264: self.hls_muxing_enabled,
            data_channel_enabled: self.data_channel_enabled,
            client_start_timeout: Duration::from_millis(self.webrtc_client_start_timeout_ms),
            drop_if_no_packets: self.drop_if_no_packets,
            player_data: self.player_data().unwrap_or_default(),
            visibility: self.participant_visibility_matrix.clone(),
            ice: IceServers {
                stun_server_uri: self.stun_server_uri.clone(),
                turn_server_username: self.turn_server_username.clone(),
                turn_server_credential: self.turn_server_credential.clone(),
                servers: Vec::new(),
            },
            ..AppSettings::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_ant_media() {
        let s = Settings::default();
        assert!(s.ip_filter_enabled && !s.jwt_control_enabled);
        assert_eq!(s.remote_allowed_cidr, "127.0.0.1");
        assert_eq!((s.time_token_period, s.webrtc_viewer_limit), (60, -1));
        assert_eq!(s.core(), AppSettings::default());
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn json_names_and_patches() {
        let v = serde_json::to_value(Settings::default()).unwrap();
        for key in [
            "acceptOnlyStreamsInDataStore",
            "publishTokenControlEnabled",
            "playTokenControlEnabled",
            "publishJwtControlEnabled",
            "playJwtControlEnabled",
            "jwtStreamSecretKey",
            "hashControlPublishEnabled",
            "hashControlPlayEnabled",
            "tokenHashSecret",
            "enableTimeTokenForPublish",
            "enableTimeTokenForPlay",
            "timeTokenPeriod",
            "webRTCViewerLimit",
            "jwtControlEnabled",
            "jwtSecretKey",
            "ipFilterEnabled",
            "remoteAllowedCIDR",
            "stunServerURI",
            "turnServerUsername",
            "turnServerCredential",
            "vp8Enabled",
            "h264Enabled",
            "dataChannelEnabled",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        let mut s = Settings::default();
        let patch: SettingsPatch =
            serde_json::from_str(r#"{"playTokenControlEnabled":true,"vp8Enabled":null}"#).unwrap();
        s.apply(patch);
        assert!(s.play_token_control_enabled && s.vp8_enabled);
        assert_eq!(
            s.differences(&Settings::default()),
            ["playTokenControlEnabled"]
        );
        let err = serde_json::from_str::<SettingsPatch>(r#"{"playTokenControl":true}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `playTokenControl`"), "{err}");
    }

    #[test]
    fn a_public_key_or_jwks_stands_in_for_jwt_secrets() {
        let pem = include_str!("../../auth/fixtures/rsa-2048.pub.pem");
        let mut s = Settings::default();
        s.apply(
            serde_json::from_value(serde_json::json!({
                "jwtControlEnabled": true,
                "playJwtControlEnabled": true,
                "jwtPublicKey": pem,
            }))
            .unwrap(),
        );
        assert_eq!(s.validate(), Ok(()));
        let mut s = Settings::default();
        s.apply(
            serde_json::from_str(
                r#"{"jwtControlEnabled":true,"jwksURL":"https://idp.example/jwks.json"}"#,
            )
            .unwrap(),
        );
        assert_eq!(s.validate(), Ok(()));
        assert!(s.rest_jwt_keys(None).is_empty());
        assert!(!s
            .rest_jwt_keys(Some(Arc::new(
                serde_json::from_str(r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#)
                    .unwrap()
            )))
            .is_empty());
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let s = Settings {
            jwt_secret_key: "sekrit-value".into(),
            token_hash_secret: "hash-sekrit".into(),
            ..Settings::default()
        };
        let text = format!("{s:?}");
        assert!(!text.contains("sekrit"), "{text}");
        assert!(text.contains("jwtSecretKey: \"***\""), "{text}");
    }

    #[test]
    fn validation_names_the_setting() {
        let cases = [
            (r#"{"vp8Enabled":false,"h264Enabled":false}"#, "video codec"),
            (r#"{"stunServerURI":"http://x"}"#, "stunServerURI"),
            (r#"{"remoteAllowedCIDR":"localhost"}"#, "remoteAllowedCIDR"),
            (r#"{"timeTokenPeriod":0}"#, "timeTokenPeriod"),
            (r#"{"webRTCViewerLimit":-2}"#, "webRTCViewerLimit"),
            (r#"{"jwtControlEnabled":true}"#, "jwtSecretKey"),
            (r#"{"hashControlPlayEnabled":true}"#, "tokenHashSecret"),
            (
                r#"{"playJwtControlEnabled":true}"#,
                "jwtPublicKey or jwksURL",
            ),
            (r#"{"jwksURL":"ftp://idp/keys"}"#, "jwksURL"),
            (r#"{"jwtPublicKey":"not a key"}"#, "jwtPublicKey"),
        ];
        for (json, needle) in cases {
            let mut s = Settings::default();
            s.apply(serde_json::from_str(json).unwrap());
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{json}: {err}");
        }
    }
}
