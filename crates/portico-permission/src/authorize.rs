//! `POST /api/permission/authorize`: the request body's validation and the answer, as pure
//! functions, so the route only authenticates the caller and supplies a resource lookup.

use serde_json::{Map, Value, json};

use crate::engine::PolicyEngine;
use crate::permission::{Permission, PermissionAction, ResourceType};
use crate::principal::Principal;
use crate::resource::Resource;

/// Why a request was refused; the route answers with Backstage's error body of that name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizeError {
    /// 400 `InputError`: the body does not have the shape Backstage accepts.
    #[error("{0}")]
    Input(String),
    /// 403 `NotAllowedError`: services may not ask on their own behalf.
    #[error("{0}")]
    NotAllowed(String),
}

/// A validated request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub items: Vec<AuthorizeQuery>,
}

/// One item: a correlation id, the permission as the client sent it, the resources to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeQuery {
    pub id: String,
    pub permission: WirePermission,
    pub resource_ref: Option<ResourceRefs>,
}

/// A permission object as sent over the wire (the client's own declaration of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WirePermission {
    pub name: String,
    /// `resourceType` of a `resource` permission; `None` for a `basic` one.
    pub resource_type: Option<String>,
    pub action: Option<PermissionAction>,
}

/// `resourceRef`: one ref (answered with one result) or an array (answered with an array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceRefs {
    One(String),
    Many(Vec<String>),
}

const RESOURCE_REF_REQUIRED: &str = "Resource permissions require a resourceRef to be set. \
                                     Direct user requests without a resourceRef are not allowed.";

/// Validates a request body like Backstage's permission backend: `{items: [{id, permission,
/// resourceRef?}]}`; a `resourceRef` only with a `resource` permission, and required with one
/// (conditional decisions are never handed out, so a caller cannot do without it).
pub fn parse_authorize_request(body: &Value) -> Result<AuthorizeRequest, AuthorizeError> {
    let invalid = |message: String| AuthorizeError::Input(format!("Invalid request body: {message}"));
    let items = body
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("items must be an array".to_owned()))?;
    let mut queries = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let at = format!("items[{index}]");
        let item = item.as_object().ok_or_else(|| invalid(format!("{at} must be an object")))?;
        let id = string_field(item, "id").ok_or_else(|| invalid(format!("{at}.id must be a string")))?;
        let permission = item
            .get("permission")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid(format!("{at}.permission must be an object")))?;
        let permission =
            parse_permission(permission).map_err(|problem| invalid(format!("{at}.permission{problem}")))?;
        let resource_ref = match item.get("resourceRef") {
            None | Some(Value::Null) => None,
            Some(Value::String(one)) => Some(ResourceRefs::One(one.clone())),
            Some(Value::Array(many)) => {
                let refs: Option<Vec<String>> = many.iter().map(|r| r.as_str().map(str::to_owned)).collect();
                let refs = refs.ok_or_else(|| {
                    invalid(format!("{at}.resourceRef must be a string or an array of strings"))
                })?;
                Some(ResourceRefs::Many(refs))
            }
            Some(_) => {
                return Err(invalid(format!("{at}.resourceRef must be a string or an array of strings")));
            }
        };
        match (&permission.resource_type, &resource_ref) {
            (None, Some(_)) => {
                return Err(invalid(format!("{at}.resourceRef is not allowed with a basic permission")));
            }
            (Some(_), None) => return Err(AuthorizeError::Input(RESOURCE_REF_REQUIRED.to_owned())),
            _ => {}
        }
        queries.push(AuthorizeQuery { id: id.to_owned(), permission, resource_ref });
    }
    Ok(AuthorizeRequest { items: queries })
}

