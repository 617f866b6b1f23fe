//! Membership: each node announces itself every [`BEAT`] with keys that expire
//! after [`ALIVE_TTL`]; every node reaps the claims of nodes whose key expired.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use redis::Connection;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

use super::keys;
use super::origin::{self, Holder};
use super::Cluster;
use crate::hub::HubMsg;
use crate::metrics::WorkerCounters;

/// How often a node announces itself.
pub const BEAT: Duration = Duration::from_secs(1);
/// How long an announcement lasts: a node that stops beating is gone this long
/// after its last beat, and its streams are finished at the next reap (within
/// one more [`BEAT`]).
pub const ALIVE_TTL: Duration = Duration::from_millis(2500);

/// What a node announces about its load.
#[derive(Debug, Clone, Default)]
pub struct Load {
    pub cpu_percent: f64,
    pub egress_bits_per_second: u64,
    pub publishers: u64,
    pub players: u64,
    pub draining: bool,
    /// (app, id) that players here watch without a local stream: rooms
    /// whose participants may be on other nodes.
    pub watched: Vec<(String, String)>,
}

/// A member as `GET /rest/v2/cluster/nodes` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub id: String,
    /// Which start of the node this is (a new one each start).
    pub epoch: u64,
    /// Where clients and other nodes reach its HTTP and WebSocket port.
    pub http_url: String,
    /// `serving`, `overloaded` (over `cluster_max_cpu_percent` or
    /// `cluster_max_egress_mbps`) or `draining` (stopping).
    pub state: String,
    /// Of one core.
    pub cpu_percent: f64,
    pub egress_bits_per_second: u64,
    /// Live streams and connected players on the node.
    pub publishers: u64,
    pub players: u64,
    /// Streams whose origin the node is.
    pub origins: u64,
    /// The UDP addresses its media workers announce to clients.
    #[serde(default)]
    pub media_addresses: Vec<String>,
    /// The address its relays bind their own UDP sockets to (any port).
    #[serde(default)]
    pub relay_ip: String,
    /// Unix milliseconds.
    pub started_at: i64,
    pub updated_at: i64,
}

/// Writes this node's keys; true when Redis had forgotten the node (its alive
/// key was gone: always so at the first announcement).
pub fn announce(c: &mut Connection, me: &Holder, info: &NodeInfo) -> redis::RedisResult<bool> {
    let ttl = ALIVE_TTL.as_millis() as u64;
    let doc = serde_json::to_string(info).unwrap_or_default();
    let (before, _ok): (Option<String>, String) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg(keys::alive(&me.node))
        .arg(me.epoch)
        .arg("PX")
        .arg(ttl)
        .arg("GET")
        .cmd("SET")
        .arg(keys::node(&me.node))
        .arg(doc)
        .arg("PX")
        .arg(ttl)
        .cmd("SADD")
        .arg(keys::NODES)
        .arg(&me.node)
        .ignore()
        .query(c)?;
    Ok(before.as_deref() != Some(me.epoch.to_string().as_str()))
}

/// Removes every claim whose node is gone (its alive key expired or holds a
/// later epoch); answers those this node removed, for it to finish.
pub fn reap(c: &mut Connection, me: &Holder) -> redis::RedisResult<Vec<(String, String, Holder)>> {
    let claims = origin::all(c)?;
    let nodes: Vec<String> = claims
        .iter()
        .map(|(_, _, h)| h.node.clone())
        .filter(|n| *n != me.node)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let alive = alive_epochs(c, &nodes)?;
    let mut reaped = Vec::new();
    for (app, stream, holder) in claims {
        if holder == *me {
            continue;
        }
        let live = if holder.node == me.node {
            false // An earlier start of this node: it is gone.
        } else {
            alive.get(&holder.node) == Some(&holder.epoch)
        };
        if !live && origin::release(c, &keys::origin_field(&app, &stream), &holder)? {
            reaped.push((app, stream, holder));
        }
    }
    let members: Vec<String> = redis::cmd("SMEMBERS").arg(keys::NODES).query(c)?;
    let alive = alive_epochs(c, &members)?;
    for gone in members.iter().filter(|m| !alive.contains_key(*m)) {
        redis::cmd("SREM").arg(keys::NODES).arg(gone).exec(c)?;
    }
    Ok(reaped)
}

