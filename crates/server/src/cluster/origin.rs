//! Origin claims: which node publishes a stream. A claim is "node epoch"; it
//! holds while that node's alive key carries the same epoch, so a node that
//! died (or restarted, with a new epoch) loses its claims without anyone
//! deciding it: the next claimant or the reaper finds them stale.

use std::sync::LazyLock;

use redis::{Connection, Script};

use super::keys;

/// Takes the claim unless a live node holds it; answers the holder when one does.
/// A dead holder's viewer count goes with its claim (its edges keep theirs).
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and cur ~= ARGV[2] then
  local node, epoch = string.match(cur, '^(%S+) (%S+)$')
  if node and redis.call('GET', ARGV[3] .. node) == epoch then return cur end
  if node then redis.call('HDEL', KEYS[2], node) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if cur == ARGV[2] then return 1 end
return 0",
    )
});

/// Deletes a claim only if it still holds the value the caller saw.
static DELETE_IF: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0",
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

    pub fn parse(v: &str) -> Option<Holder> {
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
        assert_eq!(Holder::parse(&h.value()), Some(h));
        assert_eq!(Holder::parse("node"), None);
        assert_eq!(Holder::parse("node x"), None);
    }
}
