//! The one list of built-in plugins.

use std::sync::Arc;

use portico_auth::AuthPlugin;
use portico_catalog::api::service::CatalogHandle;
use portico_plugin::{Plugin, PluginContext};
use portico_scaffolder::ScaffolderPlugin;
use portico_search::api::{CollatorError, PushCollator, SearchCollator};
use portico_techdocs::{TECHDOCS_TYPE, TechDocsPlugin};

use crate::auth_catalog::InProcessUsers;
use crate::catalog_client::InProcessCatalog;
use crate::permission::PermissionPlugin;
use crate::search_permission::CatalogReadPermission;

/// The plugins a stock Portico runs, in start order. The catalog offers itself to the
/// auth plugin (users and groups at sign-in) and to the scaffolder through a handle; TechDocs pushes its pages into a collator the search plugin
/// reads; the search plugin comes last so that settling (tests, one-shot commands) indexes
/// what the others produced.
pub fn default_plugins() -> Vec<Arc<dyn Plugin>> {
    let docs_pages = PushCollator::new(TECHDOCS_TYPE);
    let docs_collator = docs_pages.clone();
    let catalog = CatalogHandle::new();
    let search = portico_search::SearchPlugin::default()
        .with_collator(move |_: &PluginContext| -> Result<Arc<dyn SearchCollator>, CollatorError> {
            Ok(docs_collator.clone())
        })
        .with_read_permission(CatalogReadPermission::new(catalog.clone()));
    vec![
        Arc::new(AuthPlugin::new(Arc::new(InProcessUsers::new(catalog.clone())))),
        Arc::new(portico_catalog::CatalogPlugin::with_handle(catalog.clone())),
        Arc::new(TechDocsPlugin::new(docs_pages)),
        Arc::new(ScaffolderPlugin::new(Arc::new(InProcessCatalog::new(catalog.clone())))),
        Arc::new(PermissionPlugin::new(catalog)),
        Arc::new(crate::audit::AuditPlugin),
        Arc::new(search),
    ]
}
