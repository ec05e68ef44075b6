//! Scratch schemas for tests: each test app gets its own schema on a shared server.

use sqlx::{Connection, Row};

use portico_store::StoreError;

/// Scratch schemas older than this are dropped when a new one is made, so a test server does
/// not fill up with schemas of past runs (tests cannot drop theirs: they end synchronously).
const STALE_AFTER_SECS: u64 = 3_600;

/// Creates a uniquely named schema and returns `url` with `options=-c search_path=<schema>`, so
/// every connection made from it works inside that schema.
pub async fn scratch_schema_url(url: &str) -> Result<String, StoreError> {
    let database = |e: sqlx::Error| StoreError::Database(e.to_string());
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let schema = format!("portico_scratch_{now}_{}", uuid::Uuid::new_v4().simple());
    let mut connection = sqlx::PgConnection::connect(url).await.map_err(database)?;
    let existing = sqlx::query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'portico\\_scratch\\_%'")
        .fetch_all(&mut connection)
        .await
        .map_err(database)?;
    for row in existing {
        let name: String = row.try_get(0).map_err(database)?;
        let created = name.split('_').nth(2).and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
        if created + STALE_AFTER_SECS < now {
            // Another run may be dropping it at the same time; that is fine.
            let _ =
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE")).execute(&mut connection).await;
        }
    }
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut connection).await.map_err(database)?;
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{separator}options=-c%20search_path%3D{schema}"))
}
