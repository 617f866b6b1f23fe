//! The [`Registry`] the session logic consults, backed by the store and the
//! app settings: it enforces PROTOCOL.md §7 on `publish` and `play`, and keeps
//! broadcast status and viewer counts current as streams come and go.
//!
//! It runs on the hub task, called in message order; together with the store's
//! atomic token removal that makes a one-time token usable exactly once, however
//! many sessions present it at the same moment.

use std::collections::HashMap;

use tern_auth::Action;
use tern_core::{Refusal, Registry, StreamEvent};
use tern_signal::{ErrorDef, Play, Publish};
use tern_store::{status, Broadcast, Store};

use crate::app_settings::Settings;
use crate::apps::Apps;
use crate::cluster::{Claimed, Cluster};
use crate::credentials::{self, Accepted, CredentialError, Request};
use crate::db::{self, now_ms, SharedStore};
use crate::webhooks::{Hook, Webhooks};

pub struct StoreRegistry {
    apps: Apps,
    store: SharedStore,
    /// The publish accepted last: its `Preparing` event follows at once and
    /// creates the zombi broadcast from it.
    accepted: Option<(String, Publish)>,
    webhooks: Option<Webhooks>,
    /// Streams that went live (their end is a `liveStreamEnded`), and the
    /// viewer count last heard of each (its changes are `playStarted` /
    /// `playStopped`).
    live: HashMap<(String, String), usize>,
    /// In cluster mode: publishes claim their stream id cluster-wide.
    cluster: Option<Cluster>,
}

impl StoreRegistry {
    pub fn new(apps: Apps, store: SharedStore) -> Self {
        StoreRegistry {
            apps,
            store,
            accepted: None,
            webhooks: None,
            live: HashMap::new(),
            cluster: None,
        }
    }

    /// A stream id is published on one node of the cluster at a time.
    pub fn with_cluster(mut self, cluster: Option<Cluster>) -> Self {
        self.cluster = cluster;
        self
    }

    /// Stream events also go to the app's or broadcast's `listenerHookURL`.
    pub fn with_webhooks(mut self, webhooks: Webhooks) -> Self {
        self.webhooks = Some(webhooks);
        self
    }

