//! `/api/scaffolder`: Backstage's scaffolder routes (other-apis.md §1.4) — parameter schemas,
//! actions, tasks with their event log and stream, cancel and retry, dry runs.
//!
//! Every route that touches a template or a task takes the caller's [`Access`] (§1.8):
//! templates are read through the catalog as the caller, with the parameter pages and steps
//! the caller may not read left out; creating, retrying and dry-running need
//! `scaffolder.task.create` on the template; reading a task or its events needs
//! `scaffolder.task.read` on it, cancelling it `scaffolder.task.cancel`; lists hold the
//! readable tasks only.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use portico_model::{EntityRef, RefDefaults};
use portico_plugin::permission::Resource;
use portico_plugin::permission::permission::{
    SCAFFOLDER_TASK_CANCEL, SCAFFOLDER_TASK_CREATE, SCAFFOLDER_TASK_READ,
};
use portico_plugin::{Access, Audit, Denied};
use portico_store::{TaskEventRecord, TaskEventType, TaskOrderField, TaskQuery, TaskRecord, TaskStatus};
pub use portico_web::time::iso_time;
use portico_web::{ApiError, ApiResult, Viewer};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::access::{RUN_AS_KEY, RunAs, authorized_parts, readable_tasks, stored_template};
use crate::api::{CatalogClient, Secrets, TaskUser};
use crate::parameters::validate_values;
use crate::runner::{SpecError, TaskSpec};
use crate::tasks::{TaskError, TaskService};
use crate::template;
use crate::workspace::safe_child;

/// How long `GET /v2/tasks/:id/events` waits for a first event.
const LONG_POLL: Duration = Duration::from_secs(30);
/// How often the event stream looks for events written by other nodes.
const STREAM_POLL: Duration = Duration::from_secs(1);
/// The largest dry-run request (Backstage accepts about 10 MB).
const DRY_RUN_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// What the routes work with.
#[derive(Clone)]
pub struct ScaffolderApi {
    /// The tasks.
    pub tasks: TaskService,
    /// The catalog the templates and users are read from.
    pub catalog: Arc<dyn CatalogClient>,
    /// The source-control hosts of `integrations`, offered by repository pickers.
    pub scm_hosts: Arc<[String]>,
    /// Where creating, cancelling and retrying tasks are recorded.
    pub audit: Audit,
}

/// The routes, mounted under `/api/scaffolder`.
pub fn router(api: ScaffolderApi) -> Router {
    Router::new()
        .route("/v2/templates/{namespace}/{kind}/{name}/parameter-schema", get(parameter_schema))
        .route("/v2/actions", get(list_actions))
        .route("/v2/tasks", post(create_task).get(list_tasks))
        .route("/v2/tasks/{id}", get(get_task))
        .route("/v2/tasks/{id}/cancel", post(cancel_task))
        .route("/v2/tasks/{id}/retry", post(retry_task))
        .route("/v2/tasks/{id}/events", get(task_events))
        .route("/v2/tasks/{id}/eventstream", get(event_stream))
        .route("/v2/dry-run", post(dry_run).layer(DefaultBodyLimit::max(DRY_RUN_BODY_LIMIT)))
        .route("/v2/autocomplete/{provider}/{resource}", post(autocomplete))
        .route("/v2/templating-extensions", get(templating_extensions))
        .with_state(api)
}

impl From<TaskError> for ApiError {
    fn from(error: TaskError) -> Self {
        match error {
            TaskError::NotFound(_) => ApiError::not_found(error.to_string()),
            TaskError::Store(error) => ApiError::internal(error.to_string()),
        }
    }
}

