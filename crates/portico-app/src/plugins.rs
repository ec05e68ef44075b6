//! The one list of built-in plugins.

use std::sync::Arc;

use portico_plugin::{Plugin, PluginContext};
use portico_search::api::{CollatorError, PushCollator, SearchCollator};
use portico_techdocs::{TECHDOCS_TYPE, TechDocsPlugin};

/// The plugins a stock Portico runs, in start order. TechDocs pushes its pages into a collator
/// the search plugin reads; the search plugin comes last so that settling (tests, one-shot
/// commands) indexes what the others produced.
pub fn default_plugins() -> Vec<Arc<dyn Plugin>> {
    let docs_pages = PushCollator::new(TECHDOCS_TYPE);
    let docs_collator = docs_pages.clone();
    let search = portico_search::SearchPlugin::default().with_collator(
        move |_: &PluginContext| -> Result<Arc<dyn SearchCollator>, CollatorError> {
            Ok(docs_collator.clone())
        },
    );
    vec![
        Arc::new(portico_catalog::CatalogPlugin),
        Arc::new(TechDocsPlugin::new(docs_pages)),
        Arc::new(search),
    ]
}