    /// The webhook actions an event makes, in order.
    fn actions(&mut self, app: &str, id: &str, event: &StreamEvent) -> Vec<&'static str> {
        let key = (app.to_owned(), id.to_owned());
        match event {
            StreamEvent::Broadcasting => {
                self.live.insert(key, 0);
                vec!["liveStreamStarted"]
            }
            StreamEvent::Finished => match self.live.remove(&key) {
                Some(_) => vec!["liveStreamEnded"],
                None => Vec::new(),
            },
            StreamEvent::PublishTimeout => vec!["publishTimeoutError"],
            StreamEvent::Viewers(n) => match self.live.get_mut(&key) {
                Some(last) => {
                    let before = std::mem::replace(last, *n);
                    let (action, times) = if *n >= before {
                        ("playStarted", *n - before)
                    } else {
                        ("playStopped", before - *n)
                    };
                    vec![action; times]
                }
                None => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// Queues the hooks of an event, if a URL is set for the stream.
    fn hooks(&mut self, app: &str, id: &str, event: &StreamEvent) {
        if self.webhooks.is_none() {
            return;
        }
        let actions = self.actions(app, id, event);
        if actions.is_empty() {
            return;
        }
        let Some(settings) = self.apps.settings(app) else {
            return;
        };
        let b = db::lock(&self.store).broadcast(app, id).ok().flatten();
        let field = |f: Option<&String>| f.cloned().unwrap_or_default();
        for action in actions {
            let fields = vec![
                ("id", id.to_owned()),
                ("action", action.to_owned()),
                (
                    "streamName",
                    field(b.as_ref().and_then(|b| b.name.as_ref())),
                ),
                (
                    "category",
                    field(b.as_ref().and_then(|b| b.category.as_ref())),
                ),
                (
                    "metadata",
                    field(b.as_ref().and_then(|b| b.meta_data.as_ref())),
                ),
                ("timestamp", now_ms().to_string()),
            ];
            let Some(hook) = Hook::for_stream(&settings, b.as_ref(), fields) else {
                return;
            };
            if let Some(w) = &self.webhooks {
                w.send(hook);
            }
        }
    }
}

impl Registry for StoreRegistry {
    fn check_publish(&mut self, app: &str, req: &Publish) -> Result<(), Refusal> {
        if let Some(c) = &self.cluster {
            if c.is_relay_publish(app, &req.stream_id, req.token.as_deref()) {
                return Ok(());
            }
            if let Some(why) = c.refusing() {
                return Err(Refusal::new(ErrorDef::HighResourceUsage, why));
            }
        }
        let settings = self.settings(app)?;
        let now = now_ms();
        let mut store = db::lock(&self.store);
        let request = Request {
            action: Action::Publish,
            stream_id: &req.stream_id,
            token: req.token.as_deref(),
            room: req.main_track.as_deref(),
            subscriber_id: req.subscriber_id.as_deref(),
            subscriber_code: req.subscriber_code.as_deref(),
        };
        // Registration first: no credential can make an unregistered id
        // publishable, and "create it first" is the fix the client needs.
        let broadcast = store
            .broadcast(app, &req.stream_id)
            .map_err(store_refusal)?;
        if broadcast.is_none() && settings.accept_only_streams_in_data_store {
            return Err(Refusal::new(
                ErrorDef::NotAllowedUnregisteredStreams,
                "stream is not registered",
            ));
        }
        let accepted = credentials::check(
            &mut **store,
            &settings,
            self.apps.jwks(app),
            app,
            &request,
            now,
        )
        .map_err(refusal)?;
        // Unregistered streams were refused above when the app asks for that.
        if let Some(b) = &broadcast {
            check_window(b, now)?;
        }
        let fresh_claim = match &self.cluster {
            Some(c) => claim(c, app, &req.stream_id)?,
            None => false,
        };
        if let Err(r) = consume(&mut **store, app, accepted) {
            if let (true, Some(c)) = (fresh_claim, &self.cluster) {
                c.unclaim(app, &req.stream_id);
            }
            return Err(r);
        }
        self.accepted = Some((app.to_owned(), req.clone()));
        Ok(())
    }

    fn check_play(&mut self, app: &str, req: &Play, viewers: usize) -> Result<(), Refusal> {
        if let Some(c) = &self.cluster {
            if c.is_relay_play(app, &req.stream_id, req.token.as_deref()) {
                return Ok(());
            }
            if let Some(why) = c.refusing() {
                return Err(Refusal::new(ErrorDef::HighResourceUsage, why));
            }
        }
        let settings = self.settings(app)?;
        let now = now_ms();
        let mut store = db::lock(&self.store);
        let request = Request {
            action: Action::Play,
            stream_id: &req.stream_id,
            token: req.token.as_deref(),
            room: req.room.as_deref(),
            subscriber_id: req.subscriber_id.as_deref(),
            subscriber_code: req.subscriber_code.as_deref(),
        };
        let accepted = credentials::check(
            &mut **store,
            &settings,
            self.apps.jwks(app),
            app,
            &request,
            now,
        )
        .map_err(refusal)?;
        let limit = store
            .broadcast(app, &req.stream_id)
            .map_err(store_refusal)?
            .map(|b| b.webrtc_viewer_limit)
            .filter(|l| *l != -1)
            .unwrap_or(settings.webrtc_viewer_limit);
        if limit >= 0 && viewers >= limit as usize {
            return Err(Refusal::new(
                ErrorDef::ViewerLimitReached,
                format!("{viewers} of {limit} viewers"),
            ));
        }
        consume(&mut **store, app, accepted)
    }

    fn takes_over_relay(&mut self, app: &str, stream_id: &str) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.take_over_relay(app, stream_id))
    }

