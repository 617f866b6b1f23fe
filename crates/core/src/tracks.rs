//! Track selection of players: `getTrackList`, `enableTrack`,
//! `toggleAudio`/`toggleVideo` (PROTOCOL.md §2.15–2.17).

use serde_json::json;
use tern_signal::ServerMessage;

use crate::ids::{PeerId, SessionId, StreamKey};
use crate::media_api::{MediaCommand, PeerRole};
use crate::Core;

impl Core {
    pub(crate) fn track_list(&mut self, session: SessionId, id: &str) {
        let Some(key) = self.state.key(session, id) else {
            return;
        };
        let tracks = self.live_participants(&key);
        let msg = ServerMessage::Other {
            command: "trackList",
            fields: vec![("streamId", json!(id)), ("trackList", json!(tracks))],
        };
        self.send(session, msg);
    }

    /// The publisher peer of `track` in the app of `key`.
    fn source_of(&self, key: &StreamKey, track: &str) -> Option<PeerId> {
        let k = StreamKey {
            app: key.app.clone(),
            id: track.to_owned(),
        };
        self.state.streams.get(&k).map(|s| s.publisher)
    }

    pub(crate) fn enable_track(
        &mut self,
        session: SessionId,
        id: &str,
        track: &str,
        enabled: bool,
    ) {
        let Some(peer) = self.state.session_peer(session, id, PeerRole::Player) else {
            return;
        };
        let Some(key) = self.state.key(session, id) else {
            return;
        };
        if let Some(view) = self
            .state
            .peers
            .get_mut(&peer)
            .and_then(|p| p.view.as_mut())
        {
            if enabled {
                view.disabled.remove(track);
                view.enabled.insert(track.to_owned());
            } else {
                view.disabled.insert(track.to_owned());
                view.enabled.remove(track);
            }
        }
        if let Some(source) = self.source_of(&key, track) {
            self.media(MediaCommand::SetForwarding {
                peer,
                source,
                audio: Some(enabled),
                video: Some(enabled),
            });
        }
    }

    /// `trackId` names the participant in a room, or is the stream itself.
    pub(crate) fn toggle(
        &mut self,
        session: SessionId,
        id: &str,
        track: &str,
        video: bool,
        enabled: bool,
    ) {
        let Some(peer) = self.state.session_peer(session, id, PeerRole::Player) else {
            return;
        };
        let Some(key) = self.state.key(session, id) else {
            return;
        };
        let track = if track.is_empty() { id } else { track };
        let Some(source) = self.source_of(&key, track) else {
            return;
        };
        let (audio, video) = if video {
            (None, Some(enabled))
        } else {
            (Some(enabled), None)
        };
        self.media(MediaCommand::SetForwarding {
            peer,
            source,
            audio,
            video,
        });
    }
}
