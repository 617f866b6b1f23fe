//! What can go wrong below the store.

use std::path::PathBuf;

/// Why the store could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The data directory cannot be created or the file cannot be opened; check
    /// `--data-dir` and its permissions.
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// The file was written by a newer Tern whose schema this one does not know;
    /// run that version or restore a backup.
    TooNew {
        found: i64,
        known: i64,
    },
    /// A migration failed; the file is left at the last version that succeeded.
    Migration {
        version: i64,
        source: rusqlite::Error,
    },
    /// Redis (`--cluster-redis`) cannot be reached or refused us: check the
    /// URL, its password and that the server runs.
    Redis {
        url: String,
        source: redis::RedisError,
    },
    Other(String),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Open { path, source } => {
                write!(f, "cannot open database {}: {source}", path.display())
            }
            OpenError::TooNew { found, known } => write!(
                f,
                "database schema version {found} is newer than this Tern knows ({known})"
            ),
            OpenError::Migration { version, source } => {
                write!(
                    f,
                    "database migration to version {version} failed: {source}"
                )
            }
            OpenError::Redis { url, source } => write!(f, "cannot use Redis at {url}: {source}"),
            OpenError::Other(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for OpenError {}

/// Why a store operation failed. Callers answer the client with a generic
/// server error and log this.
#[derive(Debug)]
pub enum StoreError {
    /// The database refused the statement (disk full, file locked, …).
    Sqlite(rusqlite::Error),
    /// A stored record does not decode; the file was edited or is damaged.
    Corrupt { what: &'static str, detail: String },
    /// Redis cannot be reached or refused the command.
    Redis(redis::RedisError),
    /// Other nodes kept changing the record; the change was not made.
    Contended { what: &'static str },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "database error: {e}"),
            StoreError::Corrupt { what, detail } => write!(f, "stored {what} is damaged: {detail}"),
            StoreError::Redis(e) => write!(f, "redis error: {e}"),
            StoreError::Contended { what } => {
                write!(f, "the {what} changed on other nodes too often; try again")
            }
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        StoreError::Redis(e)
    }
}