/// The template named `template_ref` (`template:default/name`) as `access` may read it: read
/// through the catalog as the caller (a template the caller may not read is not found), and
/// without the parameter pages and steps the caller may not read ([`authorized_parts`]).
pub async fn load_template(
    catalog: &dyn CatalogClient,
    access: &Access,
    template_ref: &str,
) -> ApiResult<Value> {
    let parsed = EntityRef::parse(template_ref, RefDefaults { kind: Some("template"), namespace: None })
        .map_err(|error| ApiError::input(error.message))?;
    if !parsed.kind.eq_ignore_ascii_case("template") {
        return Err(ApiError::input("Invalid kind, only 'Template' kind is supported"));
    }
    let canonical = parsed.canonical();
    let template = catalog
        .get_entity_by_ref(&canonical, access)
        .await
        .map_err(|error| ApiError::internal(error.to_string()))?
        .ok_or_else(|| ApiError::not_found(format!("Template {canonical} not found")))?;
    Ok(authorized_parts(access, &template))
}

/// Checks that `access` may run `template` (`scaffolder.task.create`), before a task is
/// created, retried or dry-run; a deny is recorded against `target`, the template's ref.
pub async fn require_create(access: &Access, template: &Value, target: &str) -> Result<(), Denied> {
    access.require(&SCAFFOLDER_TASK_CREATE, Some(Resource::Entity(template)), target).await
}

/// Checks that `access` may read `task` (`scaffolder.task.read`): `403` otherwise, as Backstage.
pub async fn require_read(access: &Access, task: &TaskRecord) -> Result<(), Denied> {
    access.require(&SCAFFOLDER_TASK_READ, Some(Resource::Task(&serialize_task(task))), &task.id).await
}

/// `400 InputError` unless the entity is a template the runner executes.
fn check_api_version(template: &Value) -> ApiResult<()> {
    let api_version = template.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    if api_version == crate::runner::TEMPLATE_API_VERSION {
        Ok(())
    } else {
        Err(ApiError::input(SpecError::UnsupportedApiVersion(api_version.to_owned()).to_string()))
    }
}

/// `GET /v2/templates/:namespace/:kind/:name/parameter-schema`: the pages the caller may read.
async fn parameter_schema(
    State(api): State<ScaffolderApi>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    access: Access,
) -> ApiResult<Response> {
    let template =
        load_template(api.catalog.as_ref(), &access, &format!("{kind}:{namespace}/{name}")).await?;
    check_api_version(&template)?;
    Ok(axum::Json(template::parameter_schema(&template)).into_response())
}

/// `GET /v2/actions`: every action with its schemas and examples, by id.
async fn list_actions(State(api): State<ScaffolderApi>) -> Response {
    let mut actions: Vec<_> = api.tasks.registry().list().cloned().collect();
    actions.sort_by(|a, b| a.id().cmp(b.id()));
    let body: Vec<Value> = actions
        .iter()
        .map(|action| {
            let schema = action.schema();
            json!({
                "id": action.id(),
                "description": action.description(),
                "examples": action
                    .examples()
                    .iter()
                    .map(|example| json!({"description": example.description, "example": example.example}))
                    .collect::<Vec<_>>(),
                "schema": {"input": schema.input, "output": schema.output},
            })
        })
        .collect();
    axum::Json(body).into_response()
}

/// The user a request acts for, and their catalog entity as they may read it.
async fn caller(catalog: &dyn CatalogClient, access: &Access, viewer: &Viewer) -> TaskUser {
    let user_ref = viewer.identity().to_owned();
    let entity = catalog.get_entity_by_ref(&user_ref, access).await.ok().flatten();
    TaskUser { entity_ref: user_ref, entity }
}

/// A request body as JSON; a malformed one is a `400 InputError` saying why.
fn json_body(body: &Bytes) -> ApiResult<Value> {
    serde_json::from_slice(body).map_err(|error| ApiError::input(format!("Malformed request: {error}")))
}

/// The request `secrets`: a map of strings, or absent.
fn secrets_of(body: &Value) -> ApiResult<Secrets> {
    match body.get("secrets") {
        None | Some(Value::Null) => Ok(Secrets::new()),
        Some(Value::Object(secrets)) => secrets
            .iter()
            .map(|(name, value)| match value {
                Value::String(text) => Ok((name.clone(), text.clone())),
                _ => Err(ApiError::input(format!("Malformed request: secrets.{name} must be a string"))),
            })
            .collect(),
        Some(_) => Err(ApiError::input("Malformed request: secrets must be an object of strings")),
    }
}

