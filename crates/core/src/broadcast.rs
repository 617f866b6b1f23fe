//! Broadcast objects and counts built from live state: `getBroadcastObject`,
//! `getSubtracks`, `getSubtracksCount`, `getSubscriberCount`,
//! `updateStreamMetaData` (PROTOCOL.md §2.19–2.23). Clients parse the
//! broadcasts from JSON strings, as Ant Media sends them.

use serde_json::{json, Value};
use tern_signal::{NotificationDef, ServerMessage};

use crate::ids::{SessionId, StreamKey};
use crate::media_api::PeerRole;
use crate::registry::StreamEvent;
use crate::Core;

impl Core {
    /// The Ant Media `Broadcast` fields clients read, for a live stream or room.
    fn broadcast_json(&self, key: &StreamKey) -> Option<Value> {
        if let Some(s) = self.state.streams.get(key) {
            let viewers = s
                .players
                .iter()
                .filter(|p| self.state.peers.get(p).is_some_and(|p| p.connected))
                .count();
            return Some(json!({
                "streamId": key.id,
                "status": if s.live { "broadcasting" } else { "preparing" },
                "type": "liveStream",
                "publishType": s.meta.publish_type,
                "name": s.meta.name,
                "metaData": s.meta.meta_data,
                "role": s.meta.role,
                "mainTrackStreamId": s.meta.main_track,
                "subTrackStreamIds": [],
                "zombi": true,
                "virtual": false,
                "webRTCViewerCount": viewers,
            }));
        }
        let room = self.state.rooms.get(key)?;
        Some(json!({
            "streamId": key.id,
            "status": "broadcasting",
            "type": "liveStream",
            "publishType": "WebRTC",
            "name": key.id,
            "metaData": null,
            "role": "default",
            "mainTrackStreamId": null,
            "subTrackStreamIds": room.participants,
            "zombi": true,
            "virtual": true,
            "webRTCViewerCount": room.players.len(),
        }))
    }

    pub(crate) fn broadcast_object(&mut self, session: SessionId, id: &str) {
        let Some(key) = self.state.key(session, id) else {
            return;
        };
        let msg = match self.broadcast_json(&key) {
            Some(b) => ServerMessage::notification(NotificationDef::BroadcastObject, id)
                .with("broadcast", b.to_string()),
            None => ServerMessage::error(tern_signal::ErrorDef::NoStreamExist, Some(id))
                .with("error_code", "404"),
        };
        self.send(session, msg);
    }

    /// Participants of a room matching `role` and `status` (when given).
    fn subtracks(&self, room: &StreamKey, role: Option<&str>, status: Option<&str>) -> Vec<Value> {
        let Some(r) = self.state.rooms.get(room) else {
            return Vec::new();
        };
        r.participants
            .iter()
            .filter_map(|id| {
                self.broadcast_json(&StreamKey {
                    app: room.app.clone(),
                    id: id.clone(),
                })
            })
            .filter(|b| role.is_none_or(|r| b["role"] == r))
            .filter(|b| status.is_none_or(|s| b["status"] == s))
            .collect()
    }

    pub(crate) fn get_subtracks(
        &mut self,
        session: SessionId,
        id: &str,
        role: Option<&str>,
        offset: u32,
        size: u32,
    ) {
        let Some(key) = self.state.key(session, id) else {
            return;
        };
        let list: Vec<String> = self
            .subtracks(&key, role, None)
            .into_iter()
            .skip(offset as usize)
            .take(size as usize)
            .map(|b| b.to_string())
            .collect();
        let msg = ServerMessage::notification(NotificationDef::SubtrackList, id)
            .with("subtrackList", list);
        self.send(session, msg);
    }

    pub(crate) fn subtracks_count(
        &mut self,
        session: SessionId,
        id: &str,
        role: Option<&str>,
        status: Option<&str>,
    ) {
        let Some(key) = self.state.key(session, id) else {
            return;
        };
        let count = self.subtracks(&key, role, status).len();
        let msg =
            ServerMessage::notification(NotificationDef::SubtrackCount, id).with("count", count);
        self.send(session, msg);
    }

    /// Tern counts the stream's connected WebRTC players.
    pub(crate) fn subscriber_count(&mut self, session: SessionId, id: &str) {
        let Some(key) = self.state.key(session, id) else {
            return;
        };
        let count = self
            .broadcast_json(&key)
            .map_or(0, |b| b["webRTCViewerCount"].as_u64().unwrap_or(0));
        let msg =
            ServerMessage::notification(NotificationDef::SubscriberCount, id).with("count", count);
        self.send(session, msg);
    }

    /// Only the session that publishes a stream may change its metadata.
    pub(crate) fn update_meta_data(
        &mut self,
        session: SessionId,
        id: &str,
        meta_data: Option<String>,
    ) {
        if self
            .state
            .session_peer(session, id, PeerRole::Publisher)
            .is_none()
        {
            return;
        }
        let Some(key) = self.state.key(session, id) else {
            return;
        };
        if let Some(s) = self.state.streams.get_mut(&key) {
            s.meta.meta_data.clone_from(&meta_data);
        }
        self.registry
            .stream_event(&key.app, &key.id, StreamEvent::MetaData(meta_data));
    }
}
