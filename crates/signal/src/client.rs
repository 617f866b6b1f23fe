//! Client → server messages (PROTOCOL.md §2) and their parser.

use serde_json::Value;

use crate::fields::{bool_or, opt_str, opt_u32, Object};
use crate::stream_id;

/// One parsed client frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    Ping,
    GetIceServerConfig,
    Publish(Publish),
    Play(Play),
    TakeConfiguration {
        stream_id: String,
        kind: SdpKind,
        sdp: String,
    },
    TakeCandidate(TakeCandidate),
    Stop {
        stream_id: String,
    },
    GetStreamInfo {
        stream_id: String,
    },
    /// Peer-to-peer `join` (PROTOCOL.md §2.8).
    Join {
        stream_id: String,
        /// `play` peers only answer; `both` peers may offer.
        play_only: bool,
    },
    /// Peer-to-peer `leave` (§2.9).
    Leave {
        stream_id: String,
    },
    /// Peer-to-peer app message, relayed as sent (§2.18).
    PeerMessage {
        stream_id: String,
        raw: Value,
    },
    /// `joinRoom` (§2.10). `room` is `None` when missing.
    JoinRoom(JoinRoom),
    /// `leaveFromRoom` (§2.11).
    LeaveFromRoom {
        room: Option<String>,
        stream_id: Option<String>,
    },
    /// `getRoomInfo` (§2.12); `stream_id` is the asker's own id.
    GetRoomInfo {
        room: Option<String>,
        stream_id: Option<String>,
    },
    /// `getTrackList` (§2.15).
    GetTrackList {
        stream_id: String,
    },
    /// `enableTrack` (§2.16): start or stop forwarding a subtrack to this player.
    EnableTrack {
        stream_id: String,
        track_id: String,
        enabled: bool,
    },
    /// `toggleAudio` / `toggleVideo` (§2.17).
    Toggle {
        stream_id: String,
        track_id: String,
        video: bool,
        enabled: bool,
    },
    /// `getBroadcastObject` (§2.20).
    GetBroadcastObject {
        stream_id: String,
    },
    /// `getSubtracks` (§2.21).
    GetSubtracks {
        stream_id: String,
        role: Option<String>,
        offset: u32,
        size: u32,
    },
    /// `getSubtracksCount` (§2.22).
    GetSubtracksCount {
        stream_id: String,
        role: Option<String>,
        status: Option<String>,
    },
    /// `getSubscriberCount` (§2.23).
    GetSubscriberCount {
        stream_id: String,
    },
    /// `forceStreamQuality` (§2.14): pin a rendition by height; 0 = automatic.
    ForceStreamQuality {
        stream_id: String,
        height: u32,
    },
    /// `updateStreamMetaData` (§2.19).
    UpdateStreamMetaData {
        stream_id: String,
        meta_data: Option<String>,
    },
    /// A command this server does not handle; the protocol says to ignore it.
    Unknown {
        command: String,
    },
}

impl ClientMessage {
    /// The `command` it came as; `unknown` for commands this server ignores
    /// (their names are the client's, not a bounded set).
    pub fn command(&self) -> &'static str {
        match self {
            ClientMessage::Ping => "ping",
            ClientMessage::GetIceServerConfig => "getIceServerConfig",
            ClientMessage::Publish(_) => "publish",
            ClientMessage::Play(_) => "play",
            ClientMessage::TakeConfiguration { .. } => "takeConfiguration",
            ClientMessage::TakeCandidate(_) => "takeCandidate",
            ClientMessage::Stop { .. } => "stop",
            ClientMessage::GetStreamInfo { .. } => "getStreamInfo",
            ClientMessage::Join { .. } => "join",
            ClientMessage::Leave { .. } => "leave",
            ClientMessage::PeerMessage { .. } => "peerMessageCommand",
            ClientMessage::JoinRoom(_) => "joinRoom",
            ClientMessage::LeaveFromRoom { .. } => "leaveFromRoom",
            ClientMessage::GetRoomInfo { .. } => "getRoomInfo",
            ClientMessage::GetTrackList { .. } => "getTrackList",
            ClientMessage::EnableTrack { .. } => "enableTrack",
            ClientMessage::Toggle { video: true, .. } => "toggleVideo",
            ClientMessage::Toggle { video: false, .. } => "toggleAudio",
            ClientMessage::GetBroadcastObject { .. } => "getBroadcastObject",
            ClientMessage::GetSubtracks { .. } => "getSubtracks",
            ClientMessage::GetSubtracksCount { .. } => "getSubtracksCount",
            ClientMessage::GetSubscriberCount { .. } => "getSubscriberCount",
            ClientMessage::ForceStreamQuality { .. } => "forceStreamQuality",
            ClientMessage::UpdateStreamMetaData { .. } => "updateStreamMetaData",
            ClientMessage::Unknown { .. } => "unknown",
        }
    }
}

