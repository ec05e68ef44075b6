//! Read routes served from the in-memory index: `GET /entities`, `GET` and `POST
//! /entities/by-query`, `GET /entities/by-uid/{uid}`,
//! `GET /entities/by-name/{kind}/{namespace}/{name}`, `POST /entities/by-refs` and `GET` and
//! `POST /entity-facets`. The POST variants take a filter predicate (see `predicate`).
//!
//! Handlers take the index's read lock only while assembling the response text (no `.await`
//! while it is held). Entity bodies are copied as stored; only a `fields` projection parses
//! them.

use std::sync::PoisonError;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portico_model::fields::FieldProjection;
use portico_plugin::Access;
use portico_web::{ApiError, ApiResult};
use serde_json::{Map, Value};

use super::predicate::Predicate;
use super::query::{
    Cursor, FullTextFilter, ParamType, Params, encode_after, parse_fields, parse_filter, parse_integer,
    parse_order, parse_order_fields, parse_pagination,
};
use crate::index::{Direction, EntityView, PageRequest, ReadIndex, Readable, SharedIndex, SortKey};

/// by-query page size when the request gives no `limit`.
const DEFAULT_QUERY_LIMIT: usize = 200;

/// State of the read routes.
#[derive(Clone)]
pub struct ReadApi {
    pub index: SharedIndex,
    /// Add the legacy relation `target` objects on `GET /entities` and by-uid; `false` when
    /// `catalog.disableRelationsCompatibility` is set.
    pub relations_compatibility: bool,
}

/// The read routes, state applied; paths are relative to the catalog's mount point.
pub fn router(state: ReadApi) -> Router {
    Router::new()
        .route("/entities", get(list_entities))
        .route("/entities/by-query", get(query_entities).post(query_entities_by_predicate))
        .route("/entities/by-uid/{uid}", get(entity_by_uid))
        .route("/entities/by-name/{kind}/{namespace}/{name}", get(entity_by_name))
        .route("/entities/by-refs", post(entities_by_refs))
        .route("/entity-facets", get(entity_facets).post(entity_facets_by_predicate))
        .with_state(state)
}

fn json_response(body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

/// Appends a JSON string literal.
fn push_json_string(out: &mut String, text: &str) {
    match serde_json::to_string(text) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

/// Appends one entity as JSON, projected when `fields` selects anything.
fn write_entity(entity: &EntityView<'_>, targets: bool, fields: &FieldProjection, out: &mut String) {
    if fields.is_empty() {
        entity.write_json(targets, out);
        return;
    }
    match serde_json::from_str::<Value>(&entity.to_json(targets)) {
        Ok(value) => out.push_str(&fields.apply(&value).to_string()),
        // Bodies are checked to be JSON when indexed; keep the response well-formed regardless.
        Err(_) => out.push_str("{}"),
    }
}

fn write_array<'a>(
    entities: impl IntoIterator<Item = Option<EntityView<'a>>>,
    targets: bool,
    fields: &FieldProjection,
    out: &mut String,
) {
    out.push('[');
    for (i, entity) in entities.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match entity {
            Some(entity) => write_entity(&entity, targets, fields, out),
            None => out.push_str("null"),
        }
    }
    out.push(']');
}

fn read_index(state: &ReadApi) -> std::sync::RwLockReadGuard<'_, ReadIndex> {
    state.index.read().unwrap_or_else(PoisonError::into_inner)
}