/// The `400 {errors}` answer when `values` fail a page of the template (pass the template as
/// the caller may read it: the pages they may not read are not checked), or the secrets fail
/// the template's secrets schema; `None` when the request is valid.
fn refusal(template: &Value, values: &Value, secrets: &Secrets) -> Option<Response> {
    let pages = template::parameter_pages(template);
    if let Err(errors) = validate_values(&pages, values) {
        return Some((StatusCode::BAD_REQUEST, axum::Json(json!({"errors": errors}))).into_response());
    }
    if let Some(schema) = template::secrets_schema(template) {
        let missing: Vec<Value> = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|name| !secrets.contains_key(*name))
            .map(|name| {
                let message = format!("secrets.{name} is required");
                json!({
                    "path": ["secrets", name],
                    "property": "secrets",
                    "message": message,
                    "schema": schema,
                    "instance": secrets.keys().map(|k| (k.clone(), json!("***"))).collect::<Map<_, _>>(),
                    "name": "required",
                    "argument": name,
                    "stack": message,
                })
            })
            .collect();
        if !missing.is_empty() {
            return Some((StatusCode::BAD_REQUEST, axum::Json(json!({"errors": missing}))).into_response());
        }
    }
    None
}

/// `POST /v2/tasks`: `{templateRef, values, secrets?}` → `201 {id}`.
async fn create_task(
    State(api): State<ScaffolderApi>,
    access: Access,
    viewer: Viewer,
    body: Bytes,
) -> ApiResult<Response> {
    let body = json_body(&body)?;
    let Some(template_ref) = body.get("templateRef").and_then(Value::as_str) else {
        return Err(ApiError::input("Malformed request: templateRef must be a string"));
    };
    let values = match body.get("values") {
        Some(values @ Value::Object(_)) => values.clone(),
        None | Some(Value::Null) => json!({}),
        Some(_) => return Err(ApiError::input("Malformed request: values must be an object")),
    };
    let secrets = secrets_of(&body)?;
    let template = load_template(api.catalog.as_ref(), &access, template_ref).await?;
    check_api_version(&template)?;
    require_create(&access, &template, &template_ref_of(&template)).await?;
    if let Some(response) = refusal(&template, &values, &secrets) {
        return Ok(response);
    }
    let user = caller(api.catalog.as_ref(), &access, &viewer).await;
    let id = create(&api, &access, &viewer, &template, values, secrets, user).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response())
}

/// The canonical ref of a template entity, `template:<namespace>/<name>`.
fn template_ref_of(template: &Value) -> String {
    EntityRef::from_entity(template).map_or_else(|| "template".to_owned(), |parsed| parsed.canonical())
}

/// Stores a task running `template` (as `access` may read it: [`load_template`]) with `values`
/// for `user`; returns its id. The values are expected to be valid already, and the caller
/// allowed to run the template ([`require_create`]). The task keeps who asked ([`RunAs`]), so
/// its steps are checked for them when a worker runs it.
pub async fn create(
    api: &ScaffolderApi,
    access: &Access,
    viewer: &Viewer,
    template: &Value,
    values: Value,
    secrets: Secrets,
    user: TaskUser,
) -> ApiResult<String> {
    let id = uuid::Uuid::new_v4().to_string();
    let mut spec =
        TaskSpec::from_template(&id, template, values).map_err(|e| ApiError::input(e.to_string()))?;
    spec.template_info.base_url = template::base_url(template);
    spec.run_as = Some(RunAs::new(access.principal().clone(), template));
    let created_by = user.entity_ref.clone();
    spec.user = Some(user);
    let spec = spec.with_secrets(secrets);
    tracing::info!(
        "Scaffolding task for {} created by {created_by}",
        spec.template_info.entity_ref.as_deref().unwrap_or("an unnamed template")
    );
    let created = api.tasks.create(&spec, Some(created_by)).await;
    let details = json!({"template": spec.template_info.entity_ref});
    api.audit.result(viewer, "scaffolder.task.create", &id, &created, details).await;
    Ok(created?)
}

