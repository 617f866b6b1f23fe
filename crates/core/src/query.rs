//! Requests answered from state alone: `getIceServerConfig`, `getStreamInfo`.

use tern_signal::{ErrorDef, ServerMessage};

use crate::ids::SessionId;
use crate::Core;

impl Core {
    pub(crate) fn ice_server_config(&mut self, session: SessionId) {
        let ice = self.state.sessions[&session].settings.ice.clone();
        self.send(session, ServerMessage::IceServerConfig(ice));
    }

    pub(crate) fn stream_info(&mut self, session: SessionId, id: &str) {
        let live = self
            .state
            .key(session, id)
            .and_then(|k| self.state.streams.get(&k))
            .filter(|s| s.live);
        let msg = match live {
            Some(stream) => ServerMessage::StreamInformation {
                stream_id: id.to_owned(),
                infos: stream.info.clone(),
            },
            None => {
                ServerMessage::error(ErrorDef::NoStreamExist, Some(id)).with("error_code", "404")
            }
        };
        self.send(session, msg);
    }
}
