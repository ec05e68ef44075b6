//! The public keys of the user tokens this portal signs.
//!
//! Each process signs with a key pair of its own, made when it first needs one and replaced
//! every token lifetime; the private half never leaves the process. The public half is stored
//! here so that every replica — and the same process after a restart — can verify tokens any of
//! them signed, and so that the JWKS lists them all.

use async_trait::async_trait;

use crate::{Millis, StoreResult};

/// A public signing key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    /// The key id (`kid` of the JWK and of the tokens it signed); unique.
    pub kid: String,
    /// The public key as JWK JSON text (`{"kty":"EC","crv":"P-256",...}`).
    pub public_jwk: String,
    /// When the key was made.
    pub created_at: Millis,
}

/// Storage of public signing keys. Every method is one transaction.
#[async_trait]
pub trait SigningKeyStore: Send + Sync + 'static {
    /// Adds a key. A key id that is already stored is a [`StoreError::Conflict`](crate::StoreError).
    async fn add_signing_key(&self, key: &StoredSigningKey) -> StoreResult<()>;

    /// Every stored key, oldest first (ties by key id).
    async fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>>;

    /// Removes the keys made before `created_before`; returns how many were removed.
    async fn prune_signing_keys(&self, created_before: Millis) -> StoreResult<u64>;
}
