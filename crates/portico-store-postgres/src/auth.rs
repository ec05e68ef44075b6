//! [`SigningKeyStore`] on PostgreSQL.

use async_trait::async_trait;
use portico_store::{SigningKeyStore, StoreError, StoreResult, StoredSigningKey};
use sqlx::Row;

use crate::{PostgresStore, db};

#[async_trait]
impl SigningKeyStore for PostgresStore {
    async fn add_signing_key(&self, key: &StoredSigningKey) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let inserted =
            sqlx::query("INSERT INTO auth_signing_keys (kid, public_jwk, created_at) VALUES ($1, $2, $3)")
                .bind(&key.kid)
                .bind(&key.public_jwk)
                .bind(key.created_at)
                .execute(&mut *tx)
                .await;
        match inserted {
            Ok(_) => tx.commit().await.map_err(db),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Conflict(format!("signing key '{}' already exists", key.kid)))
            }
            Err(e) => Err(db(e)),
        }
    }

    async fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>> {
        let rows =
            sqlx::query("SELECT kid, public_jwk, created_at FROM auth_signing_keys ORDER BY created_at, kid")
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        rows.iter()
            .map(|row| {
                Ok(StoredSigningKey {
                    kid: row.try_get("kid").map_err(db)?,
                    public_jwk: row.try_get("public_jwk").map_err(db)?,
                    created_at: row.try_get("created_at").map_err(db)?,
                })
            })
            .collect()
    }

    async fn prune_signing_keys(&self, created_before: i64) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query("DELETE FROM auth_signing_keys WHERE created_at < $1")
            .bind(created_before)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(removed.rows_affected())
    }
}