    fn is_relay(&mut self, app: &str, req: &Play) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.is_relay_play(app, &req.stream_id, req.token.as_deref()))
    }

    fn stream_event(&mut self, app: &str, stream_id: &str, event: StreamEvent) {
        if let Some(c) = &self.cluster {
            if !c.owns(app, stream_id) {
                // A relayed stream: its origin keeps its record, but for the
                // viewers, which are counted over the nodes.
                if let StreamEvent::Viewers(n) = event {
                    c.relay_viewers(app, stream_id, n);
                    if let Some(total) = c.count_viewers(app, stream_id, n) {
                        let result =
                            db::lock(&self.store).modify_broadcast(app, stream_id, &mut |b| {
                                b.webrtc_viewer_count = total as i64;
                                b.anyone_watching = total > 0;
                            });
                        if let Err(e) = result {
                            tracing::warn!(app, stream = stream_id, "cannot record viewers: {e}");
                        }
                    }
                }
                return;
            }
        }
        // Hooks go after the store is updated, so their fields are current;
        // but an ended zombi broadcast leaves the store, so its end goes first.
        if matches!(event, StreamEvent::Finished) {
            self.hooks(app, stream_id, &event);
        }
        let now = now_ms();
        let mut room = None;
        let accepted = match self.accepted.take() {
            Some((a, p)) if a == app && p.stream_id == stream_id => Some(p),
            _ => None,
        };
        let mut store = db::lock(&self.store);
        let result = match event {
            StreamEvent::Preparing => {
                room = accepted.as_ref().and_then(|p| p.main_track.clone());
                preparing(&mut **store, app, stream_id, accepted, now)
            }
            StreamEvent::Broadcasting => store
                .modify_broadcast(app, stream_id, &mut |b| {
                    b.status = status::BROADCASTING.into();
                    b.start_time = now;
                    b.absolute_start_time_ms = now;
                    b.update_time = now;
                })
                .map(drop),
            StreamEvent::Finished => finished(&mut **store, app, stream_id, now),
            StreamEvent::MetaData(ref meta) => store
                .modify_broadcast(app, stream_id, &mut |b| {
                    b.meta_data.clone_from(meta);
                    b.update_time = now;
                })
                .map(drop),
            StreamEvent::Viewers(n) => {
                // In a cluster, the viewers of every node that relays it.
                let total = match &self.cluster {
                    Some(c) => c.count_viewers(app, stream_id, n).unwrap_or(n as u64),
                    None => n as u64,
                };
                store
                    .modify_broadcast(app, stream_id, &mut |b| {
                        b.webrtc_viewer_count = total as i64;
                        b.anyone_watching = total > 0;
                    })
                    .map(drop)
            }
            StreamEvent::PublishTimeout | StreamEvent::Orphaned => Ok(()),
        };
        drop(store);
        if let Some(c) = &self.cluster {
            self.cluster_event(c, app, stream_id, &event, room);
        }
        if !matches!(event, StreamEvent::Finished) {
            self.hooks(app, stream_id, &event);
        }
        if let Err(e) = result {
            tracing::error!(
                app,
                stream = stream_id,
                ?event,
                "cannot record stream event: {e}"
            );
        }
    }
}

impl StoreRegistry {
    /// Keeps this node's claim of a stream in step with the stream, and names
    /// the node in the record (`originAdress`) for REST on every node.
    fn cluster_event(
        &self,
        c: &Cluster,
        app: &str,
        stream_id: &str,
        event: &StreamEvent,
        room: Option<String>,
    ) {
        match event {
            StreamEvent::Preparing => {
                let url = c.http_url().to_owned();
                let record = db::lock(&self.store).modify_broadcast(app, stream_id, &mut |b| {
                    b.origin_adress = Some(url.clone());
                });
                if let Err(e) = &record {
                    tracing::warn!(app, stream = stream_id, "cannot name the origin: {e}");
                }
                c.started(app, stream_id, record.ok().flatten(), room);
            }
            StreamEvent::Broadcasting => {
                let record = db::lock(&self.store)
                    .broadcast(app, stream_id)
                    .ok()
                    .flatten();
                c.started(app, stream_id, record, None);
            }
            StreamEvent::Finished => c.finished(app, stream_id),
            StreamEvent::Orphaned => c.orphaned(app, stream_id),
            _ => {}
        }
    }

