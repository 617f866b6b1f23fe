//! The records the store keeps, with Ant Media's JSON names (PROTOCOL.md §8.3).
//! Unknown JSON keys are ignored and missing ones take Ant Media's defaults, so
//! a client may send any subset.

use serde::{Deserialize, Serialize};

/// Broadcast `status` values.
pub mod status {
    pub const CREATED: &str = "created";
    pub const PREPARING: &str = "preparing";
    pub const BROADCASTING: &str = "broadcasting";
    pub const FINISHED: &str = "finished";
}

/// A stream as Ant Media's data store describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct Broadcast {
    pub stream_id: String,
    /// `created`, `preparing`, `broadcasting` or `finished`.
    pub status: String,
    /// `liveStream`, `ipCamera`, `streamSource`, `VoD` or `playlist`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `WebRTC`, `RTMP`, `Pull` or `SRT`; set when publishing starts.
    pub publish_type: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub publish: bool,
    /// Creation time, Unix milliseconds.
    pub date: i64,
    /// Publishing is refused before this Unix second (0 = no limit).
    pub planned_start_date: i64,
    /// Publishing is refused after this Unix second (0 = no limit).
    pub planned_end_date: i64,
    /// Milliseconds of the last broadcast.
    pub duration: i64,
    pub public_stream: bool,
    pub is360: bool,
    #[serde(rename = "listenerHookURL")]
    pub listener_hook_url: Option<String>,
    pub category: Option<String>,
    pub ip_addr: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub quality: Option<String>,
    pub speed: f64,
    pub stream_url: Option<String>,
    /// Spelled as Ant Media spells it.
    pub origin_adress: Option<String>,
    pub mp4_enabled: i32,
    pub web_m_enabled: i32,
    pub conference_mode: Option<String>,
    pub subtracks_limit: i32,
    /// Publishing is refused this many ms after `date` (0 = never).
    #[serde(rename = "expireDurationMS")]
    pub expire_duration_ms: i64,
    #[serde(rename = "rtmpURL")]
    pub rtmp_url: Option<String>,
    /// Created on the fly by a publish, not through REST; deleted when it ends.
    pub zombi: bool,
    pub hls_viewer_count: i64,
    /// Why the stream's last recording could not be made or stopped (a full
    /// disk, a folder that cannot be written); Tern's addition, filled in
    /// live by REST, never stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_error: Option<String>,
    pub dash_viewer_count: i64,
    #[serde(rename = "webRTCViewerCount")]
    pub webrtc_viewer_count: i64,
    pub rtmp_viewer_count: i64,
    /// When the current (or last) broadcast started, Unix milliseconds.
    pub start_time: i64,
    pub received_bytes: i64,
    pub bitrate: i64,
    pub width: i32,
    pub height: i32,
    pub user_agent: String,
    pub remote_ip: Option<String>,
    pub latitude: Option<String>,
    pub longitude: Option<String>,
    pub altitude: Option<String>,
    pub main_track_stream_id: Option<String>,
    pub sub_track_stream_ids: Vec<String>,
    pub absolute_start_time_ms: i64,
    /// WebRTC players allowed at once (-1 = the application's limit).
    #[serde(rename = "webRTCViewerLimit")]
    pub webrtc_viewer_limit: i32,
    pub hls_viewer_limit: i32,
    pub dash_viewer_limit: i32,
    pub sub_folder: Option<String>,
    pub current_play_index: i32,
    pub meta_data: Option<String>,
    pub playlist_loop_enabled: bool,
    /// Last change, Unix milliseconds.
    pub update_time: i64,
    pub role: Option<String>,
    #[serde(rename = "virtual")]
    pub is_virtual: bool,
    pub max_idle_time: i32,
    /// Whether any player is connected now.
    pub anyone_watching: bool,
}