/// `publish` (PROTOCOL.md §2.3).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Publish {
    pub stream_id: String,
    pub token: Option<String>,
    pub subscriber_id: Option<String>,
    pub subscriber_code: Option<String>,
    pub stream_name: Option<String>,
    pub main_track: Option<String>,
    pub video: bool,
    pub audio: bool,
    pub meta_data: Option<String>,
    pub role: Option<String>,
    /// How the media comes in, for REST's `publishType`: `None` is a WebRTC page
    /// on the WebSocket; other ingests (WHIP) set it. Never read from the wire.
    pub publish_type: Option<String>,
}

/// `play` in both of the SDK's forms (PROTOCOL.md §2.4).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Play {
    pub stream_id: String,
    pub token: Option<String>,
    pub room: Option<String>,
    pub track_list: Vec<String>,
    pub subscriber_id: Option<String>,
    pub subscriber_code: Option<String>,
    pub viewer_info: Option<String>,
    pub role: Option<String>,
    pub user_publish_id: Option<String>,
    pub disable_tracks_by_default: bool,
    /// The player's own SDP offer (WHEP): Tern answers it instead of offering.
    /// Never read from the wire.
    pub offer: Option<String>,
    /// Every simulcast layer as its own send stream, none chosen: for a
    /// cluster relay's play only, which the server recognises by its token.
    /// Never read from the wire.
    pub all_layers: bool,
}

/// `takeCandidate` from the client; every field but `streamId` may be null.
#[derive(Debug, Clone, PartialEq)]
pub struct TakeCandidate {
    pub stream_id: String,
    pub label: Option<u32>,
    pub mid: Option<String>,
    /// `None` for the empty end-of-candidates marker.
    pub candidate: Option<String>,
}

/// `joinRoom` (PROTOCOL.md §2.10).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JoinRoom {
    pub room: Option<String>,
    pub stream_id: Option<String>,
    /// `legacy` (default), `multitrack`, `mcu`, `amcu`.
    pub mode: Option<String>,
    pub stream_name: Option<String>,
    pub role: Option<String>,
    pub meta_data: Option<String>,
}

/// The `type` of a `takeConfiguration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpKind {
    Offer,
    Answer,
}

impl SdpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SdpKind::Offer => "offer",
            SdpKind::Answer => "answer",
        }
    }
}

/// Why a frame was not turned into a [`ClientMessage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not a JSON object, or no string `command`. Reply: `malformed_message`.
    Malformed { reason: String },
    /// A command that needs `streamId` has none. Reply: `noStreamNameSpecified`.
    MissingStreamId { command: String },
    /// `streamId` breaks the id rules. Reply: `invalidStreamName` with the given id.
    InvalidStreamId { command: String, stream_id: String },
    /// A required field other than `streamId` is missing or of the wrong type.
    /// Reply: `malformed_message` naming the field.
    BadField {
        command: String,
        stream_id: String,
        field: &'static str,
    },
}

