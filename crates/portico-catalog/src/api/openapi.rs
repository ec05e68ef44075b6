//! `GET /openapi.json`: the OpenAPI document of the catalog routes.

use axum::Router;
use axum::http::header;
use axum::routing::get;

const DOCUMENT: &str = include_str!("openapi.json");

pub fn router() -> Router {
    Router::new().route(
        "/openapi.json",
        get(|| async { ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], DOCUMENT) }),
    )
}
