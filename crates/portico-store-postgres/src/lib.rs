//! PostgreSQL implementation of Portico's storage traits.
//!
//! [`PostgresStore`] keeps the catalog in a PostgreSQL database that any number of replicas
//! share. The schema mirrors Backstage's catalog tables (see `migrations/`), with entity bodies
//! stored as JSON text so that they round-trip exactly.
//!
//! # Durability
//!
//! Every [`CatalogStore`](portico_store::CatalogStore) method runs in exactly one transaction,
//! so a method either applies all of its changes or none, and a method returns only after
//! PostgreSQL acknowledged the commit: an acknowledged write survives the process being
//! killed at any point (and, with PostgreSQL's default `synchronous_commit = on`, a crash of
//! the database server too).
//!
//! # Replicas
//!
//! Due rows are claimed with `FOR UPDATE SKIP LOCKED`, so replicas processing at the same time
//! never get the same row. Writes of final entities and tombstones take their change sequence
//! numbers from a counter row that stays locked until commit, so readers of the change feed see
//! the numbers appear in increasing order and never miss one that commits late.

mod audit;
mod auth;
mod catalog;
mod migrate;
mod tasks;
mod user_data;

use std::time::Duration;

use portico_store::StoreError;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};

/// Connections per replica.
const MAX_CONNECTIONS: u32 = 8;

/// A catalog store backed by PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`).
    /// Call [`Self::migrate`] before using the store.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            .map_err(|e| StoreError::Database(format!("cannot connect to PostgreSQL: {e}")))?;
        Ok(Self::from_pool(pool))
    }

    /// Uses an existing pool (for example one whose connections set a `search_path`).
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The underlying connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the embedded migrations that have not been applied yet. Idempotent, and safe to
    /// run from several replicas at once.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrate::run(&self.pool).await
    }

    /// Starts a read-write transaction.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(db)
    }

    /// Starts a read-only transaction in which every statement sees the same snapshot.
    async fn begin_read(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await.map_err(db)
    }
}

/// Maps a driver error to the store's error type.
fn db(error: sqlx::Error) -> StoreError {
    StoreError::Database(error.to_string())
}

mod scratch;
pub use scratch::scratch_schema_url;
