//! Routes that change the catalog or run the processing pipeline: locations, refresh,
//! validation, entity deletion, ancestry.

use std::sync::{Arc, PoisonError};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::Engine as _;
use portico_model::{EntityRef, RefDefaults, SerializedError};
use portico_plugin::permission::Resource;
use portico_plugin::permission::permission::{
    CATALOG_ENTITY_DELETE, CATALOG_ENTITY_REFRESH, CATALOG_ENTITY_VALIDATE, CATALOG_LOCATION_ANALYZE,
    CATALOG_LOCATION_CREATE, CATALOG_LOCATION_READ,
};
use portico_plugin::{Access, Audit};
use portico_store::{CatalogStore, LocationRecord};
use portico_web::{ApiError, ApiResult, Viewer};
use serde_json::{Value, json};

use super::predicate::Predicate;
use super::query::{ParamType, Params};
use crate::engine::location::{ANNOTATION_ORIGIN_LOCATION, annotation};
use crate::engine::{Engine, EngineError};
use crate::index::SharedIndex;

/// State of the write routes.
#[derive(Clone)]
pub struct WriteApi {
    pub engine: Engine,
    pub index: SharedIndex,
    /// To bring the index up to date before answering a delete, so that a client reading right
    /// after the 204 no longer sees what it deleted (Backstage reads its database directly).
    pub store: Arc<dyn CatalogStore>,
    pub readonly: bool,
    /// Every change made through these routes is recorded here.
    pub audit: Audit,
}

impl WriteApi {
    async fn catch_up(&self) -> ApiResult<()> {
        crate::index::catch_up(&self.index, self.store.as_ref()).await.map(|_| ()).map_err(|error| {
            tracing::error!(%error, "catalog index could not read the change feed");
            ApiError::internal(error.to_string())
        })
    }
}

pub fn router(state: WriteApi) -> Router {
    Router::new()
        .route("/entities/by-uid/{uid}", delete(delete_entity))
        .route("/entities/by-name/{kind}/{namespace}/{name}/ancestry", get(ancestry))
        .route("/refresh", post(refresh))
        .route("/validate-entity", post(validate_entity))
        .route("/locations", post(create_location).get(list_locations))
        .route("/locations/by-query", post(query_locations))
        .route("/locations/{id}", get(get_location).delete(delete_location).put(update_location))
        .route("/locations/by-entity/{kind}/{namespace}/{name}", get(location_by_entity))
        .route("/analyze-location", post(analyze_location))
        .with_state(state)
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::NotFound(message) => ApiError::not_found(message),
            EngineError::Conflict(message) => ApiError::conflict(message),
            EngineError::Input(message) => ApiError::input(message),
            EngineError::Store(error) => {
                tracing::error!(%error, "catalog store failed");
                ApiError::internal(error.to_string())
            }
        }
    }
}

/// Validates a route's query parameters (all single strings here) with the same rules and
/// messages as the read routes (Backstage's OpenAPI validator).
fn check_query(query: &Option<String>, allowed: &[&str]) -> ApiResult<Params> {
    let params = Params::parse(query.as_deref());
    let schema: Vec<(&str, ParamType)> = allowed.iter().map(|name| (*name, ParamType::String)).collect();
    params.validate(&schema)?;
    Ok(params)
}

/// The `{type, target}` of a location body (`POST /locations`, `PUT /locations/:id`): only
/// `accepted` keys, strings, and a type `catalog.allowedLocationTypes` allows.
fn location_body(
    api: &WriteApi,
    headers: &HeaderMap,
    body: &Bytes,
    accepted: &[&str],
) -> ApiResult<(String, String)> {
    let body = json_object_body(headers, body)?;
    if let Some(key) = body.keys().find(|key| !accepted.contains(&key.as_str())) {
        return Err(ApiError::input(format!("Malformed request: unknown property '{key}'")));
    }
    let (Some(Value::String(kind)), Some(Value::String(target))) = (body.get("type"), body.get("target"))
    else {
        return Err(ApiError::input("Malformed request: type and target must be strings"));
    };
    let allowed = &api.engine.config().allowed_location_types;
    if !allowed.iter().any(|t| t == kind) {
        let list = serde_json::to_string(allowed).unwrap_or_default();
        return Err(ApiError::input(format!("Registered locations must be of an allowed type {list}")));
    }
    Ok((kind.clone(), target.clone()))
}

