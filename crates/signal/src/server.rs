//! Server → client messages (PROTOCOL.md §3, §6).

use serde_json::{json, Map, Value};

use crate::client::SdpKind;
use crate::definition::{ErrorDef, NotificationDef, INFO_NOT_STREAMING};

/// STUN/TURN settings announced by `iceServerConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceServers {
    /// The one server the official SDK reads (`stun:` or `turn:`).
    pub stun_server_uri: String,
    pub turn_server_username: String,
    pub turn_server_credential: String,
    /// Every server, `turns:` included, as `iceServers` (Tern's SDK and
    /// WHIP/WHEP `Link` headers read it; the official SDK ignores it).
    pub servers: Vec<IceServer>,
}

/// One entry of an `RTCConfiguration.iceServers` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceServer {
    pub urls: String,
    pub username: String,
    pub credential: String,
}

/// One rendition in `streamInformation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    pub width: u32,
    pub height: u32,
    pub video_bitrate: u64,
    pub audio_bitrate: u64,
    /// `VP8`, `H264`, … or empty for audio-only streams.
    pub video_codec: String,
    /// Frames per second of this rendition (0 before it is measured). Not
    /// part of `streamInformation`: REST and the console show it.
    pub fps: u32,
    /// The source sends B-frames (an encoder over RTMP or SRT), which WebRTC
    /// players show out of order. Sent as `bFrames` only when true.
    pub b_frames: bool,
}

