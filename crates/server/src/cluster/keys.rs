//! Every Redis key of cluster membership, in one place (the store's records
//! have theirs in `tern_store`).

/// Counter handing each node start a new epoch: the fencing token of its claims.
pub const EPOCH: &str = "tern:cluster:epoch";
/// Ids of nodes that have announced themselves (pruned when their beat stops).
pub const NODES: &str = "tern:cluster:nodes";
/// Stream → "node epoch" of the node that publishes it (the origin).
pub const ORIGINS: &str = "tern:cluster:origins";
/// The secret relays present to origins (made by the first node).
pub const SECRET: &str = "tern:cluster:secret";
/// Prefix of the key holding a node's epoch while its heartbeat lasts.
pub const ALIVE_PREFIX: &str = "tern:cluster:alive:";

/// The key whose presence says `node` is alive (it expires without beats).
pub fn alive(node: &str) -> String {
    format!("{ALIVE_PREFIX}{node}")
}

/// The node's announced address and load (JSON), expiring with its beat.
pub fn node(node: &str) -> String {
    format!("tern:cluster:node:{node}")
}

/// Each node's count of a stream's players (`field` as [`origin_field`]).
pub fn viewers(field: &str) -> String {
    format!("tern:cluster:viewers:{field}")
}

/// The stream ids published as participants of a conference room.
pub fn room(app: &str, room: &str) -> String {
    format!("tern:cluster:room:{app}/{room}")
}

/// The field of a stream in [`ORIGINS`]. Stream ids and app names never hold
/// `/` (`tern_signal::stream_id::is_valid`), so the split is unambiguous.
pub fn origin_field(app: &str, stream_id: &str) -> String {
    format!("{app}/{stream_id}")
}

pub fn split_origin_field(field: &str) -> Option<(&str, &str)> {
    field.split_once('/')
}