/// Parses a JSON object body with Backstage's messages for the usual ways it goes wrong.
fn json_object_body(headers: &HeaderMap, body: &Bytes) -> ApiResult<serde_json::Map<String, Value>> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    match content_type {
        None => return Err(ApiError::input("Content-Type missing")),
        Some(value) if !value.to_ascii_lowercase().starts_with("application/json") => {
            return Err(ApiError::input("Illegal Content-Type"));
        }
        Some(_) => {}
    }
    if body.is_empty() {
        return Err(ApiError::input("Empty request body"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) if !map.is_empty() => Ok(map),
        Ok(Value::Object(_)) => Err(ApiError::input("Empty request body")),
        Ok(_) => Err(ApiError::input("Malformed request: body must be an object")),
        Err(error) => Err(ApiError::input(format!("Malformed request: {error}"))),
    }
}

fn location_json(location: &LocationRecord) -> Value {
    json!({ "id": location.id, "type": location.kind, "target": location.target })
}

fn canonical_ref(kind: &str, namespace: &str, name: &str) -> String {
    EntityRef { kind: kind.to_owned(), namespace: namespace.to_owned(), name: name.to_owned() }.canonical()
}

/// The entity with this canonical ref, parsed, when it exists and `access` may read it.
fn readable_entity(index: &SharedIndex, access: &Access, entity_ref: &str) -> Option<Value> {
    let index = index.read().unwrap_or_else(PoisonError::into_inner);
    let entity = index.by_ref(entity_ref)?;
    if !index.readable(access).contains(entity.ordinal) {
        return None;
    }
    serde_json::from_str(&entity.body()).ok()
}

// ----- entities

async fn delete_entity(
    State(api): State<WriteApi>,
    Path(uid): Path<String>,
    RawQuery(query): RawQuery,
    viewer: Viewer,
    access: Access,
) -> ApiResult<StatusCode> {
    check_query(&query, &[])?;
    let found = {
        let index = api.index.read().unwrap_or_else(PoisonError::into_inner);
        index.by_uid(&uid).map(|entity| {
            let readable = index.readable(&access).contains(entity.ordinal);
            (entity.entity_ref.to_owned(), serde_json::from_str::<Value>(&entity.body()).ok(), readable)
        })
    };
    // An entity the caller may not read does not exist for them (the engine answers 404).
    let target = match &found {
        Some((entity_ref, Some(entity), true)) => {
            access.require(&CATALOG_ENTITY_DELETE, Some(Resource::Entity(entity)), entity_ref).await?;
            Some(entity_ref.clone())
        }
        Some((_, _, false)) => return Err(ApiError::not_found(format!("No entity with uid {uid}"))),
        _ => None,
    };
    let deleted = api.engine.delete_entity(&uid).await;
    let target = target.as_ref().unwrap_or(&uid);
    api.audit.result(&viewer, "catalog.entity.delete", target, &deleted, json!({"uid": uid})).await;
    deleted?;
    api.catch_up().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn ancestry(
    State(api): State<WriteApi>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    access: Access,
) -> ApiResult<Json<Value>> {
    check_query(&query, &[])?;
    let root = canonical_ref(&kind, &namespace, &name);
    let readable = |entity_ref: &str| readable_entity(&api.index, &access, entity_ref);
    if readable(&root).is_none() {
        return Err(ApiError::not_found(format!("No such entity {root}")));
    }
    let mut items = Vec::new();
    for (entity_ref, parents) in api.engine.ancestry(&root).await? {
        // Only parents that are served (and readable) appear, as in Backstage.
        let Some(entity) = readable(&entity_ref) else { continue };
        let parents: Vec<&String> = parents.iter().filter(|p| readable(p).is_some()).collect();
        items.push(json!({ "entity": entity, "parentEntityRefs": parents }));
    }
    Ok(Json(json!({ "rootEntityRef": root, "items": items })))
}

async fn refresh(
    State(api): State<WriteApi>,
    RawQuery(query): RawQuery,
    viewer: Viewer,
    access: Access,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    check_query(&query, &[])?;
    let body = json_object_body(&headers, &body)?;
    for key in body.keys() {
        if key != "entityRef" && key != "authorizationToken" {
            return Err(ApiError::input(format!("Malformed request: unknown property '{key}'")));
        }
    }
    let Some(Value::String(entity_ref)) = body.get("entityRef") else {
        return Err(ApiError::input("Malformed request: entityRef must be a string"));
    };
    let parsed =
        EntityRef::parse(entity_ref, RefDefaults::default()).map_err(|e| ApiError::input(e.message))?;
    let entity_ref = parsed.canonical();
    let exists = api.index.read().unwrap_or_else(PoisonError::into_inner).by_ref(&entity_ref).is_some();
    let refreshed = match readable_entity(&api.index, &access, &entity_ref) {
        Some(entity) => {
            access.require(&CATALOG_ENTITY_REFRESH, Some(Resource::Entity(&entity)), &entity_ref).await?;
            api.engine.refresh(&entity_ref).await
        }
        // An entity the caller may not read is missing for them, with the engine's own words.
        None if exists => Err(EngineError::NotFound(format!("Entity {entity_ref} not found"))),
        None => api.engine.refresh(&entity_ref).await,
    };
    api.audit.result(&viewer, "catalog.entity.refresh", &parsed.canonical(), &refreshed, Value::Null).await;
    refreshed?;
    Ok(StatusCode::OK)
}

/// `POST /validate-entity` answers problems as `{errors: [...]}`, not the error envelope.
async fn validate_entity(State(api): State<WriteApi>, access: Access, body: Bytes) -> Response {
    if let Err(denied) = access.require(&CATALOG_ENTITY_VALIDATE, None, "catalog").await {
        return ApiError::from(denied).into_response();
    }
    let invalid = |errors: Vec<SerializedError>| {
        let errors: Vec<Value> = errors.iter().map(SerializedError::to_json).collect();
        (StatusCode::BAD_REQUEST, Json(json!({ "errors": errors }))).into_response()
    };
    let body: Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(error) => return invalid(vec![SerializedError::input(format!("Malformed request: {error}"))]),
    };
    let Some(object) = body.as_object() else {
        return invalid(vec![SerializedError::input("Malformed request: body must be an object")]);
    };
    let location = match object.get("location") {
        Some(Value::String(location)) => location.clone(),
        _ => return invalid(vec![SerializedError::input("Malformed request: location must be a string")]),
    };
    let entity = object.get("entity").cloned().unwrap_or(Value::Null);
    if let Err(error) = portico_model::process::validate_envelope(&entity) {
        return invalid(vec![error]);
    }
    match location.split_once(':') {
        Some(("url", target)) if !target.is_empty() => {}
        _ => {
            return invalid(vec![SerializedError::input(format!(
                "Invalid location ref {location}, only 'url:<target>' is supported, e.g. url:https://host/path"
            ))]);
        }
    }
    match api.engine.validate_entity(entity, &location).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => invalid(vec![error]),
    }
}

