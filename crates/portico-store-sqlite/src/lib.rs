//! SQLite implementation of Portico's storage traits.
//!
//! [`SqliteStore`] keeps the catalog in one SQLite file (or in memory for tests). The schema
//! mirrors Backstage's catalog tables (see `migrations/`), with entity bodies stored as JSON
//! text so that they round-trip exactly.
//!
//! # Durability
//!
//! Every [`CatalogStore`](portico_store::CatalogStore) method runs in exactly one transaction,
//! so a method either applies all of its changes or none. The database runs in WAL journal mode
//! with `synchronous = NORMAL`: a committed transaction is in the WAL file before the method
//! returns, so an acknowledged write survives the process being killed at any point. What
//! `NORMAL` gives up (compared to `FULL`) is durability of the last transactions across an
//! operating-system crash or power loss; the database itself stays consistent in that case.
//!
//! # Connections
//!
//! SQLite serializes writers anyway, so a file-backed store uses one writer connection (every
//! write transaction starts with `BEGIN IMMEDIATE`, which takes the write lock up front instead
//! of failing on a lock upgrade) and a small pool of reader connections, which WAL lets run
//! concurrently with the writer. An in-memory store uses a single connection for both, because
//! every connection to `:memory:` would otherwise open its own, empty database.

mod audit;
mod auth;
mod catalog;
mod migrate;
mod tasks;
mod user_data;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use portico_store::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

/// How long a connection waits for another process holding the database lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Reader connections of a file-backed store. Requests are served from the catalog's read
/// index, so readers serve the change-feed followers, stitching and the few pages that read
/// the store; each connection holds a page cache and prepared statements of its own.
const READERS: u32 = 2;
/// Page caches (negative: KiB). Kept small because the operating system caches the file
/// anyway, and a private cache in every connection adds up to the process's memory (large
/// ones held the whole database several times over). The writer's is the larger: its
/// transactions update the same index pages again and again.
const WRITER_CACHE: &str = "-4096";
const READER_CACHE: &str = "-1024";
/// WAL pages written before the writer copies them back into the database file (SQLite's
/// default is 1,000). Pages an ingestion writes again and again — the indexes, an entity's row
/// first emitted and then processed — are copied back once per checkpoint, and every
/// checkpoint syncs the file: with checkpoints ten times rarer, a 100,000-entity ingestion
/// spent 1.5 s less committing. The log grows to about 40 MB between checkpoints.
const WAL_AUTOCHECKPOINT_PAGES: &str = "10000";

/// A catalog store backed by SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The single connection that writes.
    writer: SqlitePool,
    /// Connections for read-only methods; the writer pool itself for in-memory stores.
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database file at `path`. Call [`Self::migrate`]
    /// before using the store.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let common = SqliteConnectOptions::new()
            .filename(path)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("temp_store", "memory");
        // The writer connects first: it creates the file and switches it to WAL (a persistent
        // setting), which the read-only connections then rely on.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(
                common
                    .clone()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .pragma("cache_size", WRITER_CACHE)
                    .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES),
            )
            .await
            .map_err(|e| StoreError::Database(format!("cannot open {}: {e}", path.display())))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(common.read_only(true).pragma("cache_size", READER_CACHE))
            .await
            .map_err(|e| StoreError::Database(format!("cannot open {}: {e}", path.display())))?;
        Ok(Self { writer, reader })
    }

    /// Opens a fresh, private in-memory database (for tests and throwaway runs).
    pub async fn in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| StoreError::Database(e.to_string()))?
            .foreign_keys(true);
        // The one connection must never be closed: the database lives only as long as it does.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Database(format!("cannot open in-memory database: {e}")))?;
        Ok(Self { writer: pool.clone(), reader: pool })
    }

    /// Applies the embedded migrations that have not been applied yet. Idempotent.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrate::run(&self.writer).await
    }

    /// Starts a write transaction, holding SQLite's write lock from the start.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(db)
    }

    /// Starts a read transaction: every statement in it sees the same snapshot.
    async fn begin_read(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.reader.begin().await.map_err(db)
    }
}

/// Maps a driver error to the store's error type.
fn db(error: sqlx::Error) -> StoreError {
    StoreError::Database(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_connections_get_their_cache_and_checkpoint_settings() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&dir.path().join("settings.db")).await.expect("open");
        async fn pragma(pool: &SqlitePool, query: &'static str) -> String {
            sqlx::query_scalar::<_, i64>(query).fetch_one(pool).await.expect("pragma").to_string()
        }
        assert_eq!(pragma(&store.writer, "PRAGMA cache_size").await, WRITER_CACHE);
        assert_eq!(pragma(&store.writer, "PRAGMA wal_autocheckpoint").await, WAL_AUTOCHECKPOINT_PAGES);
        assert_eq!(pragma(&store.reader, "PRAGMA cache_size").await, READER_CACHE);
    }
}
