//! The hub task: owns the session logic and its timer, carries its messages to
//! the sessions and its media commands to the media workers, and their events
//! back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tern_core::{
    AppSettings, Core, MediaCommand, MediaEvent, Output, PeerId, SessionId, StreamKey,
};
use tern_signal::{ClientMessage, NotificationDef, ParseError, ServerMessage};
use tokio::sync::{mpsc, oneshot, watch};

use crate::media_worker::{worker_for, FrameFeed, FrameSinkBox, Worker, WorkerMsg};
use crate::record::Recordings;

/// Media events handled per wakeup before the loop looks at the rest.
const EVENT_BATCH: usize = 256;

/// What WebSocket tasks tell the hub.
pub enum HubMsg {
    Open {
        app: String,
        settings: AppSettings,
        outbound: mpsc::Sender<Outbound>,
        reply: oneshot::Sender<SessionId>,
        /// No socket behind it (WHIP, WHEP): closed when its one peer ends.
        headless: bool,
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
    /// What the node holds, for `/metrics`.
    Census(oneshot::Sender<Vec<tern_core::AppCensus>>),
    /// Rooms and ids that players here watch, for the cluster's room relays.
    Watched(oneshot::Sender<Vec<tern_core::StreamKey>>),
    /// Every live stream with its players' figures, for the console.
    Live(oneshot::Sender<Vec<tern_core::LiveStream>>),
    /// A publisher of `session` that gives frames (RTMP, SRT) opens its
    /// media after `start`: the reply is where its frames go, or `None` when
    /// the session has no publisher of `stream_id` waiting.
    FrameSource {
        session: SessionId,
        stream_id: String,
        audio: bool,
        video: bool,
        reply: oneshot::Sender<Option<FrameFeed>>,
    },
    /// REST `recording/{true|false}`: start or stop recording a stream now.
    /// Answers whether that changed anything (a live stream to record, a
    /// recording to stop).
    Record {
        app: String,
        id: String,
        container: tern_record::Container,
        on: bool,
        reply: oneshot::Sender<bool>,
    },
}

/// What the hub tells a WebSocket task.
#[derive(Debug)]
pub enum Outbound {
    Text(String),
    /// Close the socket with this reason.
    Close(String),
    /// Ping the socket and close it when it stops answering.
    Watch,
}

struct Hub {
    core: Core,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    workers: Vec<Worker>,
    /// Which worker each live peer is on.
    placement: HashMap<PeerId, usize>,
    /// Peers on each worker.
    load: Vec<usize>,
    spread_after: usize,
    sessions: HashMap<SessionId, mpsc::Sender<Outbound>>,
    recordings: Recordings,
    /// The stream of each publisher peer, for its recording.
    publishers: HashMap<PeerId, StreamKey>,
    /// Frame sources whose media is being opened, by session.
    feeds: HashMap<SessionId, oneshot::Sender<Option<FrameFeed>>>,
}

// One task owns all session state; these are what it is handed at start.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    mut rx: mpsc::Receiver<HubMsg>,
    workers: Vec<Worker>,
    spread_after: usize,
    mut media_events: mpsc::UnboundedReceiver<MediaEvent>,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
    mut core: Core,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    recordings: Recordings,
) {
    core.seed(random_seed());
    let mut hub = Hub {
        core,
        load: vec![0; workers.len()],
        workers,
        spread_after,
        placement: HashMap::new(),
        sessions: HashMap::new(),
        metrics,
        recordings,
        publishers: HashMap::new(),
        feeds: HashMap::new(),
    };
    // Set when shutdown starts: sessions were told `server_will_stop` and get
    // until then to leave.
    let mut drain_until: Option<Instant> = None;
    loop {
        let idle = Instant::now() + Duration::from_secs(1);
        let wake = [hub.core.poll_timeout(), drain_until]
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
            Some(event) = media_events.recv() => {
                hub.media_event(event);
                for _ in 1..EVENT_BATCH {
                    match media_events.try_recv() {
                        Ok(event) => hub.media_event(event),
                        Err(_) => break,
                    }
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {
                hub.core.handle_timeout(Instant::now());
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
                headless,
            } => {
                let id = if headless {
                    self.core.open_headless_session(now, &app, settings)
                } else {
                    self.core.open_session(now, &app, settings)
                };
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
            HubMsg::Census(reply) => {
                let _ = reply.send(self.core.census());
            }
            HubMsg::Live(reply) => {
                let _ = reply.send(self.core.live_streams());
            }
            HubMsg::Watched(reply) => {
                let _ = reply.send(self.core.watched());
            }
            HubMsg::FrameSource {
                session,
                stream_id,
                audio,
                video,
                reply,
            } => {
                self.feeds.insert(session, reply);
                if !self
                    .core
                    .open_frame_source(session, &stream_id, audio, video)
                {
                    if let Some(reply) = self.feeds.remove(&session) {
                        let _ = reply.send(None);
                    }
                }
            }
            HubMsg::Record {
                app,
                id,
                container,
                on,
                reply,
            } => {
                let changed = if on {
                    let peer = self
                        .publishers
                        .iter()
                        .find(|(_, k)| k.app == app && k.id == id)
                        .map(|(p, _)| *p);
                    peer.is_some_and(|p| self.record(p, container))
                } else {
                    self.recordings.stop(&app, &id, container)
                };
                let _ = reply.send(changed);
            }
        }
    }

    /// Starts recording publisher `peer`'s stream on its worker.
    fn record(&mut self, peer: PeerId, container: tern_record::Container) -> bool {
        let Some(key) = self.publishers.get(&peer) else {
            return false;
        };
        let sink = self.recordings.start(&key.app, &key.id, container);
        self.attach(peer, sink)
    }

    /// A publisher's stream ended on its worker: its recording and HLS
    /// threads finish on their own, and a republish may start new ones at
    /// once.
    fn publisher_gone(&mut self, peer: PeerId) {
        if let Some(key) = self.publishers.remove(&peer) {
            self.recordings.forget(&key.app, &key.id);
        }
    }

    /// Gives a frame sink of publisher `peer`'s stream to its worker.
    fn attach(&mut self, peer: PeerId, sink: Option<Box<dyn tern_media::FrameSink>>) -> bool {
        let (Some(sink), Some(&worker)) = (sink, self.placement.get(&peer)) else {
            return false;
        };
        let msg = WorkerMsg::FrameSink {
            source: peer,
            sink: FrameSinkBox(sink),
        };
        self.workers[worker].send(msg)
    }

    fn close(&mut self, session: SessionId) {
        self.sessions.remove(&session);
        self.core.close_session(Instant::now(), session);
        tracing::debug!(%session, "session closed");
    }

    /// Carries outputs between the core, the SFU, the socket and the sessions
    /// until nothing is left to do.
    fn pump(&mut self) {
        while let Some(out) = self.core.poll_output() {
            match out {
                Output::Send { to, msg } => {
                    if let tern_signal::ServerMessage::Error { definition, .. } = &msg {
                        let definition = definition.as_str();
                        let label = crate::metrics::DefinitionLabel { definition };
                        self.metrics.errors.get_or_create(&label).inc();
                    }
                    self.send(to, Outbound::Text(msg.to_text()))
                }
                Output::Media(cmd) => self.route(cmd),
                Output::CloseSession { session, reason } => {
                    self.send(session, Outbound::Close(reason));
                    self.close(session);
                }
                Output::WatchSocket { session } => self.send(session, Outbound::Watch),
            }
        }
    }

    fn media_event(&mut self, event: MediaEvent) {
        match &event {
            MediaEvent::Disconnected { peer, .. } => {
                // Its worker has dropped it already.
                self.unplace(*peer);
                self.publisher_gone(*peer);
            }
            MediaEvent::Connected { peer } => {
                if let Some(key) = self.publishers.get(peer).cloned() {
                    for container in self.recordings.wanted(&key.app, &key.id) {
                        self.record(*peer, container);
                    }
                    let hls = self.recordings.start_hls(&key.app, &key.id);
                    self.attach(*peer, hls);
                }
            }
            _ => {}
        }
        self.core.handle_media_event(Instant::now(), event);
    }

    /// Sends a command to the worker of its peer. A new publisher goes to the
    /// worker of its group; a new player to the worker of its sources, unless
    /// that one holds `spread_after` peers and another holds fewer: a stream
    /// player then goes to the least loaded worker, and the publisher's worker
    /// mirrors the stream to it first.
    fn route(&mut self, cmd: MediaCommand) {
        let peer = cmd.peer();
        let workers = self.workers.len();
        // (worker, the publisher to mirror there from its own worker)
        let (worker, mirror) = match &cmd {
            MediaCommand::OpenPublisher { stream, group, .. }
            | MediaCommand::OpenFrameSource { stream, group, .. } => {
                (worker_for(&stream.app, group, workers), None)
            }
            MediaCommand::OpenPlayer {
                stream, sources, ..
            } => {
                let home = sources
                    .iter()
                    .find_map(|s| self.placement.get(&s.peer).copied())
                    .unwrap_or_else(|| worker_for(&stream.app, &stream.id, workers));
                // Only a stream's own player: a room's changes sources later.
                match sources.as_slice() {
                    [only] if only.stream_id == stream.id => {
                        let to = self.spread_target(home);
                        (to, (to != home).then_some((only.peer, home)))
                    }
                    _ => (home, None),
                }
            }
            MediaCommand::SwitchSource { to, .. } => {
                let Some(&worker) = self.placement.get(&peer) else {
                    return;
                };
                let home = self.placement.get(to).copied().unwrap_or(worker);
                (worker, (home != worker).then_some((*to, home)))
            }
            _ => match self.placement.get(&peer) {
                Some(&w) => (w, None),
                None => return, // the peer has ended on its worker already
            },
        };
        match &cmd {
            MediaCommand::OpenPublisher { stream, .. }
            | MediaCommand::OpenFrameSource { stream, .. } => {
                self.place(peer, worker);
                self.publishers.insert(peer, stream.clone());
            }
            MediaCommand::OpenPlayer { .. } => self.place(peer, worker),
            MediaCommand::Close { .. } => {
                self.unplace(peer);
                self.publisher_gone(peer);
            }
            _ => {}
        }
        let (target, msg) = match mirror {
            Some((source, home)) => (
                home,
                WorkerMsg::Spread {
                    source,
                    to: worker,
                    then: cmd,
                },
            ),
            None => (worker, WorkerMsg::Command(cmd)),
        };
        let session = match &msg {
            WorkerMsg::Command(MediaCommand::OpenFrameSource { session, .. }) => Some(*session),
            _ => None,
        };
        if !self.workers[target].send(msg) {
            tracing::error!(worker = target, "media worker has stopped");
        }
        if let Some(reply) = session.and_then(|s| self.feeds.remove(&s)) {
            let _ = reply.send(Some(self.workers[target].feed(peer)));
        }
    }

    /// Where a new player of a stream on worker `home` goes.
    fn spread_target(&self, home: usize) -> usize {
        if self.load[home] < self.spread_after {
            return home;
        }
        let least = (0..self.load.len()).min_by_key(|&w| (self.load[w], w != home));
        match least {
            Some(w) if self.load[w] < self.load[home] => w,
            _ => home,
        }
    }

    fn place(&mut self, peer: PeerId, worker: usize) {
        if let Some(old) = self.placement.insert(peer, worker) {
            self.load[old] = self.load[old].saturating_sub(1);
        }
        self.load[worker] += 1;
    }

    fn unplace(&mut self, peer: PeerId) {
        if let Some(w) = self.placement.remove(&peer) {
            self.load[w] = self.load[w].saturating_sub(1);
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