impl Default for Broadcast {
    fn default() -> Self {
        Broadcast {
            stream_id: String::new(),
            status: status::CREATED.into(),
            kind: "liveStream".into(),
            publish_type: None,
            name: None,
            description: None,
            publish: true,
            date: 0,
            planned_start_date: 0,
            planned_end_date: 0,
            duration: 0,
            public_stream: true,
            is360: false,
            listener_hook_url: None,
            category: None,
            ip_addr: None,
            username: None,
            password: None,
            quality: None,
            speed: 0.0,
            stream_url: None,
            origin_adress: None,
            mp4_enabled: 0,
            web_m_enabled: 0,
            conference_mode: None,
            subtracks_limit: -1,
            expire_duration_ms: 0,
            rtmp_url: None,
            zombi: false,
            hls_viewer_count: 0,
            recording_error: None,
            dash_viewer_count: 0,
            webrtc_viewer_count: 0,
            rtmp_viewer_count: 0,
            start_time: 0,
            received_bytes: 0,
            bitrate: 0,
            width: 0,
            height: 0,
            user_agent: "N/A".into(),
            remote_ip: None,
            latitude: None,
            longitude: None,
            altitude: None,
            main_track_stream_id: None,
            sub_track_stream_ids: Vec::new(),
            absolute_start_time_ms: 0,
            webrtc_viewer_limit: -1,
            hls_viewer_limit: -1,
            dash_viewer_limit: -1,
            sub_folder: None,
            current_play_index: 0,
            meta_data: None,
            playlist_loop_enabled: true,
            update_time: 0,
            role: None,
            is_virtual: false,
            max_idle_time: 0,
            anyone_watching: false,
        }
    }
}

/// A one-time token (PROTOCOL.md §7.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct Token {
    pub token_id: String,
    pub stream_id: String,
    /// Valid until this Unix second.
    pub expire_date: i64,
    /// `publish` or `play`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Set for room tokens, which are reusable for every stream of the room.
    pub room_id: Option<String>,
}

/// A TOTP subscriber of one stream (PROTOCOL.md §7.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct Subscriber {
    pub subscriber_id: String,
    pub subscriber_name: Option<String>,
    pub stream_id: String,
    /// Base32 TOTP secret; when absent the code derives from the app's secret.
    pub b32_secret: Option<String>,
    /// `publish`, `play` or `publish_play`.
    #[serde(rename = "type")]
    pub kind: String,
    pub connected: bool,
    pub current_concurrent_connections: i32,
    pub concurrent_connections_limit: i32,
    /// What the block covers: `publish`, `play` or `publish_play`.
    pub blocked_type: Option<String>,
    /// The block lasts until this Unix millisecond.
    pub blocked_until_unit_time_stamp_ms: i64,
    pub registered_node_ip: Option<String>,
    pub avg_video_bitrate: i64,
    pub avg_audio_bitrate: i64,
    /// TOTP step for this subscriber (0 = the app's `timeTokenPeriod`).
    pub totp_expiry_period_seconds: i32,
}

impl Default for Subscriber {
    fn default() -> Self {
        Subscriber {
            subscriber_id: String::new(),
            subscriber_name: None,
            stream_id: String::new(),
            b32_secret: None,
            kind: "play".into(),
            connected: false,
            current_concurrent_connections: 0,
            concurrent_connections_limit: 1,
            blocked_type: None,
            blocked_until_unit_time_stamp_ms: 0,
            registered_node_ip: None,
            avg_video_bitrate: 0,
            avg_audio_bitrate: 0,
            totp_expiry_period_seconds: 0,
        }
    }
}

/// A finished recording (Ant Media's `VoD`), with its file under the data
/// directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct Vod {
    pub vod_id: String,
    pub stream_id: String,
    pub stream_name: Option<String>,
    /// The file's name, e.g. `stream1.mp4`.
    pub vod_name: String,
    /// Where it is served from, relative to the server: `streams/{vodName}`.
    pub file_path: String,
    /// Milliseconds.
    pub duration: i64,
    /// Bytes.
    pub file_size: i64,
    /// Unix milliseconds.
    pub creation_date: i64,
    /// `streamVod` for a recording, `uploadedVod` for an upload.
    #[serde(rename = "type")]
    pub kind: String,
}
