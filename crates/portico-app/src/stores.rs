//! Opening and migrating the configured database.

use std::sync::Arc;

use portico_config::backend::{DatabaseConfig, SqlitePath};
use portico_store::{AuditStore, CatalogStore, SigningKeyStore, TaskStore, UserDataStore};
use portico_store_postgres::PostgresStore;
use portico_store_sqlite::SqliteStore;

use crate::AppError;

/// The stores every plugin may use.
pub struct Stores {
    pub catalog: Arc<dyn CatalogStore>,
    /// Per-user data, in the same database.
    pub user_data: Arc<dyn UserDataStore>,
    /// Scaffolder tasks, in the same database.
    pub tasks: Arc<dyn TaskStore>,
    /// The audit log, in the same database.
    pub audit: Arc<dyn AuditStore>,
    /// Public keys of signed user tokens, in the same database.
    pub signing_keys: Arc<dyn SigningKeyStore>,
}

/// Opens the database named by `backend.database` and applies pending migrations.
pub async fn open_stores(database: &DatabaseConfig) -> Result<Stores, AppError> {
    let stores = match database {
        DatabaseConfig::Sqlite { path } => {
            let store = match path {
                SqlitePath::Memory => SqliteStore::in_memory().await,
                SqlitePath::File(file) => {
                    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir).map_err(|e| {
                            AppError::Database(format!(
                                "could not create the folder {} for the SQLite file: {e}",
                                dir.display()
                            ))
                        })?;
                    }
                    SqliteStore::open(file).await
                }
            }
            .map_err(|e| AppError::Database(e.to_string()))?;
            store.migrate().await.map_err(|e| AppError::Database(e.to_string()))?;
            let store = Arc::new(store);
            Stores {
                catalog: store.clone(),
                user_data: store.clone(),
                tasks: store.clone(),
                audit: store.clone(),
                signing_keys: store,
            }
        }
        DatabaseConfig::Postgres { url } => {
            let store = PostgresStore::connect(url).await.map_err(|e| {
                AppError::Database(format!(
                    "{e} (check backend.database.connection and that PostgreSQL is running)"
                ))
            })?;
            store.migrate().await.map_err(|e| AppError::Database(e.to_string()))?;
            let store = Arc::new(store);
            Stores {
                catalog: store.clone(),
                user_data: store.clone(),
                tasks: store.clone(),
                audit: store.clone(),
                signing_keys: store,
            }
        }
    };
    Ok(stores)
}

/// Applies migrations and returns (`portico migrate`).
pub async fn migrate(database: &DatabaseConfig) -> Result<(), AppError> {
    open_stores(database).await.map(|_| ())
}
