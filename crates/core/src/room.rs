//! Conference rooms: a main track whose subtracks are the participants'
//! streams; room players get one audio and one video track per visible
//! participant and are renegotiated as participants come and go
//! (PROTOCOL.md §2.10–2.12, §4.5).

use std::time::Instant;

use serde_json::{json, Value};
use tern_signal::{ChannelEvent, ErrorDef, JoinRoom, NotificationDef, ServerMessage};

use crate::ids::{PeerId, SessionId, StreamKey};
use crate::media_api::{MediaCommand, PeerRole, Source};
use crate::state::RoomView;
use crate::Core;

impl Core {
    /// A publish with `mainTrack` (or after `joinRoom`) made `key` a participant.
    pub(crate) fn join_room_as_participant(&mut self, key: &StreamKey, room: &str) {
        let room_key = StreamKey {
            app: key.app.clone(),
            id: room.to_owned(),
        };
        let r = self.state.rooms.entry(room_key).or_default();
        if !r.participants.contains(&key.id) {
            r.participants.push(key.id.clone());
        }
    }

    /// Live participants of a room, in join order.
    pub(crate) fn live_participants(&self, room: &StreamKey) -> Vec<String> {
        let Some(r) = self.state.rooms.get(room) else {
            return Vec::new();
        };
        r.participants
            .iter()
            .filter(|id| {
                let k = StreamKey {
                    app: room.app.clone(),
                    id: (*id).clone(),
                };
                self.state.streams.get(&k).is_some_and(|s| s.live)
            })
            .cloned()
            .collect()
    }

    /// The sources a room player with `view` receives (PROTOCOL.md §4.5.4).
    pub(crate) fn room_sources(&self, room: &StreamKey, view: &RoomView) -> Vec<Source> {
        let includes: Vec<&String> = view
            .track_list
            .iter()
            .filter(|t| !t.starts_with('!'))
            .collect();
        let settings = self
            .state
            .sessions
            .values()
            .find(|s| s.app == room.app)
            .map(|s| s.settings.clone())
            .unwrap_or_default();
        self.live_participants(room)
            .into_iter()
            .filter(|id| view.exclude.as_ref() != Some(id))
            .filter(|id| {
                !view
                    .track_list
                    .iter()
                    .any(|t| t.strip_prefix('!') == Some(id))
            })
            .filter(|id| includes.is_empty() || includes.contains(&id))
            .filter_map(|id| {
                let stream = self.state.streams.get(&StreamKey {
                    app: room.app.clone(),
                    id: id.clone(),
                })?;
                settings
                    .sees(&view.role, &stream.meta.role)
                    .then_some(Source {
                        peer: stream.publisher,
                        stream_id: id,
                    })
            })
            .collect()
    }

    /// A participant went live (`joined`) or ended: renegotiate every room
    /// player, tell their sessions, and end the room when it is empty.
    pub(crate) fn participant_changed(
        &mut self,
        now: Instant,
        key: &StreamKey,
        room: &str,
        joined: bool,
    ) {
        let room_key = StreamKey {
            app: key.app.clone(),
            id: room.to_owned(),
        };
        if !joined {
            if let Some(r) = self.state.rooms.get_mut(&room_key) {
                r.participants.retain(|p| *p != key.id);
            }
        }
        let Some(r) = self.state.rooms.get(&room_key) else {
            return;
        };
        if r.participants.is_empty() {
            // A room exists while it has participants (Ant Media's zombi main track).
            let players: Vec<PeerId> = r.players.iter().copied().collect();
            self.state.rooms.remove(&room_key);
            tracing::info!(room = %room_key, "room ended");
            for p in players {
                self.end_player(p, true);
            }
            return;
        }
        let players: Vec<PeerId> = r.players.iter().copied().collect();
        if joined {
            self.wake_waiting(now, &room_key);
        }
        let definition = if joined {
            NotificationDef::SubtrackAdded
        } else {
            NotificationDef::SubtrackRemoved
        };
        for peer in players {
            self.refresh_room_player(peer, &room_key);
            let Some(p) = self.state.peers.get(&peer) else {
                continue;
            };
            let session = p.session;
            self.send(
                session,
                ServerMessage::notification(definition, room).with("trackId", key.id.clone()),
            );
            let event =
                json!({"streamId": room, "eventType": ChannelEvent::TrackListUpdated.as_str()});
            self.media(MediaCommand::ChannelSend {
                peer,
                binary: false,
                data: event.to_string().into_bytes(),
            });
        }
    }

    /// Recomputes a room player's sources and asks the media layer to follow.
    fn refresh_room_player(&mut self, peer: PeerId, room: &StreamKey) {
        let Some(mut view) = self.state.peers.get(&peer).and_then(|p| p.view.clone()) else {
            return;
        };
        let sources = self.room_sources(room, &view);
        let mut newly_disabled = Vec::new();
        if view.disabled_by_default {
            for s in &sources {
                if !view.disabled.contains(&s.stream_id) && !view.enabled.contains(&s.stream_id) {
                    view.disabled.insert(s.stream_id.clone());
                    newly_disabled.push(s.peer);
                }
            }
        }
        if let Some(p) = self.state.peers.get_mut(&peer) {
            p.view = Some(view);
        }
        self.media(MediaCommand::UpdateSources { peer, sources });
        for source in newly_disabled {
            self.media(MediaCommand::SetForwarding {
                peer,
                source,
                audio: Some(false),
                video: Some(false),
            });
        }
    }

