//! The persistence seam. Every method is one short transaction; callers hold the
//! store behind a lock, so a read-then-write of one caller is never interleaved
//! with another's.

use crate::error::StoreError;
use crate::query::ListQuery;
use crate::records::{Broadcast, Subscriber, Token, Vod};

pub type Result<T> = std::result::Result<T, StoreError>;

pub trait Store: Send {
    /// The settings document saved for `app`, if any (JSON text).
    fn app_settings(&self, app: &str) -> Result<Option<String>>;
    fn save_app_settings(&mut self, app: &str, json: &str) -> Result<()>;

    /// Adds a broadcast; `false` when one with this id exists already.
    fn insert_broadcast(&mut self, app: &str, b: &Broadcast) -> Result<bool>;
    fn broadcast(&self, app: &str, id: &str) -> Result<Option<Broadcast>>;
    /// Reads, changes and writes back one broadcast in one transaction; `None`
    /// when there is none. `f` must not change `stream_id`.
    fn modify_broadcast(
        &mut self,
        app: &str,
        id: &str,
        f: &mut dyn FnMut(&mut Broadcast),
    ) -> Result<Option<Broadcast>>;
    fn delete_broadcast(&mut self, app: &str, id: &str) -> Result<bool>;
    fn list_broadcasts(&self, app: &str, q: &ListQuery) -> Result<Vec<Broadcast>>;
    /// Broadcasts whose id or name contains `search` (all when `None`).
    fn count_broadcasts(&self, app: &str, search: Option<&str>) -> Result<u64>;
    fn count_with_status(&self, app: &str, status: &str) -> Result<u64>;
    /// Crash recovery: every broadcast of every app still `preparing` or
    /// `broadcasting` becomes `finished` with no viewers. Returns how many.
    fn finish_live_broadcasts(&mut self, now_ms: i64) -> Result<usize>;
    /// Deletes the `zombi` broadcasts of every app that are not live.
    fn delete_idle_zombis(&mut self) -> Result<usize>;

    /// Adds a token; `false` when the id exists already.
    fn insert_token(&mut self, app: &str, t: &Token) -> Result<bool>;
    fn token(&self, app: &str, token_id: &str) -> Result<Option<Token>>;
    /// Removes and returns a token in one statement: of concurrent callers
    /// presenting the same id, exactly one gets it.
    fn take_token(&mut self, app: &str, token_id: &str) -> Result<Option<Token>>;
    fn list_tokens(&self, app: &str, stream_id: &str, offset: u32, size: u32)
        -> Result<Vec<Token>>;
    fn delete_tokens(&mut self, app: &str, stream_id: &str) -> Result<usize>;

    /// Adds or replaces the subscriber `(stream_id, subscriber_id)`.
    fn save_subscriber(&mut self, app: &str, s: &Subscriber) -> Result<()>;
    fn subscriber(
        &self,
        app: &str,
        stream_id: &str,
        subscriber_id: &str,
    ) -> Result<Option<Subscriber>>;
    fn list_subscribers(
        &self,
        app: &str,
        stream_id: &str,
        offset: u32,
        size: u32,
    ) -> Result<Vec<Subscriber>>;
    fn delete_subscriber(
        &mut self,
        app: &str,
        stream_id: &str,
        subscriber_id: &str,
    ) -> Result<bool>;
    fn delete_subscribers(&mut self, app: &str, stream_id: &str) -> Result<usize>;

    /// Finished recordings, newest first.
    fn insert_vod(&mut self, app: &str, v: &Vod) -> Result<()>;
    fn vod(&self, app: &str, vod_id: &str) -> Result<Option<Vod>>;
    fn list_vods(&self, app: &str, offset: u32, size: u32) -> Result<Vec<Vod>>;
    fn count_vods(&self, app: &str) -> Result<u64>;
    fn delete_vod(&mut self, app: &str, vod_id: &str) -> Result<bool>;
}
