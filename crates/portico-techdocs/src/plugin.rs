//! TechDocs as a plugin: the docs service following the catalog, `/api/techdocs`, the reader
//! pages, the entity page's Docs tab, and the background builder. Built pages reach search
//! through the `techdocs` collator the plugin is given.

use std::sync::Arc;
use std::time::Duration;

use portico_plugin::permission::permission::CATALOG_ENTITY_READ;
use portico_plugin::{Backlog, Plugin, PluginContext, PluginError, Registrar, Shutdown};
use portico_reading::{ReadLimits, Reader};
use portico_search::api::PushCollator;

use crate::service::TechDocs;
use crate::settings::TechDocsSettings;

/// The search document type of docs pages.
pub const TECHDOCS_TYPE: &str = "techdocs";

/// How often the builder follows the catalog and looks for due checks.
const BUILDER_TICK: Duration = Duration::from_secs(1);

/// The TechDocs plugin.
pub struct TechDocsPlugin {
    search: Arc<PushCollator>,
}

impl TechDocsPlugin {
    /// The plugin; `search` is the collator docs pages are pushed into (register the same
    /// collator with the search plugin).
    pub fn new(search: Arc<PushCollator>) -> TechDocsPlugin {
        TechDocsPlugin { search }
    }
}

impl Default for TechDocsPlugin {
    fn default() -> Self {
        TechDocsPlugin::new(PushCollator::new(TECHDOCS_TYPE))
    }
}

#[async_trait::async_trait]
impl Plugin for TechDocsPlugin {
    fn id(&self) -> &'static str {
        "techdocs"
    }

    async fn start(&self, cx: &PluginContext, registrar: &mut Registrar) -> Result<(), PluginError> {
        let fail = |message: String| PluginError { plugin: "techdocs", message };
        let settings = TechDocsSettings::from_config(&cx.config).map_err(|e| fail(e.to_string()))?;
        let allow = portico_reading::reading_allow(&cx.config).map_err(|e| fail(e.to_string()))?;
        let limits = read_limits(&cx.config).map_err(|e| fail(e.to_string()))?;
        let local_git = portico_reading::local_git_roots(&cx.config).map_err(|e| fail(e.to_string()))?;
        let reader = Reader::new(allow, limits).with_local_git(local_git);
        let read_classifier = cx.permissions.engine().entity_classifier(&CATALOG_ENTITY_READ);
        let docs =
            TechDocs::new(settings, cx.catalog_store.clone(), reader, self.search.clone(), read_classifier)
                .map_err(|e| fail(format!("cannot use the docs folder: {e}")))?;
        tracing::info!(folder = %docs.publish_root().display(), "docs are published here");

        registrar.api_routes("techdocs", crate::routes::router(docs.clone()));
        registrar.pages(crate::pages::router(docs.clone()));
        registrar.nav_item(crate::pages::nav_item());
        registrar.entity_tab(crate::pages::entity_tab(docs.clone()));
        let settle = docs.clone();
        registrar.settle(Arc::new(move || {
            let docs = settle.clone();
            Box::pin(async move { docs.run_due().await })
        }));
        registrar.background_loop("docs builder", build_loop(docs, cx.backlog.clone(), cx.shutdown.clone()));
        Ok(())
    }
}

/// Url sources are read with the catalog's limits (`catalog.limits.*`), so one setting bounds
/// every read of a repository.
fn read_limits(config: &portico_config::Config) -> Result<ReadLimits, portico_config::ConfigError> {
    let mut limits = ReadLimits { max_bytes: 16 * 1024 * 1024, timeout: Duration::from_secs(30) };
    if let Some(bytes) = config.u64("catalog.limits.maxReadBytes")? {
        limits.max_bytes = bytes;
    }
    if let Some(timeout) = config.duration("catalog.limits.readTimeout")? {
        limits.timeout = timeout;
    }
    Ok(limits)
}

/// Checks what is due every tick — and while the catalog works through a backlog, once it is
/// done (see [`Backlog`]).
async fn build_loop(docs: TechDocs, backlog: Backlog, mut shutdown: Shutdown) {
    loop {
        tokio::select! {
            _ = shutdown.requested() => return,
            _ = backlog.cleared() => {}
        }
        docs.run_due().await;
        tokio::select! {
            _ = shutdown.requested() => return,
            _ = tokio::time::sleep(BUILDER_TICK) => {}
        }
    }
}