/// Backstage's `SerializedTask`: `{id, spec, status, createdAt, lastHeartbeatAt?, createdBy?}`
/// — never the secrets, nor who the task runs for ([`RUN_AS_KEY`]).
pub fn serialize_task(task: &TaskRecord) -> Value {
    let mut spec = task.spec.clone();
    if let Some(spec) = spec.as_object_mut() {
        spec.remove(RUN_AS_KEY);
    }
    let mut body = Map::new();
    body.insert("id".into(), json!(task.id));
    body.insert("spec".into(), spec);
    body.insert("status".into(), json!(task.status.as_str()));
    body.insert("createdAt".into(), json!(iso_time(task.created_at)));
    if let Some(heartbeat) = task.last_heartbeat_at {
        body.insert("lastHeartbeatAt".into(), json!(iso_time(heartbeat)));
    }
    if let Some(created_by) = &task.created_by {
        body.insert("createdBy".into(), json!(created_by));
    }
    Value::Object(body)
}

/// Backstage's `SerializedTaskEvent`: `{id, taskId, body, type, createdAt}`.
pub fn serialize_event(event: &TaskEventRecord) -> Value {
    json!({
        "id": event.id,
        "taskId": event.task_id,
        "body": event.body,
        "type": event.event_type.as_str(),
        "createdAt": iso_time(event.created_at),
    })
}

/// The repeated query parameters of a request, by name.
fn query_params(raw: Option<&str>) -> BTreeMap<String, Vec<String>> {
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        params.entry(name.into_owned()).or_default().push(value.into_owned());
    }
    params
}

fn number_param(params: &BTreeMap<String, Vec<String>>, name: &str) -> ApiResult<Option<u64>> {
    match params.get(name).and_then(|values| values.last()) {
        None => Ok(None),
        Some(text) => text
            .parse::<u64>()
            .map(Some)
            .map_err(|_| ApiError::input(format!("Invalid {name} parameter \"{text}\", expected a number"))),
    }
}

/// `GET /v2/tasks`: filtered by `createdBy` and `status`, ordered by `order`, paged by
/// `limit`/`offset`; newest first by default. Only the tasks the caller may read count.
async fn list_tasks(
    State(api): State<ScaffolderApi>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params = query_params(raw.as_deref());
    let mut query = TaskQuery {
        created_by: params.get("createdBy").cloned().unwrap_or_default(),
        limit: number_param(&params, "limit")?,
        offset: number_param(&params, "offset")?,
        ..TaskQuery::default()
    };
    for status in params.get("status").into_iter().flatten() {
        let parsed = TaskStatus::parse(status)
            .ok_or_else(|| ApiError::input(format!("Invalid status parameter \"{status}\"")))?;
        query.status.push(parsed);
    }
    for order in params.get("order").into_iter().flatten() {
        let Some((direction, field)) = order.split_once(':').filter(|(d, _)| *d == "asc" || *d == "desc")
        else {
            return Err(ApiError::input(format!(
                "Invalid order parameter \"{order}\", expected \"<asc or desc>:<field name>\""
            )));
        };
        let field = match field {
            "created_at" | "createdAt" => TaskOrderField::CreatedAt,
            "status" => TaskOrderField::Status,
            "created_by" | "createdBy" => TaskOrderField::CreatedBy,
            _ => return Err(ApiError::input(format!("Invalid order field \"{field}\""))),
        };
        query.order.push((field, direction == "desc"));
    }
    let (tasks, total) = readable_tasks(&api.tasks, &access, &query).await?;
    let tasks: Vec<Value> = tasks.iter().map(serialize_task).collect();
    Ok(axum::Json(json!({"tasks": tasks, "totalTasks": total})).into_response())
}

