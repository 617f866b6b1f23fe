//! The embedded store: one SQLite file (`tern.db`) in the data directory.
//!
//! Records are kept as their JSON documents; the columns beside them (status,
//! name, date, …) exist for queries and are written from the same record, so
//! they never disagree.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{OpenError, StoreError};
use crate::query::{ListQuery, Order, SortBy};
use crate::records::{status, Broadcast, Subscriber, Token, Vod};
use crate::store::{Result, Store};

/// File name inside the data directory.
pub const FILE_NAME: &str = "tern.db";

/// Schema migrations, oldest first; `PRAGMA user_version` counts those applied.
/// Never edit one that shipped: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE app_settings (
        app TEXT PRIMARY KEY NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE TABLE broadcasts (
        app TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        name TEXT,
        status TEXT NOT NULL,
        type TEXT NOT NULL,
        date INTEGER NOT NULL,
        zombi INTEGER NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (app, stream_id)
    );
    CREATE INDEX broadcasts_by_status ON broadcasts (status);
    CREATE TABLE tokens (
        app TEXT NOT NULL,
        token_id TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        type TEXT NOT NULL,
        expire_date INTEGER NOT NULL,
        room_id TEXT,
        PRIMARY KEY (app, token_id)
    );
    CREATE INDEX tokens_by_stream ON tokens (app, stream_id);
    CREATE TABLE subscribers (
        app TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        subscriber_id TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (app, stream_id, subscriber_id)
    );",
    // 2: finished recordings.
    "CREATE TABLE vods (
        app TEXT NOT NULL,
        vod_id TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        creation_date INTEGER NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (app, vod_id)
    );
    CREATE INDEX vods_by_date ON vods (app, creation_date);",
];

pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating when needed) `dir/tern.db` and brings its schema up to date.
    pub fn open(dir: &Path) -> std::result::Result<SqliteStore, OpenError> {
        let path = dir.join(FILE_NAME);
        let open_err = |source| OpenError::Open {
            path: path.clone(),
            source,
        };
        if let Err(e) = std::fs::create_dir_all(dir) {
            return Err(open_err(rusqlite::Error::ToSqlConversionFailure(Box::new(
                e,
            ))));
        }
        let conn = Connection::open(&path).map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        // WAL: readers never block the writer and a crash loses at most the
        // last transaction; NORMAL sync is durable across process crashes.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        let mut store = SqliteStore { conn, path };
        store.migrate()?;
        Ok(store)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> i64 {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap_or(0)
    }

    fn migrate(&mut self) -> std::result::Result<(), OpenError> {
        let known = MIGRATIONS.len() as i64;
        let found = self.schema_version();
        if found > known {
            return Err(OpenError::TooNew { found, known });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let version = i as i64 + 1;
            let fail = |source| OpenError::Migration { version, source };
            let tx = self.conn.transaction().map_err(fail)?;
            tx.execute_batch(sql).map_err(fail)?;
            tx.pragma_update(None, "user_version", version)
                .map_err(fail)?;
            tx.commit().map_err(fail)?;
            tracing::debug!(version, "database migrated");
        }
        Ok(())
    }
}

pub(crate) fn encode<T: Serialize>(v: &T) -> String {
    // Records are plain structs of strings, numbers and lists: always encodable.
    serde_json::to_string(v).expect("records serialise to JSON")
}

pub(crate) fn decode<T: DeserializeOwned>(what: &'static str, doc: &str) -> Result<T> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt {
        what,
        detail: e.to_string(),
    })
}

fn write_broadcast(conn: &Connection, app: &str, b: &Broadcast, insert: bool) -> Result<usize> {
    // An update keeps the row (and its rowid, the tie-break of list order).
    let on_conflict = if insert {
        "DO NOTHING"
    } else {
        "DO UPDATE SET name = excluded.name, status = excluded.status, type = excluded.type,
         date = excluded.date, zombi = excluded.zombi, doc = excluded.doc"
    };
    let sql = format!(
        "INSERT INTO broadcasts (app, stream_id, name, status, type, date, zombi, doc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (app, stream_id) {on_conflict}"
    );
    Ok(conn.execute(
        &sql,
        params![
            app,
            b.stream_id,
            b.name,
            b.status,
            b.kind,
            b.date,
            b.zombi,
            encode(b)
        ],
    )?)
}

