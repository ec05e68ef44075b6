//! The HTTP routes of ${{ values.name }}.

use axum::Router;
use axum::routing::get;

/// The service's router: `GET /` greets, `GET /healthz` tells a load balancer the service is up.
pub fn app() -> Router {
    Router::new()
        .route("/", get(hello))
        .route("/healthz", get(healthz))
}

async fn hello() -> &'static str {
    "Hello from ${{ values.name }}!"
}

async fn healthz() -> &'static str {
    "ok"
}
