//! Viewer counts summed over nodes. Each node keeps its own count of a stream's
//! players in one hash per stream; the origin's count includes one player per
//! edge relaying the stream, and each such edge has a field of its own (0 or
//! more), so the cluster's viewers are the sum less one per edge field.

use std::sync::LazyLock;

use redis::{Connection, Script};

use super::keys;

/// Sets this node's count and answers the stream's total.
static COUNT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], 86400000)
local holder = redis.call('HGET', KEYS[2], ARGV[1])
local origin = holder and string.match(holder, '^(%S+) ')
local all = redis.call('HGETALL', KEYS[1])
local total, edges = 0, 0
for i = 1, #all, 2 do
  total = total + tonumber(all[i + 1])
  if all[i] ~= origin then edges = edges + 1 end
end
if total < edges then return 0 end
return total - edges",
    )
});

pub fn count(
    c: &mut Connection,
    app: &str,
    stream: &str,
    node: &str,
    n: usize,
) -> redis::RedisResult<u64> {
    let field = keys::origin_field(app, stream);
    COUNT
        .key(keys::viewers(&field))
        .key(keys::ORIGINS)
        .arg(&field)
        .arg(node)
        .arg(n)
        .invoke(c)
}

/// This node no longer relays (or publishes) the stream.
pub fn forget(c: &mut Connection, app: &str, stream: &str, node: &str) -> redis::RedisResult<()> {
    let field = keys::origin_field(app, stream);
    redis::cmd("HDEL")
        .arg(keys::viewers(&field))
        .arg(node)
        .exec(c)
}

/// The stream ended: every node's count goes.
pub fn clear(c: &mut Connection, app: &str, stream: &str) -> redis::RedisResult<()> {
    let field = keys::origin_field(app, stream);
    redis::cmd("DEL").arg(keys::viewers(&field)).exec(c)
}
