//! What this node holds, counted per application for metrics: live streams
//! by how their media comes in, connected players by how they play, rooms and
//! signaling sessions. Counts only, never ids (no label per stream).

use std::collections::BTreeMap;

use crate::media_api::PeerRole;
use crate::Core;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppCensus {
    pub app: String,
    /// Live streams by `publishType` (`WebRTC`, `WHIP`).
    pub publishers: BTreeMap<String, u64>,
    /// Connected players by kind (`WebRTC`, `WHEP`).
    pub players: BTreeMap<String, u64>,
    pub rooms: u64,
    /// Signaling sessions: WebSockets, and headless ones (WHIP/WHEP).
    pub websockets: u64,
    pub headless: u64,
}

impl Core {
    pub fn census(&self) -> Vec<AppCensus> {
        let mut out: BTreeMap<String, AppCensus> = BTreeMap::new();
        for (key, s) in &self.state.streams {
            if s.live {
                *entry(&mut out, &key.app)
                    .publishers
                    .entry(s.meta.publish_type.clone())
                    .or_default() += 1;
            }
        }
        for key in self.state.rooms.keys() {
            entry(&mut out, &key.app).rooms += 1;
        }
        for p in self.state.peers.values() {
            if p.role != PeerRole::Player || !p.connected {
                continue;
            }
            let headless = self
                .state
                .sessions
                .get(&p.session)
                .is_some_and(|s| s.headless);
            let kind = if headless { "WHEP" } else { "WebRTC" };
            *entry(&mut out, &p.stream.app)
                .players
                .entry(kind.to_owned())
                .or_default() += 1;
        }
        for s in self.state.sessions.values() {
            let c = entry(&mut out, &s.app);
            if s.headless {
                c.headless += 1;
            } else {
                c.websockets += 1;
            }
        }
        out.into_values().collect()
    }
}

impl Core {
    /// Ids players here watch that no stream of this node publishes: rooms
    /// with players, and ids players wait for (a cluster relays a room's
    /// participants from other nodes for them).
    pub fn watched(&self) -> Vec<crate::ids::StreamKey> {
        let rooms = self
            .state
            .rooms
            .iter()
            .filter(|(_, r)| !r.players.is_empty())
            .map(|(k, _)| k);
        let waited = self
            .state
            .waiting
            .iter()
            .filter(|(_, w)| !w.is_empty())
            .map(|(k, _)| k);
        let mut out: Vec<_> = rooms.chain(waited).cloned().collect();
        out.sort();
        out.dedup();
        out
    }
}

fn entry<'a>(out: &'a mut BTreeMap<String, AppCensus>, app: &str) -> &'a mut AppCensus {
    out.entry(app.to_owned()).or_insert_with(|| AppCensus {
        app: app.to_owned(),
        ..AppCensus::default()
    })
}