/// One frame the server sends.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    Pong,
    IceServerConfig(IceServers),
    Start {
        stream_id: String,
    },
    TakeConfiguration {
        stream_id: String,
        kind: SdpKind,
        sdp: String,
        /// `mid → ARDAMS{a,v}<id>`, in m-line order.
        id_mapping: Vec<(String, String)>,
    },
    TakeCandidate {
        stream_id: String,
        label: u32,
        mid: String,
        candidate: String,
    },
    StreamInformation {
        stream_id: String,
        infos: Vec<StreamInfo>,
    },
    /// Peer-to-peer: the other peer left; close the connection silently.
    Stop {
        stream_id: String,
    },
    Notification {
        definition: NotificationDef,
        stream_id: Option<String>,
        /// Extra keys such as `room` or `trackId`.
        extra: Vec<(&'static str, Value)>,
    },
    Error {
        definition: ErrorDef,
        stream_id: Option<String>,
        /// Extra keys such as `error_code` and `information`.
        extra: Vec<(&'static str, Value)>,
    },
    /// A top-level command with free-form fields (`trackList`, `roomInformation`,
    /// relayed peer-to-peer messages).
    Other {
        command: &'static str,
        fields: Vec<(&'static str, Value)>,
    },
    /// A peer-to-peer message passed on as the other peer sent it.
    Relay(Value),
}

impl ServerMessage {
    pub fn notification(definition: NotificationDef, stream_id: &str) -> Self {
        ServerMessage::Notification {
            definition,
            stream_id: Some(stream_id.to_owned()),
            extra: Vec::new(),
        }
    }

    /// A notification that names no stream.
    pub fn bare_notification(definition: NotificationDef) -> Self {
        ServerMessage::Notification {
            definition,
            stream_id: None,
            extra: Vec::new(),
        }
    }

    pub fn error(definition: ErrorDef, stream_id: Option<&str>) -> Self {
        ServerMessage::Error {
            definition,
            stream_id: stream_id.map(str::to_owned),
            extra: Vec::new(),
        }
    }

    /// Adds a key to an `Error`, `Notification` or `Other`; other messages are
    /// returned unchanged.
    pub fn with(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        match &mut self {
            ServerMessage::Error { extra, .. }
            | ServerMessage::Notification { extra, .. }
            | ServerMessage::Other { fields: extra, .. } => extra.push((key, value.into())),
            _ => {}
        }
        self
    }

    /// `no_stream_exist` as Ant Media sends it to a player that will be kept waiting.
    pub fn no_stream_exist(stream_id: &str) -> Self {
        Self::error(ErrorDef::NoStreamExist, Some(stream_id))
            .with("error_code", "404")
            .with("information", INFO_NOT_STREAMING)
    }

    /// The stream id a message concerns, if any.
    pub fn stream_id(&self) -> Option<&str> {
        match self {
            ServerMessage::Pong | ServerMessage::IceServerConfig(_) => None,
            ServerMessage::Other { fields, .. } => fields
                .iter()
                .find(|(k, _)| *k == "streamId")
                .and_then(|(_, v)| v.as_str()),
            ServerMessage::Relay(v) => v.get("streamId").and_then(Value::as_str),
            ServerMessage::Start { stream_id }
            | ServerMessage::Stop { stream_id }
            | ServerMessage::TakeConfiguration { stream_id, .. }
            | ServerMessage::TakeCandidate { stream_id, .. }
            | ServerMessage::StreamInformation { stream_id, .. } => Some(stream_id),
            ServerMessage::Notification { stream_id, .. }
            | ServerMessage::Error { stream_id, .. } => stream_id.as_deref(),
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            ServerMessage::Pong => json!({"command": "pong"}),
            ServerMessage::IceServerConfig(ice) => {
                let mut v = json!({
                    "command": "iceServerConfig",
                    "stunServerUri": ice.stun_server_uri,
                    "turnServerUsername": ice.turn_server_username,
                    "turnServerCredential": ice.turn_server_credential,
                });
                if !ice.servers.is_empty() {
                    let list: Vec<Value> = ice
                        .servers
                        .iter()
                        .map(|s| {
                            if s.username.is_empty() {
                                json!({"urls": s.urls})
                            } else {
                                json!({"urls": s.urls, "username": s.username, "credential": s.credential})
                            }
                        })
                        .collect();
                    v["iceServers"] = Value::Array(list);
                }
                v
            }
            ServerMessage::Start { stream_id } => {
                json!({"command": "start", "streamId": stream_id, "subscriberId": ""})
            }
            ServerMessage::TakeConfiguration {
                stream_id,
                kind,
                sdp,
                id_mapping,
            } => {
                let mapping: Map<String, Value> = id_mapping
                    .iter()
                    .map(|(mid, track)| (mid.clone(), Value::String(track.clone())))
                    .collect();
                json!({
                    "command": "takeConfiguration",
                    "streamId": stream_id,
                    "type": kind.as_str(),
                    "sdp": sdp,
                    "idMapping": mapping,
                    "linkSession": "",
                    "subscriberId": "",
                })
            }
            ServerMessage::Stop { stream_id } => json!({"command": "stop", "streamId": stream_id}),
            ServerMessage::TakeCandidate {
                stream_id,
                label,
                mid,
                candidate,
            } => json!({
                "command": "takeCandidate",
                "streamId": stream_id,
                "label": label,
                "id": mid,
                "candidate": candidate,
                "linkSession": "",
                "subscriberId": "",
            }),
            ServerMessage::StreamInformation { stream_id, infos } => {
                let infos: Vec<Value> = infos
                    .iter()
                    .map(|i| {
                        let mut v = json!({
                            "streamWidth": i.width,
                            "streamHeight": i.height,
                            "videoBitrate": i.video_bitrate,
                            "audioBitrate": i.audio_bitrate,
                            "videoCodec": i.video_codec,
                        });
                        if i.b_frames {
                            v["bFrames"] = Value::Bool(true);
                        }
                        v
                    })
                    .collect();
                json!({"command": "streamInformation", "streamId": stream_id, "streamInfo": infos})
            }
            ServerMessage::Notification {
                definition,
                stream_id,
                extra,
            } => {
                let mut v = json!({"command": "notification", "definition": definition.as_str()});
                if let Some(id) = stream_id {
                    v["streamId"] = json!(id);
                    v["subscriberId"] = json!("");
                }
                for (k, val) in extra {
                    v[*k] = val.clone();
                }
                v
            }
            ServerMessage::Other { command, fields } => {
                let mut v = json!({ "command": command });
                for (k, val) in fields {
                    v[*k] = val.clone();
                }
                v
            }
            ServerMessage::Relay(v) => v.clone(),
            ServerMessage::Error {
                definition,
                stream_id,
                extra,
            } => {
                let mut v = json!({"command": "error", "definition": definition.as_str()});
                if let Some(id) = stream_id {
                    v["streamId"] = json!(id);
                }
                for (k, val) in extra {
                    v[*k] = val.clone();
                }
                v
            }
        }
    }

    /// The text frame for this message.
    pub fn to_text(&self) -> String {
        self.to_json().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pong_has_nothing_else() {
        assert_eq!(ServerMessage::Pong.to_text(), r#"{"command":"pong"}"#);
    }

    #[test]
    fn no_stream_exist_shape() {
        let v = ServerMessage::no_stream_exist("s1").to_json();
        assert_eq!(v["command"], "error");
        assert_eq!(v["definition"], "no_stream_exist");
        assert_eq!(v["error_code"], "404");
        assert_eq!(v["streamId"], "s1");
        assert_eq!(v["information"], "stream_not_exist_or_not_streaming");
    }

    #[test]
    fn no_stream_name_has_no_stream_id_key() {
        let v = ServerMessage::error(ErrorDef::NoStreamNameSpecified, None).to_json();
        assert!(v.get("streamId").is_none());
    }

    #[test]
    fn offer_carries_id_mapping() {
        let v = ServerMessage::TakeConfiguration {
            stream_id: "s".into(),
            kind: SdpKind::Offer,
            sdp: "v=0".into(),
            id_mapping: vec![
                ("0".into(), "ARDAMSas".into()),
                ("1".into(), "ARDAMSvs".into()),
            ],
        }
        .to_json();
        assert_eq!(v["type"], "offer");
        assert_eq!(v["idMapping"]["0"], "ARDAMSas");
        assert_eq!(v["idMapping"]["1"], "ARDAMSvs");
    }

    #[test]
    fn notification_shape() {
        let v = ServerMessage::notification(NotificationDef::PlayFinished, "s").to_json();
        assert_eq!(v["command"], "notification");
        assert_eq!(v["definition"], "play_finished");
        assert_eq!(v["streamId"], "s");
    }

    #[test]
    fn stream_info_numbers_are_integers() {
        let v = ServerMessage::StreamInformation {
            stream_id: "s".into(),
            infos: vec![StreamInfo {
                width: 640,
                height: 480,
                video_bitrate: 1_000_000,
                audio_bitrate: 32_000,
                video_codec: "VP8".into(),
                fps: 30,
                b_frames: false,
            }],
        }
        .to_json();
        assert_eq!(v["streamInfo"][0]["streamHeight"], 480);
        assert!(v["streamInfo"][0]["videoBitrate"].is_u64());
    }
}
