//! Scratch schemas for tests: each test app gets its own schema on a shared server.

use sqlx::Connection;

use portico_store::StoreError;

/// Creates a uniquely named schema and returns `url` with `options=-c search_path=<schema>`, so
/// every connection made from it works inside that schema.
pub async fn scratch_schema_url(url: &str) -> Result<String, StoreError> {
    let schema = format!("portico_scratch_{}", uuid::Uuid::new_v4().simple());
    let mut connection =
        sqlx::PgConnection::connect(url).await.map_err(|e| StoreError::Database(e.to_string()))?;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut connection)
        .await
        .map_err(|e| StoreError::Database(e.to_string()))?;
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{separator}options=-c%20search_path%3D{schema}"))
}
