//! Cluster mode (`--cluster-redis`): nodes share one Redis for their records
//! (`tern_store::RedisStore`), their membership and which node publishes each
//! stream (its origin). No node decides for another: claims carry the
//! claimant's boot epoch, and a claim is only as good as its node's heartbeat
//! key, which Redis expires within [`membership::ALIVE_TTL`] of the node dying.

mod keys;
pub mod membership;
mod origin;
mod relay;
mod rooms;
mod token;
mod viewers;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use redis::{Client, Connection};
use tern_store::Broadcast;

use crate::apps::Apps;
use crate::db::SharedStore;
use crate::hub::HubMsg;
pub use membership::NodeInfo;
pub use origin::{Claimed, Holder};

/// How long a connect, a read or a write to Redis may take.
const IO_TIMEOUT: Duration = Duration::from_millis(500);
/// A claim made for a publish that never started is given back after this.
const PENDING_CLAIM: Duration = Duration::from_secs(10);

/// What `--cluster-redis` and its companions say.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// `redis://` or `rediss://` URL.
    pub redis_url: String,
    /// This node's name among the others [default: host name and HTTP port].
    pub node_id: Option<String>,
    /// Where other nodes and clients reach this node's HTTP/WebSocket port
    /// [default: from the HTTP address].
    pub node_url: Option<String>,
    /// At or over this CPU use (percent of one core) new publishes and plays
    /// are refused with `highResourceUsage`, and discovery sends clients
    /// elsewhere (0: take nothing new).
    pub max_cpu_percent: Option<f64>,
    /// Likewise over this egress, bits per second.
    pub max_egress_bps: Option<u64>,
    /// How long at most an edge whose origin vanished keeps the stream's
    /// players waiting for the publisher to come back on some node (the
    /// app's restore window, when shorter).
    pub failover: Duration,
}

/// The default of [`ClusterConfig::failover`]: a dead node's viewers hear
/// `play_finished` within 5 s of its death. Its claim lapses within 2.5 s,
/// which leaves its publisher about 2 s to come back elsewhere.
pub const FAILOVER_WINDOW: Duration = Duration::from_millis(4_500);

/// A stream this node publishes.
struct Owned {
    /// Preparing or broadcasting; a claim that never got here is given back.
    started: bool,
    claimed_at: Instant,
    /// The record as it was when the stream went live, to write back if a
    /// Redis restart lost it.
    record: Option<Broadcast>,
    /// The conference room it is a participant of (`mainTrack`).
    room: Option<String>,
    /// Its publisher dropped and its claim is marked so: another node may
    /// take the stream over.
    orphaned: bool,
    /// Its players here (other nodes' relays included), as last counted.
    viewers: usize,
}

/// Connections for calls (claims, lookups, counts) at most.
const CALL_CONNECTIONS: usize = 4;

#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    me: Holder,
    http_url: String,
    store: SharedStore,
    /// For claims and lookups from the hub, plays and REST (each short): a
    /// few connections, opened as needed, so concurrent joins do not queue
    /// behind one round trip each.
    calls: Vec<Mutex<Option<Connection>>>,
    next_call: AtomicUsize,
    /// For the heartbeat, so a slow beat never delays a publish.
    beats: Mutex<Option<Connection>>,
    owned: Mutex<HashMap<(String, String), Owned>>,
    started_at: i64,
    /// Shared by every node (kept in Redis): the `token` of a relay's play.
    secret: String,
    /// Relays pulling streams from their origins onto this node.
    relays: Mutex<HashMap<(String, String), relay::Handle>>,
    /// The hub and apps, set once the node has them.
    attached: OnceLock<Attached>,
    limits: (Option<f64>, Option<u64>),
    failover: Duration,
    /// Over a limit at the last beat.
    overloaded: AtomicBool,
    /// Stopping: no new sessions, and other nodes are told.
    draining: AtomicBool,
}