fn read_broadcast(conn: &Connection, app: &str, id: &str) -> Result<Option<Broadcast>> {
    let doc: Option<String> = conn
        .query_row(
            "SELECT doc FROM broadcasts WHERE app = ?1 AND stream_id = ?2",
            params![app, id],
            |r| r.get(0),
        )
        .optional()?;
    doc.map(|d| decode("broadcast", &d)).transpose()
}

pub(crate) fn docs<T: DeserializeOwned>(
    conn: &Connection,
    what: &'static str,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(args, |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for doc in rows {
        out.push(decode(what, &doc?)?);
    }
    Ok(out)
}

/// `instr` instead of `LIKE` so that `%` and `_` in a search are literal.
const SEARCH: &str = "(?2 IS NULL OR instr(lower(stream_id), lower(?2)) > 0
                       OR instr(lower(coalesce(name, '')), lower(?2)) > 0)";

impl Store for SqliteStore {
    fn app_settings(&self, app: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT doc FROM app_settings WHERE app = ?1",
                params![app],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn save_app_settings(&mut self, app: &str, json: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO app_settings (app, doc) VALUES (?1, ?2)
             ON CONFLICT (app) DO UPDATE SET doc = excluded.doc",
            params![app, json],
        )?;
        Ok(())
    }

    fn insert_broadcast(&mut self, app: &str, b: &Broadcast) -> Result<bool> {
        Ok(write_broadcast(&self.conn, app, b, true)? == 1)
    }

    fn broadcast(&self, app: &str, id: &str) -> Result<Option<Broadcast>> {
        read_broadcast(&self.conn, app, id)
    }

    fn modify_broadcast(
        &mut self,
        app: &str,
        id: &str,
        f: &mut dyn FnMut(&mut Broadcast),
    ) -> Result<Option<Broadcast>> {
        let tx = self.conn.transaction()?;
        let Some(mut b) = read_broadcast(&tx, app, id)? else {
            return Ok(None);
        };
        f(&mut b);
        b.stream_id = id.to_owned();
        write_broadcast(&tx, app, &b, false)?;
        tx.commit()?;
        Ok(Some(b))
    }

    fn delete_broadcast(&mut self, app: &str, id: &str) -> Result<bool> {
        let n = self.conn.execute(
            "DELETE FROM broadcasts WHERE app = ?1 AND stream_id = ?2",
            params![app, id],
        )?;
        Ok(n == 1)
    }

    fn list_broadcasts(&self, app: &str, q: &ListQuery) -> Result<Vec<Broadcast>> {
        let column = match q.sort_by {
            SortBy::Date => "date",
            SortBy::Name => "lower(coalesce(name, stream_id))",
            SortBy::Status => "status",
        };
        let dir = match q.order {
            Order::Asc => "ASC",
            Order::Desc => "DESC",
        };
        let sql = format!(
            "SELECT doc FROM broadcasts
             WHERE app = ?1 AND {SEARCH} AND (?3 IS NULL OR type = ?3)
             ORDER BY {column} {dir}, rowid {dir} LIMIT ?4 OFFSET ?5"
        );
        docs(
            &self.conn,
            "broadcast",
            &sql,
            params![app, q.search, q.type_by, q.size, q.offset],
        )
    }

    fn count_broadcasts(&self, app: &str, search: Option<&str>) -> Result<u64> {
        let sql = format!("SELECT count(*) FROM broadcasts WHERE app = ?1 AND {SEARCH}");
        let n: i64 = self
            .conn
            .query_row(&sql, params![app, search], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    fn count_with_status(&self, app: &str, status: &str) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM broadcasts WHERE app = ?1 AND status = ?2",
            params![app, status],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    fn finish_live_broadcasts(&mut self, now_ms: i64) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let live: Vec<(String, String)> = {
            let mut stmt =
                tx.prepare("SELECT app, doc FROM broadcasts WHERE status IN (?1, ?2)")?;
            let rows = stmt.query_map(params![status::PREPARING, status::BROADCASTING], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for (app, doc) in &live {
            let mut b: Broadcast = decode("broadcast", doc)?;
            b.status = status::FINISHED.into();
            b.webrtc_viewer_count = 0;
            b.anyone_watching = false;
            b.update_time = now_ms;
            write_broadcast(&tx, app, &b, false)?;
        }
        tx.commit()?;
        Ok(live.len())
    }

    fn delete_idle_zombis(&mut self) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM broadcasts WHERE zombi = 1 AND status NOT IN (?1, ?2)",
            params![status::PREPARING, status::BROADCASTING],
        )?)
    }

