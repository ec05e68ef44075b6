//! Backstage's permission-framework integration routes, as every resource-owning Backstage
//! plugin serves them for the permission backend:
//!
//! * `GET /.well-known/backstage/permissions/metadata`: the catalog's permissions and the rules
//!   its conditional decisions may use, each with the JSON Schema of its parameters;
//! * `POST /.well-known/backstage/permissions/apply-conditions`: resolves conditional decisions
//!   (criteria trees of `allOf`/`anyOf`/`not` over rule conditions) against catalog entities,
//!   answering `ALLOW` or `DENY` per item, in request order.
//!
//! Who may call: whoever the auth gate lets through to `/api/catalog`, as for the read routes
//! (Backstage's permission backend calls with a service token; here that is a static
//! `backend.auth.externalAccess` token). Entities are looked up in the read index as the caller
//! may read them (`catalog.entity.read`), exactly as `GET /entities/by-name` does: an entity the
//! caller may not read counts as missing and is denied, so neither route tells more about the
//! catalog than the read routes would. The metadata describes no protected data and is served
//! to every caller.
//!
//! Conditions are evaluated lazily, as Backstage does: a missing entity is denied before any
//! rule is looked at, `allOf`/`anyOf` stop at the first child that settles them, and a rule's
//! name and parameters are checked only when the rule is reached.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::PoisonError;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use portico_plugin::Access;
use portico_plugin::permission::ResourceType;
use portico_plugin::permission::permission::{ALL, Permission, PermissionType};
use portico_web::{ApiError, ApiResult};
use serde_json::{Map, Value, json};

use super::query::Params;
use crate::index::SharedIndex;

/// The only resource type the catalog owns.
const RESOURCE_TYPE: ResourceType = ResourceType::CatalogEntity;

/// State of the permission integration routes.
#[derive(Clone)]
pub struct PermissionsApi {
    pub index: SharedIndex,
}

/// The routes, state applied; paths are relative to the catalog's mount point.
pub fn router(state: PermissionsApi) -> Router {
    Router::new()
        .route("/.well-known/backstage/permissions/metadata", get(metadata))
        .route("/.well-known/backstage/permissions/apply-conditions", post(apply_conditions))
        .with_state(state)
}

/// The type of one rule parameter.
#[derive(Clone, Copy)]
enum ParamKind {
    String,
    Strings,
}

/// One parameter of a rule's params object.
struct ParamSpec {
    name: &'static str,
    kind: ParamKind,
    required: bool,
    description: &'static str,
}

/// A permission rule of the catalog: Backstage's name, description and parameters, and how it
/// decides for one entity (its parameters already checked against `params`).
struct Rule {
    name: &'static str,
    description: &'static str,
    params: &'static [ParamSpec],
    apply: fn(&Map<String, Value>, &Value) -> bool,
}

const fn param(name: &'static str, kind: ParamKind, required: bool, description: &'static str) -> ParamSpec {
    ParamSpec { name, kind, required, description }
}

/// The catalog's rules, in the order Backstage's catalog registers them.
const RULES: &[Rule] = &[
    Rule {
        name: "HAS_ANNOTATION",
        description: "Allow entities with the specified annotation",
        params: &[
            param("annotation", ParamKind::String, true, "Name of the annotation to match on"),
            param("value", ParamKind::String, false, "Value of the annotation to match on"),
        ],
        apply: has_annotation,
    },
    Rule {
        name: "HAS_LABEL",
        description: "Allow entities with the specified label",
        params: &[param("label", ParamKind::String, true, "Name of the label to match on")],
        apply: has_label,
    },
    Rule {
        name: "HAS_METADATA",
        description: "Allow entities with the specified metadata subfield",
        params: &[
            param("key", ParamKind::String, true, "Property within the entities metadata to match on"),
            param("value", ParamKind::String, false, "Value of the given property to match on"),
        ],
        apply: has_metadata,
    },
    Rule {
        name: "HAS_SPEC",
        description: "Allow entities with the specified spec subfield",
        params: &[
            param("key", ParamKind::String, true, "Property within the entities spec to match on"),
            param("value", ParamKind::String, false, "Value of the given property to match on"),
        ],
        apply: has_spec,
    },
    Rule {
        name: "IS_ENTITY_KIND",
        description: "Allow entities matching a specified kind",
        params: &[param("kinds", ParamKind::Strings, true, "List of kinds to match at least one of")],
        apply: is_entity_kind,
    },
    Rule {
        name: "IS_ENTITY_OWNER",
        description: "Allow entities owned by a specified claim",
        params: &[param(
            "claims",
            ParamKind::Strings,
            true,
            "List of claims to match at least one on within ownedBy",
        )],
        apply: is_entity_owner,
    },
];

