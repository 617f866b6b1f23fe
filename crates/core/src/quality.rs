//! `forceStreamQuality` (PROTOCOL.md §2.14): a player pins a rendition by
//! height, or returns to automatic choice with 0.

use tern_signal::{ErrorDef, ServerMessage};

use crate::ids::SessionId;
use crate::Core;

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
        if height == 0 {
            return; // automatic: nothing is pinned
        }
        // A single rendition leaves nothing to choose from.
        if stream.info.len() <= 1 {
            let msg = ServerMessage::error(ErrorDef::NoEncoderSettings, Some(id)).with(
                "information",
                format!("stream {id} has one rendition only (no simulcast layers): no {height}p to switch to"),
            );
            self.send(session, msg);
        }
    }
}
