//! Origin claims: which node publishes a stream. A claim is "node epoch"; it
//! holds while that node's alive key carries the same epoch, so a node that
//! died (or restarted, with a new epoch) loses its claims without anyone
//! deciding it: the next claimant or the reaper finds them stale.
//!
//! A claim marked "node epoch orphan" is held by a live node whose publisher
//! dropped: any node may take it, so that the publisher may come back on
//! another node within the restore window (the old node then relays the
//! stream from there to its waiting players).

use std::sync::LazyLock;

use redis::{Connection, Script};

use super::keys;

/// Takes the claim unless a live node holds it unmarked; answers the holder
/// when one does. A dead holder's viewer count goes with its claim (its edges
/// keep theirs); an orphaned one's stays, as its players wait on.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and cur ~= ARGV[2] then
  local node, epoch, mark = string.match(cur, '^(%S+) (%S+)(.*)$')
  if node then
    local alive = redis.call('GET', ARGV[3] .. node) == epoch
    if alive and mark == '' then return cur end
    if not alive then redis.call('HDEL', KEYS[2], node) end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if cur == ARGV[2] then return 1 end
return 0",
    )
});

/// Deletes a claim only if it still holds the value the caller saw (or that
/// value marked orphaned).
static DELETE_IF: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur == ARGV[2] or cur == ARGV[2] .. ' orphan' then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0",
    )
});

/// Marks the caller's own claim orphaned (its publisher dropped).
static MARK_ORPHANED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' orphan')
end
return -1",
    )
});

/// One node's identity in claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub node: String,
    pub epoch: u64,
}

impl Holder {
    pub fn value(&self) -> String {
        format!("{} {}", self.node, self.epoch)
    }

    /// A claim's holder, whether or not it is marked orphaned.
    pub fn parse(v: &str) -> Option<Holder> {
        let v = v.strip_suffix(" orphan").unwrap_or(v);
        let (node, epoch) = v.split_once(' ')?;
        Some(Holder {
            node: node.to_owned(),
            epoch: epoch.parse().ok()?,
        })
    }
}

/// What a claim found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claimed {
    /// Ours now; nobody live held it.
    Fresh,
    /// Ours already (this node publishes it).
    Again,
    /// A live node holds it.
    Taken(Holder),
}

pub fn claim(c: &mut Connection, field: &str, me: &Holder) -> redis::RedisResult<Claimed> {
    let v: redis::Value = CLAIM
        .key(keys::ORIGINS)
        .key(keys::viewers(field))
        .arg(field)
        .arg(me.value())
        .arg(keys::ALIVE_PREFIX)
        .invoke(c)?;
    Ok(match v {
        redis::Value::Int(1) => Claimed::Again,
        redis::Value::Int(_) => Claimed::Fresh,
        other => {
            let text: String = redis::from_redis_value(other)?;
            Claimed::Taken(Holder::parse(&text).unwrap_or(Holder {
                node: text,
                epoch: 0,
            }))
        }
    })
}

/// Removes the claim if `holder` still has it; true when removed.
pub fn release(c: &mut Connection, field: &str, holder: &Holder) -> redis::RedisResult<bool> {
    let n: i64 = DELETE_IF
        .key(keys::ORIGINS)
        .arg(field)
        .arg(holder.value())
        .invoke(c)?;
    Ok(n == 1)
}

/// Marks `holder`'s claim orphaned; false when it no longer holds it.
pub fn mark_orphaned(c: &mut Connection, field: &str, holder: &Holder) -> redis::RedisResult<bool> {
    let n: i64 = MARK_ORPHANED
        .key(keys::ORIGINS)
        .arg(field)
        .arg(holder.value())
        .invoke(c)?;
    Ok(n >= 0)
}

/// Every claim, as (app, stream, holder).
pub fn all(c: &mut Connection) -> redis::RedisResult<Vec<(String, String, Holder)>> {
    let map: std::collections::HashMap<String, String> =
        redis::cmd("HGETALL").arg(keys::ORIGINS).query(c)?;
    Ok(map
        .into_iter()
        .filter_map(|(field, v)| {
            let (app, stream) = keys::split_origin_field(&field)?;
            Some((app.to_owned(), stream.to_owned(), Holder::parse(&v)?))
        })
        .collect())
}

/// The holder of one stream, if any (live or not).
pub fn holder(c: &mut Connection, field: &str) -> redis::RedisResult<Option<Holder>> {
    let v: Option<String> = redis::cmd("HGET").arg(keys::ORIGINS).arg(field).query(c)?;
    Ok(v.as_deref().and_then(Holder::parse))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_read_back_and_refuse_garbage() {
        let h = Holder {
            node: "host-5080".into(),
            epoch: 42,
        };
        assert_eq!(Holder::parse(&h.value()), Some(h.clone()));
        assert_eq!(Holder::parse("host-5080 42 orphan"), Some(h));
        assert_eq!(Holder::parse("node"), None);
        assert_eq!(Holder::parse("node 1 2"), None);
        assert_eq!(Holder::parse("node x"), None);
    }

    /// The claim scripts against a real `redis-server` (Debian's), started
    /// here on a free loopback port without persistence.
    #[test]
    fn an_orphaned_claim_is_taken_by_another_node_and_released_by_its_own() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed (Debian package redis-server)");
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut c = loop {
            match client.get_connection() {
                Ok(c) => break c,
                Err(e) => assert!(std::time::Instant::now() < deadline, "{e}"),
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let (a, b) = (
            Holder {
                node: "A".into(),
                epoch: 1,
            },
            Holder {
                node: "B".into(),
                epoch: 2,
            },
        );
        for h in [&a, &b] {
            let _: () = redis::cmd("SET")
                .arg(keys::alive(&h.node))
                .arg(h.epoch)
                .query(&mut c)
                .unwrap();
        }
        let f = "LiveApp/s";
        assert_eq!(claim(&mut c, f, &a).unwrap(), Claimed::Fresh);
        assert_eq!(claim(&mut c, f, &b).unwrap(), Claimed::Taken(a.clone()));
        // A's publisher dropped: A itself takes it back plain...
        assert!(mark_orphaned(&mut c, f, &a).unwrap());
        assert_eq!(holder(&mut c, f).unwrap(), Some(a.clone()));
        assert_eq!(claim(&mut c, f, &a).unwrap(), Claimed::Fresh);
        assert_eq!(claim(&mut c, f, &b).unwrap(), Claimed::Taken(a.clone()));
        // ...and the claim marked again is released by A (its window ended)...
        assert!(mark_orphaned(&mut c, f, &a).unwrap());
        assert!(release(&mut c, f, &a).unwrap());
        assert_eq!(holder(&mut c, f).unwrap(), None);
        // ...or taken by B, after which A can neither mark nor release it.
        assert_eq!(claim(&mut c, f, &a).unwrap(), Claimed::Fresh);
        assert!(mark_orphaned(&mut c, f, &a).unwrap());
        assert_eq!(claim(&mut c, f, &b).unwrap(), Claimed::Fresh);
        assert!(!mark_orphaned(&mut c, f, &a).unwrap());
        assert!(!release(&mut c, f, &a).unwrap());
        assert_eq!(holder(&mut c, f).unwrap(), Some(b.clone()));
        assert_eq!(claim(&mut c, f, &a).unwrap(), Claimed::Taken(b));
        let _ = child.kill();
        let _ = child.wait();
    }
}