    pub(crate) fn join_room(&mut self, session: SessionId, req: JoinRoom) {
        let Some(room) = req.room else {
            return self.send(
                session,
                ServerMessage::error(ErrorDef::NoRoomSpecified, None),
            );
        };
        let Some(room_key) = self.state.key(session, &room) else {
            return;
        };
        if let Err(r) = self.registry.check_room(&room_key.app, &room) {
            tracing::info!(%session, room = %room_key, reason = r.reason, "joinRoom refused");
            let msg = ServerMessage::error(r.definition, Some(&room)).with("room", room.clone());
            return self.send(session, msg);
        }
        let id = req
            .stream_id
            .unwrap_or_else(|| self.state.random_id(&format!("{room}_")));
        if let Some(s) = self.state.sessions.get_mut(&session) {
            s.joined_room = Some((room.clone(), id.clone()));
        }
        tracing::info!(%session, room = %room_key, stream = id, "joinRoom");
        let (streams, list) = self.room_listing(&room_key, Some(&id));
        let msg = ServerMessage::notification(NotificationDef::JoinedTheRoom, &id)
            .with("streams", streams)
            .with("streamList", list)
            .with("ATTR_ROOM_NAME", room.clone())
            .with("room", room)
            .with("maxTrackCount", -1);
        self.send(session, msg);
    }

    /// Ids and `{streamId, streamName, metaData}` of a room's live
    /// participants, without `except`.
    fn room_listing(&self, room: &StreamKey, except: Option<&str>) -> (Value, Value) {
        let ids: Vec<String> = self
            .live_participants(room)
            .into_iter()
            .filter(|id| Some(id.as_str()) != except)
            .collect();
        let list: Vec<Value> = ids
            .iter()
            .map(|id| {
                let meta = self
                    .state
                    .streams
                    .get(&StreamKey {
                        app: room.app.clone(),
                        id: id.clone(),
                    })
                    .map(|s| s.meta.clone())
                    .unwrap_or_default();
                json!({"streamId": id, "streamName": meta.name, "metaData": meta.meta_data})
            })
            .collect();
        (json!(ids), Value::Array(list))
    }

    pub(crate) fn leave_room(&mut self, now: Instant, session: SessionId, room: Option<String>) {
        let Some(room) = room else {
            return self.send(
                session,
                ServerMessage::error(ErrorDef::NoRoomSpecified, None),
            );
        };
        let Some(s) = self.state.sessions.get_mut(&session) else {
            return;
        };
        if s.joined_room.as_ref().is_some_and(|(r, _)| *r == room) {
            s.joined_room = None;
        }
        // Everything this session publishes into the room or plays of it.
        let mut ends: Vec<(PeerId, PeerRole)> = Vec::new();
        for ((_, role), peer) in &s.peers {
            let Some(p) = self.state.peers.get(peer) else {
                continue;
            };
            let in_room = p.stream.id == room
                || self
                    .state
                    .streams
                    .get(&p.stream)
                    .is_some_and(|st| st.meta.main_track.as_deref() == Some(room.as_str()));
            if in_room {
                ends.push((*peer, *role));
            }
        }
        for (peer, role) in ends {
            match role {
                PeerRole::Publisher => self.end_publisher(now, peer, true),
                PeerRole::Player => self.end_player(peer, true),
            }
        }
        tracing::info!(%session, room, "leaveFromRoom");
        let msg = ServerMessage::bare_notification(NotificationDef::LeavedFromRoom)
            .with("ATTR_ROOM_NAME", room.clone())
            .with("room", room);
        self.send(session, msg);
    }

    pub(crate) fn room_info(
        &mut self,
        session: SessionId,
        room: Option<String>,
        asker: Option<String>,
    ) {
        let Some(room) = room else {
            return self.send(
                session,
                ServerMessage::error(ErrorDef::NoRoomSpecified, None),
            );
        };
        let Some(room_key) = self.state.key(session, &room) else {
            return;
        };
        let (streams, list) = self.room_listing(&room_key, asker.as_deref());
        if streams.as_array().is_none_or(|a| a.is_empty()) {
            let msg =
                ServerMessage::error(ErrorDef::NoActiveStreamsInRoom, None).with("room", room);
            return self.send(session, msg);
        }
        let msg = ServerMessage::Other {
            command: "roomInformation",
            fields: vec![
                ("room", json!(room)),
                ("ATTR_ROOM_NAME", json!(room)),
                ("streams", streams),
                ("streamList", list),
            ],
        };
        self.send(session, msg);
    }
}
