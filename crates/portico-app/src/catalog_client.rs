//! The scaffolder's view of the catalog ([`CatalogClient`]), served by the running catalog
//! plugin through its in-process [`CatalogHandle`].

use async_trait::async_trait;
use portico_catalog::api::service::{CatalogHandle, CatalogServiceError};
use portico_plugin::Access;
use portico_scaffolder::api::{AddLocationOptions, CatalogClient, CatalogError};
use serde_json::Value;

/// Answers the scaffolder's catalog calls with the catalog of this process.
pub struct InProcessCatalog {
    handle: CatalogHandle,
}

impl InProcessCatalog {
    /// A client of the catalog `handle` will hold once the catalog plugin started.
    pub fn new(handle: CatalogHandle) -> Self {
        InProcessCatalog { handle }
    }

    fn service(&self) -> Result<&portico_catalog::api::service::CatalogService, CatalogError> {
        self.handle.get().ok_or_else(|| CatalogError::Other("The catalog is not running".to_owned()))
    }
}

fn classify(error: CatalogServiceError) -> CatalogError {
    match error {
        CatalogServiceError::NotFound(message) => CatalogError::NotFound(message),
        CatalogServiceError::Conflict(message) => CatalogError::Conflict(message),
        CatalogServiceError::Input(message) => CatalogError::Input(message),
        CatalogServiceError::Other(message) => CatalogError::Other(message),
    }
}

#[async_trait]
impl CatalogClient for InProcessCatalog {
    async fn add_location(
        &self,
        target: &str,
        options: AddLocationOptions,
    ) -> Result<Vec<Value>, CatalogError> {
        self.service()?.add_location("url", target, options.dry_run).await.map_err(classify)
    }

    async fn get_entity_by_ref(
        &self,
        entity_ref: &str,
        access: &Access,
    ) -> Result<Option<Value>, CatalogError> {
        Ok(self.service()?.entity(access, entity_ref))
    }

    async fn entities_matching(
        &self,
        access: &Access,
        catalog_filter: Option<&Value>,
        limit: usize,
    ) -> Result<Vec<Value>, CatalogError> {
        Ok(self.service()?.entities_matching(access, catalog_filter, limit))
    }
}
