//! Moving a single node's records (its SQLite file) into the cluster's store:
//! `tern --migrate-to-redis`. Records already in the target are kept as they
//! are (a second run adds only what is new), so it can be run again safely.

use rusqlite::params;

use crate::records::{Subscriber, Token};
use crate::sqlite::{docs, SqliteStore};
use crate::store::{Result, Store};

/// What a migration copied, and what the target had already.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub apps: usize,
    pub settings: usize,
    pub broadcasts: usize,
    pub tokens: usize,
    pub subscribers: usize,
    pub vods: usize,
    /// Records (of any kind) the target held already, left unchanged.
    pub kept: usize,
}

impl std::fmt::Display for Migrated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} apps: {} settings, {} broadcasts, {} tokens, {} subscribers, {} recordings copied; {} already there",
            self.apps, self.settings, self.broadcasts, self.tokens, self.subscribers, self.vods, self.kept
        )
    }
}

impl SqliteStore {
    /// Every app that has any record.
    pub fn app_names(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare(
            "SELECT app FROM app_settings UNION SELECT app FROM broadcasts
             UNION SELECT app FROM tokens UNION SELECT app FROM subscribers
             UNION SELECT app FROM vods ORDER BY 1",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Copies every record of `from` into `to`.
pub fn migrate(from: &SqliteStore, to: &mut dyn Store) -> Result<Migrated> {
    let mut m = Migrated::default();
    let all = crate::ListQuery {
        size: u32::MAX,
        ..crate::ListQuery::default()
    };
    for app in from.app_names()? {
        m.apps += 1;
        if let Some(settings) = from.app_settings(&app)? {
            if to.app_settings(&app)?.is_none() {
                to.save_app_settings(&app, &settings)?;
                m.settings += 1;
            } else {
                m.kept += 1;
            }
        }
        for b in from.list_broadcasts(&app, &all)? {
            if to.insert_broadcast(&app, &b)? {
                m.broadcasts += 1;
            } else {
                m.kept += 1;
            }
        }
        let tokens: Vec<String> = {
            let mut stmt = from
                .conn()
                .prepare("SELECT token_id FROM tokens WHERE app = ?1 ORDER BY rowid")?;
            let rows = stmt.query_map(params![app], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for id in tokens {
            let Some(t): Option<Token> = from.token(&app, &id)? else {
                continue;
            };
            if to.insert_token(&app, &t)? {
                m.tokens += 1;
            } else {
                m.kept += 1;
            }
        }
        let subscribers: Vec<Subscriber> = docs(
            from.conn(),
            "subscriber",
            "SELECT doc FROM subscribers WHERE app = ?1 ORDER BY rowid",
            params![app],
        )?;
        for s in subscribers {
            if to
                .subscriber(&app, &s.stream_id, &s.subscriber_id)?
                .is_none()
            {
                to.save_subscriber(&app, &s)?;
                m.subscribers += 1;
            } else {
                m.kept += 1;
            }
        }
        for v in from.list_vods(&app, 0, u32::MAX)?.into_iter().rev() {
            if to.vod(&app, &v.vod_id)?.is_none() {
                to.insert_vod(&app, &v)?;
                m.vods += 1;
            } else {
                m.kept += 1;
            }
        }
    }
    Ok(m)
}
