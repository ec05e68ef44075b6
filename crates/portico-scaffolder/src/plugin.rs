//! The scaffolder as a plugin: the actions, the task service with its workers and janitor,
//! `/api/scaffolder`, and the `/create` pages.

use std::sync::Arc;

use portico_plugin::{Audit, Plugin, PluginContext, PluginError, Registrar, Shutdown};
use tokio_util::sync::CancellationToken;

use crate::api::{Action, ActionRegistry, ActionServices, CatalogClient};
use crate::config::ActionsConfig;
use crate::routes::ScaffolderApi;
use crate::tasks::{TaskService, TaskSettings};
use crate::templating::Templater;

/// The software templates plugin.
pub struct ScaffolderPlugin {
    catalog: Arc<dyn CatalogClient>,
    actions: Vec<Arc<dyn Action>>,
}

impl ScaffolderPlugin {
    /// The plugin, reading templates and users from `catalog` and registering what tasks
    /// create there.
    pub fn new(catalog: Arc<dyn CatalogClient>) -> Self {
        ScaffolderPlugin { catalog, actions: Vec::new() }
    }

    /// Adds an action beside the built-in ones.
    pub fn with_action(mut self, action: Arc<dyn Action>) -> Self {
        self.actions.push(action);
        self
    }
}

#[async_trait::async_trait]
impl Plugin for ScaffolderPlugin {
    fn id(&self) -> &'static str {
        "scaffolder"
    }

    async fn start(&self, cx: &PluginContext, registrar: &mut Registrar) -> Result<(), PluginError> {
        let fail = |message: String| PluginError { plugin: "scaffolder", message };
        let actions_config = ActionsConfig::from_config(&cx.config).map_err(|e| fail(e.to_string()))?;
        let mut registry = ActionRegistry::with_builtins(&actions_config).map_err(|e| fail(e.to_string()))?;
        for action in &self.actions {
            registry.register(action.clone()).map_err(|e| fail(e.to_string()))?;
        }
        let settings = TaskSettings::from_config(&cx.config, actions_config.workspace_limits)
            .map_err(|e| fail(e.to_string()))?;
        let services = ActionServices { catalog: Some(self.catalog.clone()) };
        let templater = Arc::new(Templater::new(actions_config.integrations.clone()));
        let tasks = TaskService::new(
            cx.task_store.clone(),
            Arc::new(registry),
            services,
            templater,
            settings,
            cx.permissions.clone(),
        );
        let api = ScaffolderApi {
            tasks: tasks.clone(),
            catalog: self.catalog.clone(),
            scm_hosts: actions_config.integrations.hosts().into(),
            audit: Audit::new(cx.audit.clone()),
        };

        registrar.api_routes("scaffolder", crate::routes::router(api.clone()));
        registrar.pages(crate::pages::router(api));
        registrar.nav_item(crate::pages::nav_item());

        let settle = tasks.clone();
        registrar.settle(Arc::new(move || {
            let tasks = settle.clone();
            Box::pin(async move {
                if let Err(error) = tasks.run_pending().await {
                    tracing::error!(%error, "could not run the pending scaffolder tasks");
                }
            })
        }));
        let stop = stop_on(cx.shutdown.clone());
        let workers = tasks.clone();
        let workers_stop = stop.clone();
        registrar
            .background_loop("scaffolder workers", async move { workers.run_workers(workers_stop).await });
        registrar.background_loop("scaffolder janitor", async move { tasks.run_janitor(stop).await });
        Ok(())
    }
}

/// A token cancelled when the app shuts down.
fn stop_on(mut shutdown: Shutdown) -> CancellationToken {
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        shutdown.requested().await;
        token.cancel();
    });
    stop
}
