//! The auth plugin's view of the catalog ([`UserCatalog`]): users and groups as the running
//! catalog plugin serves them, through its in-process [`CatalogHandle`].

use async_trait::async_trait;
use portico_auth::UserCatalog;
use portico_catalog::api::service::CatalogHandle;
use portico_plugin::Access;
use serde_json::Value;

/// Resolvers only tell none, one and several matches apart.
const SIGN_IN_MATCHES: usize = 10;

/// Answers sign-in's catalog lookups with the catalog of this process.
pub struct InProcessUsers {
    handle: CatalogHandle,
}

impl InProcessUsers {
    /// Lookups in the catalog `handle` will hold once the catalog plugin started (until then
    /// nobody is in the catalog).
    pub fn new(handle: CatalogHandle) -> Self {
        InProcessUsers { handle }
    }
}

#[async_trait]
impl UserCatalog for InProcessUsers {
    async fn entity(&self, entity_ref: &str) -> Option<Value> {
        self.handle.get()?.entity(&Access::unrestricted(), entity_ref)
    }

    /// Sign-in looks users up for the portal itself, before anyone is signed in: unrestricted.
    async fn find_entities(&self, filter: &Value) -> Option<Vec<Value>> {
        let catalog = self.handle.get()?;
        Some(catalog.entities_matching(&Access::unrestricted(), Some(filter), SIGN_IN_MATCHES))
    }
}