impl Rule {
    fn named(name: &str) -> Option<&'static Rule> {
        RULES.iter().find(|rule| rule.name == name)
    }

    /// The params object as zod-to-json-schema describes Backstage's params schema.
    fn params_schema(&self) -> Value {
        let mut properties = Map::new();
        for spec in self.params {
            let schema = match spec.kind {
                ParamKind::String => json!({ "type": "string", "description": spec.description }),
                ParamKind::Strings => {
                    json!({ "type": "array", "items": { "type": "string" }, "description": spec.description })
                }
            };
            properties.insert(spec.name.to_owned(), schema);
        }
        let required: Vec<&str> = self.params.iter().filter(|p| p.required).map(|p| p.name).collect();
        json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
            "$schema": "http://json-schema.org/draft-07/schema#",
        })
    }

    /// Whether `params` passes the rule's schema. As with zod's objects, properties the rule
    /// does not declare are ignored; absent params fail (the schema wants an object).
    fn accepts(&self, params: Option<&Map<String, Value>>) -> bool {
        let Some(params) = params else { return false };
        self.params.iter().all(|spec| match (params.get(spec.name), spec.kind) {
            (None, _) => !spec.required,
            (Some(value), ParamKind::String) => value.is_string(),
            (Some(value), ParamKind::Strings) => {
                value.as_array().is_some_and(|items| items.iter().all(Value::is_string))
            }
        })
    }
}

fn string_param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str)
}

fn strings_param<'a>(params: &'a Map<String, Value>, name: &str) -> impl Iterator<Item = &'a str> {
    params.get(name).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
}

fn has_annotation(params: &Map<String, Value>, entity: &Value) -> bool {
    let Some(annotation) = string_param(params, "annotation") else { return false };
    match entity.pointer("/metadata/annotations").and_then(Value::as_object).and_then(|a| a.get(annotation)) {
        None => false,
        Some(found) => string_param(params, "value").is_none_or(|value| found.as_str() == Some(value)),
    }
}

fn has_label(params: &Map<String, Value>, entity: &Value) -> bool {
    let Some(label) = string_param(params, "label") else { return false };
    entity
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .is_some_and(|labels| labels.contains_key(label))
}

fn has_metadata(params: &Map<String, Value>, entity: &Value) -> bool {
    has_property(params, entity.get("metadata"))
}

fn has_spec(params: &Map<String, Value>, entity: &Value) -> bool {
    has_property(params, entity.get("spec"))
}

/// HAS_METADATA and HAS_SPEC: the `key` path read as lodash `get` reads it; an array must
/// contain `value` (or not be empty), anything else must equal `value` (or be truthy).
fn has_property(params: &Map<String, Value>, root: Option<&Value>) -> bool {
    let Some(key) = string_param(params, "key") else { return false };
    let value = string_param(params, "value");
    let Some(found) = root.and_then(|root| lodash_get(root, key)) else { return false };
    match (found.as_ref(), value) {
        (Value::Array(items), Some(value)) => items.iter().any(|item| item.as_str() == Some(value)),
        (Value::Array(items), None) => !items.is_empty(),
        (found, Some(value)) => found.as_str() == Some(value),
        (found, None) => truthy(found),
    }
}