/// Parses one text frame.
pub fn parse(text: &str) -> Result<ClientMessage, ParseError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ParseError::Malformed {
        reason: format!("not valid JSON: {e}"),
    })?;
    let Value::Object(obj) = value else {
        return Err(ParseError::Malformed {
            reason: "a frame must be one JSON object".into(),
        });
    };
    let Some(command) = obj.get("command").and_then(Value::as_str) else {
        return Err(ParseError::Malformed {
            reason: "the object has no string field \"command\"".into(),
        });
    };
    let command = command.to_owned();
    let msg = match command.as_str() {
        "ping" => ClientMessage::Ping,
        "getIceServerConfig" => ClientMessage::GetIceServerConfig,
        "publish" => ClientMessage::Publish(publish(&obj, &command)?),
        "play" => ClientMessage::Play(play(&obj, &command)?),
        "takeConfiguration" => take_configuration(&obj, &command)?,
        "takeCandidate" => ClientMessage::TakeCandidate(TakeCandidate {
            stream_id: required_id(&obj, &command)?,
            label: opt_u32(&obj, "label"),
            mid: opt_str(&obj, "id"),
            candidate: opt_str(&obj, "candidate"),
        }),
        "stop" => ClientMessage::Stop {
            stream_id: required_id(&obj, &command)?,
        },
        "getStreamInfo" => ClientMessage::GetStreamInfo {
            stream_id: required_id(&obj, &command)?,
        },
        "join" => ClientMessage::Join {
            stream_id: required_id(&obj, &command)?,
            play_only: obj.get("mode").and_then(Value::as_str) == Some("play"),
        },
        "leave" => ClientMessage::Leave {
            stream_id: required_id(&obj, &command)?,
        },
        "peerMessageCommand" => ClientMessage::PeerMessage {
            stream_id: required_id(&obj, &command)?,
            raw: Value::Object(obj.clone()),
        },
        "joinRoom" => ClientMessage::JoinRoom(JoinRoom {
            room: optional_id(&obj, "room", &command)?,
            stream_id: optional_id(&obj, "streamId", &command)?,
            mode: opt_str(&obj, "mode"),
            stream_name: opt_str(&obj, "streamName"),
            role: opt_str(&obj, "role"),
            meta_data: opt_str(&obj, "metadata").or_else(|| opt_str(&obj, "metaData")),
        }),
        "leaveFromRoom" => ClientMessage::LeaveFromRoom {
            room: optional_id(&obj, "room", &command)?,
            stream_id: optional_id(&obj, "streamId", &command)?,
        },
        "getRoomInfo" => ClientMessage::GetRoomInfo {
            room: optional_id(&obj, "room", &command)?,
            stream_id: optional_id(&obj, "streamId", &command)?,
        },
        "getTrackList" => ClientMessage::GetTrackList {
            stream_id: required_id(&obj, &command)?,
        },
        "enableTrack" => ClientMessage::EnableTrack {
            stream_id: required_id(&obj, &command)?,
            track_id: opt_str(&obj, "trackId").unwrap_or_default(),
            enabled: bool_or(&obj, "enabled", true),
        },
        "toggleAudio" | "toggleVideo" => ClientMessage::Toggle {
            stream_id: required_id(&obj, &command)?,
            track_id: opt_str(&obj, "trackId").unwrap_or_default(),
            video: command == "toggleVideo",
            enabled: bool_or(&obj, "enabled", true),
        },
        "getBroadcastObject" => ClientMessage::GetBroadcastObject {
            stream_id: required_id(&obj, &command)?,
        },
        "getSubtracks" => ClientMessage::GetSubtracks {
            stream_id: required_id(&obj, &command)?,
            role: opt_str(&obj, "role"),
            offset: opt_u32(&obj, "offset").unwrap_or(0),
            size: opt_u32(&obj, "size").unwrap_or(50).min(500),
        },
        "getSubtracksCount" => ClientMessage::GetSubtracksCount {
            stream_id: required_id(&obj, &command)?,
            role: opt_str(&obj, "role"),
            status: opt_str(&obj, "status"),
        },
        "getSubscriberCount" => ClientMessage::GetSubscriberCount {
            stream_id: required_id(&obj, &command)?,
        },
        "forceStreamQuality" => ClientMessage::ForceStreamQuality {
            stream_id: required_id(&obj, &command)?,
            height: opt_u32(&obj, "streamHeight").unwrap_or(0),
        },
        "updateStreamMetaData" => ClientMessage::UpdateStreamMetaData {
            stream_id: required_id(&obj, &command)?,
            meta_data: opt_str(&obj, "metaData"),
        },
        _ => ClientMessage::Unknown { command },
    };
    Ok(msg)
}

fn required_id(obj: &Object, command: &str) -> Result<String, ParseError> {
    let Some(id) = opt_str(obj, "streamId") else {
        return Err(ParseError::MissingStreamId {
            command: command.to_owned(),
        });
    };
    if !stream_id::is_valid(&id) {
        return Err(ParseError::InvalidStreamId {
            command: command.to_owned(),
            stream_id: id,
        });
    }
    Ok(id)
}

/// An id field that may be absent, but must follow the id rules when given.
fn optional_id(obj: &Object, key: &str, command: &str) -> Result<Option<String>, ParseError> {
    match opt_str(obj, key) {
        Some(id) if !stream_id::is_valid(&id) => Err(ParseError::InvalidStreamId {
            command: command.to_owned(),
            stream_id: id,
        }),
        other => Ok(other),
    }
}

