//! The cluster's store: the same records as [`crate::SqliteStore`], kept in
//! Redis so that every node reads and writes one truth. Chosen with
//! `--cluster-redis`; a single node keeps SQLite.
//!
//! Each record is a JSON document in a hash per app and kind (`keys`), with
//! its insertion order beside it (`table`). Single-record changes are one
//! script each; a read-change-write of a broadcast is a compare-and-set of
//! that one record, retried a bounded number of times.

mod keys;
mod table;

use std::cell::RefCell;
use std::time::Duration;

use redis::{Client, Connection};

use crate::error::{OpenError, StoreError};
use crate::query::{ListQuery, Order, SortBy};
use crate::records::{status, Broadcast, Subscriber, Token, Vod};
use crate::sqlite::{decode, encode};
use crate::store::{Result, Store};
use keys::Table;

/// How long a connect, a read or a write may take before the call fails: a
/// Redis that is away costs a caller this, not a hang.
const IO_TIMEOUT: Duration = Duration::from_millis(500);
/// Optimistic transactions that lose this many races in a row give up.
const MAX_RETRIES: usize = 32;

pub struct RedisStore {
    client: Client,
    /// Opened on first use and again after an I/O error, so a Redis restart
    /// costs the calls made while it is away and no more.
    conn: RefCell<Option<Connection>>,
}

impl RedisStore {
    /// Connects to `url` (`redis://` or `rediss://`) and checks the server answers.
    pub fn open(url: &str) -> std::result::Result<RedisStore, OpenError> {
        let client = Client::open(url).map_err(|source| OpenError::Redis {
            url: redacted(url),
            source,
        })?;
        let store = RedisStore {
            client,
            conn: RefCell::new(None),
        };
        store
            .with(|c| redis::cmd("PING").query::<String>(c))
            .map_err(|e| match e {
                StoreError::Redis(source) => OpenError::Redis {
                    url: redacted(url),
                    source,
                },
                other => OpenError::Other(other.to_string()),
            })?;
        Ok(store)
    }

    /// Runs `f` on the connection, opening it first when needed. A kept
    /// connection that turns out closed (Redis restarted since) is replaced
    /// and `f` runs once more: the command never reached a server.
    fn with<T>(&self, mut f: impl FnMut(&mut Connection) -> redis::RedisResult<T>) -> Result<T> {
        let mut slot = self.conn.borrow_mut();
        let kept = slot.is_some();
        let result = run(&self.client, &mut slot, &mut f);
        match result {
            Err(e) if kept && e.is_connection_dropped() => {
                Ok(run(&self.client, &mut slot, &mut f)?)
            }
            other => Ok(other?),
        }
    }

    fn docs<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        t: &Table,
    ) -> Result<Vec<T>> {
        let all = self.with(|c| table::all(c, t))?;
        all.iter().map(|(_, d)| decode(what, d)).collect()
    }

    fn apps(&self) -> Result<Vec<String>> {
        self.with(|c| redis::cmd("SMEMBERS").arg(keys::APPS).query(c))
    }

    /// Broadcasts matching a search, in insertion order.
    fn matching(&self, app: &str, search: Option<&str>) -> Result<Vec<Broadcast>> {
        let all: Vec<Broadcast> = self.docs("broadcast", &Table::broadcasts(app))?;
        let needle = search.map(str::to_lowercase);
        Ok(all
            .into_iter()
            .filter(|b| match &needle {
                None => true,
                Some(n) => {
                    b.stream_id.to_lowercase().contains(n.as_str())
                        || b.name
                            .as_deref()
                            .unwrap_or("")
                            .to_lowercase()
                            .contains(n.as_str())
                }
            })
            .collect())
    }
}