fn is_entity_kind(params: &Map<String, Value>, entity: &Value) -> bool {
    let kind = entity.get("kind").and_then(Value::as_str).unwrap_or_default().to_lowercase();
    strings_param(params, "kinds").any(|wanted| wanted.to_lowercase() == kind)
}

/// Claims are compared with the `ownedBy` targets without regard to case: refs in the catalog
/// and in user tokens are lower case in practice, but nothing forces a policy's claims to be.
fn is_entity_owner(params: &Map<String, Value>, entity: &Value) -> bool {
    let claims: Vec<String> = strings_param(params, "claims").map(str::to_lowercase).collect();
    entity.get("relations").and_then(Value::as_array).into_iter().flatten().any(|relation| {
        relation.get("type").and_then(Value::as_str) == Some("ownedBy")
            && relation
                .get("targetRef")
                .and_then(Value::as_str)
                .is_some_and(|target| claims.contains(&target.to_lowercase()))
    })
}

/// JavaScript truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0 && !n.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// lodash `get(root, path)`: `path` is one key when `root` has it (or it has no `.` or
/// brackets), else the keys lodash's `stringToPath` reads from it (`a.b`, `a[0]`, `a["b.c"]`).
/// `None` stands for `undefined`.
fn lodash_get<'a>(root: &'a Value, path: &str) -> Option<Cow<'a, Value>> {
    let whole_key = !is_deep_path(path) || root.as_object().is_some_and(|o| o.contains_key(path));
    let keys = if whole_key { vec![path.to_owned()] } else { string_to_path(path) };
    let mut current = Cow::Borrowed(root);
    for key in &keys {
        current = match current {
            Cow::Borrowed(value) => property(value, key)?,
            // Only lengths and characters are owned, and neither has properties worth reading.
            Cow::Owned(value) => Cow::Owned(property(&value, key)?.into_owned()),
        };
    }
    Some(current)
}

/// JavaScript `value[key]` for JSON values (own properties, array indexes, `length`).
fn property<'a>(value: &'a Value, key: &str) -> Option<Cow<'a, Value>> {
    let index = || key.parse::<usize>().ok().filter(|i| i.to_string() == key);
    match value {
        Value::Object(map) => map.get(key).map(Cow::Borrowed),
        Value::Array(items) if key == "length" => Some(Cow::Owned(json!(items.len()))),
        Value::Array(items) => index().and_then(|i| items.get(i)).map(Cow::Borrowed),
        Value::String(text) if key == "length" => Some(Cow::Owned(json!(text.encode_utf16().count()))),
        Value::String(text) => index()
            .and_then(|i| text.encode_utf16().nth(i))
            .map(|unit| Cow::Owned(Value::String(String::from_utf16_lossy(&[unit])))),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// lodash's `reIsDeepProp`: a `.` or a bracketed part.
fn is_deep_path(path: &str) -> bool {
    path.contains('.') || path.match_indices('[').any(|(i, _)| bracket_at(path, i).is_some())
}

/// The bracketed part starting at byte `start` (`[0]`, `["a.b"]`, `[x]`): its end and, for a
/// number or a quoted string, the key it names.
fn bracket_at(path: &str, start: usize) -> Option<(usize, Option<String>)> {
    let rest = path.get(start..)?.strip_prefix('[')?;
    if let Some((length, key)) = quoted_bracket(rest) {
        return Some((start + 1 + length, Some(key)));
    }
    let close = rest.find(']')?;
    let inner = &rest[..close];
    if inner.contains('[') {
        return None;
    }
    Some((start + 1 + close + 1, is_js_number(inner).then(|| inner.to_owned())))
}

/// A quoted key and its closing bracket (`"…"]` or `'…']`, a backslash escaping the next
/// character) at the start of `rest`: the bytes it spans and the key.
fn quoted_bracket(rest: &str) -> Option<(usize, String)> {
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let mut key = String::new();
    let mut chars = rest.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => key.push(chars.next()?.1),
            c if c == quote => return rest[i + 1..].starts_with(']').then_some((i + 2, key)),
            c => key.push(c),
        }
    }
    None
}