/// `GET /entities`: a bare array, ordered by ref (or `order`), optionally paged with
/// `limit`/`offset`/`after` and a `link` header to the next page.
async fn list_entities(
    State(state): State<ReadApi>,
    access: Access,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = Params::parse(raw.as_deref());
    params.validate(&[
        ("fields", ParamType::Strings),
        ("limit", ParamType::Integer),
        ("filter", ParamType::Strings),
        ("offset", ParamType::Integer),
        ("after", ParamType::String),
        ("order", ParamType::Strings),
    ])?;
    let filter = parse_filter(&params.all("filter"))?;
    let fields = parse_fields(params.all("fields"))?;
    let order = parse_order(&params.all("order"))?;
    let pagination = parse_pagination(params.one("limit"), params.one("offset"), params.one("after"))?;
    let (limit, offset) = pagination.map_or((None, 0), |p| (p.limit, p.offset.unwrap_or(0)));

    let (body, next) = {
        let index = read_index(&state);
        let mut set = index.matching(filter.as_ref());
        index.readable(&access).restrict(&mut set);
        let (ordinals, has_more) = index.list(&set, &order, offset, limit);
        let mut body = String::with_capacity(ordinals.len() * 2048 + 2);
        let entities = ordinals.iter().map(|&o| index.entity(o));
        write_array(entities, state.relations_compatibility, &fields, &mut body);
        let next = match (has_more, limit) {
            (true, Some(limit)) => Some(encode_after(limit, offset + limit)),
            _ => None,
        };
        (body, next)
    };

    let mut response = json_response(body);
    if let Some(after) = next {
        // The request's own query with `offset` removed and `after` set, as URLSearchParams
        // would serialize it.
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        let mut after_written = false;
        for (key, value) in params.pairs() {
            match key {
                "offset" => {}
                "after" if after_written => {}
                "after" => {
                    serializer.append_pair("after", &after);
                    after_written = true;
                }
                _ => {
                    serializer.append_pair(key, value);
                }
            }
        }
        if !after_written {
            serializer.append_pair("after", &after);
        }
        let link = format!("<{}?{}>; rel=\"next\"", uri.path(), serializer.finish());
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// `GET /entities/by-query`: keyset-paginated query with `totalItems` and cursors.
async fn query_entities(
    State(state): State<ReadApi>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = Params::parse(raw.as_deref());
    params.validate(&[
        ("fields", ParamType::Strings),
        ("limit", ParamType::Integer),
        ("offset", ParamType::Integer),
        ("orderField", ParamType::Strings),
        ("cursor", ParamType::String),
        ("filter", ParamType::Strings),
        ("fullTextFilterTerm", ParamType::String),
        ("fullTextFilterFields", ParamType::Strings),
    ])?;
    let fields = parse_fields(params.all("fields"))?;
    let limit =
        parse_integer(params.one("limit"), "limit")?.map_or(DEFAULT_QUERY_LIMIT, |l| l.max(0) as usize);

    // A cursor carries the whole query; filter, order and full-text parameters are ignored.
    let cursor = match params.one("cursor") {
        Some(text) => Cursor::decode(text)?,
        None => {
            let full_text_fields = match params.all("fullTextFilterFields").as_slice() {
                [] => None,
                [fields] => Some(fields.split(',').map(str::to_owned).collect()),
                _ => return Err(ApiError::input("Invalid fullTextFilterFields, not a string")),
            };
            Cursor {
                order_fields: parse_order_fields(&params.all("orderField"))?,
                order_field_values: Vec::new(),
                filter: parse_filter(&params.all("filter"))?,
                full_text: Some(FullTextFilter {
                    term: params.one("fullTextFilterTerm").unwrap_or_default().to_owned(),
                    fields: full_text_fields,
                }),
                is_previous: false,
                first_sort_field_values: None,
                total_items: None,
                query: None,
            }
        }
    };
    let initial = params.one("cursor").is_none();
    let offset = if initial { params.one("offset").and_then(|o| o.trim().parse::<f64>().ok()) } else { None };
    let offset = offset.map_or(0, |o| o.max(0.0) as usize);
    query_page(&state, &access, QueryRequest { cursor, initial, offset, limit, fields, count_total: true })
}

/// A by-query request after parsing, whichever route it came through.
struct QueryRequest {
    /// The query (filter, predicate, order, full text) and, after the first page, the position.
    cursor: Cursor,
    /// No cursor was given: `offset` applies and the result set starts at its beginning.
    initial: bool,
    offset: usize,
    limit: usize,
    fields: FieldProjection,
    /// `false` when the client asked not to count (`totalItems: "exclude"`); the total is 0.
    count_total: bool,
}

/// One keyset page of a by-query request: `{items, totalItems, pageInfo}` with the cursors of
/// the neighbouring pages (which carry the query, so later requests only send the cursor).
fn query_page(state: &ReadApi, access: &Access, request: QueryRequest) -> ApiResult<Response> {
    let QueryRequest { cursor, initial, offset, limit, fields, count_total } = request;
    let predicate = cursor.query.as_ref().map(Predicate::parse_query).transpose()?;
    let body = {
        let index = read_index(state);
        let order = cursor.order_fields.first();
        let mut set = index.matching(cursor.filter.as_ref());
        index.readable(access).restrict(&mut set);
        if let Some(predicate) = &predicate {
            set &= predicate.evaluate(&index);
        }
        if let Some(full_text) = &cursor.full_text {
            let term = full_text.term.trim();
            if !term.is_empty() {
                let default_fields;
                let fields = match &full_text.fields {
                    Some(fields) => fields.as_slice(),
                    None => {
                        default_fields =
                            [order.map_or_else(|| "metadata.uid".to_owned(), |o| o.field.clone())];
                        &default_fields[..]
                    }
                };
                set &= index.full_text(term, fields);
            }
        }
        let total = cursor.total_items.unwrap_or(if count_total { set.len() } else { 0 });
        let request = PageRequest {
            order: order.cloned(),
            after: if initial { None } else { cursor.position() },
            backwards: cursor.is_previous,
            offset,
            limit,
        };
        let mut rows = index.page(&set, &request);
        let has_more = limit > 0 && (cursor.is_previous || rows.len() > limit);
        rows.truncate(limit);

        let sort_values = |ordinal: u32| {
            let position = index.position(ordinal, order);
            match order {
                Some(_) => vec![position.value, Some(position.uid)],
                None => vec![Some(position.uid)],
            }
        };
        let first_of_page = rows.first().map(|&o| sort_values(o));
        let first_of_results = cursor.first_sort_field_values.clone().or_else(|| first_of_page.clone());
        let next_cursor = match (has_more, rows.last()) {
            (true, Some(&last)) => Some(Cursor {
                order_field_values: sort_values(last),
                first_sort_field_values: first_of_results.clone(),
                is_previous: false,
                total_items: Some(total),
                ..cursor.clone()
            }),
            _ => None,
        };
        let prev_cursor = match (&first_of_page, &cursor.first_sort_field_values) {
            (Some(first), Some(very_first)) if !initial && first != very_first => Some(Cursor {
                order_field_values: first.clone(),
                first_sort_field_values: Some(very_first.clone()),
                is_previous: true,
                total_items: Some(total),
                ..cursor.clone()
            }),
            _ => None,
        };

        let mut body = String::with_capacity(rows.len() * 2048 + 128);
        body.push_str("{\"items\":");
        write_array(rows.iter().map(|&o| index.entity(o)), false, &fields, &mut body);
        let mut page_info = Map::new();
        if let Some(next) = next_cursor {
            page_info.insert("nextCursor".into(), Value::String(next.encode()));
        }
        if let Some(prev) = prev_cursor {
            page_info.insert("prevCursor".into(), Value::String(prev.encode()));
        }
        body.push_str(&format!(",\"totalItems\":{total},\"pageInfo\":{}}}", Value::Object(page_info)));
        body
    };
    Ok(json_response(body))
}

/// Parses a JSON request body that must be an object; an empty body reads as `{}`.
fn body_object(bytes: &[u8]) -> ApiResult<Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::input("request/body must be object")),
        Err(e) => Err(ApiError::input(format!("Malformed request body: {e}"))),
    }
}

