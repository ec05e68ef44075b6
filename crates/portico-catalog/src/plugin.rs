//! The catalog as a plugin: builds the engine and the read index, mounts `/api/catalog`, and
//! runs the processing loop and the index follower in the background.

use std::sync::Arc;

use portico_plugin::permission::permission::CATALOG_ENTITY_READ;
use portico_plugin::{Audit, Backlog, Plugin, PluginContext, PluginError, Registrar};
use tokio::sync::Notify;

use crate::api::service::{CatalogHandle, CatalogService};
use crate::api::{permissions, read, write};
use crate::config::CatalogConfig;
use crate::engine::Engine;
use crate::index::{self, SharedIndex};

/// The software catalog.
#[derive(Default)]
pub struct CatalogPlugin {
    handle: CatalogHandle,
}

impl CatalogPlugin {
    /// The catalog, offering itself to other plugins through `handle` once started.
    pub fn with_handle(handle: CatalogHandle) -> Self {
        CatalogPlugin { handle }
    }
}

#[async_trait::async_trait]
impl Plugin for CatalogPlugin {
    fn id(&self) -> &'static str {
        "catalog"
    }

    async fn start(&self, cx: &PluginContext, registrar: &mut Registrar) -> Result<(), PluginError> {
        let fail = |message: String| PluginError { plugin: "catalog", message };
        let config = Arc::new(CatalogConfig::from_config(&cx.config).map_err(|e| fail(e.to_string()))?);
        let store = cx.catalog_store.clone();
        let read_classifier = cx.permissions.engine().entity_classifier(&CATALOG_ENTITY_READ);
        let loaded =
            index::load_from(store.as_ref(), read_classifier).await.map_err(|e| fail(e.to_string()))?;
        tracing::info!(entities = loaded.len(), "catalog index loaded");
        let index: SharedIndex = Arc::new(std::sync::RwLock::new(loaded));

        let changed = Arc::new(Notify::new());
        let engine = Engine::new(store.clone(), config.clone(), changed.clone());
        let routes = read::router(read::ReadApi {
            index: index.clone(),
            relations_compatibility: config.relations_compatibility,
        })
        .merge(write::router(write::WriteApi {
            engine: engine.clone(),
            index: index.clone(),
            store: store.clone(),
            readonly: config.readonly,
            audit: Audit::new(cx.audit.clone()),
        }))
        .merge(permissions::router(permissions::PermissionsApi { index: index.clone() }))
        .merge(crate::api::openapi::router());
        registrar.api_routes("catalog", routes);
        registrar.pages(crate::pages::router(crate::pages::CatalogPages::new(
            index.clone(),
            store.clone(),
            cx.user_data.clone(),
            engine.clone(),
            Audit::new(cx.audit.clone()),
        )));
        self.handle.fill(CatalogService::new(engine.clone(), index.clone()));
        for item in crate::pages::nav_items() {
            registrar.nav_item(item);
        }

        let settle_engine = engine.clone();
        let settle_index = index.clone();
        let settle_store = store.clone();
        registrar.settle(Arc::new(move || {
            let engine = settle_engine.clone();
            let index = settle_index.clone();
            let store = settle_store.clone();
            Box::pin(async move {
                if let Err(error) = engine.settle().await {
                    tracing::error!(%error, "catalog processing failed");
                }
                if let Err(error) = index::catch_up(&index, store.as_ref()).await {
                    tracing::error!(%error, "catalog index could not read the change feed");
                }
            })
        }));

        let providers = engine.clone();
        let processing = engine.clone();
        let shutdown = cx.shutdown.clone();
        // The processing loop raises its own backlog; the index follower relays it to the
        // portal's until the index has applied what the burst produced.
        let processing_backlog = Backlog::default();
        let raised = processing_backlog.clone();
        registrar.background_loop("catalog processing", async move {
            if let Err(error) = providers.sync_providers().await {
                tracing::error!(%error, "could not load the configured catalog locations");
            }
            processing.run(shutdown, raised).await;
        });
        let follower = index::Follower {
            index,
            store,
            changed,
            processing: processing_backlog,
            backlog: cx.backlog.clone(),
        };
        registrar.background_loop("catalog index", follower.run(cx.shutdown.clone()));
        Ok(())
    }
}
