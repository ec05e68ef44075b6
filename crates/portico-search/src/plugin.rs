//! Search as a plugin: opens (or rebuilds) the index, mounts `/api/search` and the pages, and
//! runs the single writer loop.

use std::sync::Arc;
use std::time::Duration;

use portico_plugin::{Backlog, Plugin, PluginContext, PluginError, Registrar, Shutdown};
use tokio::sync::Mutex;

use crate::api::{CollatorFactory, ReadPermission, SearchCollator};
use crate::catalog::CatalogCollator;
use crate::config::SearchConfig;
use crate::service::SearchService;
use crate::writer::Indexer;

/// How often the writer loop reads the feeds: changes are searchable within about this long
/// (plus the commit), and commits happen at most this often.
const WRITE_INTERVAL: Duration = Duration::from_millis(200);

/// The search plugin; the catalog collator is built in, others are added with
/// [`SearchPlugin::with_collator`], and read permission with
/// [`SearchPlugin::with_read_permission`].
#[derive(Default)]
pub struct SearchPlugin {
    factories: Vec<Arc<dyn CollatorFactory>>,
    read_permission: Option<Arc<dyn ReadPermission>>,
}

impl SearchPlugin {
    /// Adds a collator (another plugin's document type).
    pub fn with_collator(mut self, factory: impl CollatorFactory) -> SearchPlugin {
        self.factories.push(Arc::new(factory));
        self
    }

    /// Finds for each caller only the documents of catalog entities they may read; without
    /// it, everyone finds every document.
    pub fn with_read_permission(mut self, read_permission: impl ReadPermission) -> SearchPlugin {
        self.read_permission = Some(Arc::new(read_permission));
        self
    }

    /// The collators for an app context: the catalog's, then the added ones.
    pub fn collators(&self, cx: &PluginContext) -> Result<Vec<Arc<dyn SearchCollator>>, String> {
        let config = SearchConfig::from_config(&cx.config).map_err(|e| e.to_string())?;
        let mut collators: Vec<Arc<dyn SearchCollator>> = vec![Arc::new(CatalogCollator::new(
            cx.catalog_store.clone(),
            config.catalog_location_template.clone(),
        ))];
        for factory in &self.factories {
            collators.push(factory.create(cx).map_err(|e| e.to_string())?);
        }
        Ok(collators)
    }
}

#[async_trait::async_trait]
impl Plugin for SearchPlugin {
    fn id(&self) -> &'static str {
        "search"
    }

    async fn start(&self, cx: &PluginContext, registrar: &mut Registrar) -> Result<(), PluginError> {
        let fail = |message: String| PluginError { plugin: "search", message };
        let config = Arc::new(SearchConfig::from_config(&cx.config).map_err(|e| fail(e.to_string()))?);
        let collators = self.collators(cx).map_err(fail)?;
        let types = collators.iter().map(|c| c.document_type().to_owned()).collect();
        let indexer =
            Indexer::open(config.location.clone(), collators).await.map_err(|e| fail(e.to_string()))?;
        let mut service = SearchService::new(indexer.index(), config, types);
        if let Some(read_permission) = &self.read_permission {
            service = service.with_read_permission(read_permission.clone());
        }
        tracing::info!(documents = indexer.index().num_docs(), "search index opened");
        let indexer = Arc::new(Mutex::new(indexer));

        registrar.api_routes("search", crate::routes::router(service.clone()));
        registrar.pages(crate::pages::router(service));
        registrar.nav_item(crate::pages::nav_item());
        let settle = indexer.clone();
        registrar.settle(Arc::new(move || {
            let indexer = settle.clone();
            Box::pin(async move {
                if let Err(error) = indexer.lock().await.catch_up().await {
                    tracing::error!(%error, "search index could not catch up");
                }
            })
        }));
        registrar.background_loop(
            "search index writer",
            write_loop(indexer, cx.backlog.clone(), cx.shutdown.clone()),
        );
        Ok(())
    }
}

/// The writer loop: catches the index up with every feed, then waits a tick — and while the
/// catalog works through a backlog, until it is done (see [`Backlog`]).
async fn write_loop(indexer: Arc<Mutex<Indexer>>, backlog: Backlog, mut shutdown: Shutdown) {
    loop {
        tokio::select! {
            _ = shutdown.requested() => return,
            _ = backlog.cleared() => {}
        }
        match indexer.lock().await.catch_up().await {
            Ok(0) => {}
            Ok(applied) => tracing::debug!(applied, "search index caught up"),
            Err(error) => tracing::error!(%error, "search index could not catch up"),
        }
        tokio::select! {
            _ = shutdown.requested() => return,
            _ = tokio::time::sleep(WRITE_INTERVAL) => {}
        }
    }
}