fn run<T>(
    client: &Client,
    slot: &mut Option<Connection>,
    f: &mut impl FnMut(&mut Connection) -> redis::RedisResult<T>,
) -> redis::RedisResult<T> {
    if slot.is_none() {
        let c = client.get_connection_with_timeout(IO_TIMEOUT)?;
        c.set_read_timeout(Some(IO_TIMEOUT))?;
        c.set_write_timeout(Some(IO_TIMEOUT))?;
        *slot = Some(c);
    }
    let result = f(slot.as_mut().expect("opened above"));
    if let Err(e) = &result {
        if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
            // A half-read reply would poison the next call: start afresh.
            *slot = None;
        }
    }
    result
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl Store for RedisStore {
    fn app_settings(&self, app: &str) -> Result<Option<String>> {
        self.with(|c| redis::cmd("GET").arg(keys::settings(app)).query(c))
    }

    fn save_app_settings(&mut self, app: &str, json: &str) -> Result<()> {
        self.with(|c| {
            redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(keys::settings(app))
                .arg(json)
                .ignore()
                .cmd("SADD")
                .arg(keys::APPS)
                .arg(app)
                .ignore()
                .query(c)
        })
    }

    fn insert_broadcast(&mut self, app: &str, b: &Broadcast) -> Result<bool> {
        let doc = encode(b);
        self.with(|c| table::insert(c, &Table::broadcasts(app), app, &b.stream_id, &doc))
    }

    fn broadcast(&self, app: &str, id: &str) -> Result<Option<Broadcast>> {
        let doc = self.with(|c| table::get(c, &Table::broadcasts(app), id))?;
        doc.map(|d| decode("broadcast", &d)).transpose()
    }

    fn modify_broadcast(
        &mut self,
        app: &str,
        id: &str,
        f: &mut dyn FnMut(&mut Broadcast),
    ) -> Result<Option<Broadcast>> {
        let t = Table::broadcasts(app);
        for attempt in 0..MAX_RETRIES {
            let Some(before) = self.with(|c| table::get(c, &t, id))? else {
                return Ok(None);
            };
            let mut b: Broadcast = decode("broadcast", &before)?;
            f(&mut b);
            b.stream_id = id.to_owned();
            let after = encode(&b);
            if self.with(|c| table::swap(c, &t, id, &before, &after))? {
                return Ok(Some(b));
            }
            // Another node changed it in between: read again, after a
            // jittered pause so that racing writers spread out.
            std::thread::sleep(jitter(attempt));
        }
        Err(StoreError::Contended { what: "broadcast" })
    }

    fn delete_broadcast(&mut self, app: &str, id: &str) -> Result<bool> {
        Ok(self
            .with(|c| table::take(c, &Table::broadcasts(app), id))?
            .is_some())
    }

    fn list_broadcasts(&self, app: &str, q: &ListQuery) -> Result<Vec<Broadcast>> {
        let mut all: Vec<(usize, Broadcast)> = self
            .matching(app, q.search.as_deref())?
            .into_iter()
            .filter(|b| q.type_by.as_ref().is_none_or(|t| &b.kind == t))
            .enumerate()
            .collect();
        // The same order as the SQLite store's: the column, then insertion.
        all.sort_by(|(ia, a), (ib, b)| {
            let by = match q.sort_by {
                SortBy::Date => a.date.cmp(&b.date),
                SortBy::Name => sort_name(a).cmp(&sort_name(b)),
                SortBy::Status => a.status.cmp(&b.status),
            };
            by.then(ia.cmp(ib))
        });
        if q.order == Order::Desc {
            all.reverse();
        }
        Ok(all
            .into_iter()
            .map(|(_, b)| b)
            .skip(q.offset as usize)
            .take(q.size as usize)
            .collect())
    }

    fn count_broadcasts(&self, app: &str, search: Option<&str>) -> Result<u64> {
        if search.is_none() {
            return self.with(|c| table::count(c, &Table::broadcasts(app)));
        }
        Ok(self.matching(app, search)?.len() as u64)
    }

    fn count_with_status(&self, app: &str, wanted: &str) -> Result<u64> {
        let all = self.matching(app, None)?;
        Ok(all.iter().filter(|b| b.status == wanted).count() as u64)
    }

    fn finish_live_broadcasts(&mut self, now_ms: i64) -> Result<usize> {
        let mut finished = 0;
        for app in self.apps()? {
            for b in self.matching(&app, None)? {
                if b.status != status::PREPARING && b.status != status::BROADCASTING {
                    continue;
                }
                let changed = self.modify_broadcast(&app, &b.stream_id, &mut |b| {
                    b.status = status::FINISHED.into();
                    b.webrtc_viewer_count = 0;
                    b.anyone_watching = false;
                    b.update_time = now_ms;
                })?;
                finished += usize::from(changed.is_some());
            }
        }
        Ok(finished)
    }

    fn delete_idle_zombis(&mut self) -> Result<usize> {
        let mut deleted = 0;
        for app in self.apps()? {
            for b in self.matching(&app, None)? {
                let live = b.status == status::PREPARING || b.status == status::BROADCASTING;
                if b.zombi && !live && self.delete_broadcast(&app, &b.stream_id)? {
                    deleted += 1;
                }
            }
        }
        Ok(deleted)
    }

    fn insert_token(&mut self, app: &str, t: &Token) -> Result<bool> {
        let doc = encode(t);
        self.with(|c| table::insert(c, &Table::tokens(app), app, &t.token_id, &doc))
    }

    fn token(&self, app: &str, token_id: &str) -> Result<Option<Token>> {
        let doc = self.with(|c| table::get(c, &Table::tokens(app), token_id))?;
        doc.map(|d| decode("token", &d)).transpose()
    }

    fn take_token(&mut self, app: &str, token_id: &str) -> Result<Option<Token>> {
        let doc = self.with(|c| table::take(c, &Table::tokens(app), token_id))?;
        doc.map(|d| decode("token", &d)).transpose()
    }

    fn list_tokens(
        &self,
        app: &str,
        stream_id: &str,
        offset: u32,
        size: u32,
    ) -> Result<Vec<Token>> {
        let all: Vec<Token> = self.docs("token", &Table::tokens(app))?;
        Ok(all
            .into_iter()
            .filter(|t| t.stream_id == stream_id)
            .skip(offset as usize)
            .take(size as usize)
            .collect())
    }

    fn delete_tokens(&mut self, app: &str, stream_id: &str) -> Result<usize> {
        let t = Table::tokens(app);
        let all: Vec<Token> = self.docs("token", &t)?;
        let mut deleted = 0;
        for token in all.iter().filter(|t| t.stream_id == stream_id) {
            deleted += usize::from(
                self.with(|c| table::take(c, &t, &token.token_id))?
                    .is_some(),
            );
        }
        Ok(deleted)
    }

    fn save_subscriber(&mut self, app: &str, s: &Subscriber) -> Result<()> {
        let doc = encode(s);
        let t = Table::subscribers(app, &s.stream_id);
        self.with(|c| table::put(c, &t, app, &s.subscriber_id, &doc))
    }

    fn subscriber(
        &self,
        app: &str,
        stream_id: &str,
        subscriber_id: &str,
    ) -> Result<Option<Subscriber>> {
        let t = Table::subscribers(app, stream_id);
        let doc = self.with(|c| table::get(c, &t, subscriber_id))?;
        doc.map(|d| decode("subscriber", &d)).transpose()
    }

    fn list_subscribers(
        &self,
        app: &str,
        stream_id: &str,
        offset: u32,
        size: u32,
    ) -> Result<Vec<Subscriber>> {
        let all: Vec<Subscriber> = self.docs("subscriber", &Table::subscribers(app, stream_id))?;
        Ok(all
            .into_iter()
            .skip(offset as usize)
            .take(size as usize)
            .collect())
    }

    fn delete_subscriber(
        &mut self,
        app: &str,
        stream_id: &str,
        subscriber_id: &str,
    ) -> Result<bool> {
        let t = Table::subscribers(app, stream_id);
        Ok(self.with(|c| table::take(c, &t, subscriber_id))?.is_some())
    }

    fn delete_subscribers(&mut self, app: &str, stream_id: &str) -> Result<usize> {
        let t = Table::subscribers(app, stream_id);
        let n = self.with(|c| table::count(c, &t))?;
        self.with(|c| redis::cmd("DEL").arg(&t.docs).arg(&t.order).exec(c))?;
        Ok(n as usize)
    }

    fn insert_vod(&mut self, app: &str, v: &Vod) -> Result<()> {
        let doc = encode(v);
        self.with(|c| table::put(c, &Table::vods(app), app, &v.vod_id, &doc))
    }

    fn vod(&self, app: &str, vod_id: &str) -> Result<Option<Vod>> {
        let doc = self.with(|c| table::get(c, &Table::vods(app), vod_id))?;
        doc.map(|d| decode("vod", &d)).transpose()
    }

    fn list_vods(&self, app: &str, offset: u32, size: u32) -> Result<Vec<Vod>> {
        let all: Vec<Vod> = self.docs("vod", &Table::vods(app))?;
        let mut all: Vec<(usize, Vod)> = all.into_iter().enumerate().collect();
        // Newest first; of equal dates, the one added last first.
        all.sort_by(|(ia, a), (ib, b)| b.creation_date.cmp(&a.creation_date).then(ib.cmp(ia)));
        Ok(all
            .into_iter()
            .map(|(_, v)| v)
            .skip(offset as usize)
            .take(size as usize)
            .collect())
    }

    fn count_vods(&self, app: &str) -> Result<u64> {
        self.with(|c| table::count(c, &Table::vods(app)))
    }

    fn delete_vod(&mut self, app: &str, vod_id: &str) -> Result<bool> {
        Ok(self
            .with(|c| table::take(c, &Table::vods(app), vod_id))?
            .is_some())
    }
}

/// Up to 50 µs × 2^attempt (capped at 3.2 ms), from the clock's nanoseconds.
fn jitter(attempt: usize) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let bound = 50u32 << attempt.min(6);
    Duration::from_micros(u64::from(nanos % bound))
}

/// What a broadcast sorts by under `sort_by=name`, as SQLite's
/// `lower(coalesce(name, stream_id))`.
fn sort_name(b: &Broadcast) -> String {
    b.name.as_deref().unwrap_or(&b.stream_id).to_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            super::redacted("redis://:s3cret@db:6379/0"),
            "redis://***@db:6379/0"
        );
        assert_eq!(super::redacted("rediss://u:p@h"), "rediss://***@h");
        assert_eq!(super::redacted("redis://h:1"), "redis://h:1");
    }
}