/// `GET /v2/tasks/:id`.
async fn get_task(
    State(api): State<ScaffolderApi>,
    Path(id): Path<String>,
    access: Access,
) -> ApiResult<Response> {
    let task = api.tasks.task(&id).await?;
    require_read(&access, &task).await?;
    Ok(axum::Json(serialize_task(&task)).into_response())
}

/// `POST /v2/tasks/:id/cancel`: answers at once; the task stops asynchronously.
async fn cancel_task(
    State(api): State<ScaffolderApi>,
    Path(id): Path<String>,
    access: Access,
    viewer: Viewer,
) -> ApiResult<Response> {
    // A task that does not exist is a failed cancel; one the caller may not cancel is a deny.
    let task = api.tasks.task(&id).await;
    if let Ok(task) = &task {
        require_cancel(&access, task).await?;
    }
    let cancelled = match task {
        Ok(_) => api.tasks.cancel(&id).await,
        Err(error) => Err(error),
    };
    api.audit.result(&viewer, "scaffolder.task.cancel", &id, &cancelled, Value::Null).await;
    cancelled?;
    Ok(axum::Json(json!({"status": "cancelled"})).into_response())
}

/// Checks that `access` may cancel `task` (`scaffolder.task.cancel`).
pub async fn require_cancel(access: &Access, task: &TaskRecord) -> Result<(), Denied> {
    access.require(&SCAFFOLDER_TASK_CANCEL, Some(Resource::Task(&serialize_task(task))), &task.id).await
}

/// Checks that `access` may run `task` again: read it, and run its template as the task keeps
/// it. The rerun is the task's own steps and values, and runs for whoever created the task,
/// whatever the template became since.
pub async fn require_retry(access: &Access, task: &TaskRecord) -> Result<(), Denied> {
    require_read(access, task).await?;
    let template = stored_template(&task.spec);
    let target = task.spec.pointer("/templateInfo/entityRef").and_then(Value::as_str).unwrap_or(&task.id);
    require_create(access, &template, target).await
}

/// `POST /v2/tasks/:id/retry`: `{secrets?}` → `201 {id}`, the same task queued again.
async fn retry_task(
    State(api): State<ScaffolderApi>,
    Path(id): Path<String>,
    access: Access,
    viewer: Viewer,
    body: Bytes,
) -> ApiResult<Response> {
    let body = if body.is_empty() { json!({}) } else { json_body(&body)? };
    let secrets = secrets_of(&body)?;
    let task = api.tasks.task(&id).await;
    if let Ok(task) = &task {
        require_retry(&access, task).await?;
    }
    let retried = match task {
        Ok(_) => api.tasks.retry(&id, Some(secrets)).await,
        Err(error) => Err(error),
    };
    api.audit.result(&viewer, "scaffolder.task.retry", &id, &retried, Value::Null).await;
    retried?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response())
}

fn after_param(raw: Option<&str>) -> ApiResult<Option<i64>> {
    let params = query_params(raw);
    match params.get("after").and_then(|values| values.last()) {
        None => Ok(None),
        Some(text) => text.parse::<i64>().map(Some).map_err(|_| {
            ApiError::input(format!("Invalid after parameter \"{text}\", expected an event id"))
        }),
    }
}