/// `-?\d+(?:\.\d+)?`
fn is_js_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && fraction.is_none_or(all_digits)
}

/// lodash's `stringToPath`: runs of characters other than `.[]`, bracketed numbers and quoted
/// strings, and an empty key where a `.` or `[]` is followed by another or ends the path.
fn string_to_path(path: &str) -> Vec<String> {
    let mut keys = Vec::new();
    if path.starts_with('.') {
        keys.push(String::new());
    }
    let empty_key_follows = |at: &str| {
        let rest = match at.strip_prefix('.').or_else(|| at.strip_prefix("[]")) {
            Some(rest) => rest,
            None => return false,
        };
        rest.is_empty() || rest.starts_with('.') || rest.starts_with("[]")
    };
    let mut i = 0;
    while i < path.len() {
        let rest = &path[i..];
        let run = rest.find(['.', '[', ']']).unwrap_or(rest.len());
        if run > 0 {
            keys.push(rest[..run].to_owned());
            i += run;
            continue;
        }
        if let Some((end, Some(key))) = bracket_at(path, i) {
            keys.push(key);
            i = end;
            continue;
        }
        if empty_key_follows(rest) {
            keys.push(String::new());
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    keys
}

/// The catalog's permissions as Backstage sends them over the wire.
fn permission_json(permission: &Permission) -> Value {
    let mut attributes = Map::new();
    if let Some(action) = permission.action {
        attributes.insert("action".into(), Value::String(action.as_str().into()));
    }
    match permission.kind {
        PermissionType::Basic => {
            json!({ "type": "basic", "name": permission.name, "attributes": attributes })
        }
        PermissionType::Resource(resource_type) => json!({
            "type": "resource",
            "name": permission.name,
            "attributes": attributes,
            "resourceType": resource_type.as_str(),
        }),
    }
}

/// `GET /.well-known/backstage/permissions/metadata`.
async fn metadata(RawQuery(raw): RawQuery) -> ApiResult<Json<Value>> {
    Params::parse(raw.as_deref()).validate(&[])?;
    let permissions: Vec<Value> = ALL
        .iter()
        .filter(|permission| permission.plugin() == "catalog")
        .map(|p| permission_json(p))
        .collect();
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            json!({
                "name": rule.name,
                "description": rule.description,
                "resourceType": RESOURCE_TYPE.as_str(),
                "paramsSchema": rule.params_schema(),
            })
        })
        .collect();
    Ok(Json(json!({ "permissions": permissions, "rules": rules })))
}

/// A criteria tree as the request sends it; rule names and params are checked when reached.
enum Criteria {
    AllOf(Vec<Criteria>),
    AnyOf(Vec<Criteria>),
    Not(Box<Criteria>),
    Condition { rule: String, params: Option<Map<String, Value>> },
}

/// One item of an apply-conditions request.
struct Item {
    id: String,
    resource_ref: String,
    resource_type: String,
    conditions: Criteria,
}

fn invalid(message: String) -> ApiError {
    ApiError::input(format!("Invalid request body: {message}"))
}

/// Validates `{items: [{id, resourceRef, resourceType, conditions}]}` with the shape Backstage's
/// schema accepts (non-empty `allOf`/`anyOf`, `params` an object when given).
fn parse_items(body: &[u8]) -> ApiResult<Vec<Item>> {
    let body: Value = serde_json::from_slice(body).map_err(|e| invalid(e.to_string()))?;
    let items = body
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("items must be an array".into()))?;
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let at = format!("items[{index}]");
            let item = item.as_object().ok_or_else(|| invalid(format!("{at} must be an object")))?;
            let string = |key: &str| {
                item.get(key)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(format!("{at}.{key} must be a string")))
            };
            let conditions =
                item.get("conditions").ok_or_else(|| invalid(format!("{at}.conditions is required")))?;
            Ok(Item {
                id: string("id")?,
                resource_ref: string("resourceRef")?,
                resource_type: string("resourceType")?,
                conditions: parse_criteria(conditions, &format!("{at}.conditions"))?,
            })
        })
        .collect()
}