/// A body property that must be an array of strings (the schema validator's messages).
fn string_array(name: &str, value: &Value) -> ApiResult<Vec<String>> {
    let items =
        value.as_array().ok_or_else(|| ApiError::input(format!("request/body/{name} must be array")))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| ApiError::input(format!("request/body/{name}/{i} must be string")))
        })
        .collect()
}

/// An optional body property that must be an integer `>= 0`.
fn body_integer(object: &Map<String, Value>, name: &str) -> ApiResult<Option<usize>> {
    let Some(value) = object.get(name) else { return Ok(None) };
    let number = value
        .as_f64()
        .filter(|n| n.fract() == 0.0)
        .ok_or_else(|| ApiError::input(format!("request/body/{name} must be integer")))?;
    if number < 0.0 {
        return Err(ApiError::input(format!("request/body/{name} must be >= 0")));
    }
    Ok(Some(number as usize))
}

/// The optional `query` predicate of a POST body, validated; the raw JSON is kept for cursors.
fn body_query(object: &Map<String, Value>) -> ApiResult<Option<(Value, Predicate)>> {
    object.get("query").map(|q| Ok((q.clone(), Predicate::parse_query(q)?))).transpose()
}

/// Parses `orderBy: [{field, order}]` of `POST /entities/by-query`.
fn body_order(value: &Value) -> ApiResult<Vec<SortKey>> {
    let items = value.as_array().ok_or_else(|| ApiError::input("request/body/orderBy must be array"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = item.get("field").and_then(Value::as_str).ok_or_else(|| {
                ApiError::input(format!("request/body/orderBy/{i} must have required property 'field'"))
            })?;
            let direction = match item.get("order") {
                None => Direction::Asc,
                Some(order) => match order.as_str() {
                    Some("asc") => Direction::Asc,
                    Some("desc") => Direction::Desc,
                    _ => return Err(ApiError::input("Invalid order field order, must be asc or desc")),
                },
            };
            Ok(SortKey { field: field.to_owned(), direction })
        })
        .collect()
}

