//! `forceStreamQuality` (PROTOCOL.md §2.14): a player pins a rendition by
//! height, or returns to automatic choice with 0.

use tern_signal::{ErrorDef, ServerMessage};

use crate::ids::SessionId;
use crate::Core;
use crate::{MediaCommand, PeerRole};

impl Core {
    pub(crate) fn force_quality(&mut self, session: SessionId, id: &str, height: u32) {
        let Some(key) = self.state.key(session, id) else {
            return;
        };
        let Some(stream) = self.state.streams.get(&key).filter(|s| s.live) else {
            let msg =
                ServerMessage::error(ErrorDef::NoStreamExist, Some(id)).with("error_code", "404");
            return self.send(session, msg);
        };
        // A single rendition leaves nothing to choose from.
        if height != 0 && stream.info.len() <= 1 {
            let msg = ServerMessage::error(ErrorDef::NoEncoderSettings, Some(id)).with(
                "information",
                format!("stream {id} has one rendition only (no simulcast layers): no {height}p to switch to"),
            );
            return self.send(session, msg);
        }
        let Some(peer) = self.state.session_peer(session, id, PeerRole::Player) else {
            let msg = ServerMessage::error(ErrorDef::NoStreamExist, Some(id))
                .with("error_code", "404")
                .with(
                    "information",
                    format!("this session does not play stream {id}"),
                );
            return self.send(session, msg);
        };
        // 0 returns to automatic choice; another height pins the tallest layer
        // not above it.
        let height = (height != 0).then_some(height);
        self.media(MediaCommand::PinLayer { peer, height });
    }
}
