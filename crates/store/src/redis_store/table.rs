//! One kind of record in Redis: a hash of id → JSON document, with a sorted set
//! beside it that keeps insertion order (lists page in that order, as SQLite's
//! rowid does). Each change is one script, so the two never disagree.

use std::collections::HashMap;
use std::sync::LazyLock;

use redis::{Connection, Script};

use super::keys::{self, Table};

/// Adds a record unless its id exists; 1 when added.
static INSERT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
redis.call('SADD', KEYS[4], ARGV[3])
return 1",
    )
});

/// Adds or replaces a record; a replaced one keeps its place.
static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
redis.call('SADD', KEYS[4], ARGV[3])
return 1",
    )
});

/// Compare and set one record: an optimistic change conflicts only with
/// changes of the same record.
static SWAP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1",
    )
});

/// Removes a record and returns it: of concurrent callers, exactly one gets it.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return v",
    )
});

pub fn insert(
    c: &mut Connection,
    t: &Table,
    app: &str,
    id: &str,
    doc: &str,
) -> redis::RedisResult<bool> {
    Ok(write(&INSERT, c, t, app, id, doc)? == 1)
}

pub fn put(
    c: &mut Connection,
    t: &Table,
    app: &str,
    id: &str,
    doc: &str,
) -> redis::RedisResult<()> {
    write(&PUT, c, t, app, id, doc).map(drop)
}

/// Runs a writing script, which takes the same keys and arguments.
fn write(
    script: &Script,
    c: &mut Connection,
    t: &Table,
    app: &str,
    id: &str,
    doc: &str,
) -> redis::RedisResult<i64> {
    script
        .key(&t.docs)
        .key(&t.order)
        .key(keys::SEQUENCE)
        .key(keys::APPS)
        .arg(id)
        .arg(doc)
        .arg(app)
        .invoke(c)
}

/// Replaces a record only if it still reads `expected`: true when replaced.
pub fn swap(
    c: &mut Connection,
    t: &Table,
    id: &str,
    expected: &str,
    doc: &str,
) -> redis::RedisResult<bool> {
    let n: i64 = SWAP.key(&t.docs).arg(id).arg(expected).arg(doc).invoke(c)?;
    Ok(n == 1)
}

pub fn take(c: &mut Connection, t: &Table, id: &str) -> redis::RedisResult<Option<String>> {
    TAKE.key(&t.docs).key(&t.order).arg(id).invoke(c)
}

pub fn get(c: &mut Connection, t: &Table, id: &str) -> redis::RedisResult<Option<String>> {
    redis::cmd("HGET").arg(&t.docs).arg(id).query(c)
}

pub fn count(c: &mut Connection, t: &Table) -> redis::RedisResult<u64> {
    redis::cmd("HLEN").arg(&t.docs).query(c)
}

/// Every record in insertion order, read in one transaction.
pub fn all(c: &mut Connection, t: &Table) -> redis::RedisResult<Vec<(String, String)>> {
    let (ids, mut docs): (Vec<String>, HashMap<String, String>) = redis::pipe()
        .atomic()
        .cmd("ZRANGE")
        .arg(&t.order)
        .arg(0)
        .arg(-1)
        .cmd("HGETALL")
        .arg(&t.docs)
        .query(c)?;
    Ok(ids
        .into_iter()
        .filter_map(|id| docs.remove(&id).map(|d| (id, d)))
        .collect())
}