    fn settings(&self, app: &str) -> Result<std::sync::Arc<Settings>, Refusal> {
        // Sessions exist only for known apps; an app vanishing is a server bug,
        // and refusing is the safe answer.
        self.apps
            .settings(app)
            .ok_or_else(|| Refusal::new(ErrorDef::DataStoreNotAvailable, "unknown application"))
    }
}

/// Planned window and expiry of a registered broadcast (PROTOCOL.md §2.3).
fn check_window(b: &Broadcast, now_ms: i64) -> Result<(), Refusal> {
    let now_s = now_ms / 1000;
    let refuse = |why: &str| Err(Refusal::new(ErrorDef::StreamNotActiveOrExpired, why));
    if b.planned_start_date != 0 && now_s < b.planned_start_date {
        return refuse("before plannedStartDate");
    }
    if b.planned_end_date != 0 && now_s > b.planned_end_date {
        return refuse("after plannedEndDate");
    }
    if b.expire_duration_ms != 0 && now_ms > b.date + b.expire_duration_ms {
        return refuse("expireDurationMS elapsed");
    }
    Ok(())
}

/// Claims the stream for this node; true when the claim is new.
fn claim(c: &Cluster, app: &str, id: &str) -> Result<bool, Refusal> {
    match c.claim(app, id) {
        Ok(Claimed::Fresh) => Ok(true),
        Ok(Claimed::Again) => Ok(false),
        Ok(Claimed::Taken(holder)) => Err(Refusal::new(
            ErrorDef::StreamIdInUse,
            format!("published on cluster node {}", holder.node),
        )),
        Err(e) => Err(Refusal::new(ErrorDef::DataStoreNotAvailable, e.to_string())),
    }
}

fn consume(store: &mut dyn Store, app: &str, accepted: Accepted) -> Result<(), Refusal> {
    let Some(id) = accepted.consume_token else {
        return Ok(());
    };
    match store.take_token(app, &id) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(Refusal::new(
            ErrorDef::UnauthorizedAccess,
            "one-time token already used",
        )),
        Err(e) => Err(store_refusal(e)),
    }
}

/// A publish was accepted: the registered broadcast becomes `preparing`, or a
/// zombi broadcast is created for an unregistered id.
fn preparing(
    store: &mut dyn Store,
    app: &str,
    id: &str,
    publish: Option<Publish>,
    now: i64,
) -> Result<(), tern_store::StoreError> {
    let kind = publish
        .as_ref()
        .and_then(|p| p.publish_type.clone())
        .unwrap_or_else(|| "WebRTC".into());
    let updated = store.modify_broadcast(app, id, &mut |b| {
        b.status = status::PREPARING.into();
        b.publish_type = Some(kind.clone());
        b.update_time = now;
    })?;
    if updated.is_some() {
        return Ok(());
    }
    let publish = publish.unwrap_or_default();
    let zombi = Broadcast {
        stream_id: id.to_owned(),
        status: status::PREPARING.into(),
        publish_type: Some(kind),
        name: publish.stream_name,
        meta_data: publish.meta_data,
        role: publish.role,
        main_track_stream_id: publish.main_track,
        zombi: true,
        date: now,
        update_time: now,
        ..Broadcast::default()
    };
    store.insert_broadcast(app, &zombi)?;
    Ok(())
}

/// The stream ended: zombi broadcasts go away, registered ones are `finished`.
pub(crate) fn finished(
    store: &mut dyn Store,
    app: &str,
    id: &str,
    now: i64,
) -> Result<(), tern_store::StoreError> {
    let Some(b) = store.broadcast(app, id)? else {
        return Ok(());
    };
    if b.zombi {
        store.delete_broadcast(app, id)?;
        return Ok(());
    }
    store.modify_broadcast(app, id, &mut |b| {
        if b.status == status::BROADCASTING && b.start_time > 0 {
            b.duration = now - b.start_time;
        }
        b.status = status::FINISHED.into();
        b.webrtc_viewer_count = 0;
        b.anyone_watching = false;
        b.update_time = now;
    })?;
    Ok(())
}

