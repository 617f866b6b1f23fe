//! Data-channel messages across a stream: a publisher's to its players, a
//! player's to the publisher and (per `dataChannelPlayerDistribution`) the
//! other players.

use tern_core::{PeerId, PeerRole, SessionId};

use crate::worker::Sfu;

impl Sfu {
    /// A publisher's channel message to its players here.
    pub(crate) fn publisher_data(&mut self, source: PeerId, binary: bool, data: &[u8]) {
        let players = self
            .streams
            .get(&source)
            .map(|s| s.players.clone())
            .unwrap_or_default();
        for pid in players {
            self.channel_send(pid, binary, data);
        }
    }

    /// A player's channel message (from `session`) to the publishers of
    /// `sources` and, when `to_others`, their other players here.
    pub(crate) fn player_data(
        &mut self,
        session: SessionId,
        sources: &[PeerId],
        to_others: bool,
        binary: bool,
        data: &[u8],
    ) {
        let mut targets = sources.to_vec();
        if to_others {
            for s in sources {
                if let Some(stream) = self.streams.get(s) {
                    targets.extend(stream.players.iter().copied());
                }
            }
        }
        // One copy per session, on its player channel when it has one:
        // a room participant both publishes and plays the room.
        let mut chosen: Vec<(SessionId, PeerId, bool)> = Vec::new();
        for pid in targets {
            let Some(p) = self.peers.get(&pid) else {
                continue;
            };
            if p.session == session {
                continue;
            }
            let is_player = p.role == PeerRole::Player;
            match chosen.iter_mut().find(|(s, _, _)| *s == p.session) {
                Some(slot) if is_player && !slot.2 => *slot = (p.session, pid, true),
                Some(_) => {}
                None => chosen.push((p.session, pid, is_player)),
            }
        }
        for (_, pid, _) in chosen {
            self.channel_send(pid, binary, data);
        }
    }

    /// Writes one message on a peer's data channel, if it has an open one.
    pub(crate) fn channel_send(&mut self, id: PeerId, binary: bool, data: &[u8]) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let Some(mut ch) = peer.channel.and_then(|c| peer.rtc.channel(c)) else {
            return;
        };
        if let Err(e) = ch.write(binary, data) {
            tracing::debug!(peer = %id, "channel write failed: {e}");
        }
        self.dirty.push(id);
    }
}
