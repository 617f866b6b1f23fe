//! The hub task: owns the session logic and the SFU, the media socket and the
//! timer, and carries side effects between them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_core::{AppSettings, Core, Output, SessionId};
use tern_media::{Sfu, SfuOutput};
use tern_signal::{ClientMessage, NotificationDef, ParseError, ServerMessage};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

use crate::udp_batch;

/// Largest datagram read; WebRTC keeps packets under the MTU, so more is garbage.
const RECV_BUF: usize = 2048;
/// Datagrams handled per wake-up before pumping outputs, to batch work.
const RECV_BATCH: usize = 64;

/// What WebSocket tasks tell the hub.
pub enum HubMsg {
    Open {
        app: String,
        settings: AppSettings,
        outbound: mpsc::Sender<Outbound>,
        reply: oneshot::Sender<SessionId>,
    },
    Frame {
        session: SessionId,
        parsed: Result<ClientMessage, ParseError>,
    },
    Closed {
        session: SessionId,
    },
    /// An operator action from REST.
    Admin(crate::admin::AdminRequest),
}

/// What the hub tells a WebSocket task.
#[derive(Debug)]
pub enum Outbound {
    Text(String),
    /// Close the socket with this reason.
    Close(String),
}

struct Hub {
    core: Core,
    sfu: Sfu,
    udp: UdpSocket,
    sessions: HashMap<SessionId, mpsc::Sender<Outbound>>,
}

pub async fn run(
    mut rx: mpsc::Receiver<HubMsg>,
    udp: UdpSocket,
    sfu: Sfu,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
    mut core: Core,
) {
    core.seed(random_seed());
    let mut hub = Hub {
        core,
        sfu,
        udp,
        sessions: HashMap::new(),
    };
    let mut buf = vec![0u8; RECV_BUF];
    // Set when shutdown starts: sessions were told `server_will_stop` and get
    // until then to leave.
    let mut drain_until: Option<Instant> = None;
    loop {
        let idle = Instant::now() + Duration::from_secs(1);
        let wake = [hub.sfu.poll_timeout(), hub.core.poll_timeout(), drain_until]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(idle)
            .min(idle);
        if drain_until.is_some_and(|d| d <= Instant::now())
            || (drain_until.is_some() && hub.sessions.is_empty())
        {
            break;
        }
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(msg) => hub.handle(msg),
                None => break,
            },
            res = hub.udp.recv_from(&mut buf) => {
                if let Ok((n, src)) = res {
                    hub.sfu.handle_datagram(Instant::now(), src, &buf[..n]);
                    for _ in 1..RECV_BATCH {
                        match hub.udp.try_recv_from(&mut buf) {
                            Ok((n, src)) => hub.sfu.handle_datagram(Instant::now(), src, &buf[..n]),
                            Err(_) => break,
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {
                let now = Instant::now();
                hub.sfu.handle_timeout(now);
                hub.core.handle_timeout(now);
            }
            _ = shutdown.wait_for(|stop| *stop), if drain_until.is_none() => {
                tracing::info!(sessions = hub.sessions.len(), "telling every session the server will stop");
                let note = ServerMessage::bare_notification(NotificationDef::ServerWillStop).to_text();
                let ids: Vec<SessionId> = hub.sessions.keys().copied().collect();
                for id in ids {
                    hub.send(id, Outbound::Text(note.clone()));
                }
                drain_until = Some(Instant::now() + drain);
            }
        }
        hub.pump();
    }
    for (_, tx) in hub.sessions.drain() {
        let _ = tx.try_send(Outbound::Close("server is stopping".into()));
    }
}

impl Hub {
    fn handle(&mut self, msg: HubMsg) {
        let now = Instant::now();
        match msg {
            HubMsg::Open {
                app,
                settings,
                outbound,
                reply,
            } => {
                let id = self.core.open_session(now, &app, settings);
                self.sessions.insert(id, outbound);
                tracing::debug!(session = %id, app, "session opened");
                if reply.send(id).is_err() {
                    self.close(id);
                }
            }
            HubMsg::Frame { session, parsed } => match parsed {
                Ok(m) => self.core.handle_message(now, session, m),
                Err(e) => self.core.handle_parse_error(now, session, e),
            },
            HubMsg::Closed { session } => self.close(session),
            HubMsg::Admin(req) => crate::admin::handle(&mut self.core, now, req),
        }
    }

    fn close(&mut self, session: SessionId) {
        self.sessions.remove(&session);
        self.core.close_session(Instant::now(), session);
        tracing::debug!(%session, "session closed");
    }

    /// Carries outputs between the core, the SFU, the socket and the sessions
    /// until nothing is left to do.
    fn pump(&mut self) {
        let mut outgoing = Vec::new();
        loop {
            let mut idle = true;
            while let Some(out) = self.sfu.poll_output() {
                idle = false;
                match out {
                    SfuOutput::Transmit(t) => outgoing.push(t),
                    SfuOutput::Event(e) => self.core.handle_media_event(Instant::now(), e),
                }
            }
            while let Some(out) = self.core.poll_output() {
                idle = false;
                match out {
                    Output::Send { to, msg } => self.send(to, Outbound::Text(msg.to_text())),
                    Output::Media(cmd) => self.sfu.handle_command(Instant::now(), cmd),
                    Output::CloseSession { session, reason } => {
                        self.send(session, Outbound::Close(reason));
                        self.close(session);
                    }
                }
            }
            if idle {
                break;
            }
        }
        // One system call for everything this turn produced. A full send
        // buffer drops datagrams, as the network would; RTP recovers through
        // NACK and keyframes.
        let batch: Vec<(SocketAddr, &[u8])> = outgoing
            .iter()
            .map(|t| (t.destination, &t.contents[..]))
            .collect();
        let dropped = udp_batch::send_all(&self.udp, &batch);
        if dropped > 0 {
            tracing::debug!(dropped, "media socket dropped datagrams");
        }
    }

    fn send(&mut self, to: SessionId, msg: Outbound) {
        let Some(tx) = self.sessions.get(&to) else {
            return;
        };
        if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(msg) {
            // A client that does not read its socket must not make the server
            // buffer without end: drop it.
            tracing::info!(session = %to, "slow consumer disconnected");
            let _ = tx.try_send(Outbound::Close("too many unread messages".into()));
            self.close(to);
        }
    }
}

/// A seed for server-made ids, from the OS-randomized hasher keys and the clock.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}