/// What relays need of the running node.
struct Attached {
    hub: tokio::sync::mpsc::Sender<HubMsg>,
    apps: Apps,
    /// Each media worker's inbox: a relay's own socket is announced to all.
    workers: Vec<tokio::sync::mpsc::UnboundedSender<crate::media_worker::WorkerMsg>>,
    media: Vec<std::net::SocketAddr>,
}

/// Why a cluster call failed.
#[derive(Debug)]
pub enum ClusterError {
    Redis(redis::RedisError),
}

impl std::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClusterError::Redis(e) => write!(f, "cluster Redis unavailable: {e}"),
        }
    }
}

impl std::error::Error for ClusterError {}

impl From<redis::RedisError> for ClusterError {
    fn from(e: redis::RedisError) -> Self {
        ClusterError::Redis(e)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Cluster {
    /// Connects, takes a new epoch and announces this node as alive.
    pub fn join(
        config: &ClusterConfig,
        http_url: String,
        store: SharedStore,
    ) -> anyhow::Result<Cluster> {
        let client =
            Client::open(config.redis_url.as_str()).context("invalid --cluster-redis URL")?;
        let node = match &config.node_id {
            Some(n) => n.clone(),
            None => default_node_id(&http_url),
        };
        if node.is_empty()
            || !node
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c))
        {
            anyhow::bail!(
                "cluster node id {node:?} may only use letters, digits, '.', '_', '-', ':'"
            );
        }
        let mut c =
            connect(&client).context("cannot reach the cluster's Redis (--cluster-redis)")?;
        let epoch: u64 = redis::cmd("INCR").arg(keys::EPOCH).query(&mut c)?;
        let secret = {
            use rand::distr::{Alphanumeric, SampleString};
            let mine = Alphanumeric.sample_string(&mut rand::rng(), 40);
            let _: Option<String> = redis::cmd("SET")
                .arg(keys::SECRET)
                .arg(mine)
                .arg("NX")
                .query(&mut c)?;
            let secret: String = redis::cmd("GET").arg(keys::SECRET).query(&mut c)?;
            secret
        };
        let cluster = Cluster {
            inner: Arc::new(Inner {
                client,
                me: Holder { node, epoch },
                http_url,
                store,
                calls: (0..CALL_CONNECTIONS).map(|_| Mutex::new(None)).collect(),
                next_call: AtomicUsize::new(0),
                beats: Mutex::new(Some(c)),
                owned: Mutex::new(HashMap::new()),
                started_at: crate::db::now_ms(),
                secret,
                relays: Mutex::new(HashMap::new()),
                attached: OnceLock::new(),
                limits: (config.max_cpu_percent, config.max_egress_bps),
                failover: config.failover,
                overloaded: AtomicBool::new(false),
                draining: AtomicBool::new(false),
            }),
        };
        cluster
            .beat(&membership::Load::default())
            .context("cannot announce this node in Redis")?;
        tracing::info!(node = %cluster.inner.me.node, epoch, "joined the cluster");
        Ok(cluster)
    }

    /// Relays need the hub (for their edge publisher) and the apps' settings.
    /// `media`: the UDP addresses the node's media workers announce.
    pub fn attach(
        &self,
        hub: tokio::sync::mpsc::Sender<HubMsg>,
        apps: Apps,
        workers: Vec<tokio::sync::mpsc::UnboundedSender<crate::media_worker::WorkerMsg>>,
        media: Vec<std::net::SocketAddr>,
    ) {
        let _ = self.inner.attached.set(Attached {
            hub,
            apps,
            workers,
            media,
        });
    }

    /// The `token` a relay plays `app/stream` with on the origin.
    fn play_token(&self, app: &str, stream: &str) -> String {
        token::make(&self.inner.secret, app, stream, unix_seconds())
    }

    /// Whether a play's token is a relay's for this stream: such plays skip
    /// the app's rules (the viewers behind the relay were checked on their
    /// node).
    pub fn is_relay_play(&self, app: &str, stream: &str, token: Option<&str>) -> bool {
        token.is_some_and(|t| token::check(&self.inner.secret, app, stream, t, unix_seconds()))
    }