/// One criteria node: the first of `anyOf`, `allOf`, `not`, condition that the object is.
fn parse_criteria(value: &Value, at: &str) -> ApiResult<Criteria> {
    let Some(object) = value.as_object() else {
        return Err(invalid(format!("{at} must be an object")));
    };
    let children = |key: &str| -> Option<ApiResult<Vec<Criteria>>> {
        let items = object.get(key)?.as_array().filter(|items| !items.is_empty())?;
        Some(
            items
                .iter()
                .enumerate()
                .map(|(i, child)| parse_criteria(child, &format!("{at}.{key}[{i}]")))
                .collect(),
        )
    };
    if let Some(children) = children("anyOf") {
        return children.map(Criteria::AnyOf);
    }
    if let Some(children) = children("allOf") {
        return children.map(Criteria::AllOf);
    }
    if let Some(inner) = object.get("not") {
        return parse_criteria(inner, &format!("{at}.not")).map(|inner| Criteria::Not(Box::new(inner)));
    }
    let rule = object.get("rule").and_then(Value::as_str);
    let resource_type = object.get("resourceType").and_then(Value::as_str);
    let params = match object.get("params") {
        None => Some(None),
        Some(Value::Object(params)) => Some(Some(params.clone())),
        Some(_) => None,
    };
    match (rule, resource_type, params) {
        (Some(rule), Some(_), Some(params)) => Ok(Criteria::Condition { rule: rule.to_owned(), params }),
        _ => Err(invalid(format!(
            "{at} must be a non-empty anyOf or allOf, a not, or a condition \
             {{rule: string, resourceType: string, params?: object}}"
        ))),
    }
}