// ----- locations

async fn create_location(
    State(api): State<WriteApi>,
    RawQuery(query): RawQuery,
    viewer: Viewer,
    access: Access,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let params = check_query(&query, &["dryRun"])?;
    let dry_run = params
        .one("dryRun")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "1" | "on"));
    let (kind, target) = location_body(&api, &headers, &body, &["type", "target", "presence"])?;
    let (kind, target) = (kind.as_str(), target.as_str());
    access.require(&CATALOG_LOCATION_CREATE, None, &format!("{kind}:{target}")).await?;
    if dry_run {
        let exists = api.engine.store_has_location(kind, target).await?;
        let entities = api.engine.dry_run(kind, target).await.map_err(|e| ApiError::input(e.message))?;
        return Ok((
            StatusCode::CREATED,
            Json(json!({
                "exists": exists,
                "location": { "id": format!("{kind}:{target}"), "type": kind, "target": target },
                "entities": entities,
            })),
        ));
    }
    if api.readonly {
        return Err(ApiError::not_allowed("This operation not allowed in readonly mode"));
    }
    let created = api.engine.register_location(kind, target).await;
    api.audit
        .result(&viewer, "catalog.location.create", &format!("{kind}:{target}"), &created, Value::Null)
        .await;
    let location = created?;
    Ok((StatusCode::CREATED, Json(json!({ "location": location_json(&location), "entities": [] }))))
}

async fn list_locations(
    State(api): State<WriteApi>,
    RawQuery(query): RawQuery,
    access: Access,
) -> ApiResult<Json<Value>> {
    check_query(&query, &[])?;
    access.require(&CATALOG_LOCATION_READ, None, "catalog").await?;
    let locations = api.engine.locations().await?;
    Ok(Json(Value::Array(locations.iter().map(|l| json!({ "data": location_json(l) })).collect())))
}

async fn get_location(
    State(api): State<WriteApi>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    access: Access,
) -> ApiResult<Json<Value>> {
    check_query(&query, &[])?;
    access.require(&CATALOG_LOCATION_READ, None, &id).await?;
    match api.engine.location(&id).await? {
        Some(location) => Ok(Json(location_json(&location))),
        None => Err(ApiError::not_found(format!("Found no location with ID {id}"))),
    }
}

