//! Sessions come and go with their WebSockets.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use crate::ids::SessionId;
use crate::media_api::PeerRole;
use crate::settings::AppSettings;
use crate::state::Session;
use crate::Core;

impl Core {
    /// A WebSocket of application `app` opened.
    pub fn open_session(&mut self, _now: Instant, app: &str, settings: AppSettings) -> SessionId {
        let id = self.state.new_session_id();
        self.state.sessions.insert(
            id,
            Session {
                app: app.to_owned(),
                settings,
                peers: HashMap::new(),
                waiting: BTreeSet::new(),
                p2p: BTreeSet::new(),
                joined_room: None,
                headless: false,
            },
        );
        id
    }

    /// A session with no socket behind it (WHIP, WHEP): it holds one peer, and
    /// is closed ([`crate::Output::CloseSession`]) when that peer ends.
    pub fn open_headless_session(
        &mut self,
        now: Instant,
        app: &str,
        settings: AppSettings,
    ) -> SessionId {
        let id = self.open_session(now, app, settings);
        if let Some(s) = self.state.sessions.get_mut(&id) {
            s.headless = true;
        }
        id
    }

    /// The WebSocket closed: end everything the session held. Nothing is sent to it.
    pub fn close_session(&mut self, now: Instant, session: SessionId) {
        let Some(s) = self.state.sessions.get(&session) else {
            return;
        };
        let peers: Vec<_> = s.peers.iter().map(|(k, p)| (k.1, *p)).collect();
        let waiting: Vec<_> = s.waiting.iter().cloned().collect();
        let p2p: Vec<_> = s.p2p.iter().cloned().collect();
        for (role, peer) in peers {
            match role {
                PeerRole::Publisher => self.orphan_publisher(now, peer, "socket closed"),
                PeerRole::Player => self.end_player(peer, false),
            }
        }
        for id in p2p {
            self.leave(session, &id, false);
        }
        for id in waiting {
            if let Some(key) = self.state.key(session, &id) {
                self.state.unwait(session, &key);
            }
        }
        self.state.sessions.remove(&session);
    }
}
