//! The search plugin's read permission ([`ReadPermission`]), answered by the running catalog
//! plugin through its in-process [`CatalogHandle`]: a document standing for a catalog entity
//! is found only by callers who may read that entity.

use std::sync::Arc;

use portico_catalog::api::service::CatalogHandle;
use portico_plugin::Access;
use portico_search::api::{ReadPermission, ReadableRef};

/// What a caller may read, as the catalog of this process decides it.
pub struct CatalogReadPermission {
    handle: CatalogHandle,
}

impl CatalogReadPermission {
    /// Asks the catalog `handle` will hold once the catalog plugin started.
    pub fn new(handle: CatalogHandle) -> Self {
        CatalogReadPermission { handle }
    }
}

impl ReadPermission for CatalogReadPermission {
    fn readable(&self, access: &Access) -> Option<ReadableRef> {
        // Without a running catalog nothing can be shown to be readable.
        let Some(catalog) = self.handle.get() else {
            return Some(Arc::new(|_: &str| false));
        };
        let refs = catalog.readable_refs(access);
        if refs.is_unrestricted() {
            return None;
        }
        Some(Arc::new(move |entity_ref: &str| refs.allows(entity_ref)))
    }
}