/// The permission object's problem, as a suffix to its path (`.name must be a string`).
fn parse_permission(permission: &Map<String, Value>) -> Result<WirePermission, String> {
    let name = string_field(permission, "name").ok_or(".name must be a string")?;
    let attributes =
        permission.get("attributes").and_then(Value::as_object).ok_or(".attributes must be an object")?;
    let action = match attributes.get("action") {
        None => None,
        Some(action) => Some(
            action
                .as_str()
                .and_then(PermissionAction::parse)
                .ok_or(".attributes.action must be one of create, read, update, delete")?,
        ),
    };
    let resource_type = match string_field(permission, "type") {
        Some("basic") => None,
        Some("resource") => {
            Some(string_field(permission, "resourceType").ok_or(".resourceType must be a string")?.to_owned())
        }
        _ => return Err(".type must be \"basic\" or \"resource\"".to_owned()),
    };
    Ok(WirePermission { name: name.to_owned(), resource_type, action })
}

fn string_field<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// Answers a validated request: `{items: [{id, result}]}` in request order, `result` an array
/// for an array `resourceRef`. `lookup` loads a resource by type and ref (an entity ref for
/// `catalog-entity`, a task id for `scaffolder-task`) as the caller may see it; a resource it
/// does not find is denied. Permissions Portico does not know are denied unless the engine
/// allows everything.
pub fn answer_authorize_request(
    engine: &PolicyEngine,
    principal: &Principal,
    request: &AuthorizeRequest,
    lookup: impl Fn(ResourceType, &str) -> Option<Value>,
) -> Result<Value, AuthorizeError> {
    if let Principal::Service { subject } = principal {
        return Err(AuthorizeError::NotAllowed(format!(
            "This endpoint does not allow 'service' credentials (subject {subject})"
        )));
    }
    let items: Vec<Value> = request
        .items
        .iter()
        .map(|query| {
            let result = match &query.resource_ref {
                None => json!(result_name(decide(engine, principal, query, None, &lookup))),
                Some(ResourceRefs::One(one)) => {
                    json!(result_name(decide(engine, principal, query, Some(one), &lookup)))
                }
                Some(ResourceRefs::Many(many)) => Value::Array(
                    many.iter()
                        .map(|one| json!(result_name(decide(engine, principal, query, Some(one), &lookup))))
                        .collect(),
                ),
            };
            json!({ "id": query.id, "result": result })
        })
        .collect();
    Ok(json!({ "items": items }))
}

/// Validates the body and answers it: the whole route but authentication.
pub fn authorize_body(
    engine: &PolicyEngine,
    principal: &Principal,
    body: &Value,
    lookup: impl Fn(ResourceType, &str) -> Option<Value>,
) -> Result<Value, AuthorizeError> {
    let request = parse_authorize_request(body)?;
    answer_authorize_request(engine, principal, &request, lookup)
}

fn result_name(allowed: bool) -> &'static str {
    if allowed { "ALLOW" } else { "DENY" }
}

fn decide(
    engine: &PolicyEngine,
    principal: &Principal,
    query: &AuthorizeQuery,
    resource_ref: Option<&str>,
    lookup: &impl Fn(ResourceType, &str) -> Option<Value>,
) -> bool {
    if !engine.enforces() {
        return true;
    }
    let Some(permission) = Permission::named(&query.permission.name) else {
        return false;
    };
    let Some(resource_ref) = resource_ref else {
        return engine.authorize(principal, permission, None).is_allowed();
    };
    let resource_type = query.permission.resource_type.as_deref().and_then(ResourceType::parse);
    let Some(resource_type) = resource_type else {
        return false;
    };
    let Some(found) = lookup(resource_type, resource_ref) else {
        return false;
    };
    let resource = match resource_type {
        ResourceType::CatalogEntity => Resource::Entity(&found),
        ResourceType::ScaffolderTask => Resource::Task(&found),
        // Pages, steps and actions exist only inside a template being run; no ref names them.
        ResourceType::ScaffolderTemplate | ResourceType::ScaffolderAction => return false,
    };
    engine.authorize(principal, permission, Some(resource)).is_allowed()
}