/// `POST /entities/by-query`: the by-query page model with a filter predicate in the body.
/// Cursors it issues carry the predicate under `query`; a cursor from the GET route works too.
async fn query_entities_by_predicate(
    State(state): State<ReadApi>,
    access: Access,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    Params::parse(raw.as_deref()).validate(&[])?;
    let object = body_object(&body)?;
    let fields = object.get("fields").map(|f| string_array("fields", f)).transpose()?.unwrap_or_default();
    let fields = parse_fields(fields.iter().map(String::as_str))?;
    let limit = body_integer(&object, "limit")?.unwrap_or(DEFAULT_QUERY_LIMIT);
    let count_total = match object.get("totalItems") {
        None => true,
        Some(value) => match value.as_str() {
            Some("include") => true,
            Some("exclude") => false,
            _ => {
                return Err(ApiError::input(
                    "request/body/totalItems must be equal to one of the allowed values",
                ));
            }
        },
    };

    if let Some(cursor) = object.get("cursor") {
        let text = cursor.as_str().ok_or_else(|| ApiError::input("request/body/cursor must be string"))?;
        if text.is_empty() {
            return Err(ApiError::input("Cursor cannot be empty"));
        }
        let cursor = Cursor::decode(text)?;
        return query_page(
            &state,
            &access,
            QueryRequest { cursor, initial: false, offset: 0, limit, fields, count_total: true },
        );
    }

    let query = body_query(&object)?.map(|(raw, _)| raw);
    let order_fields = object.get("orderBy").map(body_order).transpose()?.unwrap_or_default();
    let full_text = match object.get("fullTextFilter") {
        None => None,
        Some(Value::Object(filter)) => Some(FullTextFilter {
            term: match filter.get("term") {
                None => String::new(),
                Some(term) => term
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::input("request/body/fullTextFilter/term must be string"))?,
            },
            fields: filter.get("fields").map(|f| string_array("fullTextFilter/fields", f)).transpose()?,
        }),
        Some(_) => return Err(ApiError::input("request/body/fullTextFilter must be object")),
    };
    let offset = body_integer(&object, "offset")?.unwrap_or(0);
    let cursor = Cursor {
        order_fields,
        order_field_values: Vec::new(),
        filter: None,
        full_text,
        is_previous: false,
        first_sort_field_values: None,
        total_items: None,
        query,
    };
    query_page(&state, &access, QueryRequest { cursor, initial: true, offset, limit, fields, count_total })
}

/// `GET /entities/by-uid/{uid}`.
async fn entity_by_uid(
    State(state): State<ReadApi>,
    access: Access,
    Path(uid): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    Params::parse(raw.as_deref()).validate(&[])?;
    let body = {
        let index = read_index(&state);
        let entity = index.by_uid(&uid).or_else(|| index.by_uid(&uid.to_lowercase()));
        // An entity the caller may not read does not exist for them.
        let entity = entity.filter(|e| index.readable(&access).contains(e.ordinal));
        entity.map(|e| e.to_json(state.relations_compatibility))
    };
    body.map(json_response).ok_or_else(|| ApiError::not_found(format!("No entity with uid {uid}")))
}

/// `GET /entities/by-name/{kind}/{namespace}/{name}` (case-insensitive).
async fn entity_by_name(
    State(state): State<ReadApi>,
    access: Access,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    Params::parse(raw.as_deref()).validate(&[])?;
    let entity_ref = format!("{}:{}/{}", kind.to_lowercase(), namespace.to_lowercase(), name.to_lowercase());
    let body = {
        let index = read_index(&state);
        let entity = index.by_ref(&entity_ref).filter(|e| index.readable(&access).contains(e.ordinal));
        entity.map(|e| e.to_json(false))
    };
    body.map(json_response).ok_or_else(|| {
        ApiError::not_found(format!(
            "No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'"
        ))
    })
}

/// The validated body of `POST /entities/by-refs`.
struct ByRefsBody {
    entity_refs: Vec<String>,
    fields: Vec<String>,
    /// The newest clients send a filter predicate here instead of `filter` parameters.
    query: Option<Predicate>,
}