    /// Whether a publish is the relay's own edge publisher of the stream.
    pub fn is_relay_publish(&self, app: &str, stream: &str, token: Option<&str>) -> bool {
        let relays = lock(&self.inner.relays);
        let Some(h) = relays.get(&(app.to_owned(), stream.to_owned())) else {
            return false;
        };
        token.is_some_and(|t| constant_time_eq(t.as_bytes(), h.token.as_bytes()))
    }

    /// Whether this node publishes the stream: only then are its record and
    /// hooks this node's to write (a relayed stream's are its origin's).
    /// A publish of `stream` here, its claim just taken from an orphaned
    /// origin: the relay that brings the stream here from that origin lets
    /// go (true when one runs), so that the publish restores the stream.
    pub fn take_over_relay(&self, app: &str, stream: &str) -> bool {
        let key = (app.to_owned(), stream.to_owned());
        if !lock(&self.inner.owned).contains_key(&key) {
            return false;
        }
        match lock(&self.inner.relays).get(&key) {
            Some(h) => {
                h.yielded.notify_one();
                true
            }
            None => false,
        }
    }

    pub fn owns(&self, app: &str, stream: &str) -> bool {
        lock(&self.inner.owned).contains_key(&(app.to_owned(), stream.to_owned()))
    }

    /// The relayed stream's viewers on this node (no viewer for a while ends it).
    pub fn relay_viewers(&self, app: &str, stream: &str, n: usize) {
        if let Some(h) = lock(&self.inner.relays).get(&(app.to_owned(), stream.to_owned())) {
            h.viewers.send_replace(n);
        }
    }

    /// Before a play of `stream` reaches the session logic: when another node
    /// publishes it, make sure a relay brings it here, and wait (a bounded
    /// time) until it does. Otherwise nothing: the play goes on as on a
    /// single node.
    pub async fn prepare_play(&self, app: &str, stream: &str) {
        let existing = lock(&self.inner.relays)
            .get(&(app.to_owned(), stream.to_owned()))
            .map(|h| h.ready.clone());
        let mut ready = match existing {
            Some(r) => r,
            None => {
                let c = self.clone();
                let (a, s) = (app.to_owned(), stream.to_owned());
                let origin = match tokio::task::spawn_blocking(move || c.origin_of(&a, &s)).await {
                    Ok(Ok(Some(origin))) if origin.id != self.inner.me.node => origin,
                    Ok(Err(e)) => {
                        tracing::warn!(app, stream, "cannot look up the stream's origin: {e}");
                        return;
                    }
                    Ok(Ok(None)) => return self.prepare_room_play(app, stream).await,
                    _ => return,
                };
                self.start_relay(app, stream, origin, None)
            }
        };
        let waited =
            tokio::time::timeout(relay::READY_WITHIN, ready.wait_for(Option::is_some)).await;
        if waited.is_err() {
            tracing::warn!(app, stream, "relay not ready in time; the play goes on");
        }
    }

    /// A play of an id no node publishes: when it is a room with members on
    /// other nodes, relay them here now (the beat keeps them while the room
    /// has players here), and wait (a bounded time) for the first.
    async fn prepare_room_play(&self, app: &str, room: &str) {
        let c = self.clone();
        let (a, r) = (app.to_owned(), room.to_owned());
        let remote = tokio::task::spawn_blocking(move || c.remote_room_members(&a, &r)).await;
        let remote = match remote {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => {
                tracing::warn!(app, room, "cannot look up the room's members: {e}");
                return;
            }
            Err(_) => return,
        };
        let mut waits = Vec::new();
        for (stream, origin) in remote {
            waits.push(self.start_relay(app, &stream, origin, Some(room.to_owned())));
        }
        if waits.is_empty() {
            return;
        }
        let first = futures_util::future::select_all(
            waits
                .iter_mut()
                .map(|r| Box::pin(r.wait_for(Option::is_some))),
        );
        if tokio::time::timeout(relay::READY_WITHIN, first)
            .await
            .is_err()
        {
            tracing::warn!(
                app,
                room,
                "no relay of the room ready in time; the play goes on"
            );
        }
    }

