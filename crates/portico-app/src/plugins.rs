//! The one list of built-in plugins.

use std::sync::Arc;

use portico_plugin::Plugin;

/// The plugins a stock Portico runs, in start order.
pub fn default_plugins() -> Vec<Arc<dyn Plugin>> {
    vec![Arc::new(portico_catalog::CatalogPlugin), Arc::new(portico_search::SearchPlugin::default())]
}
