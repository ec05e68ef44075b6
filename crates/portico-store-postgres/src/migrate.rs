//! Embedded schema migrations, recorded in `schema_migrations`.

use portico_store::StoreError;
use sqlx::{PgPool, Row};

/// A migration: version (applied in ascending order), name, SQL.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

/// Every migration of this store, oldest first. Never edit a released one; add a new file.
const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "0001_catalog", sql: include_str!("../migrations/0001_catalog.sql") },
    Migration { version: 2, name: "0002_user_data", sql: include_str!("../migrations/0002_user_data.sql") },
    Migration {
        version: 3,
        name: "0003_scaffolder_tasks",
        sql: include_str!("../migrations/0003_scaffolder_tasks.sql"),
    },
    Migration { version: 4, name: "0004_audit_log", sql: include_str!("../migrations/0004_audit_log.sql") },
    Migration { version: 5, name: "0005_auth_keys", sql: include_str!("../migrations/0005_auth_keys.sql") },
];

/// Key of the advisory lock that serializes migrations across replicas ("portico" in ASCII).
const MIGRATION_LOCK: i64 = 0x0070_6f72_7469_636f;

/// Applies every migration that is not recorded yet, each in its own transaction together
/// with its record, so a failed migration leaves no trace.
pub(crate) async fn run(pool: &PgPool) -> Result<(), StoreError> {
    let failed = |e: sqlx::Error| StoreError::Migration(e.to_string());
    for migration in MIGRATIONS {
        let mut tx = pool.begin().await.map_err(failed)?;
        // Replicas starting together wait for each other here instead of racing.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY NOT NULL,
                name TEXT NOT NULL,
                applied_at BIGINT NOT NULL
            )",
        )
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
        let applied = sqlx::query("SELECT COUNT(*) FROM schema_migrations WHERE version = $1")
            .bind(migration.version)
            .fetch_one(&mut *tx)
            .await
            .and_then(|row| row.try_get::<i64, _>(0))
            .map_err(failed)?;
        if applied > 0 {
            continue;
        }
        sqlx::raw_sql(migration.sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::Migration(format!("{}: {e}", migration.name)))?;
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(portico_store::now_millis())
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        tracing::info!(migration = migration.name, "applied database migration");
    }
    Ok(())
}