    /// Starts a relay of the stream from `origin`, unless one runs already.
    /// A room's participant joins `room` on this node.
    fn start_relay(
        &self,
        app: &str,
        stream: &str,
        origin: NodeInfo,
        room: Option<String>,
    ) -> relay::Ready {
        use rand::distr::{Alphanumeric, SampleString};
        let key = (app.to_owned(), stream.to_owned());
        let mut relays = lock(&self.inner.relays);
        if let Some(h) = relays.get(&key) {
            return h.ready.clone();
        }
        let token = Alphanumeric.sample_string(&mut rand::rng(), 32);
        let (ready_tx, ready) = tokio::sync::watch::channel(None);
        let (viewers, viewers_rx) = tokio::sync::watch::channel(0);
        let wanted = Arc::new(AtomicBool::new(room.is_some()));
        let yielded = Arc::new(tokio::sync::Notify::new());
        relays.insert(
            key,
            relay::Handle {
                token: token.clone(),
                ready: ready.clone(),
                viewers,
                room: room.clone(),
                wanted: wanted.clone(),
                yielded: yielded.clone(),
            },
        );
        tracing::info!(app, stream, origin = %origin.id, room, "relaying the stream from its origin");
        let job = relay::Job {
            cluster: self.clone(),
            app: app.to_owned(),
            stream: stream.to_owned(),
            origin,
            token,
            room,
            wanted,
            yielded,
        };
        tokio::spawn(relay::run(job, ready_tx, viewers_rx));
        ready
    }

    /// The relay ended. `keep_count`: this node now publishes the stream
    /// itself, and its viewer count stays its own.
    fn forget_relay(&self, app: &str, stream: &str, token: &str, keep_count: bool) {
        let key = (app.to_owned(), stream.to_owned());
        let mut relays = lock(&self.inner.relays);
        if relays.get(&key).is_some_and(|h| h.token == token) {
            relays.remove(&key);
            drop(relays);
            if !keep_count {
                self.forget_viewers(app, stream);
            }
        }
    }