/// Validates the by-refs body the way Backstage's schema does (`entityRefs` required, an
/// array of strings; `fields` optional, an array of strings; `query` an optional predicate).
fn parse_by_refs_body(bytes: &[u8]) -> ApiResult<ByRefsBody> {
    let object = body_object(bytes)?;
    let entity_refs = object
        .get("entityRefs")
        .ok_or_else(|| ApiError::input("request/body must have required property 'entityRefs'"))?;
    let entity_refs = string_array("entityRefs", entity_refs)?;
    let fields = object.get("fields").map(|f| string_array("fields", f)).transpose()?.unwrap_or_default();
    let query = body_query(&object)?.map(|(_, predicate)| predicate);
    Ok(ByRefsBody { entity_refs, fields, query })
}

/// `POST /entities/by-refs`: `{items}` in request order, `null` where nothing matches.
async fn entities_by_refs(
    State(state): State<ReadApi>,
    access: Access,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let params = Params::parse(raw.as_deref());
    params.validate(&[("filter", ParamType::Strings), ("fields", ParamType::Strings)])?;
    let request = parse_by_refs_body(&body)?;
    let filter = parse_filter(&params.all("filter"))?;
    let fields =
        parse_fields(params.all("fields").into_iter().chain(request.fields.iter().map(String::as_str)))?;

    let body = {
        let index = read_index(&state);
        let mut set = filter.as_ref().map(|f| index.filter(f));
        if let Some(predicate) = &request.query {
            let matching = predicate.evaluate(&index);
            set = Some(match set {
                Some(set) => set & matching,
                None => matching,
            });
        }
        // Entities the caller may not read answer `null`, like refs that match nothing.
        if let Readable::Only(readable) = index.readable(&access) {
            set = Some(match set {
                Some(set) => set & readable.as_ref(),
                None => readable.as_ref().clone(),
            });
        }
        let items = index.by_refs(request.entity_refs.iter().map(String::as_str), set.as_ref());
        let mut body = String::with_capacity(items.len() * 2048 + 16);
        body.push_str("{\"items\":");
        write_array(items, false, &fields, &mut body);
        body.push('}');
        body
    };
    Ok(json_response(body))
}

/// `GET /entity-facets`: per requested facet, the original-case values and their counts.
async fn entity_facets(
    State(state): State<ReadApi>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = Params::parse(raw.as_deref());
    params.validate(&[("facet", ParamType::Strings), ("filter", ParamType::Strings)])?;
    let filter = parse_filter(&params.all("filter"))?;
    let facets = params.all("facet");
    if facets.is_empty() {
        return Err(ApiError::input("request/query must have required property 'facet'"));
    }
    let facets: Vec<&str> = facets.into_iter().filter(|f| !f.is_empty()).collect();
    if facets.is_empty() {
        return Err(ApiError::input("Missing facet parameter"));
    }

    Ok(facets_response(&state, &access, filter.as_ref(), None, &facets))
}

/// `{"facets": {...}}` for the requested facets over the entities matching the filter and the
/// predicate.
fn facets_response(
    state: &ReadApi,
    access: &Access,
    filter: Option<&crate::index::EntityFilter>,
    predicate: Option<&Predicate>,
    facets: &[&str],
) -> Response {
    let body = {
        let index = read_index(state);
        let mut set = index.matching(filter);
        index.readable(access).restrict(&mut set);
        if let Some(predicate) = predicate {
            set &= predicate.evaluate(&index);
        }
        // Written directly: a facet over a high-cardinality key has thousands of entries.
        let mut body = String::from("{\"facets\":{");
        let mut written: Vec<&str> = Vec::new();
        for &facet in facets {
            if written.contains(&facet) {
                continue;
            }
            if !written.is_empty() {
                body.push(',');
            }
            written.push(facet);
            push_json_string(&mut body, facet);
            body.push(':');
            index.write_facet_json(facet, &set, &mut body);
        }
        body.push_str("}}");
        body
    };
    json_response(body)
}

/// `POST /entity-facets`: like the GET route, with `{facets, query}` in the body.
async fn entity_facets_by_predicate(
    State(state): State<ReadApi>,
    access: Access,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    Params::parse(raw.as_deref()).validate(&[])?;
    let object = body_object(&body)?;
    let facets = object
        .get("facets")
        .ok_or_else(|| ApiError::input("request/body must have required property 'facets'"))?;
    let facets = string_array("facets", facets)?;
    let facets: Vec<&str> = facets.iter().map(String::as_str).filter(|f| !f.is_empty()).collect();
    if facets.is_empty() {
        return Err(ApiError::input("Missing facet parameter"));
    }
    let predicate = body_query(&object)?.map(|(_, predicate)| predicate);
    Ok(facets_response(&state, &access, None, predicate.as_ref(), &facets))
}
