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
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use portico_store::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};

/// How long a connection waits for another process holding the database lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Reader connections of a file-backed store. Requests are served from the catalog's read
/// index, so readers serve the change-feed followers, stitching and the few pages that read
/// the store; each connection holds a page cache and prepared statements of its own.
const READERS: u32 = 2;
/// The readers' page cache (negative: KiB). Kept small because the operating system caches
/// the file anyway, and a private cache in every connection adds up to the process's memory
/// (large ones held the whole database several times over).
const READER_CACHE: &str = "-1024";
/// The writer's page cache grows with the database, between these bounds (KiB). Its
/// transactions update the same index pages again and again, and the indexes that take
/// entries in no particular order (relations by source, entities by ref) grow with the
/// catalog: once they outgrow the cache, every batch re-reads their pages and spills dirty
/// ones into the log mid-transaction. A 100,000-entity ingestion (a 600 MB file) spent about
/// 15% less time writing with 16 MiB than with 4; a 10,000-entity catalog gains nothing
/// from more than the floor, so small catalogs keep the small footprint.
const WRITER_CACHE_MIN_KIB: i64 = 4 * 1024;
const WRITER_CACHE_MAX_KIB: i64 = 16 * 1024;
/// The writer's cache is this fraction of the database file, within the bounds above.
const WRITER_CACHE_SHARE_OF_FILE: i64 = 16;
/// Write transactions between two checks of the file's size against the writer's cache.
const WRITER_CACHE_CHECK_EVERY: u64 = 32;
/// WAL pages written before the writer copies them back into the database file (SQLite's
/// default is 1,000). Pages an ingestion writes again and again — the indexes, an entity's row
/// first emitted and then processed — are copied back once per checkpoint, and every
/// checkpoint syncs the file: a 100,000-entity ingestion wrote 11% fewer bytes and spent a
/// quarter less time committing with 40,000 than with 10,000 (and 1.5 s less with 10,000 than
/// with 1,000). The log grows to about 160 MB between checkpoints.
const WAL_AUTOCHECKPOINT_PAGES: &str = "40000";
/// What the log is cut back to (bytes) when a checkpoint lets it start over, so that an idle
/// portal does not keep the largest log an ingestion needed on disk.
const WAL_SIZE_LIMIT: &str = "67108864";

/// A catalog store backed by SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The single connection that writes.
    writer: SqlitePool,
    /// Connections for read-only methods; the writer pool itself for in-memory stores.
    reader: SqlitePool,
    /// Write transactions started, to pace the writer cache checks; `None` for in-memory
    /// stores, whose cache is the database itself.
    writes: Option<Arc<AtomicU64>>,
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
                    .pragma("cache_size", (-WRITER_CACHE_MIN_KIB).to_string())
                    .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
                    .pragma("journal_size_limit", WAL_SIZE_LIMIT),
            )
            .await
            .map_err(|e| StoreError::Database(format!("cannot open {}: {e}", path.display())))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(common.read_only(true).pragma("cache_size", READER_CACHE))
            .await
            .map_err(|e| StoreError::Database(format!("cannot open {}: {e}", path.display())))?;
        Ok(Self { writer, reader, writes: Some(Arc::new(AtomicU64::new(0))) })
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
        Ok(Self { writer: pool.clone(), reader: pool, writes: None })
    }

    /// Applies the embedded migrations that have not been applied yet. Idempotent.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrate::run(&self.writer).await
    }

    /// Copies the write-ahead log back into the database file, empties it and closes every
    /// connection. A start that finds a log must read all of it again to rebuild its index
    /// (after an ingestion, that is the whole catalog).
    pub async fn close(&self) -> Result<(), StoreError> {
        if self.writes.is_some() {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.writer).await.map_err(db)?;
        }
        self.reader.close().await;
        self.writer.close().await;
        Ok(())
    }

    /// Starts a write transaction, holding SQLite's write lock from the start.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        if let Some(writes) = &self.writes
            && writes.fetch_add(1, Ordering::Relaxed) % WRITER_CACHE_CHECK_EVERY == 0
        {
            fit_writer_cache(&mut tx).await?;
        }
        Ok(tx)
    }

    /// Starts a read transaction: every statement in it sees the same snapshot.
    async fn begin_read(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.reader.begin().await.map_err(db)
    }
}

