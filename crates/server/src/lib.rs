//! The `tern` server: the only crate with sockets, clocks and tasks.
//!
//! [`start`] binds the HTTP/WebSocket listener and the media socket and spawns
//! the hub (session logic + SFU) and the HTTP server; tests call it with
//! `127.0.0.1:0` addresses and read the bound ones from [`Running`].

mod admin;
pub mod app_settings;
mod apps;
mod assets;
mod cluster;
pub mod config;
mod console;
mod credentials;
mod db;
mod discovery;
mod encoder;
mod headless;
mod http;
mod hub;
mod ice_tcp;
mod jwks;
mod local;
mod media_worker;
mod metrics;
mod one_port;
mod process;
mod record;
mod registry;
pub mod rest;
mod rtmp;
mod socket_limits;
mod srt;
mod tls;
mod turn;
pub mod udp_batch;
mod webhooks;
mod whip;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tern_store::{RedisStore, SqliteStore, Store};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use config::Config;

/// How long a stopping server waits for its recordings to be finished.
const RECORDINGS_DRAIN: std::time::Duration = std::time::Duration::from_secs(20);

/// A started server.
pub struct Running {
    pub http_addr: SocketAddr,
    pub media_addr: SocketAddr,
    /// The TURN server's UDP (and TCP) address, when it runs.
    pub turn_addr: Option<SocketAddr>,
    pub turn_tls_addr: Option<SocketAddr>,
    /// RTMP ingest's address, when it runs.
    pub rtmp_addr: Option<SocketAddr>,
    /// SRT ingest's (UDP) address, when it runs.
    pub srt_addr: Option<SocketAddr>,
    /// HTTPS and WSS instead of HTTP and WS.
    pub tls: bool,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    store: db::SharedStore,
    recordings: record::Recordings,
    cluster: Option<cluster::Cluster>,
}

impl Running {
    /// Stops accepting, closes every session and waits for the tasks to end.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        // Recordings end as their streams would: fast-start files and VoDs,
        // not .part files for the next start to mend.
        let recordings = self.recordings.clone();
        let _ = tokio::task::spawn_blocking(move || recordings.finish_all(RECORDINGS_DRAIN)).await;
        // Nothing is published any more: say so in the store now rather than
        // at the next start. A cluster's store holds other nodes' streams too:
        // only ours end.
        match self.cluster {
            Some(c) => {
                let _ = tokio::task::spawn_blocking(move || c.leave()).await;
            }
            None => {
                if let Err(e) = settle(&mut **db::lock(&self.store)) {
                    tracing::error!("cannot mark streams finished at shutdown: {e:#}");
                }
            }
        }
    }
}

pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("TERN_LOG")
        // sctp_proto logs a peer's SCTP abort (what closing a page does) at ERROR:
        // peer behaviour, not a fault of the server. TERN_LOG brings it back.
        .unwrap_or_else(|_| EnvFilter::new("info,str0m=warn,dimpl=warn,is=warn,sctp_proto=off,turn_server_proto=warn,stun_proto=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Binds both sockets and starts serving.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let listener = TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("cannot listen on {} (--http-addr)", config.http_addr))?;
    let http_addr = listener.local_addr()?;
    let (media_tx, media_rx) = mpsc::unbounded_channel();
    let mut workers = Vec::new();
    let metrics = metrics::Metrics::new();
    let mut inboxes = media_worker::Inboxes::new(config.media_workers.max(1));
    // Every media address a client may be told of: the TURN relay reaches these.
    let mut media_addrs = Vec::new();
    for i in 0..config.media_workers.max(1) {
        // Worker i listens on the configured port + i (each on its own when 0).
        let mut addr = config.media_addr;
        if addr.port() != 0 {
            let port = u16::try_from(usize::from(addr.port()) + i)
                .context("--media-addr port + media workers goes past 65535")?;
            addr.set_port(port);
        }
        let socket = local::bind_udp(addr)
            .with_context(|| format!("cannot bind UDP {addr} (--media-addr, worker {i})"))?;
        let local = local::candidate_addrs(socket.local_addr()?, &config.public_ip, i)?;
        media_addrs.extend(local.all().iter().map(|a| (*a, i)));
        let tcp = if config.ice_tcp {
            ice_tcp::bind(socket.local_addr()?)
        } else {
            None
        };
        let mut sfu = tern_media::Sfu::new(local)?.with_direct_egress(config.direct_egress);
        if tcp.is_some() {
            sfu = sfu.with_ice_tcp();
        }
        if config.ice_tcp && config.tls.is_some() {
            // The HTTPS port takes ICE-TCP too (one port for everything).
            sfu = sfu.with_shared_tcp_port(http_addr.port());
        }
        workers.push(media_worker::Worker::spawn(
            i,
            socket,
            tcp,
            sfu,
            &mut inboxes,
            media_tx.clone(),
            metrics.worker(i),
        )?);
    }
    let media_addr = workers[0].addr;
    let inboxes: Vec<_> = workers.iter().map(|w| w.inbox()).collect();
    let store = open_store(&config)?;
    let cluster = match &config.cluster {
        Some(c) => {
            let url = cluster::node_url(c, http_addr, config.tls.is_some(), &config.public_ip);
            let store = store.clone();
            let c = c.clone();
            Some(
                tokio::task::spawn_blocking(move || cluster::Cluster::join(&c, url, store))
                    .await??,
            )
        }
        None => None,
    };
    let apps = apps::Apps::load(&config.apps, &store)?;
    let hooks = webhooks::Webhooks::start(
        metrics.webhook("dropped"),
        metrics.webhook("delivered"),
        metrics.webhook("failed"),
    );
    let registry = registry::StoreRegistry::new(apps.clone(), store.clone())
        .with_webhooks(hooks.clone())
        .with_cluster(cluster.clone());
    let core = tern_core::Core::with_registry(Box::new(registry));

    let (shutdown, shutdown_rx) = watch::channel(false);
    let rustls = match &config.tls {
        Some(files) => Some(axum_server::tls_rustls::RustlsConfig::from_config(
            Arc::new(tls::load(files)?),
        )),
        None => None,
    };
    // What a cluster node announces of itself.
    let node_media: Vec<std::net::SocketAddr> = media_addrs.iter().map(|(a, _)| *a).collect();
    let turn = turn::start(
        &config.turn,
        rustls.clone(),
        turn::MediaWorkers {
            addrs: media_addrs,
            inboxes: inboxes.clone(),
            counters: metrics.turn.clone(),
        },
        config.media_addr.ip(),
        // With TLS, the HTTPS port takes TURN and ICE-TCP too.
        config.tls.as_ref().map(|_| http_addr),
        shutdown_rx.clone(),
    )
    .await?;
    record::recover_leftovers(&config.data_dir, &apps, &store);
    let recordings =
        record::Recordings::new(config.data_dir.clone(), apps.clone(), store.clone(), hooks);
    let (hub_tx, hub_rx) = mpsc::channel(4096);
    let hub_task = tokio::spawn(hub::run(
        hub_rx,
        workers,
        config.spread_players_after,
        media_rx,
        shutdown_rx.clone(),
        config.limits.shutdown_drain,
        core,
        metrics.clone(),
        recordings.clone(),
    ));
    let mut tasks = vec![hub_task];
    if let Some(c) = &cluster {
        c.attach(hub_tx.clone(), apps.clone(), inboxes.clone(), node_media);
        tasks.push(tokio::spawn(cluster::membership::run(
            c.clone(),
            hub_tx.clone(),
            (0..config.media_workers.max(1))
                .map(|i| metrics.worker(i))
                .collect(),
            shutdown_rx.clone(),
        )));
    }
    let rest = rest::RestState {
        apps: apps.clone(),
        store: store.clone(),
        hub: hub_tx.clone(),
        recordings: recordings.clone(),
        cluster: cluster.clone(),
    };
    let rest_router = rest::router(rest);
    let console_state =
        console::ConsoleState::new(&config, hub_tx.clone(), apps.clone(), rest_router.clone())
            .with_cluster(cluster.clone());
    let encoder_rules = socket_limits::Rules {
        per_ip: config.limits.sockets_per_ip,
        new_per_second: config.limits.new_sockets_per_second,
    };
    let encoder_sockets = socket_limits::SocketCounts::default();
    let rtmp = rtmp::start(
        &config.rtmp,
        rtmp::RtmpState {
            apps: apps.clone(),
            hub: hub_tx.clone(),
            sockets: encoder_sockets.clone(),
            rules: encoder_rules,
        },
        shutdown_rx.clone(),
    )
    .await?;
    let srt = srt::start(
        &config.srt,
        srt::SrtState {
            apps: apps.clone(),
            hub: hub_tx.clone(),
            sockets: encoder_sockets,
            rules: encoder_rules,
        },
        shutdown_rx.clone(),
    )
    .await?;
    let mut state = http::AppState::new(&config, hub_tx, apps, metrics.clone());
    state.turn = turn.as_ref().map(|t| Arc::clone(&t.service));
    state.cluster = cluster.clone();
    let rest_counted = rest_router.layer(axum::middleware::from_fn_with_state(
        (metrics, "rest"),
        metrics::count_http,
    ));
    let app = discovery::router(state.clone())
        .merge(http::router(state))
        .merge(rest_counted)
        .merge(console::router(console_state))
        .merge(record::serve::router(recordings.clone()));
    let mut http_shutdown = shutdown_rx;
    let rtmp_addr = rtmp.as_ref().map(|(a, _)| *a);
    tasks.extend(rtmp.map(|(_, t)| t));
    let srt_addr = srt.as_ref().map(|(a, _)| *a);
    tasks.extend(srt.map(|(_, t)| t));
    let turn_addr = turn.as_ref().and_then(|t| t.udp_addr);
    let turn_tls_addr = turn.as_ref().and_then(|t| t.tls_addr);
    let turn_adopt = turn.as_ref().and_then(|t| t.adopt.clone());
    tasks.extend(turn.map(|t| t.task));
    match (&config.tls, rustls) {
        (None, _) | (_, None) => tasks.push(tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let serve = axum::serve(listener, service).with_graceful_shutdown(async move {
                let _ = http_shutdown.wait_for(|stop| *stop).await;
            });
            if let Err(e) = serve.await {
                tracing::error!("HTTP server failed: {e}");
            }
        })),
        (Some(files), Some(rustls)) => {
            let watcher = tokio::spawn(tls::watch(files.clone(), rustls.clone()));
            let handoffs = one_port::Handoffs {
                workers: inboxes,
                turn: turn_adopt,
                port: http_addr.port(),
            };
            tasks.push(tokio::spawn(async move {
                one_port::serve(listener, rustls, app, handoffs, http_shutdown).await;
                watcher.abort();
            }));
        }
    }
    Ok(Running {
        http_addr,
        media_addr,
        turn_addr,
        turn_tls_addr,
        rtmp_addr,
        srt_addr,
        tls: config.tls.is_some(),
        shutdown,
        tasks,
        store,
        recordings,
        cluster,
    })
}

