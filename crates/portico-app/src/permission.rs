//! Permissions for the whole app: the policy engine built from `permission.*`, and the
//! permission plugin (`/api/permission`, other-apis.md §5.2).
//!
//! * `permission.enabled` (default `false`): off, every check is allowed and no policy is read,
//!   as in Backstage.
//! * `permission.policies`: Cedar policy files (paths relative to the configuration file that
//!   names them). Enabled without any, the allow-all policy applies.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use portico_catalog::api::service::CatalogHandle;
use portico_config::Config;
use portico_plugin::permission::authorize::{AuthorizeError, authorize_body};
use portico_plugin::permission::{PolicyEngine, ResourceType};
use portico_plugin::{Access, Plugin, PluginContext, PluginError, Registrar};
use portico_store::TaskStore;
use portico_web::{ApiError, ApiResult};
use serde_json::{Value, json};

use crate::server::AppError;

/// The engine `permission.*` describes; a policy file that cannot be read or does not validate
/// stops start-up with every problem at its file, line and column.
pub fn policy_engine(config: &Config) -> Result<PolicyEngine, AppError> {
    let enabled = config.bool("permission.enabled")?.unwrap_or(false);
    let files = config.string_list("permission.policies")?.unwrap_or_default();
    let base = config.origin_dir("permission.policies").map(PathBuf::from);
    let paths: Vec<PathBuf> = files
        .iter()
        .map(|file| match &base {
            Some(base) if PathBuf::from(file).is_relative() => base.join(file),
            _ => PathBuf::from(file),
        })
        .collect();
    let engine = PolicyEngine::from_settings(enabled, &paths)
        .map_err(|error| AppError::Permission(format!("permission.policies: {error}")))?;
    if enabled {
        if engine.enforces() {
            tracing::info!(files = paths.len(), "permissions enabled with Cedar policies");
        } else {
            tracing::info!("permissions enabled without policies: everything is allowed");
        }
    }
    Ok(engine)
}

/// `POST /api/permission/authorize` and `GET /api/permission/health`.
pub struct PermissionPlugin {
    catalog: CatalogHandle,
}

impl PermissionPlugin {
    /// Resources named by `resourceRef` are looked up in `catalog` (entities) and the task store.
    pub fn new(catalog: CatalogHandle) -> PermissionPlugin {
        PermissionPlugin { catalog }
    }
}

#[derive(Clone)]
struct PermissionState {
    catalog: CatalogHandle,
    tasks: Arc<dyn TaskStore>,
}

#[async_trait::async_trait]
impl Plugin for PermissionPlugin {
    fn id(&self) -> &'static str {
        "permission"
    }

    async fn start(&self, cx: &PluginContext, registrar: &mut Registrar) -> Result<(), PluginError> {
        let state = PermissionState { catalog: self.catalog.clone(), tasks: cx.task_store.clone() };
        let router = Router::new()
            .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
            .route("/authorize", post(authorize))
            .with_state(state);
        registrar.api_routes("permission", router);
        Ok(())
    }
}

async fn authorize(
    State(state): State<PermissionState>,
    access: Access,
    body: Option<Json<Value>>,
) -> ApiResult<Json<Value>> {
    let Some(Json(body)) = body else {
        return Err(ApiError::input("Invalid request body: expected a JSON object"));
    };
    // Tasks are looked up before deciding, since the decision itself is synchronous.
    let mut tasks = Vec::new();
    for task_id in task_refs(&body) {
        if let Ok(Some(task)) = state.tasks.task(&task_id).await {
            tasks.push((task_id, task_json(&task)));
        }
    }
    let catalog = state.catalog.get();
    let lookup = |resource_type: ResourceType, reference: &str| match resource_type {
        ResourceType::CatalogEntity => {
            catalog.and_then(|catalog| catalog.entity(&Access::unrestricted(), reference))
        }
        ResourceType::ScaffolderTask => {
            tasks.iter().find(|(id, _)| id == reference).map(|(_, task)| task.clone())
        }
        ResourceType::ScaffolderTemplate | ResourceType::ScaffolderAction => None,
    };
    authorize_body(access.policy_engine(), access.policy_principal(), &body, lookup).map(Json).map_err(
        |error| match error {
            AuthorizeError::Input(message) => ApiError::input(message),
            AuthorizeError::NotAllowed(message) => ApiError::not_allowed(message),
        },
    )
}

/// The task ids named by items of a `scaffolder-task` permission.
/// What policies see of a task: Backstage's serialized task shape, reduced to its id, creator
/// and template.
fn task_json(task: &portico_store::TaskRecord) -> Value {
    json!({
        "id": task.id,
        "createdBy": task.created_by,
        "spec": { "templateInfo": { "entityRef": task.spec.pointer("/templateInfo/entityRef") } },
    })
}

fn task_refs(body: &Value) -> Vec<String> {
    let items = body.get("items").and_then(Value::as_array).into_iter().flatten();
    let tasks = items.filter(|item| {
        item.pointer("/permission/resourceType").and_then(Value::as_str) == Some("scaffolder-task")
    });
    let refs = tasks.filter_map(|item| item.get("resourceRef"));
    let mut ids: Vec<String> = refs
        .flat_map(|value| match value {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}