    /// The address relays bind their UDP sockets to: this node's URL's host
    /// when it is an address, else the one the default route leaves from.
    fn media_ip(&self) -> std::net::IpAddr {
        let host = self
            .inner
            .http_url
            .split_once("://")
            .map_or(self.inner.http_url.as_str(), |(_, r)| r);
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()
            .or_else(outbound_ip)
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]))
    }

    pub fn node_id(&self) -> &str {
        &self.inner.me.node
    }

    pub fn http_url(&self) -> &str {
        &self.inner.http_url
    }

    /// Runs `f` on one of the connections for calls: a free one if any.
    fn call<T>(
        &self,
        f: impl FnMut(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, ClusterError> {
        let slots = &self.inner.calls;
        let start = self.inner.next_call.fetch_add(1, Ordering::Relaxed) % slots.len();
        for i in 0..slots.len() {
            match slots[(start + i) % slots.len()].try_lock() {
                Ok(mut g) => return self.on(&mut g, f),
                // Values are replaced whole: a poisoned slot still holds a
                // usable connection or none.
                Err(std::sync::TryLockError::Poisoned(p)) => {
                    return self.on(&mut p.into_inner(), f)
                }
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        self.with(&slots[start], f)
    }

    /// Runs `f` on the connection of `slot`.
    fn with<T>(
        &self,
        slot: &Mutex<Option<Connection>>,
        f: impl FnMut(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, ClusterError> {
        self.on(&mut lock(slot), f)
    }

    /// Runs `f` on a connection; a kept one found closed (Redis restarted)
    /// is replaced and `f` runs once more, as the command never left.
    fn on<T>(
        &self,
        slot: &mut Option<Connection>,
        mut f: impl FnMut(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, ClusterError> {
        let kept = slot.is_some();
        let mut once = |slot: &mut Option<Connection>| {
            if slot.is_none() {
                *slot = Some(connect(&self.inner.client)?);
            }
            let result = f(slot.as_mut().expect("connected above"));
            if let Err(e) = &result {
                if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                    *slot = None;
                }
            }
            result
        };
        match once(slot) {
            Err(e) if kept && e.is_connection_dropped() => Ok(once(slot)?),
            other => Ok(other?),
        }
    }

    /// Claims `stream` of `app` for this node. [`Claimed::Taken`] means another
    /// live node publishes it.
    pub fn claim(&self, app: &str, stream: &str) -> Result<Claimed, ClusterError> {
        let field = keys::origin_field(app, stream);
        let claimed = self.call(|c| origin::claim(c, &field, &self.inner.me))?;
        if !matches!(claimed, Claimed::Taken(_)) {
            lock(&self.inner.owned)
                .entry((app.to_owned(), stream.to_owned()))
                .or_insert(Owned {
                    started: false,
                    claimed_at: Instant::now(),
                    record: None,
                    room: None,
                    orphaned: false,
                    viewers: 0,
                })
                // Its publisher is back here: the claim is plain again.
                .orphaned = false;
        }
        Ok(claimed)
    }

    /// The stream's publish started (its claim is no longer pending).
    /// `room`: the conference room it joined (its publish's `mainTrack`).
    pub fn started(
        &self,
        app: &str,
        stream: &str,
        record: Option<Broadcast>,
        room: Option<String>,
    ) {
        let mut owned = lock(&self.inner.owned);
        let Some(o) = owned.get_mut(&(app.to_owned(), stream.to_owned())) else {
            return;
        };
        o.started = true;
        if record.is_some() {
            o.record = record;
        }
        let room = room.filter(|r| !r.is_empty());
        if room.is_some() && o.room != room {
            o.room.clone_from(&room);
            drop(owned);
            if let Some(room) = room {
                // Other nodes relay it into their part of the room.
                if let Err(e) = self.call(|c| rooms::join(c, app, &room, stream)) {
                    tracing::warn!(
                        app,
                        stream,
                        room,
                        "cannot announce the room participant: {e}"
                    );
                }
            }
        }
    }

    /// This node's players of a stream are now `n`: answers the cluster's
    /// total (`None` when Redis cannot say).
    pub fn count_viewers(&self, app: &str, stream: &str, n: usize) -> Option<u64> {
        if let Some(o) = lock(&self.inner.owned).get_mut(&(app.to_owned(), stream.to_owned())) {
            o.viewers = n;
        }
        let node = &self.inner.me.node;
        match self.call(|c| viewers::count(c, app, stream, node, n)) {
            Ok(total) => Some(total),
            Err(e) => {
                tracing::warn!(app, stream, "cannot count the cluster's viewers: {e}");
                None
            }
        }
    }

    /// This node stopped relaying the stream: its viewers no longer count.
    fn forget_viewers(&self, app: &str, stream: &str) {
        let node = &self.inner.me.node;
        if let Err(e) = self.call(|c| viewers::forget(c, app, stream, node)) {
            tracing::warn!(app, stream, "cannot drop this node's viewer count: {e}");
        }
    }

    /// The stream's publisher dropped: its claim says so, and a publish of it
    /// on another node takes the stream over (see [`Cluster::beat`]).
    pub fn orphaned(&self, app: &str, stream: &str) {
        let key = (app.to_owned(), stream.to_owned());
        match lock(&self.inner.owned).get_mut(&key) {
            Some(o) => o.orphaned = true,
            None => return,
        }
        let field = keys::origin_field(app, stream);
        match self.call(|c| origin::mark_orphaned(c, &field, &self.inner.me)) {
            Ok(true) => tracing::info!(
                app,
                stream,
                "publisher dropped: another node may take the stream over"
            ),
            Ok(false) => tracing::warn!(app, stream, "the stream's claim is no longer this node's"),
            Err(e) => tracing::warn!(app, stream, "cannot mark the claim orphaned: {e}"),
        }
    }

    /// Streams whose publisher dropped here and came back on another node:
    /// this node no longer publishes them, and relays each from its new
    /// origin into its waiting stream, whose players (and the edges relaying
    /// it from here) then go on as after a republish here.
    fn take_overs(&self) -> Result<(), ClusterError> {
        let orphans: Vec<((String, String), Option<String>, usize)> = lock(&self.inner.owned)
            .iter()
            .filter(|(_, o)| o.orphaned)
            .map(|(k, o)| (k.clone(), o.room.clone(), o.viewers))
            .collect();
        for ((app, stream), room, viewers) in orphans {
            let field = keys::origin_field(&app, &stream);
            let holder = self.with(&self.inner.beats, |c| origin::holder(c, &field))?;
            if holder.as_ref().is_none_or(|h| *h == self.inner.me) {
                continue;
            }
            let Some(origin) = self.origin_of(&app, &stream)? else {
                continue;
            };
            let key = (app.clone(), stream.clone());
            if lock(&self.inner.owned).remove(&key).is_none() {
                continue;
            }
            tracing::info!(app, stream, origin = %origin.id, "the stream's publisher came back on another node; relaying it from there");
            // The beat runs on the runtime's blocking pool.
            let Ok(rt) = tokio::runtime::Handle::try_current() else {
                continue;
            };
            let c = self.clone();
            rt.spawn(async move {
                c.start_relay(&app, &stream, origin, room);
                // Its players are here already: the relay is not idle.
                c.relay_viewers(&app, &stream, viewers);
            });
        }
        Ok(())
    }

    /// The stream ended here: its claim goes.
    pub fn finished(&self, app: &str, stream: &str) {
        let Some(gone) = lock(&self.inner.owned).remove(&(app.to_owned(), stream.to_owned()))
        else {
            return;
        };
        let room = gone.room;
        if let Err(e) = self.call(|c| viewers::clear(c, app, stream)) {
            tracing::warn!(app, stream, "cannot clear the stream's viewer counts: {e}");
        }
        if let Some(room) = room {
            if let Err(e) = self.call(|c| rooms::leave(c, app, &room, stream)) {
                tracing::warn!(
                    app,
                    stream,
                    room,
                    "cannot take the participant out of the room: {e}"
                );
            }
        }
        let field = keys::origin_field(app, stream);
        if let Err(e) = self.call(|c| origin::release(c, &field, &self.inner.me)) {
            // The reaper cannot take it while we live; the next claim of this
            // node (or our next beat) settles it.
            tracing::warn!(app, stream, "cannot release the origin claim: {e}");
        }
    }

    /// Gives back a claim made by a publish that was then refused.
    pub fn unclaim(&self, app: &str, stream: &str) {
        let key = (app.to_owned(), stream.to_owned());
        let pending = lock(&self.inner.owned)
            .get(&key)
            .is_some_and(|o| !o.started);
        if pending {
            self.finished(app, stream);
        }
    }

    /// The node that publishes a stream, when a live one does.
    pub fn origin_of(&self, app: &str, stream: &str) -> Result<Option<NodeInfo>, ClusterError> {
        let field = keys::origin_field(app, stream);
        let Some(holder) = self.call(|c| origin::holder(c, &field))? else {
            return Ok(None);
        };
        let nodes = self.nodes()?;
        Ok(nodes
            .into_iter()
            .find(|n| n.id == holder.node && n.epoch == holder.epoch))
    }

    /// Every live node with its last announced load.
    pub fn nodes(&self) -> Result<Vec<NodeInfo>, ClusterError> {
        self.call(membership::list)
    }

    /// One heartbeat: announce, re-announce our streams if Redis forgot us,
    /// finish the streams of nodes that died, give back stale pending claims.
    pub fn beat(&self, load: &membership::Load) -> Result<(), ClusterError> {
        let info = self.info(load);
        let forgotten = self.with(&self.inner.beats, |c| {
            membership::announce(c, &self.inner.me, &info)
        })?;
        if forgotten {
            self.reannounce();
        }
        let reaped = self.with(&self.inner.beats, |c| membership::reap(c, &self.inner.me))?;
        if let Some(a) = self.inner.attached.get() {
            // A settings change made through another node's REST.
            a.apps.refresh(&self.inner.store);
        }
        if let Err(e) = self.sync_rooms(&load.watched) {
            tracing::warn!("cannot relay the rooms' remote participants: {e}");
        }
        if let Err(e) = self.take_overs() {
            tracing::warn!("cannot look for streams taken over by other nodes: {e}");
        }
        let now = crate::db::now_ms();
        for (app, stream, holder) in reaped {
            tracing::warn!(app, stream, node = %holder.node, "origin node is gone: stream finished");
            self.finish_record(&app, &stream, now);
            // Its own count goes; edges keep theirs while their players wait
            // for the publisher to come back.
            if let Err(e) = self.with(&self.inner.beats, |c| {
                viewers::forget(c, &app, &stream, &holder.node)
            }) {
                tracing::warn!(
                    app,
                    stream,
                    "cannot drop the dead origin's viewer count: {e}"
                );
            }
        }
        let stale: Vec<(String, String)> = lock(&self.inner.owned)
            .iter()
            .filter(|(_, o)| !o.started && o.claimed_at.elapsed() > PENDING_CLAIM)
            .map(|(k, _)| k.clone())
            .collect();
        for (app, stream) in stale {
            self.finished(&app, &stream);
        }
        Ok(())
    }

    /// Why this node takes no new publish or play now, if it does not.
    pub fn refusing(&self) -> Option<&'static str> {
        if self.inner.draining.load(Ordering::Relaxed) {
            Some("this node is stopping; connect to another node of the cluster")
        } else if self.inner.overloaded.load(Ordering::Relaxed) {
            Some(
                "this node is over its CPU or egress limit; connect to another node of the cluster",
            )
        } else {
            None
        }
    }

    /// Stops taking new sessions and tells the other nodes at once.
    pub fn drain(&self) {
        self.inner.draining.store(true, Ordering::Relaxed);
        let load = membership::Load {
            draining: true,
            ..membership::Load::default()
        };
        if let Err(e) = self.beat(&load) {
            tracing::warn!("cannot announce draining: {e}");
        }
    }

    fn state(&self, load: &membership::Load) -> &'static str {
        let (cpu, egress) = self.inner.limits;
        // At the limit counts as over: a limit of 0 takes nothing new.
        let over = cpu.is_some_and(|m| load.cpu_percent >= m)
            || egress.is_some_and(|m| load.egress_bits_per_second >= m);
        self.inner.overloaded.store(over, Ordering::Relaxed);
        if load.draining || self.inner.draining.load(Ordering::Relaxed) {
            "draining"
        } else if over {
            "overloaded"
        } else {
            "serving"
        }
    }

    fn info(&self, load: &membership::Load) -> NodeInfo {
        NodeInfo {
            id: self.inner.me.node.clone(),
            epoch: self.inner.me.epoch,
            http_url: self.inner.http_url.clone(),
            state: self.state(load).to_owned(),
            cpu_percent: load.cpu_percent,
            egress_bits_per_second: load.egress_bits_per_second,
            publishers: load.publishers,
            players: load.players,
            origins: lock(&self.inner.owned).len() as u64,
            media_addresses: self
                .inner
                .attached
                .get()
                .map(|a| a.media.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            relay_ip: self.media_ip().to_string(),
            started_at: self.inner.started_at,
            updated_at: crate::db::now_ms(),
        }
    }

    /// Redis lost our keys (a restart without persistence, or we were cut off
    /// longer than the heartbeat lasts): claim our streams again and put their
    /// records back as live, so nothing is lost and nothing is doubled.
    fn reannounce(&self) {
        let owned: Vec<((String, String), Option<Broadcast>)> = lock(&self.inner.owned)
            .iter()
            .filter(|(_, o)| o.started)
            .map(|(k, o)| (k.clone(), o.record.clone()))
            .collect();
        if owned.is_empty() {
            return;
        }
        tracing::warn!(
            streams = owned.len(),
            "Redis had forgotten this node: announcing its streams again"
        );
        for ((app, stream), record) in owned {
            let field = keys::origin_field(&app, &stream);
            match self.with(&self.inner.beats, |c| {
                origin::claim(c, &field, &self.inner.me)
            }) {
                Ok(Claimed::Taken(other)) => {
                    tracing::warn!(app, stream, node = %other.node, "another node publishes this stream now");
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(app, stream, "cannot claim again: {e}");
                    continue;
                }
            }
            let mut store = crate::db::lock(&self.inner.store);
            let now = crate::db::now_ms();
            let live = store.modify_broadcast(&app, &stream, &mut |b| {
                b.status = tern_store::status::BROADCASTING.into();
                b.update_time = now;
            });
            if let (Ok(None), Some(mut record)) = (live, record) {
                record.status = tern_store::status::BROADCASTING.into();
                record.update_time = now;
                if let Err(e) = store.insert_broadcast(&app, &record) {
                    tracing::warn!(app, stream, "cannot write the stream's record again: {e}");
                }
            }
        }
    }

    /// Marks a stream's record finished (a zombi's goes), as its end would.
    fn finish_record(&self, app: &str, stream: &str, now: i64) {
        let result =
            crate::registry::finished(&mut **crate::db::lock(&self.inner.store), app, stream, now);
        if let Err(e) = result {
            tracing::error!(app, stream, "cannot finish the stream's record: {e}");
        }
    }

    /// Leaves the cluster: our streams end, our claims and keys go at once
    /// (the others need not wait for the heartbeat to expire).
    pub fn leave(&self) {
        let owned: Vec<(String, String)> = lock(&self.inner.owned).keys().cloned().collect();
        let now = crate::db::now_ms();
        for (app, stream) in owned {
            self.finish_record(&app, &stream, now);
            self.finished(&app, &stream);
        }
        if let Err(e) = self.with(&self.inner.beats, |c| membership::depart(c, &self.inner.me)) {
            tracing::warn!("cannot remove this node from Redis (it expires on its own): {e}");
        }
    }
}

fn unix_seconds() -> u64 {
    u64::try_from(crate::db::now_ms() / 1000).unwrap_or(0)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn connect(client: &Client) -> redis::RedisResult<Connection> {
    let c = client.get_connection_with_timeout(IO_TIMEOUT)?;
    c.set_read_timeout(Some(IO_TIMEOUT))?;
    c.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(c)
}

/// `host-port`: unique on one machine, readable in logs and REST.
fn default_node_id(http_url: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let port = http_url
        .rsplit(':')
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
        .collect();
    format!("{}-{port}", if host.is_empty() { "tern" } else { &host })
}

/// The URL this node is reached at: `--cluster-node-url`, else the HTTP
/// address, with a routable address in place of an unspecified one.
pub fn node_url(
    config: &ClusterConfig,
    http: std::net::SocketAddr,
    tls: bool,
    public: &[crate::config::PublicAddr],
) -> String {
    if let Some(url) = &config.node_url {
        return url.trim_end_matches('/').to_owned();
    }
    let scheme = if tls { "https" } else { "http" };
    let mut ip = http.ip();
    if ip.is_unspecified() {
        ip = public
            .first()
            .map(|p| p.ip)
            .or_else(outbound_ip)
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    }
    format!("{scheme}://{}", std::net::SocketAddr::new(ip, http.port()))
}

/// The address this machine's default route leaves from (no packet is sent).
fn outbound_ip() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    Some(s.local_addr().ok()?.ip())
}
