//! [`UserDataStore`] on PostgreSQL.

use async_trait::async_trait;
use portico_store::{StoreResult, UserDataStore, now_millis};
use sqlx::Row;

use crate::{PostgresStore, db};

#[async_trait]
impl UserDataStore for PostgresStore {
    async fn star(&self, user_ref: &str, entity_ref: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO user_starred_entities (user_ref, entity_ref, starred_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_ref, entity_ref) DO NOTHING",
        )
        .bind(user_ref)
        .bind(entity_ref)
        .bind(now_millis())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn unstar(&self, user_ref: &str, entity_ref: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM user_starred_entities WHERE user_ref = $1 AND entity_ref = $2")
            .bind(user_ref)
            .bind(entity_ref)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn starred(&self, user_ref: &str) -> StoreResult<Vec<String>> {
        let rows =
            sqlx::query("SELECT entity_ref FROM user_starred_entities WHERE user_ref = $1 ORDER BY seq")
                .bind(user_ref)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        rows.iter().map(|row| row.try_get::<String, _>(0).map_err(db)).collect()
    }
}
