//! Messages the server itself writes to players' data channels
//! (`POST /{App}/rest/v2/broadcasts/{id}/data`, PROTOCOL.md §6.4).

use crate::ids::StreamKey;
use crate::media_api::MediaCommand;
use crate::Core;

impl Core {
    /// Sends `data` to every player of a live stream (or room); returns how many
    /// players it was sent to, or `None` when the stream is not live.
    pub fn send_data(&mut self, app: &str, id: &str, binary: bool, data: &[u8]) -> Option<usize> {
        let key = StreamKey {
            app: app.to_owned(),
            id: id.to_owned(),
        };
        let players: Vec<_> = match (self.state.streams.get(&key), self.state.rooms.get(&key)) {
            (Some(s), _) if s.live => s.players.iter().copied().collect(),
            (_, Some(r)) => r.players.iter().copied().collect(),
            _ => return None,
        };
        for peer in &players {
            self.media(MediaCommand::ChannelSend {
                peer: *peer,
                binary,
                data: data.to_vec(),
            });
        }
        Some(players.len())
    }
}
