//! `/api/audit`: `GET /entries` lists the audit log, newest first, with the filters of
//! [`AuditFilters`] and `limit` (default 100, at most 1000) and `offset`. It is the only route:
//! other methods answer 405, other paths 404.

use std::sync::Arc;

use axum::extract::{Query as QueryPairs, State};
use axum::routing::get;
use axum::{Json, Router};
use portico_plugin::Access;
use portico_plugin::permission::permission::AUDIT_ENTRY_READ;
use portico_store::{AuditStore, now_millis};
use portico_web::{ApiError, ApiResult, Query};
use serde_json::{Value, json};

use super::{AuditFilters, entry_json};

/// Entries per answer unless `limit` says otherwise.
const DEFAULT_LIMIT: u64 = 100;
/// The largest `limit`.
const MAX_LIMIT: u64 = 1_000;
/// The query parameters `GET /entries` knows; any other is a mistake worth reporting, since
/// ignoring a misspelt filter would answer entries it was meant to leave out.
const PARAMETERS: [&str; 8] = ["actor", "action", "target", "outcome", "since", "until", "limit", "offset"];

pub(super) fn router(store: Arc<dyn AuditStore>) -> Router {
    Router::new().route("/entries", get(entries)).with_state(store)
}

/// `GET /entries` → `{items, totalItems, limit, offset}`.
async fn entries(
    State(store): State<Arc<dyn AuditStore>>,
    access: Access,
    QueryPairs(pairs): QueryPairs<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    access.require(&AUDIT_ENTRY_READ, None, "audit").await?;
    if let Some((name, _)) = pairs.iter().find(|(name, _)| !PARAMETERS.contains(&name.as_str())) {
        return Err(ApiError::input(format!(
            "Unknown query parameter '{name}'; expected one of {}",
            PARAMETERS.join(", ")
        )));
    }
    let mut query = Query::default();
    for (name, value) in &pairs {
        query.push(name.as_str(), value.as_str());
    }
    let number = |name: &str| -> ApiResult<Option<u64>> {
        match query.all(name).last() {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                ApiError::input(format!("Invalid {name} \"{text}\": expected a whole number of 0 or more"))
            }),
        }
    };
    let limit = number("limit")?.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::input(format!("Invalid limit {limit}: expected 1 to {MAX_LIMIT}")));
    }
    let offset = number("offset")?.unwrap_or(0);
    let mut store_query = AuditFilters::from_query(&query).to_query(now_millis()).map_err(ApiError::input)?;
    store_query.limit = Some(limit);
    store_query.offset = Some(offset);
    let (entries, total) = store.list(&store_query).await.map_err(|error| {
        tracing::error!(%error, "could not read the audit log");
        ApiError::internal(format!("Could not read the audit log: {error}"))
    })?;
    let items: Vec<Value> = entries.iter().map(entry_json).collect();
    Ok(Json(json!({ "items": items, "totalItems": total, "limit": limit, "offset": offset })))
}