fn alive_epochs(c: &mut Connection, nodes: &[String]) -> redis::RedisResult<HashMap<String, u64>> {
    if nodes.is_empty() {
        return Ok(HashMap::new());
    }
    let keys: Vec<String> = nodes.iter().map(|n| keys::alive(n)).collect();
    let epochs: Vec<Option<u64>> = redis::cmd("MGET").arg(&keys).query(c)?;
    Ok(nodes
        .iter()
        .zip(epochs)
        .filter_map(|(n, e)| Some((n.clone(), e?)))
        .collect())
}

/// The members whose announcement has not expired.
pub fn list(c: &mut Connection) -> redis::RedisResult<Vec<NodeInfo>> {
    let members: Vec<String> = redis::cmd("SMEMBERS").arg(keys::NODES).query(c)?;
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = members.iter().map(|n| keys::node(n)).collect();
    let docs: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(c)?;
    let mut nodes: Vec<NodeInfo> = docs
        .into_iter()
        .flatten()
        .filter_map(|d| serde_json::from_str(&d).ok())
        .collect();
    nodes.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(nodes)
}

/// Removes this node's keys (it is leaving).
pub fn depart(c: &mut Connection, me: &Holder) -> redis::RedisResult<()> {
    redis::pipe()
        .atomic()
        .cmd("DEL")
        .arg(keys::alive(&me.node))
        .arg(keys::node(&me.node))
        .ignore()
        .cmd("SREM")
        .arg(keys::NODES)
        .arg(&me.node)
        .ignore()
        .exec(c)
}

/// Beats every [`BEAT`] until shutdown, with the load measured since the last.
pub async fn run(
    cluster: Cluster,
    hub: mpsc::Sender<HubMsg>,
    workers: Vec<WorkerCounters>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(BEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent_before = sent_bytes(&workers);
    let mut at_before = std::time::Instant::now();
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|s| *s) => break,
        }
        let sent = sent_bytes(&workers);
        let elapsed = at_before.elapsed().as_secs_f64().max(0.001);
        let mut load = Load {
            egress_bits_per_second: ((sent.saturating_sub(sent_before)) as f64 * 8.0 / elapsed)
                as u64,
            cpu_percent: crate::process::cpu_percent(crate::process::sample().cpu_seconds)
                .unwrap_or(0.0),
            ..Load::default()
        };
        (sent_before, at_before) = (sent, std::time::Instant::now());
        let (tx, rx) = oneshot::channel();
        if hub.send(HubMsg::Census(tx)).await.is_ok() {
            if let Ok(Ok(census)) = tokio::time::timeout(Duration::from_millis(500), rx).await {
                for app in census {
                    load.publishers += app.publishers.values().sum::<u64>();
                    load.players += app.players.values().sum::<u64>();
                }
            }
        }
        let (tx, rx) = oneshot::channel();
        if hub.send(HubMsg::Watched(tx)).await.is_ok() {
            if let Ok(Ok(keys)) = tokio::time::timeout(Duration::from_millis(500), rx).await {
                load.watched = keys.into_iter().map(|k| (k.app, k.id)).collect();
            }
        }
        let c = cluster.clone();
        let result = tokio::task::spawn_blocking(move || c.beat(&load)).await;
        match result {
            Ok(Ok(())) if failing => {
                tracing::info!("cluster Redis reachable again");
                failing = false;
            }
            Ok(Err(e)) if !failing => {
                tracing::warn!("cluster heartbeat failed (media keeps flowing): {e}");
                failing = true;
            }
            _ => {}
        }
    }
}

fn sent_bytes(workers: &[WorkerCounters]) -> u64 {
    workers.iter().map(|w| w.bytes_out.get()).sum()
}
