//! Tern's persistence: broadcasts, one-time tokens, TOTP subscribers,
//! recordings (VoDs) and application settings, per application, behind the [`Store`] trait.
//!
//! The embedded default is [`SqliteStore`]: one SQLite file in the data
//! directory, WAL journal, migrations run on open. The store keeps records and
//! answers queries; it has no business rules (who may publish, what a token
//! allows): those live in the server, which owns the clock.
//!
//! Records are serialised with Ant Media's JSON names (PROTOCOL.md §8.3), which
//! is also how the REST API shows them.

mod error;
mod migrate;
mod query;
mod records;
mod redis_store;
mod sqlite;
mod store;
mod vods;

pub use error::{OpenError, StoreError};
pub use migrate::{migrate, Migrated};
pub use query::{ListQuery, Order, SortBy};
pub use records::{status, Broadcast, Subscriber, Token, Vod};
pub use redis_store::RedisStore;
pub use sqlite::{SqliteStore, FILE_NAME as SQLITE_FILE};
pub use store::Store;