fn publish(obj: &Object, command: &str) -> Result<Publish, ParseError> {
    Ok(Publish {
        stream_id: required_id(obj, command)?,
        token: opt_str(obj, "token"),
        subscriber_id: opt_str(obj, "subscriberId"),
        subscriber_code: opt_str(obj, "subscriberCode"),
        stream_name: opt_str(obj, "streamName"),
        main_track: opt_str(obj, "mainTrack"),
        video: bool_or(obj, "video", true),
        audio: bool_or(obj, "audio", true),
        meta_data: opt_str(obj, "metaData"),
        role: opt_str(obj, "role"),
        publish_type: None,
    })
}

fn play(obj: &Object, command: &str) -> Result<Play, ParseError> {
    let track_list = obj
        .get("trackList")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(Play {
        stream_id: required_id(obj, command)?,
        token: opt_str(obj, "token"),
        room: opt_str(obj, "room"),
        track_list,
        subscriber_id: opt_str(obj, "subscriberId"),
        subscriber_code: opt_str(obj, "subscriberCode"),
        viewer_info: opt_str(obj, "viewerInfo"),
        role: opt_str(obj, "role"),
        user_publish_id: opt_str(obj, "userPublishId"),
        disable_tracks_by_default: bool_or(obj, "disableTracksByDefault", false),
        offer: None,
        all_layers: false,
    })
}

