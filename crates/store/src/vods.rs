//! The `vods` table: one JSON document per finished recording, listed by
//! creation date.

use rusqlite::{params, Connection, OptionalExtension};

use crate::records::Vod;
use crate::sqlite::{docs, encode};
use crate::store::Result;

pub(crate) fn insert(conn: &Connection, app: &str, v: &Vod) -> Result<()> {
    conn.execute(
        "INSERT INTO vods (app, vod_id, stream_id, creation_date, doc) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (app, vod_id) DO UPDATE SET doc = excluded.doc",
        params![app, v.vod_id, v.stream_id, v.creation_date, encode(v)],
    )?;
    Ok(())
}

pub(crate) fn get(conn: &Connection, app: &str, vod_id: &str) -> Result<Option<Vod>> {
    let doc: Option<String> = conn
        .query_row(
            "SELECT doc FROM vods WHERE app = ?1 AND vod_id = ?2",
            params![app, vod_id],
            |r| r.get(0),
        )
        .optional()?;
    doc.map(|d| crate::sqlite::decode("vod", &d)).transpose()
}

pub(crate) fn list(conn: &Connection, app: &str, offset: u32, size: u32) -> Result<Vec<Vod>> {
    docs(
        conn,
        "vod",
        "SELECT doc FROM vods WHERE app = ?1 ORDER BY creation_date DESC, rowid DESC
         LIMIT ?2 OFFSET ?3",
        params![app, size, offset],
    )
}

pub(crate) fn count(conn: &Connection, app: &str) -> Result<u64> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM vods WHERE app = ?1",
        params![app],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

pub(crate) fn delete(conn: &Connection, app: &str, vod_id: &str) -> Result<bool> {
    let n = conn.execute(
        "DELETE FROM vods WHERE app = ?1 AND vod_id = ?2",
        params![app, vod_id],
    )?;
    Ok(n == 1)
}