fn refusal(e: CredentialError) -> Refusal {
    match e {
        CredentialError::Unauthorized(why) => Refusal::new(ErrorDef::UnauthorizedAccess, why),
        CredentialError::Blocked(why) => Refusal::new(ErrorDef::UserBlocked, why),
        CredentialError::Store(why) => Refusal::new(ErrorDef::DataStoreNotAvailable, why),
    }
}

fn store_refusal(e: tern_store::StoreError) -> Refusal {
    Refusal::new(ErrorDef::DataStoreNotAvailable, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tern_store::SqliteStore;

    struct Fixture {
        registry: StoreRegistry,
        store: SharedStore,
        dir: std::path::PathBuf,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn fixture(name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!(
            "tern-registry-{name}-{}-{}",
            std::process::id(),
            now_ms()
        ));
        let store = db::shared(SqliteStore::open(&dir).unwrap());
        let apps = BTreeMap::from([("A".to_owned(), Settings::default())]);
        let apps = Apps::load(&apps, &store).unwrap();
        Fixture {
            registry: StoreRegistry::new(apps, store.clone()),
            store,
            dir,
        }
    }

    impl Fixture {
        fn broadcast(&self, id: &str) -> Option<Broadcast> {
            db::lock(&self.store).broadcast("A", id).unwrap()
        }
    }

    #[test]
    fn status_and_viewers_follow_the_stream() {
        let mut f = fixture("lifecycle");
        let b = Broadcast {
            stream_id: "r1".into(),
            ..Broadcast::default()
        };
        db::lock(&f.store).insert_broadcast("A", &b).unwrap();
        let publish = Publish {
            stream_id: "r1".into(),
            ..Publish::default()
        };
        f.registry.check_publish("A", &publish).unwrap();
        f.registry.stream_event("A", "r1", StreamEvent::Preparing);
        assert_eq!(f.broadcast("r1").unwrap().status, status::PREPARING);
        f.registry
            .stream_event("A", "r1", StreamEvent::Broadcasting);
        let live = f.broadcast("r1").unwrap();
        assert_eq!(live.status, status::BROADCASTING);
        assert!(live.start_time > 0);
        f.registry.stream_event("A", "r1", StreamEvent::Viewers(2));
        let watched = f.broadcast("r1").unwrap();
        assert_eq!(
            (watched.webrtc_viewer_count, watched.anyone_watching),
            (2, true)
        );
        f.registry.stream_event("A", "r1", StreamEvent::Finished);
        let done = f.broadcast("r1").unwrap();
        assert_eq!(done.status, status::FINISHED);
        assert_eq!((done.webrtc_viewer_count, done.anyone_watching), (0, false));
        assert!(!done.zombi);
    }

    #[test]
    fn unregistered_streams_get_a_zombi_broadcast_while_they_last() {
        let mut f = fixture("zombi");
        let publish = Publish {
            stream_id: "z1".into(),
            stream_name: Some("Cam".into()),
            meta_data: Some("{\"k\":1}".into()),
            main_track: Some("room1".into()),
            ..Publish::default()
        };
        f.registry.check_publish("A", &publish).unwrap();
        f.registry.stream_event("A", "z1", StreamEvent::Preparing);
        let z = f.broadcast("z1").unwrap();
        assert!(z.zombi);
        assert_eq!(z.status, status::PREPARING);
        assert_eq!(z.name.as_deref(), Some("Cam"));
        assert_eq!(z.meta_data.as_deref(), Some("{\"k\":1}"));
        assert_eq!(z.main_track_stream_id.as_deref(), Some("room1"));
        assert_eq!(z.publish_type.as_deref(), Some("WebRTC"));
        f.registry.stream_event("A", "z1", StreamEvent::Finished);
        assert!(f.broadcast("z1").is_none());
    }
}