/// Opens the data directory's store. Streams a crash left "live" are marked
/// finished: nothing can be publishing before we start. A cluster's store is
/// Redis, where other nodes' streams live: those of a crashed node are ended
/// by the others once its heartbeat expires.
fn open_store(config: &Config) -> anyhow::Result<db::SharedStore> {
    if let Some(c) = &config.cluster {
        let store = RedisStore::open(&c.redis_url)
            .context("cannot open the cluster store (--cluster-redis)")?;
        return Ok(db::shared(store));
    }
    let mut store = SqliteStore::open(&config.data_dir).with_context(|| {
        format!(
            "cannot open the store in {} (--data-dir)",
            config.data_dir.display()
        )
    })?;
    settle(&mut store)?;
    Ok(db::shared(store))
}

/// Marks every stream still `preparing`/`broadcasting` finished and removes the
/// zombi broadcasts that ended, as when each stream ends on its own.
fn settle(store: &mut dyn Store) -> anyhow::Result<()> {
    let finished = store
        .finish_live_broadcasts(db::now_ms())
        .context("cannot mark live streams finished")?;
    let zombis = store
        .delete_idle_zombis()
        .context("cannot remove ended zombi streams")?;
    if finished > 0 {
        tracing::info!(
            finished,
            zombis,
            "streams without a publisher marked finished"
        );
    }
    Ok(())
}

/// `--migrate-to-redis`: copies a single node's records into the cluster's
/// Redis. Records already there are kept, so it may run again.
pub fn migrate_to_redis(config: &Config) -> anyhow::Result<tern_store::Migrated> {
    let Some(cluster) = &config.cluster else {
        anyhow::bail!("--migrate-to-redis needs --cluster-redis (where the records go)");
    };
    let file = config.data_dir.join(tern_store::SQLITE_FILE);
    if !file.exists() {
        anyhow::bail!(
            "no store to migrate: {} does not exist (--data-dir)",
            file.display()
        );
    }
    let from = SqliteStore::open(&config.data_dir)
        .with_context(|| format!("cannot open {}", file.display()))?;
    let mut to = RedisStore::open(&cluster.redis_url)
        .context("cannot open the cluster store (--cluster-redis)")?;
    tern_store::migrate(&from, &mut to)
        .context("migration stopped part way (run it again: copied records are kept)")
}

/// Runs until SIGINT or SIGTERM, printing the ready line on stdout.
pub async fn run_until_signal(config: Config) -> anyhow::Result<()> {
    let running = start(config).await?;
    let turn = running
        .turn_addr
        .map(|a| format!(" turn={a}"))
        .unwrap_or_default();
    let turns = running
        .turn_tls_addr
        .map(|a| format!(" turns={a}"))
        .unwrap_or_default();
    let rtmp = running
        .rtmp_addr
        .map(|a| format!(" rtmp={a}"))
        .unwrap_or_default();
    let srt = running
        .srt_addr
        .map(|a| format!(" srt={a}"))
        .unwrap_or_default();
    println!(
        "tern listening http={} media={}{turn}{turns}{rtmp}{srt}{}",
        running.http_addr,
        running.media_addr,
        if running.tls { " tls" } else { "" }
    );
    tracing::info!(http = %running.http_addr, media = %running.media_addr, "tern started");
    wait_for_signal().await;
    tracing::info!("shutting down");
    if let Some(c) = running.cluster.clone() {
        // Discovery and new sessions go to the other nodes from now on.
        let _ = tokio::task::spawn_blocking(move || c.drain()).await;
    }
    running.stop().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