fn take_configuration(obj: &Object, command: &str) -> Result<ClientMessage, ParseError> {
    let stream_id = required_id(obj, command)?;
    let bad = |field| ParseError::BadField {
        command: command.to_owned(),
        stream_id: stream_id.clone(),
        field,
    };
    let kind = match obj.get("type").and_then(Value::as_str) {
        Some("offer") => SdpKind::Offer,
        Some("answer") => SdpKind::Answer,
        _ => return Err(bad("type")),
    };
    let sdp = opt_str(obj, "sdp").ok_or_else(|| bad("sdp"))?;
    Ok(ClientMessage::TakeConfiguration {
        stream_id,
        kind,
        sdp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> ClientMessage {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    #[test]
    fn ping_and_ice_config_need_no_stream_id() {
        assert_eq!(ok(r#"{"command":"ping"}"#), ClientMessage::Ping);
        assert_eq!(
            ok(r#"{"command":"getIceServerConfig"}"#),
            ClientMessage::GetIceServerConfig
        );
    }

    #[test]
    fn publish_as_the_sdk_sends_it() {
        let msg = ok(
            r#"{"command":"publish","streamId":"s1","subscriberId":"","subscriberCode":"",
            "streamName":"","mainTrack":"","video":true,"audio":false,"metaData":"","role":""}"#,
        );
        let ClientMessage::Publish(p) = msg else {
            panic!("{msg:?}")
        };
        assert_eq!(p.stream_id, "s1");
        assert_eq!(p.token, None);
        assert_eq!(p.subscriber_id, None);
        assert!(p.video);
        assert!(!p.audio);
    }

    #[test]
    fn publish_flags_default_to_true() {
        let ClientMessage::Publish(p) = ok(r#"{"command":"publish","streamId":"s1","token":null}"#)
        else {
            panic!()
        };
        assert!(p.video && p.audio);
    }

    #[test]
    fn play_both_forms() {
        let ClientMessage::Play(p) = ok(
            r#"{"command":"play","streamId":"s1","token":"t","room":"",
            "trackList":["a","!b",""],"subscriberId":"","viewerInfo":"","role":"","userPublishId":""}"#,
        ) else {
            panic!()
        };
        assert_eq!(p.token.as_deref(), Some("t"));
        assert_eq!(p.track_list, vec!["a", "!b"]);
        assert!(!p.disable_tracks_by_default);
        let ClientMessage::Play(p) = ok(r#"{"command":"play","streamId":"s1","subscriberName":"",
            "disableTracksByDefault":true}"#)
        else {
            panic!()
        };
        assert!(p.disable_tracks_by_default);
    }

    #[test]
    fn take_configuration_needs_type_and_sdp() {
        assert_eq!(
            ok(r#"{"command":"takeConfiguration","streamId":"s","type":"offer","sdp":"v=0"}"#),
            ClientMessage::TakeConfiguration {
                stream_id: "s".into(),
                kind: SdpKind::Offer,
                sdp: "v=0".into()
            }
        );
        assert!(matches!(
            parse(
                r#"{"command":"takeConfiguration","streamId":"s","type":"pranswer","sdp":"v=0"}"#
            ),
            Err(ParseError::BadField { field: "type", .. })
        ));
        assert!(matches!(
            parse(r#"{"command":"takeConfiguration","streamId":"s","type":"answer"}"#),
            Err(ParseError::BadField { field: "sdp", .. })
        ));
    }

    #[test]
    fn take_candidate_tolerates_nulls_and_empty() {
        let msg = ok(
            r#"{"command":"takeCandidate","streamId":"s","label":null,"id":null,"candidate":""}"#,
        );
        assert_eq!(
            msg,
            ClientMessage::TakeCandidate(TakeCandidate {
                stream_id: "s".into(),
                label: None,
                mid: None,
                candidate: None
            })
        );
        let ClientMessage::TakeCandidate(c) = ok(
            r#"{"command":"takeCandidate","streamId":"s","label":1,"id":"1","candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}"#,
        ) else {
            panic!()
        };
        assert_eq!(c.label, Some(1));
        assert_eq!(c.mid.as_deref(), Some("1"));
    }

    #[test]
    fn stream_id_missing_empty_or_null() {
        for text in [
            r#"{"command":"publish"}"#,
            r#"{"command":"publish","streamId":""}"#,
            r#"{"command":"play","streamId":null}"#,
            r#"{"command":"stop"}"#,
            r#"{"command":"getStreamInfo","streamId":""}"#,
        ] {
            assert!(
                matches!(parse(text), Err(ParseError::MissingStreamId { .. })),
                "{text}"
            );
        }
    }

    #[test]
    fn stream_id_with_bad_characters() {
        assert_eq!(
            parse(r#"{"command":"play","streamId":"a b"}"#),
            Err(ParseError::InvalidStreamId {
                command: "play".into(),
                stream_id: "a b".into()
            })
        );
    }

    #[test]
    fn malformed_frames() {
        for text in [
            "",
            "{",
            "[1,2]",
            "\"ping\"",
            r#"{"cmd":"ping"}"#,
            r#"{"command":5}"#,
        ] {
            assert!(
                matches!(parse(text), Err(ParseError::Malformed { .. })),
                "{text}"
            );
        }
    }

    #[test]
    fn room_commands_need_no_stream_id() {
        assert_eq!(
            ok(r#"{"command":"joinRoom","room":"r1","mainTrack":"r1","metadata":"m"}"#),
            ClientMessage::JoinRoom(JoinRoom {
                room: Some("r1".into()),
                meta_data: Some("m".into()),
                ..Default::default()
            })
        );
        assert_eq!(
            ok(r#"{"command":"joinRoom"}"#),
            ClientMessage::JoinRoom(JoinRoom::default())
        );
        assert_eq!(
            ok(r#"{"command":"leaveFromRoom","room":"r1"}"#),
            ClientMessage::LeaveFromRoom {
                room: Some("r1".into()),
                stream_id: None
            }
        );
        assert!(matches!(
            parse(r#"{"command":"joinRoom","room":"bad room"}"#),
            Err(ParseError::InvalidStreamId { .. })
        ));
    }

    #[test]
    fn p2p_commands() {
        assert_eq!(
            ok(r#"{"command":"join","streamId":"r","multiPeer":false,"mode":"play"}"#),
            ClientMessage::Join {
                stream_id: "r".into(),
                play_only: true
            }
        );
        let ClientMessage::PeerMessage { raw, .. } = ok(
            r#"{"command":"peerMessageCommand","streamId":"r","definition":"hi","data":{"x":[1]}}"#,
        ) else {
            panic!()
        };
        assert_eq!(raw["data"]["x"][0], 1);
    }

    #[test]
    fn track_commands() {
        assert_eq!(
            ok(r#"{"command":"toggleVideo","streamId":"s","trackId":"t","enabled":false}"#),
            ClientMessage::Toggle {
                stream_id: "s".into(),
                track_id: "t".into(),
                video: true,
                enabled: false
            }
        );
        assert!(matches!(
            ok(r#"{"command":"getSubtracks","streamId":"r","offset":"5","size":100000}"#),
            ClientMessage::GetSubtracks {
                offset: 5,
                size: 500,
                ..
            }
        ));
    }

    #[test]
    fn unknown_commands_are_not_errors() {
        assert_eq!(
            ok(r#"{"command":"registerPushNotificationToken"}"#),
            ClientMessage::Unknown {
                command: "registerPushNotificationToken".into()
            }
        );
    }
}
