//! `/api/search`: Backstage's query route.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use portico_plugin::Access;
use portico_web::{ApiError, ApiResult};

use crate::engine::SearchResultSet;
use crate::qs;
use crate::service::SearchService;

/// The API routes (mounted under `/api/search`).
pub fn router(service: SearchService) -> Router {
    Router::new().route("/query", get(query)).with_state(service)
}

/// `GET /query?term=&types[0]=&filters[kind]=&pageCursor=&pageLimit=`.
async fn query(
    State(service): State<SearchService>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<SearchResultSet>> {
    let params = qs::parse(raw.as_deref().unwrap_or_default());
    let query = service.parse_request(&params).map_err(ApiError::input)?;
    let results = service
        .query(&access, &query)
        .map_err(|e| ApiError::internal(format!("There was a problem performing the search query: {e}")))?;
    Ok(Json(results))
}
