//! Building and serving the app.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portico_config::Config;
use portico_config::backend::{BackendConfig, DatabaseConfig};
use portico_plugin::{
    Audit, Authenticator, BoxFuture, Permissions, Plugin, PluginContext, ReadinessCheck, Registrar,
    SettleHook, Shutdown,
};
use portico_store::CatalogStore;
use portico_web::{EntityPageExtensions, ErrorBody, Shell, error_json};
use tokio::sync::watch;
use tower_http::compression::CompressionLayer;

use crate::stores::open_stores;

/// Why the app could not start.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("configuration error: {0}")]
    Config(#[from] portico_config::ConfigError),
    #[error("database error: {0}")]
    Database(String),
    #[error(transparent)]
    Plugin(#[from] portico_plugin::PluginError),
    #[error("permission error: {0}")]
    Permission(String),
    #[error(
        "could not listen on {addr}: {source} (is another process using the port? set backend.listen.port)"
    )]
    Listen { addr: String, source: std::io::Error },
}

/// A Portico build: which plugins it runs.
pub struct Portico {
    plugins: Vec<Arc<dyn Plugin>>,
}

impl Default for Portico {
    fn default() -> Self {
        Portico::new().with_default_plugins()
    }
}

impl Portico {
    /// A build without any plugin.
    pub fn new() -> Portico {
        Portico { plugins: Vec::new() }
    }

    pub fn with_default_plugins(mut self) -> Portico {
        self.plugins.extend(crate::default_plugins());
        self
    }

    pub fn plugin(mut self, plugin: impl Plugin) -> Portico {
        self.plugins.push(Arc::new(plugin));
        self
    }

    /// Opens the stores, starts every plugin and assembles the router. Background loops are
    /// not running yet: [`App::serve`] or [`App::spawn_loops`] starts them.
    pub async fn build(self, config: Config) -> Result<App, AppError> {
        let backend = BackendConfig::from_config(&config)?;
        let app_title = config.string("app.title")?.unwrap_or_else(|| "Portico".to_owned());
        let engine = crate::permission::policy_engine(&config)?;
        let stores = open_stores(&backend.database).await?;
        let permissions = Permissions::new(engine, Audit::new(stores.audit.clone()));
        let (shutdown_tx, shutdown) = Shutdown::new();
        let store = stores.catalog.clone();
        let cx = PluginContext {
            config: Arc::new(config),
            catalog_store: stores.catalog,
            user_data: stores.user_data,
            task_store: stores.tasks,
            audit: stores.audit,
            signing_keys: stores.signing_keys,
            permissions: permissions.clone(),
            backlog: portico_plugin::Backlog::default(),
            shutdown,
        };
        let mut registrar = Registrar::default();
        for plugin in &self.plugins {
            plugin.start(&cx, &mut registrar).await?;
        }
        let parts = registrar.into_parts();
        let checks = parts.readiness;
        let authenticator = parts.authenticator;
        let mut api = Router::new();
        for (plugin, routes) in parts.api_routes {
            api = api.nest(&format!("/{plugin}"), routes);
        }
        let mut shell = Shell::new(app_title, parts.nav);
        shell.sign_in = authenticator.is_some();
        // With a search page registered, the header's box searches everything there.
        if shell.nav.iter().any(|item| item.href == "/search") {
            shell.search_action = "/search".to_owned();
        }
        shell.about = vec![
            ("Version".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
            ("Database".to_owned(), database_kind(&backend.database).to_owned()),
        ];
        let shell = Arc::new(shell);
        let entity_pages = Arc::new(EntityPageExtensions::new(parts.entity_tabs, parts.entity_cards));
        let mut pages = portico_web::routes();
        for routes in parts.pages {
            pages = pages.merge(routes);
        }
        let router = Router::new()
            .nest("/api", api)
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(move || readyz(checks.clone())))
            .merge(pages)
            .fallback(fallback)
            .layer(axum::Extension(entity_pages))
            .layer(axum::Extension(permissions))
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                portico_web::shell_middleware(shell.clone(), request, next)
            }))
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                authenticate(authenticator.clone(), request, next)
            }))
            .layer(middleware::from_fn(error_request_part))
            .layer(CompressionLayer::new());
        Ok(App { router, loops: parts.loops, settle: parts.settle, shutdown_tx, backend, store })
    }
}

