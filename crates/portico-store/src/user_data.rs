//! Per-user data kept by the portal itself (not part of the catalog): the entities a user
//! starred. Keyed by the user's entity ref so that it survives re-ingestion of the catalog.

use async_trait::async_trait;

use crate::StoreResult;

/// Storage of per-user data. Every method is one transaction.
#[async_trait]
pub trait UserDataStore: Send + Sync + 'static {
    /// Stars `entity_ref` for `user_ref`; starring twice is the same as once.
    async fn star(&self, user_ref: &str, entity_ref: &str) -> StoreResult<()>;

    /// Removes the star; removing a star that does not exist is not an error.
    async fn unstar(&self, user_ref: &str, entity_ref: &str) -> StoreResult<()>;

    /// The refs `user_ref` starred, oldest star first.
    async fn starred(&self, user_ref: &str) -> StoreResult<Vec<String>>;
}
