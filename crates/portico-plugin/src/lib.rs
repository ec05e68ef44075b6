//! The plugin SDK.
//!
//! Every feature of Portico — the catalog included — is a [`Plugin`]. At start-up the app calls
//! each plugin's [`Plugin::start`] once, in list order, with a [`PluginContext`] (configuration,
//! stores, shutdown signal) and a [`Registrar`] on which the plugin declares what it contributes:
//! API routes under `/api/<id>`, pages at the root with their navigation entries, entity-page
//! tabs and cards, background loops, readiness checks and — for the auth plugin — the
//! [`Authenticator`] that establishes who sent each request. Plugins
//! never see each other's internals; what one plugin offers another is a trait in the offering
//! plugin's `api` module.

mod access;
mod audit;
mod backlog;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use access::{Access, Denied, Filter, Permissions};
pub use audit::Audit;
use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
pub use backlog::Backlog;
use portico_config::Config;
pub use portico_permission as permission;
use portico_store::{AuditStore, CatalogStore, SigningKeyStore, TaskStore, UserDataStore};
pub use portico_web::{EntityCard, EntityTab, NavItem};
use tokio::sync::watch;

/// A boxed future, as background loops are stored.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Error a plugin returns when it cannot start; start-up stops with its message.
#[derive(Debug, thiserror::Error)]
#[error("plugin '{plugin}' failed to start: {message}")]
pub struct PluginError {
    pub plugin: &'static str,
    pub message: String,
}

/// A feature of the portal.
#[async_trait::async_trait]
pub trait Plugin: Send + Sync + 'static {
    /// Short lowercase id; API routes are mounted under `/api/<id>`.
    fn id(&self) -> &'static str;

    /// Builds the plugin's state and declares its contributions. Runs once, after the stores
    /// are migrated and before the server listens.
    async fn start(&self, cx: &PluginContext, registrar: &mut Registrar) -> Result<(), PluginError>;
}

/// Resolves when the app shuts down.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A shutdown signal and the sender that triggers it.
    pub fn new() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown(rx))
    }

    /// Waits until shutdown is requested.
    pub async fn requested(&mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }

    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }
}

/// What a plugin gets to work with.
#[derive(Clone)]
pub struct PluginContext {
    pub config: Arc<Config>,
    pub catalog_store: Arc<dyn CatalogStore>,
    /// Per-user data (starred entities), in the same database as the catalog.
    pub user_data: Arc<dyn UserDataStore>,
    /// Software-template tasks and their event logs, in the same database.
    pub task_store: Arc<dyn TaskStore>,
    /// Public keys of the user tokens this portal signs, in the same database.
    pub signing_keys: Arc<dyn SigningKeyStore>,
    /// The audit log, in the same database; record into it through [`Audit`].
    pub audit: Arc<dyn AuditStore>,
    /// The portal's policies, for work done on a user's behalf outside a request handler
    /// (`Access::new`); handlers take [`Access`] instead.
    pub permissions: Arc<Permissions>,
    /// The catalog's ingestion backlog: raised by the catalog, waited out by background work
    /// that should not compete with it.
    pub backlog: Backlog,
    pub shutdown: Shutdown,
}

/// Establishes who sent each request. The app runs the registered authenticator as one
/// middleware around every route (API and pages); it is the only code that reads credentials.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// Puts the caller's `portico_web::Principal` into the request's extensions and runs
    /// `next`, or answers itself when the request must be refused (`401`/`403` for the API).
    /// It may add headers to the response (a renewed session cookie).
    async fn authenticate(&self, request: Request, next: Next) -> Response;
}

/// A readiness check: `true` once the plugin can serve (e.g. its index is loaded).
pub type ReadinessCheck = Arc<dyn Fn() -> bool + Send + Sync>;

/// Drives a plugin's background work to completion once (ingest everything that is due, catch
/// the indexes up). Used by one-shot commands and tests instead of waiting on timers.
pub type SettleHook = Arc<dyn Fn() -> BoxFuture + Send + Sync>;

/// Collects what plugins contribute.
#[derive(Default)]
pub struct Registrar {
    api_routes: Vec<(&'static str, Router)>,
    pages: Vec<Router>,
    nav: Vec<NavItem>,
    entity_tabs: Vec<EntityTab>,
    entity_cards: Vec<EntityCard>,
    loops: Vec<(String, BoxFuture)>,
    readiness: Vec<(&'static str, ReadinessCheck)>,
    settle: Vec<SettleHook>,
    authenticator: Option<Arc<dyn Authenticator>>,
}

impl Registrar {
    /// HTML pages, mounted at the root (`/catalog`, `/api-docs`). Handlers take a
    /// `portico_web::PageContext` to render inside the shell and return `portico_web::PageError`
    /// on failure.
    pub fn pages(&mut self, router: Router) {
        self.pages.push(router);
    }

    /// An entry of the sidebar navigation.
    pub fn nav_item(&mut self, item: NavItem) {
        self.nav.push(item);
    }

    /// A tab of the entity page, for the entities it applies to.
    pub fn entity_tab(&mut self, tab: EntityTab) {
        self.entity_tabs.push(tab);
    }

    /// A card on the entity page's overview, for the entities it applies to.
    pub fn entity_card(&mut self, card: EntityCard) {
        self.entity_cards.push(card);
    }

    /// Routes mounted under `/api/<plugin id>`.
    pub fn api_routes(&mut self, plugin: &'static str, router: Router) {
        self.api_routes.push((plugin, router));
    }

    /// A background loop, run until shutdown; the name is used in logs.
    pub fn background_loop(
        &mut self,
        name: impl Into<String>,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        self.loops.push((name.into(), Box::pin(task)));
    }

    /// A check `/readyz` consults.
    pub fn readiness(&mut self, plugin: &'static str, check: ReadinessCheck) {
        self.readiness.push((plugin, check));
    }

    /// A hook that finishes the plugin's pending background work.
    pub fn settle(&mut self, hook: SettleHook) {
        self.settle.push(hook);
    }

    /// The authenticator of every request; there is one per app, so a later registration
    /// replaces an earlier one.
    pub fn authenticator(&mut self, authenticator: Arc<dyn Authenticator>) {
        self.authenticator = Some(authenticator);
    }

    /// Hands everything to the app (only the app calls this).
    pub fn into_parts(self) -> RegistrarParts {
        RegistrarParts {
            api_routes: self.api_routes,
            pages: self.pages,
            nav: self.nav,
            entity_tabs: self.entity_tabs,
            entity_cards: self.entity_cards,
            loops: self.loops,
            readiness: self.readiness,
            settle: self.settle,
            authenticator: self.authenticator,
        }
    }
}

/// Everything the plugins registered, for the app to assemble.
pub struct RegistrarParts {
    pub api_routes: Vec<(&'static str, Router)>,
    pub pages: Vec<Router>,
    pub nav: Vec<NavItem>,
    pub entity_tabs: Vec<EntityTab>,
    pub entity_cards: Vec<EntityCard>,
    pub loops: Vec<(String, BoxFuture)>,
    pub readiness: Vec<(&'static str, ReadinessCheck)>,
    pub settle: Vec<SettleHook>,
    /// Without one, every request is anonymous (`Principal::None`).
    pub authenticator: Option<Arc<dyn Authenticator>>,
}