/// What the settings page calls the database.
fn database_kind(database: &DatabaseConfig) -> &'static str {
    match database {
        DatabaseConfig::Sqlite { .. } => "SQLite",
        DatabaseConfig::Postgres { .. } => "PostgreSQL",
    }
}

/// Unknown paths: the HTML 404 page, except under `/api`, which keeps a bare 404.
async fn fallback(uri: Uri) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        StatusCode::NOT_FOUND.into_response()
    } else {
        portico_web::not_found().await.into_response()
    }
}

async fn readyz(checks: Vec<(&'static str, ReadinessCheck)>) -> Response {
    let waiting: Vec<&str> = checks.iter().filter(|(_, check)| !check()).map(|(name, _)| *name).collect();
    if waiting.is_empty() {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, format!("waiting for: {}", waiting.join(", "))).into_response()
    }
}

/// Who sent the request, for every route: the registered authenticator puts the principal into
/// the request (or refuses it); without one, every request is anonymous.
async fn authenticate(
    authenticator: Option<Arc<dyn Authenticator>>,
    request: Request,
    next: Next,
) -> Response {
    match authenticator {
        Some(authenticator) => authenticator.authenticate(request, next).await,
        None => next.run(request).await,
    }
}

/// Adds the `request` part to Backstage error bodies, which handlers cannot see.
async fn error_request_part(request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let url = request.uri().path_and_query().map(|pq| pq.as_str().to_owned()).unwrap_or_default();
    let response = next.run(request).await;
    let Some(body) = response.extensions().get::<ErrorBody>().cloned() else { return response };
    let (mut parts, _) = response.into_parts();
    let json = error_json(&body, Some((&method, &url))).to_string();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json))
}

/// How long a stopping portal waits for the database to close.
const STORE_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// A built app.
pub struct App {
    router: Router,
    loops: Vec<(String, BoxFuture)>,
    shutdown_tx: watch::Sender<bool>,
    settle: Vec<SettleHook>,
    backend: BackendConfig,
    /// Closed once the loops have stopped.
    store: Arc<dyn CatalogStore>,
}

impl App {
    /// The router, for in-process tests.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    pub fn backend(&self) -> &BackendConfig {
        &self.backend
    }

    /// Starts the background loops on the current runtime.
    pub fn spawn_loops(&mut self) -> Vec<tokio::task::JoinHandle<()>> {
        std::mem::take(&mut self.loops)
            .into_iter()
            .map(|(name, task)| {
                tokio::spawn(async move {
                    task.await;
                    tracing::debug!(loop_name = %name, "background loop stopped");
                })
            })
            .collect()
    }

    /// Finishes all pending background work once (see [`SettleHook`]).
    pub async fn settle(&self) {
        for hook in &self.settle {
            hook().await;
        }
    }

    /// Asks the loops to stop.
    pub fn shutdown(&self) {
        let _ = self.shutdown_tx.send(true);
    }

    /// Binds the configured address and serves until Ctrl-C or SIGTERM.
    pub async fn serve(self) -> Result<(), AppError> {
        let addr = format!("{}:{}", self.backend.listen_host, self.backend.listen_port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|source| AppError::Listen { addr: addr.clone(), source })?;
        self.serve_on(listener).await
    }

    /// Serves on an already bound listener until Ctrl-C or SIGTERM (tests bind port 0).
    pub async fn serve_on(mut self, listener: tokio::net::TcpListener) -> Result<(), AppError> {
        let addr = listener.local_addr().map_or_else(|_| "listener".to_owned(), |a| a.to_string());
        let local: SocketAddr =
            listener.local_addr().map_err(|source| AppError::Listen { addr: addr.clone(), source })?;
        let handles = self.spawn_loops();
        tracing::info!("Portico is listening on http://{local}");
        let router = self.router.clone();
        let shutdown_tx = self.shutdown_tx.clone();
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                wait_for_signal().await;
                tracing::info!("shutting down");
                let _ = shutdown_tx.send(true);
            })
            .await
            .map_err(|source| AppError::Listen { addr, source })?;
        for handle in handles {
            let _ = handle.await;
        }
        match tokio::time::timeout(STORE_CLOSE_TIMEOUT, self.store.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "closing the database failed; the next start recovers it")
            }
            Err(_) => tracing::warn!("closing the database took too long; the next start recovers it"),
        }
        Ok(())
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
