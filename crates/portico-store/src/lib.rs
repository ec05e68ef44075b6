//! Storage traits for Portico.
//!
//! The store is the source of truth. It keeps the catalog's processing state the way
//! Backstage's catalog does (one row per entity with its unprocessed and processed bodies,
//! parent → child edges, relations keyed by who emitted them) plus the final entities the
//! API serves and a change feed over them. The *logic* of processing (reading files,
//! validating, building relations, stitching JSON) lives in the catalog plugin; the store only
//! makes each batch of changes atomic and answers the lookups that logic needs.
//!
//! Per-user data (starred entities) has its own trait, [`UserDataStore`], and so do the
//! scaffolder's durable tasks, [`TaskStore`], and the public keys of signed user tokens,
//! [`SigningKeyStore`].
//!
//! Every implementation must pass [`contract`], which is run against SQLite and PostgreSQL.

mod audit;
mod auth;
pub mod catalog;
pub mod contract;
mod tasks;
mod user_data;

pub use audit::{ActionFilter, AuditEntry, AuditOutcome, AuditQuery, AuditStore, NewAuditEntry};
pub use auth::{SigningKeyStore, StoredSigningKey};
pub use catalog::*;
pub use tasks::{
    NewTask, TaskEventRecord, TaskEventType, TaskOrderField, TaskQuery, TaskRecord, TaskStatus, TaskStore,
};
pub use user_data::UserDataStore;

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row that should be unique already exists (e.g. a location with the same type and target).
    #[error("{0}")]
    Conflict(String),
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(String),
    /// A stored value could not be decoded (corrupt JSON body and the like).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Milliseconds since the Unix epoch; the store's only notion of time.
pub type Millis = i64;

/// The current time in [`Millis`].
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}