/// Whether `criteria` hold for `entity`, stopping as soon as the answer is known.
fn evaluate(criteria: &Criteria, entity: &Value) -> ApiResult<bool> {
    match criteria {
        Criteria::AllOf(children) => {
            for child in children {
                if !evaluate(child, entity)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Criteria::AnyOf(children) => {
            for child in children {
                if evaluate(child, entity)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Criteria::Not(inner) => Ok(!evaluate(inner, entity)?),
        Criteria::Condition { rule, params } => {
            let found = Rule::named(rule).ok_or_else(|| {
                ApiError::input(format!(
                    "Permission rule '{rule}' does not exist for resource type '{}'",
                    RESOURCE_TYPE.as_str()
                ))
            })?;
            if !found.accepts(params.as_ref()) {
                return Err(ApiError::input("Parameters to rule are invalid"));
            }
            Ok(params.as_ref().is_some_and(|params| (found.apply)(params, entity)))
        }
    }
}

/// `POST /.well-known/backstage/permissions/apply-conditions`: `{items: [{id, result}]}` in
/// request order. Each distinct ref is looked up once, under one read of the index.
async fn apply_conditions(
    State(state): State<PermissionsApi>,
    access: Access,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    Params::parse(raw.as_deref()).validate(&[])?;
    let items = parse_items(&body)?;
    let unexpected: Vec<&str> = items
        .iter()
        .map(|item| item.resource_type.as_str())
        .filter(|resource_type| *resource_type != RESOURCE_TYPE.as_str())
        .collect();
    if !unexpected.is_empty() {
        return Err(ApiError::input(format!("Unexpected resource types: {}.", unexpected.join(", "))));
    }

    let mut entities: HashMap<&str, Option<Value>> = HashMap::new();
    {
        let index = state.index.read().unwrap_or_else(PoisonError::into_inner);
        let readable = index.readable(&access);
        for item in &items {
            entities.entry(item.resource_ref.as_str()).or_insert_with(|| {
                let entity = index.by_ref(&item.resource_ref.to_lowercase())?;
                if !readable.contains(entity.ordinal) {
                    return None;
                }
                serde_json::from_str(&entity.body()).ok()
            });
        }
    }

    let mut results = Vec::with_capacity(items.len());
    for item in &items {
        // A missing entity is denied before any condition is read, so the answer never tells
        // a missing entity from one the conditions rule out.
        let allowed = match entities.get(item.resource_ref.as_str()).and_then(Option::as_ref) {
            Some(entity) => evaluate(&item.conditions, entity)?,
            None => false,
        };
        results.push(json!({ "id": item.id, "result": if allowed { "ALLOW" } else { "DENY" } }));
    }
    Ok(Json(json!({ "items": results })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(root: Value, path: &str) -> Option<Value> {
        lodash_get(&root, path).map(Cow::into_owned)
    }

    #[test]
    fn paths_are_read_like_lodash_get() {
        let root = json!({
            "a": {"b": [{"c": 1}, "xy"]},
            "dotted.key": true,
            "annotations": {"backstage.io/x": "v"},
            "": {"": 5},
        });
        assert_eq!(get(root.clone(), "a.b[0].c"), Some(json!(1)));
        assert_eq!(get(root.clone(), "a.b.0.c"), Some(json!(1)));
        assert_eq!(get(root.clone(), "a.b.length"), Some(json!(2)));
        assert_eq!(get(root.clone(), "a.b[1].length"), Some(json!(2)));
        assert_eq!(get(root.clone(), "a.b[1][0]"), Some(json!("x")));
        assert_eq!(get(root.clone(), "dotted.key"), Some(json!(true)), "a whole key wins");
        assert_eq!(get(root.clone(), r#"annotations["backstage.io/x"]"#), Some(json!("v")));
        assert_eq!(get(root.clone(), "annotations.backstage.io/x"), None, "split at every dot");
        assert_eq!(get(root.clone(), "a.b.01"), None, "indexes are canonical numbers");
        assert_eq!(get(root.clone(), "a.missing.c"), None);
        assert_eq!(get(root.clone(), "."), Some(json!(5)), "empty keys around a dot");
        assert_eq!(get(root.clone(), ".."), None, "three empty keys");
    }

    #[test]
    fn string_to_path_matches_lodash() {
        assert_eq!(string_to_path("a[0].b"), ["a", "0", "b"]);
        assert_eq!(string_to_path("a..b"), ["a", "", "b"]);
        assert_eq!(string_to_path(".a"), ["", "a"]);
        assert_eq!(string_to_path("a."), ["a", ""]);
        assert_eq!(string_to_path("a[x]"), ["a", "x"]);
        assert_eq!(string_to_path(r#"a['b\'c']"#), ["a", "b'c"]);
        assert_eq!(string_to_path("a[-1.5]"), ["a", "-1.5"]);
        assert!(is_deep_path("a[0]"));
        assert!(!is_deep_path("a[b"));
        assert!(!is_deep_path("plain"));
    }

    #[test]
    fn property_rules_handle_arrays_and_truthiness() {
        let entity = json!({"metadata": {"tags": ["java"], "empty": [], "zero": 0, "name": "x"}});
        let check = |key: &str, value: Option<&str>| {
            let mut params = Map::new();
            params.insert("key".into(), json!(key));
            if let Some(value) = value {
                params.insert("value".into(), json!(value));
            }
            has_metadata(&params, &entity)
        };
        assert!(check("tags", Some("java")));
        assert!(!check("tags", Some("go")));
        assert!(check("tags", None));
        assert!(!check("empty", None));
        assert!(!check("zero", None));
        assert!(check("name", Some("x")));
        assert!(!check("name", Some("y")));
        assert!(!check("missing", None));
    }
}