async fn delete_location(
    State(api): State<WriteApi>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    viewer: Viewer,
    access: Access,
) -> ApiResult<StatusCode> {
    check_query(&query, &[])?;
    if api.readonly {
        return Err(ApiError::not_allowed("This operation not allowed in readonly mode"));
    }
    if let Some(location) = api.engine.location(&id).await? {
        crate::access::require_location_delete(&access, &api.index, &location).await?;
    }
    let deleted = api.engine.delete_location(&id).await;
    let target = deleted.as_ref().map_or_else(|_| id.clone(), |l| format!("{}:{}", l.kind, l.target));
    api.audit.result(&viewer, "catalog.location.delete", &target, &deleted, json!({"id": id})).await;
    deleted?;
    api.catch_up().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /locations/by-query` page size when neither the body nor the cursor gives one.
const DEFAULT_LOCATION_LIMIT: usize = 1000;

/// The state of a location query between pages: page size, the id the next page starts after
/// (locations are listed by id) and the predicate. Encoded as base64 JSON like Backstage's.
struct LocationCursor {
    limit: usize,
    after_id: Option<String>,
    query: Option<Value>,
}

impl LocationCursor {
    fn encode(&self) -> String {
        let mut object = serde_json::Map::new();
        object.insert("limit".into(), json!(self.limit));
        if let Some(after_id) = &self.after_id {
            object.insert("afterId".into(), json!(after_id));
        }
        if let Some(query) = &self.query {
            object.insert("query".into(), query.clone());
        }
        base64::engine::general_purpose::STANDARD.encode(Value::Object(object).to_string())
    }

    fn decode(text: &str) -> ApiResult<LocationCursor> {
        if text.is_empty() {
            return Err(ApiError::input("Cursor cannot be empty"));
        }
        let value: Value = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| ApiError::input("Malformed cursor, unknown encoding"))?;
        let malformed = |what: &str| ApiError::input(format!("Malformed cursor: Validation error: {what}"));
        let limit = value
            .get("limit")
            .and_then(Value::as_u64)
            .filter(|l| *l >= 1)
            .ok_or_else(|| malformed("limit must be an integer >= 1"))?;
        let after_id = match value.get("afterId") {
            None => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(_) => return Err(malformed("afterId must be a string")),
        };
        Ok(LocationCursor { limit: limit as usize, after_id, query: value.get("query").cloned() })
    }
}

/// `POST /locations/by-query`: registered locations matching an optional predicate over
/// `id`, `type` and `target`, in id order, `limit` at a time.
async fn query_locations(
    State(api): State<WriteApi>,
    RawQuery(query): RawQuery,
    access: Access,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    check_query(&query, &[])?;
    access.require(&CATALOG_LOCATION_READ, None, "catalog").await?;
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Map::new()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(ApiError::input("request/body must be object")),
            Err(error) => return Err(ApiError::input(format!("Malformed request: {error}"))),
        }
    };
    let cursor = match body.get("cursor") {
        Some(Value::String(text)) => LocationCursor::decode(text)?,
        Some(_) => return Err(ApiError::input("request/body/cursor must be string")),
        None => {
            let limit = match body.get("limit") {
                None => DEFAULT_LOCATION_LIMIT,
                Some(limit) => limit
                    .as_u64()
                    .filter(|l| *l >= 1)
                    .ok_or_else(|| ApiError::input("Limit must be a positive integer >= 1"))?
                    as usize,
            };
            LocationCursor { limit, after_id: None, query: body.get("query").cloned() }
        }
    };
    let predicate = cursor.query.as_ref().map(Predicate::parse_location_query).transpose()?;

    let mut matching: Vec<Value> = api
        .engine
        .locations()
        .await?
        .iter()
        .map(location_json)
        .filter(|location| predicate.as_ref().is_none_or(|p| p.matches(location)))
        .collect();
    matching.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let total = matching.len();
    let start = cursor
        .after_id
        .as_deref()
        .map_or(0, |after| matching.iter().take_while(|l| l["id"].as_str() <= Some(after)).count());
    let end = start.saturating_add(cursor.limit).min(total);
    let items = matching[start..end].to_vec();
    let mut page_info = serde_json::Map::new();
    if end < total {
        let next = LocationCursor {
            limit: cursor.limit,
            after_id: items.last().and_then(|l| l["id"].as_str()).map(str::to_owned),
            query: cursor.query,
        };
        page_info.insert("nextCursor".into(), json!(next.encode()));
    }
    Ok(Json(json!({ "items": items, "totalItems": total, "pageInfo": page_info })))
}

/// `PUT /locations/{id}`: changes a registered location's type and target; the entities of the
/// old target go away and those of the new one are ingested.
async fn update_location(
    State(api): State<WriteApi>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    viewer: Viewer,
    access: Access,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    check_query(&query, &[])?;
    if api.readonly {
        return Err(ApiError::not_allowed("This operation not allowed in readonly mode"));
    }
    let (kind, target) = location_body(&api, &headers, &body, &["type", "target"])?;
    // Moving a location drops what the old target produced and registers the new one.
    if let Some(location) = api.engine.location(&id).await? {
        crate::access::require_location_delete(&access, &api.index, &location).await?;
    }
    access.require(&CATALOG_LOCATION_CREATE, None, &format!("{kind}:{target}")).await?;
    let updated = api.engine.update_location(&id, &kind, &target).await;
    let location_ref = format!("{kind}:{target}");
    api.audit.result(&viewer, "catalog.location.update", &location_ref, &updated, json!({"id": id})).await;
    let location = updated?;
    api.catch_up().await?;
    Ok(Json(location_json(&location)))
}

async fn location_by_entity(
    State(api): State<WriteApi>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    access: Access,
) -> ApiResult<Json<Value>> {
    check_query(&query, &[])?;
    let entity_ref = canonical_ref(&kind, &namespace, &name);
    access.require(&CATALOG_LOCATION_READ, None, &entity_ref).await?;
    let Some(entity) = readable_entity(&api.index, &access, &entity_ref) else {
        return Err(ApiError::not_found(format!("found no entity for ref {entity_ref}")));
    };
    let Some(origin) = annotation(&entity, ANNOTATION_ORIGIN_LOCATION).map(str::to_owned) else {
        return Err(ApiError::not_found(format!("found no origin annotation for ref {entity_ref}")));
    };
    let (origin_kind, origin_target) = origin.split_once(':').unwrap_or((origin.as_str(), ""));
    match api.engine.find_location(origin_kind, origin_target).await? {
        Some(location) => Ok(Json(location_json(&location))),
        None => Err(ApiError::not_found(format!(
            "Found no location with type {origin_kind} and target {origin_target}"
        ))),
    }
}

/// Analyses a repository url for import. Portico reads the descriptor at the given url (or
/// `catalog-info.yaml` beside it) and reports the entities in it; it does not infer new ones.
async fn analyze_location(
    State(api): State<WriteApi>,
    RawQuery(query): RawQuery,
    access: Access,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    check_query(&query, &[])?;
    access.require(&CATALOG_LOCATION_ANALYZE, None, "catalog").await?;
    let body = json_object_body(&headers, &body)?;
    let target = body
        .get("location")
        .and_then(|l| l.get("target"))
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::input("Malformed request: location.target must be a string"))?;
    let kind = body.get("location").and_then(|l| l.get("type")).and_then(Value::as_str).unwrap_or("url");
    let Ok(parsed) = url::Url::parse(target) else {
        return Err(ApiError::input("The given location.target is not a URL"));
    };
    let filename = body.get("catalogFilename").and_then(Value::as_str).unwrap_or("catalog-info.yaml");
    // The url's path decides, so that a query (`?ref=main` of a local repository) is kept.
    let descriptor = if parsed.path().ends_with(".yaml") || parsed.path().ends_with(".yml") {
        target.to_owned()
    } else {
        let mut folder = parsed.clone();
        folder.set_path(&format!("{}/", parsed.path().trim_end_matches('/')));
        portico_reading::join_url(&folder, filename)
            .map(String::from)
            .map_err(|_| ApiError::input(format!("Cannot find {filename} beside {target}")))?
    };
    let existing = match api.engine.dry_run(kind, &descriptor).await {
        Ok(entities) => {
            let registered = api.engine.store_has_location(kind, &descriptor).await?;
            entities
                .into_iter()
                .skip(1)
                .map(|entity| {
                    json!({
                        "location": { "type": kind, "target": descriptor },
                        "isRegistered": registered,
                        "entity": entity,
                    })
                })
                .collect()
        }
        Err(_) => Vec::new(),
    };
    Ok(Json(json!({ "existingEntityFiles": existing, "generateEntities": [] })))
}

impl Engine {
    async fn store_has_location(&self, kind: &str, target: &str) -> Result<bool, EngineError> {
        Ok(self.find_location(kind, target).await?.is_some())
    }
}
