//! Conference rooms across nodes. Each node publishes its participants of a
//! room; the room's members (stream ids) are a set in Redis. A node with a
//! participant or a player of a room relays the room's other members from
//! their origins into its own part of the room, so its participants see and
//! hear everyone, and its play-only viewers see the whole room.

use std::collections::{HashMap, HashSet};

use redis::Connection;

use super::{keys, membership, origin, Cluster, NodeInfo};

pub fn join(c: &mut Connection, app: &str, room: &str, stream: &str) -> redis::RedisResult<()> {
    redis::cmd("SADD")
        .arg(keys::room(app, room))
        .arg(stream)
        .exec(c)
}

pub fn leave(c: &mut Connection, app: &str, room: &str, stream: &str) -> redis::RedisResult<()> {
    redis::cmd("SREM")
        .arg(keys::room(app, room))
        .arg(stream)
        .exec(c)
}

/// A room's members published elsewhere, with their live origins. Members
/// whose claim is gone (their node died) leave the set.
fn remote_members(
    c: &mut Connection,
    app: &str,
    room: &str,
    me: &str,
    nodes: &HashMap<String, NodeInfo>,
) -> redis::RedisResult<Vec<(String, NodeInfo)>> {
    let members: Vec<String> = redis::cmd("SMEMBERS").arg(keys::room(app, room)).query(c)?;
    let mut out = Vec::new();
    for stream in members {
        match origin::holder(c, &keys::origin_field(app, &stream))? {
            None => leave(c, app, room, &stream)?,
            Some(h) if h.node == me => {}
            Some(h) => {
                if let Some(n) = nodes.get(&h.node).filter(|n| n.epoch == h.epoch) {
                    out.push((stream, n.clone()));
                }
            }
        }
    }
    Ok(out)
}

impl Cluster {
    /// The members of `room` published on other live nodes.
    pub(super) fn remote_room_members(
        &self,
        app: &str,
        room: &str,
    ) -> Result<Vec<(String, NodeInfo)>, super::ClusterError> {
        let nodes: HashMap<String, NodeInfo> = self
            .nodes()?
            .into_iter()
            .map(|n| (n.id.clone(), n))
            .collect();
        let me = self.inner.me.node.clone();
        self.call(|c| remote_members(c, app, room, &me, &nodes))
    }

    /// Relays into each room that has a participant here the room's members
    /// published on other nodes; a room without local participants lets its
    /// relays end.
    /// `watched`: ids players here watch without a local stream (rooms
    /// with players here, or ids they wait for).
    pub(super) fn sync_rooms(
        &self,
        watched: &[(String, String)],
    ) -> Result<(), super::ClusterError> {
        if self.inner.attached.get().is_none() {
            return Ok(());
        }
        let mut local: HashSet<(String, String)> = super::lock(&self.inner.owned)
            .iter()
            .filter(|(_, o)| o.started)
            .filter_map(|((app, _), o)| Some((app.clone(), o.room.clone()?)))
            .collect();
        local.extend(watched.iter().cloned());
        for ((app, _), h) in super::lock(&self.inner.relays).iter() {
            if let Some(room) = &h.room {
                let wanted = local.contains(&(app.clone(), room.clone()));
                h.wanted.store(wanted, std::sync::atomic::Ordering::Relaxed);
            }
        }
        if local.is_empty() {
            return Ok(());
        }
        let nodes: HashMap<String, NodeInfo> = self
            .with(&self.inner.beats, membership::list)?
            .into_iter()
            .map(|n| (n.id.clone(), n))
            .collect();
        let me = self.inner.me.node.clone();
        for (app, room) in local {
            let remote = self.with(&self.inner.beats, |c| {
                remote_members(c, &app, &room, &me, &nodes)
            })?;
            for (stream, origin) in remote {
                let relayed =
                    super::lock(&self.inner.relays).contains_key(&(app.clone(), stream.clone()));
                if !relayed {
                    let _ = self.start_relay(&app, &stream, origin, Some(room.clone()));
                }
            }
        }
        Ok(())
    }
}