    fn insert_token(&mut self, app: &str, t: &Token) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO tokens (app, token_id, stream_id, type, expire_date, room_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                app,
                t.token_id,
                t.stream_id,
                t.kind,
                t.expire_date,
                t.room_id
            ],
        )?;
        Ok(n == 1)
    }

    fn token(&self, app: &str, token_id: &str) -> Result<Option<Token>> {
        Ok(self
            .conn
            .query_row(
                "SELECT token_id, stream_id, type, expire_date, room_id FROM tokens
                 WHERE app = ?1 AND token_id = ?2",
                params![app, token_id],
                token_row,
            )
            .optional()?)
    }

    fn take_token(&mut self, app: &str, token_id: &str) -> Result<Option<Token>> {
        Ok(self
            .conn
            .query_row(
                "DELETE FROM tokens WHERE app = ?1 AND token_id = ?2
                 RETURNING token_id, stream_id, type, expire_date, room_id",
                params![app, token_id],
                token_row,
            )
            .optional()?)
    }

    fn list_tokens(
        &self,
        app: &str,
        stream_id: &str,
        offset: u32,
        size: u32,
    ) -> Result<Vec<Token>> {
        let mut stmt = self.conn.prepare(
            "SELECT token_id, stream_id, type, expire_date, room_id FROM tokens
             WHERE app = ?1 AND stream_id = ?2 ORDER BY rowid LIMIT ?3 OFFSET ?4",
        )?;
        let rows = stmt.query_map(params![app, stream_id, size, offset], token_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn delete_tokens(&mut self, app: &str, stream_id: &str) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM tokens WHERE app = ?1 AND stream_id = ?2",
            params![app, stream_id],
        )?)
    }

    fn save_subscriber(&mut self, app: &str, s: &Subscriber) -> Result<()> {
        self.conn.execute(
            "INSERT INTO subscribers (app, stream_id, subscriber_id, doc) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (app, stream_id, subscriber_id) DO UPDATE SET doc = excluded.doc",
            params![app, s.stream_id, s.subscriber_id, encode(s)],
        )?;
        Ok(())
    }

    fn subscriber(
        &self,
        app: &str,
        stream_id: &str,
        subscriber_id: &str,
    ) -> Result<Option<Subscriber>> {
        let doc: Option<String> = self
            .conn
            .query_row(
                "SELECT doc FROM subscribers WHERE app = ?1 AND stream_id = ?2 AND subscriber_id = ?3",
                params![app, stream_id, subscriber_id],
                |r| r.get(0),
            )
            .optional()?;
        doc.map(|d| decode("subscriber", &d)).transpose()
    }

    fn list_subscribers(
        &self,
        app: &str,
        stream_id: &str,
        offset: u32,
        size: u32,
    ) -> Result<Vec<Subscriber>> {
        docs(
            &self.conn,
            "subscriber",
            "SELECT doc FROM subscribers WHERE app = ?1 AND stream_id = ?2
             ORDER BY rowid LIMIT ?3 OFFSET ?4",
            params![app, stream_id, size, offset],
        )
    }

    fn delete_subscriber(
        &mut self,
        app: &str,
        stream_id: &str,
        subscriber_id: &str,
    ) -> Result<bool> {
        let n = self.conn.execute(
            "DELETE FROM subscribers WHERE app = ?1 AND stream_id = ?2 AND subscriber_id = ?3",
            params![app, stream_id, subscriber_id],
        )?;
        Ok(n == 1)
    }

    fn delete_subscribers(&mut self, app: &str, stream_id: &str) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM subscribers WHERE app = ?1 AND stream_id = ?2",
            params![app, stream_id],
        )?)
    }

    fn insert_vod(&mut self, app: &str, v: &Vod) -> Result<()> {
        crate::vods::insert(&self.conn, app, v)
    }

    fn vod(&self, app: &str, vod_id: &str) -> Result<Option<Vod>> {
        crate::vods::get(&self.conn, app, vod_id)
    }

    fn list_vods(&self, app: &str, offset: u32, size: u32) -> Result<Vec<Vod>> {
        crate::vods::list(&self.conn, app, offset, size)
    }

    fn count_vods(&self, app: &str) -> Result<u64> {
        crate::vods::count(&self.conn, app)
    }

    fn delete_vod(&mut self, app: &str, vod_id: &str) -> Result<bool> {
        crate::vods::delete(&self.conn, app, vod_id)
    }
}

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Token> {
    Ok(Token {
        token_id: r.get(0)?,
        stream_id: r.get(1)?,
        kind: r.get(2)?,
        expire_date: r.get(3)?,
        room_id: r.get(4)?,
    })
}