/// The writer's page cache (KiB) for a database file of `file_bytes`.
fn writer_cache_kib(file_bytes: i64) -> i64 {
    (file_bytes / 1024 / WRITER_CACHE_SHARE_OF_FILE).clamp(WRITER_CACHE_MIN_KIB, WRITER_CACHE_MAX_KIB)
}

/// Sizes the writer's page cache to the database file as it is now. Setting the size it
/// already has changes nothing, so it is set without asking first.
async fn fit_writer_cache(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    let file_bytes: i64 =
        sqlx::query_scalar("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
    let kib = writer_cache_kib(file_bytes);
    // Negative: a size in KiB rather than a number of pages.
    sqlx::query(&format!("PRAGMA cache_size = {}", -kib)).execute(&mut *conn).await.map_err(db)?;
    Ok(())
}

/// Maps a driver error to the store's error type.
fn db(error: sqlx::Error) -> StoreError {
    StoreError::Database(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pragma(pool: &SqlitePool, query: &'static str) -> i64 {
        sqlx::query_scalar::<_, i64>(query).fetch_one(pool).await.expect("pragma")
    }

    #[tokio::test]
    async fn file_connections_get_their_cache_and_checkpoint_settings() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&dir.path().join("settings.db")).await.expect("open");
        assert_eq!(pragma(&store.writer, "PRAGMA cache_size").await, -WRITER_CACHE_MIN_KIB);
        assert_eq!(
            pragma(&store.writer, "PRAGMA wal_autocheckpoint").await.to_string(),
            WAL_AUTOCHECKPOINT_PAGES
        );
        assert_eq!(pragma(&store.writer, "PRAGMA journal_size_limit").await.to_string(), WAL_SIZE_LIMIT);
        assert_eq!(pragma(&store.reader, "PRAGMA cache_size").await.to_string(), READER_CACHE);
    }

    #[test]
    fn the_writer_cache_is_a_share_of_the_file_within_bounds() {
        const MIB: i64 = 1024 * 1024;
        assert_eq!(writer_cache_kib(0), WRITER_CACHE_MIN_KIB);
        assert_eq!(writer_cache_kib(49 * MIB), WRITER_CACHE_MIN_KIB);
        assert_eq!(writer_cache_kib(128 * MIB), 8 * 1024);
        assert_eq!(writer_cache_kib(600 * MIB), WRITER_CACHE_MAX_KIB);
    }

    #[tokio::test]
    async fn the_writer_cache_grows_with_the_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&dir.path().join("growing.db")).await.expect("open");
        // 96 MiB of rows: six times the floor's share of the file.
        sqlx::query("CREATE TABLE filler (bytes BLOB NOT NULL)").execute(&store.writer).await.expect("table");
        for _ in 0..96 {
            sqlx::query("INSERT INTO filler (bytes) VALUES (zeroblob(1048576))")
                .execute(&store.writer)
                .await
                .expect("filler");
        }
        store.begin_write().await.expect("write").commit().await.expect("commit");
        let kib = -pragma(&store.writer, "PRAGMA cache_size").await;
        assert!((6 * 1024..7 * 1024).contains(&kib), "writer cache {kib} KiB for a 96 MiB file");
    }

    #[tokio::test]
    async fn closing_copies_the_log_back_into_the_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("closing.db");
        let store = SqliteStore::open(&path).await.expect("open");
        let mut tx = store.begin_write().await.expect("write");
        sqlx::query("CREATE TABLE kept (value TEXT NOT NULL)").execute(&mut *tx).await.expect("table");
        sqlx::query("INSERT INTO kept (value) VALUES ('written')").execute(&mut *tx).await.expect("row");
        tx.commit().await.expect("commit");
        let wal = dir.path().join("closing.db-wal");
        assert!(std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0), "the commit is in the log");

        store.close().await.expect("close");
        assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0, "the log is empty");
        let reopened = SqliteStore::open(&path).await.expect("reopen");
        let value: String =
            sqlx::query_scalar("SELECT value FROM kept").fetch_one(&reopened.reader).await.expect("read");
        assert_eq!(value, "written");
    }
}