/// `GET /v2/tasks/:id/events?after=N`: the first non-empty batch of events, or `[]` after 30 s.
async fn task_events(
    State(api): State<ScaffolderApi>,
    Path(id): Path<String>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let after = after_param(raw.as_deref())?;
    require_read(&access, &api.tasks.task(&id).await?).await?;
    let deadline = tokio::time::Instant::now() + LONG_POLL;
    loop {
        let events = api.tasks.events(&id, after).await?;
        if !events.is_empty() || tokio::time::Instant::now() >= deadline {
            let body: Vec<Value> = events.iter().map(serialize_event).collect();
            return Ok(axum::Json(body).into_response());
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        api.tasks.wait_for_events(left.min(STREAM_POLL)).await;
    }
}

/// One server-sent event frame.
fn frame(event: &TaskEventRecord) -> Bytes {
    Bytes::from(format!("event: {}\ndata: {}\n\n", event.event_type.as_str(), serialize_event(event)))
}

/// `GET /v2/tasks/:id/eventstream?after=N`: every event as a server-sent event; the stream
/// ends after the `completion` event. Reconnecting with `after=<last id>` resumes.
async fn event_stream(
    State(api): State<ScaffolderApi>,
    Path(id): Path<String>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let mut after = after_param(raw.as_deref())?;
    require_read(&access, &api.tasks.task(&id).await?).await?;
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let tasks = api.tasks.clone();
    tokio::spawn(async move {
        loop {
            let events = match tasks.events(&id, after).await {
                Ok(events) => events,
                Err(error) => {
                    tracing::warn!(task = %id, %error, "could not read task events for a stream");
                    return;
                }
            };
            // A completion before the last `recovered` event ended an earlier run (retry).
            let restarted_at = events
                .iter()
                .filter(|event| event.event_type == TaskEventType::Recovered)
                .map(|event| event.id)
                .max();
            for event in &events {
                let completion = event.event_type == TaskEventType::Completion
                    && restarted_at.is_none_or(|restart| event.id > restart);
                // Completion events come whatever `after` says, so a late subscriber learns
                // the end; other old ones are not repeated.
                if !completion && after.is_some_and(|after| event.id <= after) {
                    continue;
                }
                if tx.send(frame(event)).await.is_err() {
                    return;
                }
                if completion {
                    return;
                }
                after = Some(after.map_or(event.id, |after| after.max(event.id)));
            }
            tokio::select! {
                _ = tx.closed() => return,
                _ = tasks.wait_for_events(STREAM_POLL) => {}
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|bytes| (Ok::<_, Infallible>(bytes), rx))
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// `POST /v2/dry-run`: `{template, values, secrets?, directoryContents}` → the log, the
/// files the template produced, its output and its steps; nothing outside a throwaway folder
/// is touched. The caller must be allowed to run the template; its pages and steps they may
/// not read are left out, and each step's action is checked as in a real run.
async fn dry_run(
    State(api): State<ScaffolderApi>,
    access: Access,
    viewer: Viewer,
    body: Bytes,
) -> ApiResult<Response> {
    let body = json_body(&body)?;
    let template = body.get("template").cloned().unwrap_or(Value::Null);
    if template.get("kind").and_then(Value::as_str) != Some("Template") {
        return Err(ApiError::input("Input template is not a template"));
    }
    check_api_version(&template)?;
    require_create(&access, &template, &template_ref_of(&template)).await?;
    let template = authorized_parts(&access, &template);
    let values = body.get("values").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
    let secrets = secrets_of(&body)?;
    if let Some(response) = refusal(&template, &values, &secrets) {
        return Ok(response);
    }
    let files = match body.get("directoryContents") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(files)) => files.clone(),
        Some(_) => return Err(ApiError::input("Malformed request: directoryContents must be an array")),
    };
    let user = caller(api.catalog.as_ref(), &access, &viewer).await;

    let run_id = uuid::Uuid::new_v4();
    let content_dir = api.tasks.working_directory().join(format!("dry-run-content-{run_id}"));
    let workspace_dir = api.tasks.working_directory().join(format!("dry-run-{run_id}"));
    let run = DryRun { template: &template, values, secrets, user, access };
    let result = dry_run_in(&api, run, &files, &content_dir, &workspace_dir).await;
    let _ = std::fs::remove_dir_all(&content_dir);
    let _ = std::fs::remove_dir_all(&workspace_dir);
    result
}

/// What a dry run runs, and for whom.
struct DryRun<'a> {
    template: &'a Value,
    values: Value,
    secrets: Secrets,
    user: TaskUser,
    access: Access,
}

async fn dry_run_in(
    api: &ScaffolderApi,
    run: DryRun<'_>,
    files: &[Value],
    content_dir: &std::path::Path,
    workspace_dir: &std::path::Path,
) -> ApiResult<Response> {
    let DryRun { template, values, secrets, user, access } = run;
    std::fs::create_dir_all(content_dir)
        .map_err(|e| ApiError::internal(format!("Could not create the dry-run folder: {e}")))?;
    for file in files {
        let path = file.get("path").and_then(Value::as_str).unwrap_or_default();
        let content = file.get("base64Content").and_then(Value::as_str).unwrap_or_default();
        let target = safe_child(content_dir, path).map_err(|e| ApiError::input(format!("{path}: {e}")))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|_| ApiError::input(format!("Malformed request: {path} is not valid base64")))?;
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ApiError::internal(e.to_string()))?;
        }
        std::fs::write(&target, bytes).map_err(|e| ApiError::internal(e.to_string()))?;
    }
    let mut spec = TaskSpec::from_template(uuid::Uuid::new_v4().to_string(), template, values)
        .map_err(|e| ApiError::input(e.to_string()))?;
    spec.template_info.entity_ref = Some("template:default/dry-run".to_owned());
    spec.template_info.base_url =
        url::Url::from_file_path(content_dir.join("template.yaml")).ok().map(|url| url.to_string());
    spec.user = Some(user);
    spec.run_as = Some(RunAs::new(access.principal().clone(), template));
    let spec = spec.with_secrets(secrets);
    let (events, result) =
        api.tasks.dry_run(&spec, workspace_dir, access).await.map_err(ApiError::internal)?;
    let log: Vec<Value> = events
        .iter()
        .filter(|event| event.event_type == crate::runner::TaskEventType::Log)
        .map(|event| {
            let mut body = Map::new();
            body.insert("message".into(), json!(event.body.message));
            if let Some(step_id) = &event.body.step_id {
                body.insert("stepId".into(), json!(step_id));
            }
            if let Some(status) = event.body.status {
                body.insert("status".into(), json!(status.as_str()));
            }
            json!({ "body": body })
        })
        .collect();
    let steps = spec.to_json()["steps"].clone();
    let mut response = json!({
        "log": log,
        "directoryContents": result.files.unwrap_or_default(),
        "output": result.output.unwrap_or_else(|| json!({})),
        "steps": steps,
    });
    if let Some(error) = result.error {
        response["error"] = json!({"name": error.name, "message": error.message});
    }
    Ok(axum::Json(response).into_response())
}

/// `POST /v2/autocomplete/:provider/:resource`: no providers are built in.
async fn autocomplete(Path((provider, _resource)): Path<(String, String)>) -> ApiError {
    ApiError::input(format!("Unsupported provider: {provider}"))
}

/// `GET /v2/templating-extensions`: the scaffolder's own filters (and no extra globals).
async fn templating_extensions() -> Response {
    let filter = |description: &str, example: &str| json!({"description": description, "examples": [{"example": example}]});
    axum::Json(json!({
        "filters": {
            "parseRepoUrl": filter(
                "Parses a repository URL picker value into {host, owner, repo, organization, workspace, project}",
                "${{ parameters.repoUrl | parseRepoUrl }}",
            ),
            "parseEntityRef": filter(
                "Parses an entity reference into {kind, namespace, name}",
                "${{ parameters.owner | parseEntityRef }}",
            ),
            "pick": filter("Picks a property of an object by path", "${{ parameters.owner | parseEntityRef | pick('name') }}"),
            "projectSlug": filter("The owner/repo slug of a repository URL picker value", "${{ parameters.repoUrl | projectSlug }}"),
        },
        "globals": {"functions": {}, "values": {}},
    }))
    .into_response()
}
