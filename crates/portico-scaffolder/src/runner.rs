//! The task runner: executes a template's steps in order with Backstage's workflow semantics
//! (`if`, `each`, step outputs, input checks against the action's schema, masked logs, dry
//! runs, cancellation) and renders the template's `output`.
//!
//! The runner knows nothing of storage or HTTP: it reports progress as [`TaskEvent`]s to a
//! [`TaskEventSink`] and returns a [`TaskResult`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use base64::Engine;
use portico_plugin::Access;
use portico_plugin::permission::Resource;
use portico_plugin::permission::permission::SCAFFOLDER_ACTION_EXECUTE;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::access::{RUN_AS_KEY, RunAs, template_of};
use crate::api::{
    ActionContext, ActionError, ActionLogger, ActionRegistry, ActionServices, LogLevel, LogSink, SECRET_MASK,
    Secrets, TaskUser, TemplateInfo, example_output,
};
use crate::parameters::validate_schema;
use crate::templating::{TemplateError, Templater};
use crate::workspace::Workspace;

/// The only template version the runner executes.
pub const TEMPLATE_API_VERSION: &str = "scaffolder.backstage.io/v1beta3";

/// Why a Template entity cannot become a task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The entity is not a `scaffolder.backstage.io/v1beta3` template.
    #[error("Unsupported apiVersion field in schema entity, {0}")]
    UnsupportedApiVersion(String),
    /// `spec.steps` is missing or malformed.
    #[error("{0}")]
    InvalidSteps(String),
}

/// One step of a task, with Backstage's defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStep {
    /// `id`, or `step-<1-based index>`.
    pub id: String,
    /// `name`, or the action id.
    pub name: String,
    /// The action id (`fetch:template`).
    pub action: String,
    /// The templated input (an object, or `null` when absent).
    pub input: Value,
    /// The templated `if` condition, when given.
    pub condition: Option<Value>,
    /// The templated `each` value, when given.
    pub each: Option<Value>,
}

/// What a task runs: the template's steps and output, the submitted values, and who asked.
#[derive(Clone)]
pub struct TaskSpec {
    /// The task id (`context.task.id` in templates).
    pub task_id: String,
    /// The steps, in order.
    pub steps: Vec<TaskStep>,
    /// The templated `spec.output` (`{}` when absent).
    pub output: Value,
    /// The submitted values (`parameters` in templates).
    pub parameters: Value,
    /// The user the task runs for (`user.ref`, `user.entity`).
    pub user: Option<TaskUser>,
    /// Where the template came from.
    pub template_info: TemplateInfo,
    /// The template entity's `metadata` (`templateInfo.entity.metadata` of the stored spec).
    pub template_metadata: Value,
    /// Who the task runs for and its template as policies see it, for the checks made while
    /// it runs; `None` for tasks run without a caller (`portico template run`).
    pub run_as: Option<RunAs>,
    secrets: Secrets,
}

impl std::fmt::Debug for TaskSpec {
    /// Secret values are left out; only their names show.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskSpec")
            .field("task_id", &self.task_id)
            .field("steps", &self.steps)
            .field("output", &self.output)
            .field("parameters", &self.parameters)
            .field("user", &self.user)
            .field("template_info", &self.template_info)
            .field("template_metadata", &self.template_metadata)
            .field("run_as", &self.run_as)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TaskSpec {
    /// The task `task_id` of the Template entity `template` (its JSON) with the submitted
    /// `parameters`. The template's reference becomes `template_info.entity_ref`; no secrets,
    /// no user, no base URL, no [`RunAs`] yet.
    pub fn from_template(
        task_id: impl Into<String>,
        template: &Value,
        parameters: Value,
    ) -> Result<TaskSpec, SpecError> {
        let api_version = template.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        if api_version != TEMPLATE_API_VERSION {
            return Err(SpecError::UnsupportedApiVersion(api_version.to_owned()));
        }
        let spec = template.get("spec").cloned().unwrap_or(Value::Null);
        let Some(raw_steps) = spec.get("steps").and_then(Value::as_array) else {
            return Err(SpecError::InvalidSteps("The template has no spec.steps list".to_owned()));
        };
        let steps = raw_steps
            .iter()
            .enumerate()
            .map(|(index, step)| parse_step(index, step))
            .collect::<Result<_, _>>()?;
        let metadata = template.get("metadata");
        let name = metadata.and_then(|m| m.get("name")).and_then(Value::as_str);
        let namespace =
            metadata.and_then(|m| m.get("namespace")).and_then(Value::as_str).unwrap_or("default");
        Ok(TaskSpec {
            task_id: task_id.into(),
            steps,
            output: spec.get("output").cloned().unwrap_or_else(|| json!({})),
            parameters,
            user: None,
            template_info: TemplateInfo {
                entity_ref: name.map(|name| format!("template:{namespace}/{name}")),
                base_url: None,
            },
            template_metadata: metadata.cloned().unwrap_or_else(|| json!({})),
            run_as: None,
            secrets: Secrets::new(),
        })
    }

    /// The spec as Backstage stores it (`TaskSpec` JSON): `apiVersion`, `parameters`, the
    /// steps with their defaulted ids and names, `output`, `templateInfo` and `user`; and the
    /// [`RunAs`] under [`RUN_AS_KEY`], which the API strips. Secrets are never part of it.
    pub fn to_json(&self) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|step| {
                let mut object = Map::new();
                object.insert("id".into(), json!(step.id));
                object.insert("name".into(), json!(step.name));
                object.insert("action".into(), json!(step.action));
                if !step.input.is_null() {
                    object.insert("input".into(), step.input.clone());
                }
                if let Some(condition) = &step.condition {
                    object.insert("if".into(), condition.clone());
                }
                if let Some(each) = &step.each {
                    object.insert("each".into(), each.clone());
                }
                Value::Object(object)
            })
            .collect();
        let mut template_info = Map::new();
        if let Some(entity_ref) = &self.template_info.entity_ref {
            template_info.insert("entityRef".into(), json!(entity_ref));
        }
        if let Some(base_url) = &self.template_info.base_url {
            template_info.insert("baseUrl".into(), json!(base_url));
        }
        template_info.insert("entity".into(), json!({"metadata": self.template_metadata}));
        let mut user = Map::new();
        if let Some(task_user) = &self.user {
            if let Some(entity) = &task_user.entity {
                user.insert("entity".into(), entity.clone());
            }
            user.insert("ref".into(), json!(task_user.entity_ref));
        }
        let mut spec = json!({
            "apiVersion": TEMPLATE_API_VERSION,
            "parameters": self.parameters,
            "steps": steps,
            "output": self.output,
            "templateInfo": template_info,
            "user": user,
        });
        if let Some(run_as) = &self.run_as {
            spec[RUN_AS_KEY] = run_as.to_json();
        }
        spec
    }

    /// The spec of task `task_id` from its stored JSON (see [`TaskSpec::to_json`]).
    pub fn from_json(task_id: impl Into<String>, spec: &Value) -> Result<TaskSpec, SpecError> {
        let Some(raw_steps) = spec.get("steps").and_then(Value::as_array) else {
            return Err(SpecError::InvalidSteps("The task spec has no steps list".to_owned()));
        };
        let steps = raw_steps
            .iter()
            .enumerate()
            .map(|(index, step)| parse_step(index, step))
            .collect::<Result<_, _>>()?;
        let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
        let info = spec.get("templateInfo");
        let user = spec.get("user").and_then(|user| {
            Some(TaskUser { entity_ref: text(user.get("ref"))?, entity: user.get("entity").cloned() })
        });
        Ok(TaskSpec {
            task_id: task_id.into(),
            steps,
            output: spec.get("output").cloned().unwrap_or_else(|| json!({})),
            parameters: spec.get("parameters").cloned().unwrap_or_else(|| json!({})),
            user,
            template_info: TemplateInfo {
                entity_ref: text(info.and_then(|i| i.get("entityRef"))),
                base_url: text(info.and_then(|i| i.get("baseUrl"))),
            },
            template_metadata: info
                .and_then(|i| i.pointer("/entity/metadata"))
                .cloned()
                .unwrap_or_else(|| json!({})),
            run_as: spec.get(RUN_AS_KEY).and_then(RunAs::from_json),
            secrets: Secrets::new(),
        })
    }

    /// Sets the request secrets (`secrets.<name>` in step inputs; masked in every log line).
    pub fn with_secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// The request secrets.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The template as policies see it: the [`RunAs`] template, else one made of the
    /// template's metadata.
    pub fn policy_template(&self) -> Value {
        match &self.run_as {
            Some(run_as) => run_as.template.clone(),
            None => template_of(self.template_metadata.clone()),
        }
    }
}

fn parse_step(index: usize, step: &Value) -> Result<TaskStep, SpecError> {
    let text = |key: &str| step.get(key).and_then(Value::as_str).map(str::to_owned);
    let Some(action) = text("action") else {
        return Err(SpecError::InvalidSteps(format!("spec.steps[{index}] requires property \"action\"")));
    };
    Ok(TaskStep {
        id: text("id").unwrap_or_else(|| format!("step-{}", index + 1)),
        name: text("name").unwrap_or_else(|| action.clone()),
        input: step.get("input").cloned().unwrap_or(Value::Null),
        condition: step.get("if").cloned(),
        each: step.get("each").cloned(),
        action,
    })
}

/// A step's (or the task's) state, as Backstage writes it in event bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// The step started.
    Processing,
    /// The step or task finished successfully.
    Completed,
    /// The step or task failed.
    Failed,
    /// The step did not run (`if` was falsy, or a dry run skipped its action).
    Skipped,
    /// The task was cancelled.
    Cancelled,
}

impl TaskStatus {
    /// The status as Backstage writes it (`completed`...).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Processing => "processing",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Skipped => "skipped",
            TaskStatus::Cancelled => "cancelled",
        }
    }
}

/// The type of a task event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskEventType {
    /// Progress and action log lines.
    Log,
    /// The task was cancelled.
    Cancelled,
    /// The task ended; the body holds the output or the error.
    Completion,
}

/// A failure as Backstage reports it: `{name, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskFailure {
    /// Backstage's error name (`InputError`, `NotFoundError`, `Error`...).
    pub name: String,
    /// The message, secrets masked.
    pub message: String,
}

/// An event body: `{message, stepId?, status?, output?, error?}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskEventBody {
    /// The log text (one event per action log message), secrets masked.
    pub message: String,
    /// The step the event belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
    /// The step's new state, for state changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<TaskStatus>,
    /// The rendered output, on a successful completion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// The error, on a failed completion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskFailure>,
}

impl TaskEventBody {
    fn message(message: impl Into<String>) -> Self {
        TaskEventBody { message: message.into(), step_id: None, status: None, output: None, error: None }
    }

    fn step(message: impl Into<String>, step_id: &str, status: Option<TaskStatus>) -> Self {
        TaskEventBody { step_id: Some(step_id.to_owned()), status, ..TaskEventBody::message(message) }
    }

    /// The body as JSON, as stored and streamed.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({"message": self.message}))
    }
}

/// One event of a running task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskEvent {
    /// Its type.
    pub event_type: TaskEventType,
    /// When it happened.
    pub created_at: SystemTime,
    /// What happened.
    pub body: TaskEventBody,
}

/// Where a running task's events go (the task store, a dry-run response, a test buffer).
pub trait TaskEventSink: Send + Sync {
    /// Records one event.
    fn emit(&self, event: TaskEvent);
}

/// A sink keeping every event in memory (dry runs, tests).
#[derive(Debug, Default)]
pub struct MemoryEvents {
    events: Mutex<Vec<TaskEvent>>,
}

impl MemoryEvents {
    /// An empty buffer.
    pub fn new() -> Self {
        MemoryEvents::default()
    }

    /// The events so far, oldest first.
    pub fn events(&self) -> Vec<TaskEvent> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl TaskEventSink for MemoryEvents {
    fn emit(&self, event: TaskEvent) {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).push(event);
    }
}

/// How to run a task.
#[derive(Clone)]
pub struct RunOptions {
    /// Run without effects outside the workspace: actions that do not support a dry run
    /// are skipped and their outputs faked; the result lists the workspace's files.
    pub dry_run: bool,
    /// Cancelling it stops the task between steps and inside actions that watch it.
    pub cancel: CancellationToken,
    /// Application services handed to actions.
    pub services: ActionServices,
    /// The template environment (its integrations serve `parseRepoUrl`).
    pub templater: Arc<Templater>,
    /// Whoever the task runs for: each step's action must be allowed to them
    /// (`scaffolder.action.execute`), and actions act as them.
    pub access: Access,
}

impl Default for RunOptions {
    /// Not a dry run, no services, and unrestricted access: a run nobody asked for through
    /// the portal (`portico template run`).
    fn default() -> Self {
        RunOptions {
            dry_run: false,
            cancel: CancellationToken::new(),
            services: ActionServices::default(),
            templater: Arc::new(Templater::default()),
            access: Access::unrestricted(),
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("dry_run", &self.dry_run)
            .field("cancelled", &self.cancel.is_cancelled())
            .field("services", &self.services)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

/// A file of the workspace in a dry-run result (`directoryContents` item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceFile {
    /// Path relative to the workspace, `/`-separated.
    pub path: String,
    /// The contents, base64.
    pub base64_content: String,
    /// Whether the file is executable.
    pub executable: bool,
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskResult {
    /// `Completed`, `Failed` or `Cancelled`.
    pub status: TaskStatus,
    /// The rendered `spec.output`, when the task completed.
    pub output: Option<Value>,
    /// The failure, when the task failed or was cancelled.
    pub error: Option<TaskFailure>,
    /// The outputs of each step that ran (or was faked in a dry run), by step id.
    pub step_outputs: BTreeMap<String, Map<String, Value>>,
    /// The workspace's files, for dry runs.
    pub files: Option<Vec<WorkspaceFile>>,
}

/// One run of a step: `None` for a step without `each`, else the item's `(each.key, each.value)`.
type Iteration = Option<(String, Value)>;

/// Why a step did not finish.
enum StepFailure {
    Failed(TaskFailure),
    Cancelled,
}

impl From<ActionError> for StepFailure {
    fn from(error: ActionError) -> Self {
        StepFailure::Failed(TaskFailure { name: error.name().to_owned(), message: error.to_string() })
    }
}

impl From<TemplateError> for StepFailure {
    fn from(error: TemplateError) -> Self {
        StepFailure::Failed(TaskFailure { name: "Error".to_owned(), message: error.to_string() })
    }
}

fn input_error(message: String) -> StepFailure {
    StepFailure::Failed(TaskFailure { name: "InputError".to_owned(), message })
}

/// Sends events with the current time.
struct Emitter {
    sink: Arc<dyn TaskEventSink>,
}

impl Emitter {
    fn emit(&self, event_type: TaskEventType, body: TaskEventBody) {
        self.sink.emit(TaskEvent { event_type, created_at: SystemTime::now(), body });
    }

    fn log(&self, body: TaskEventBody) {
        self.emit(TaskEventType::Log, body);
    }
}

/// A step's log: one event per message (as Backstage's task logger writes them, so a
/// multi-line message stays one event), tagged with the step id.
struct StepLog {
    sink: Arc<dyn TaskEventSink>,
    step_id: String,
}

impl LogSink for StepLog {
    fn write(&self, _level: LogLevel, message: &str) {
        self.sink.emit(TaskEvent {
            event_type: TaskEventType::Log,
            created_at: SystemTime::now(),
            body: TaskEventBody::step(message, &self.step_id, None),
        });
    }
}

/// Runs `spec` with the actions of `registry` in `workspace`, reporting to `sink`.
///
/// Steps run in order; a failing step ends the task (later steps do not run). The final
/// `completion` event carries the rendered output or the error.
pub async fn run_task(
    spec: &TaskSpec,
    registry: &ActionRegistry,
    workspace: Workspace,
    sink: Arc<dyn TaskEventSink>,
    options: RunOptions,
) -> TaskResult {
    let emitter = Emitter { sink: sink.clone() };
    let masker = ActionLogger::new(Arc::new(Discard));
    for secret in spec.secrets.values() {
        masker.add_secret(secret);
    }
    emitter.log(TaskEventBody::message(format!("Starting up task with {} steps", spec.steps.len())));

    let mut runner = Runner {
        spec,
        template: spec.policy_template(),
        registry,
        workspace,
        sink,
        options: &options,
        masker,
        steps: Map::new(),
        step_outputs: BTreeMap::new(),
    };
    let mut outcome = Ok(());
    for step in &spec.steps {
        if options.cancel.is_cancelled() {
            outcome = Err((step, StepFailure::Cancelled));
            break;
        }
        if let Err(failure) = runner.run_step(step, &emitter).await {
            outcome = Err((step, failure));
            break;
        }
    }

    let result = match outcome {
        Ok(()) => match runner.render_output() {
            Ok(output) => Ok(output),
            Err(error) => {
                Err((TaskStatus::Failed, TaskFailure { name: "Error".into(), message: error.to_string() }))
            }
        },
        Err((step, StepFailure::Failed(failure))) => {
            let failure = TaskFailure { message: runner.masker.mask(&failure.message), ..failure };
            emitter.log(TaskEventBody::step(
                format!("{}: {}", failure.name, failure.message),
                &step.id,
                Some(TaskStatus::Failed),
            ));
            Err((TaskStatus::Failed, failure))
        }
        Err((step, StepFailure::Cancelled)) => {
            emitter.emit(
                TaskEventType::Cancelled,
                TaskEventBody::step(
                    format!("Step {} has been cancelled.", step.id),
                    &step.id,
                    Some(TaskStatus::Cancelled),
                ),
            );
            let message =
                format!("Step {} ({}) of task {} has been cancelled.", step.id, step.name, spec.task_id);
            Err((TaskStatus::Cancelled, TaskFailure { name: "Error".into(), message }))
        }
    };

    let files = if options.dry_run { Some(workspace_files(runner.workspace.root())) } else { None };
    let (status, output, error) = match result {
        Ok(output) => (TaskStatus::Completed, Some(output), None),
        Err((status, failure)) => (status, None, Some(failure)),
    };
    emitter.emit(
        TaskEventType::Completion,
        TaskEventBody {
            output: output.clone(),
            error: error.clone(),
            ..TaskEventBody::message(format!("Run completed with status: {}", status.as_str()))
        },
    );
    TaskResult { status, output, error, step_outputs: runner.step_outputs, files }
}

/// A log sink for the runner's own masking logger, which never writes.
struct Discard;

impl LogSink for Discard {
    fn write(&self, _level: LogLevel, _message: &str) {}
}

struct Runner<'a> {
    spec: &'a TaskSpec,
    /// The template as policies see it, for the action checks.
    template: Value,
    registry: &'a ActionRegistry,
    workspace: Workspace,
    sink: Arc<dyn TaskEventSink>,
    options: &'a RunOptions,
    /// Masks secret values in the runner's own messages.
    masker: ActionLogger,
    /// `steps.<id>.output` of the rendering context.
    steps: Map<String, Value>,
    step_outputs: BTreeMap<String, Map<String, Value>>,
}

impl Runner<'_> {
    /// The rendering context; `secrets` only for step inputs and `each`.
    fn context(&self, secrets: Option<&Secrets>, each: Option<(&str, &Value)>) -> Value {
        let mut context = Map::new();
        context.insert("parameters".into(), self.spec.parameters.clone());
        context.insert("steps".into(), Value::Object(self.steps.clone()));
        context.insert("context".into(), json!({"task": {"id": self.spec.task_id}}));
        if let Some(user) = &self.spec.user {
            let mut value = json!({"ref": user.entity_ref});
            if let Some(entity) = &user.entity {
                value["entity"] = entity.clone();
            }
            context.insert("user".into(), value);
        }
        if let Some(secrets) = secrets {
            context.insert("secrets".into(), json!(secrets));
        }
        if let Some((key, value)) = each {
            context.insert("each".into(), json!({"key": key, "value": value}));
        }
        Value::Object(context)
    }

    async fn run_step(&mut self, step: &TaskStep, emitter: &Emitter) -> Result<(), StepFailure> {
        let templater = self.options.templater.clone();
        // The step `if` never sees secrets, as in Backstage.
        let run = match &step.condition {
            None => true,
            Some(condition) => templater.evaluate_condition(condition, &self.context(None, None))?,
        };
        if !run {
            emitter.log(TaskEventBody::step(
                format!("Skipping step {} because its if condition was false", step.id),
                &step.id,
                Some(TaskStatus::Skipped),
            ));
            return Ok(());
        }
        emitter.log(TaskEventBody::step(
            format!("Beginning step {}", step.name),
            &step.id,
            Some(TaskStatus::Processing),
        ));
        let action = self.registry.get(&step.action).map_err(|error| {
            StepFailure::Failed(TaskFailure { name: "NotFoundError".into(), message: error.to_string() })
        })?;
        self.authorize(action.id()).await?;
        let logger =
            ActionLogger::new(Arc::new(StepLog { sink: self.sink.clone(), step_id: step.id.clone() }));
        for secret in self.spec.secrets.values() {
            logger.add_secret(secret);
        }

        if self.options.dry_run {
            let redacted: Secrets =
                self.spec.secrets.keys().map(|name| (name.clone(), SECRET_MASK.to_owned())).collect();
            let shown = templater.render_value(&step.input, &self.context(Some(&redacted), None))?;
            let shown = if shown.is_null() { json!({}) } else { shown };
            logger.info(format!(
                "Running {} in dry-run mode with inputs (secrets redacted): {}",
                action.id(),
                serde_json::to_string_pretty(&shown).unwrap_or_default()
            ));
            if !action.supports_dry_run() {
                emitter.log(TaskEventBody::step(
                    format!("Skipping because {} does not support dry-run", action.id()),
                    &step.id,
                    Some(TaskStatus::Skipped),
                ));
                let faked = match example_output(&action.schema().output) {
                    Value::Object(output) => output,
                    _ => Map::new(),
                };
                self.record_outputs(step, faked);
                return Ok(());
            }
        }

        let iterations = self.iterations(step)?;
        let schema = action.schema().input;
        // Every iteration's input is rendered and checked before any runs.
        let mut inputs = Vec::with_capacity(iterations.len());
        for (index, each) in iterations.iter().enumerate() {
            let context = self.context(Some(&self.spec.secrets), each.as_ref().map(|(k, v)| (k.as_str(), v)));
            let input = match templater.render_value(&step.input, &context)? {
                Value::Object(input) => input,
                _ => Map::new(),
            };
            let label = if step.each.is_some() {
                format!("{}[{index}]", action.id())
            } else {
                action.id().to_owned()
            };
            if let Err(errors) = validate_schema(&schema, &Value::Object(input.clone())) {
                let violations = errors.iter().map(|error| error.stack.as_str()).collect::<Vec<_>>();
                return Err(input_error(format!(
                    "Invalid input passed to action {label}, {}",
                    violations.join(", ")
                )));
            }
            inputs.push(input);
        }

        let mut outputs = Map::new();
        for (each, input) in iterations.iter().zip(inputs) {
            if self.options.cancel.is_cancelled() {
                return Err(StepFailure::Cancelled);
            }
            if let Some((key, value)) = each {
                logger.info(format!("Running step each: {}", json!({"key": key, "value": js_string(value)})));
            }
            let mut ctx = ActionContext::new(input, self.workspace.clone(), logger.clone())
                .with_secrets(self.spec.secrets.clone());
            ctx.template_info = self.spec.template_info.clone();
            ctx.dry_run = self.options.dry_run;
            ctx.cancel = self.options.cancel.clone();
            ctx.user = self.spec.user.clone();
            ctx.access = self.options.access.clone();
            ctx.services = self.options.services.clone();
            match action.handle(&mut ctx).await {
                Ok(()) => {}
                Err(_) if self.options.cancel.is_cancelled() => return Err(StepFailure::Cancelled),
                Err(error) => return Err(error.into()),
            }
            for (name, value) in ctx.take_outputs() {
                if step.each.is_some() {
                    let collected = outputs.entry(name).or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(values) = collected {
                        values.push(value);
                    }
                } else {
                    outputs.insert(name, value);
                }
            }
        }
        self.record_outputs(step, outputs);
        emitter.log(TaskEventBody::step(
            format!("Finished step {}", step.name),
            &step.id,
            Some(TaskStatus::Completed),
        ));
        Ok(())
    }

    /// Fails the step unless the action may run for whoever the task runs for
    /// (`scaffolder.action.execute`); a deny is recorded in the audit log.
    async fn authorize(&self, action_id: &str) -> Result<(), StepFailure> {
        let resource = Resource::Action { id: action_id, template: &self.template };
        self.options.access.require(&SCAFFOLDER_ACTION_EXECUTE, Some(resource), action_id).await.map_err(
            |_| {
                StepFailure::Failed(TaskFailure {
                    name: "NotAllowedError".to_owned(),
                    message: format!("Unauthorized action: {action_id}. The action is not allowed."),
                })
            },
        )
    }

    /// The iterations of a step: one without `each`, else one per item of the rendered `each`
    /// (array index as a string key, or object key).
    fn iterations(&self, step: &TaskStep) -> Result<Vec<Iteration>, StepFailure> {
        let Some(each) = &step.each else { return Ok(vec![None]) };
        let rendered =
            self.options.templater.render_value(each, &self.context(Some(&self.spec.secrets), None))?;
        match rendered {
            Value::Array(items) => Ok(items
                .into_iter()
                .enumerate()
                .map(|(index, item)| Some((index.to_string(), item)))
                .collect()),
            Value::Object(items) => Ok(items.into_iter().map(Some).collect()),
            other => Err(input_error(format!(
                "Invalid value on action {}.each parameter, \"{}\" cannot be iterated",
                step.action,
                js_string(&other)
            ))),
        }
    }

    fn record_outputs(&mut self, step: &TaskStep, outputs: Map<String, Value>) {
        self.steps.insert(step.id.clone(), json!({"output": outputs}));
        self.step_outputs.insert(step.id.clone(), outputs);
    }

    /// Renders `spec.output` without secrets. Items of its lists whose `if` is falsy are
    /// removed; the `if` keys never reach the result.
    fn render_output(&self) -> Result<Value, TemplateError> {
        let context = self.context(None, None);
        let templater = &self.options.templater;
        let Value::Object(output) = &self.spec.output else {
            return templater.render_value(&self.spec.output, &context);
        };
        let mut kept = Map::new();
        for (key, value) in output {
            let value = match value {
                Value::Array(items) => {
                    let mut shown = Vec::with_capacity(items.len());
                    for item in items {
                        match item {
                            Value::Object(fields) if fields.contains_key("if") => {
                                if templater.evaluate_condition(&fields["if"], &context)? {
                                    let mut fields = fields.clone();
                                    fields.remove("if");
                                    shown.push(Value::Object(fields));
                                }
                            }
                            other => shown.push(other.clone()),
                        }
                    }
                    Value::Array(shown)
                }
                other => other.clone(),
            };
            kept.insert(key.clone(), value);
        }
        templater.render_value(&Value::Object(kept), &context).map(|rendered| match rendered {
            Value::Null => json!({}),
            other => other,
        })
    }
}

/// JavaScript's `String(value)`: strings as they are, arrays comma-joined, objects as
/// `[object Object]`.
fn js_string(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "null".to_owned(),
        Value::Array(items) => items
            .iter()
            .map(|item| if item.is_null() { String::new() } else { js_string(item) })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".to_owned(),
        other => other.to_string(),
    }
}

/// Every regular file under `root`, sorted by path, for a dry-run response.
fn workspace_files(root: &Path) -> Vec<WorkspaceFile> {
    let mut files: Vec<WorkspaceFile> = walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .filter_map(|entry| {
            let relative = entry.path().strip_prefix(root).ok()?;
            let path = relative.iter().map(|part| part.to_str()).collect::<Option<Vec<_>>>()?.join("/");
            let contents = std::fs::read(entry.path()).ok()?;
            Some(WorkspaceFile {
                path,
                base64_content: base64::engine::general_purpose::STANDARD.encode(contents),
                executable: is_executable(&entry),
            })
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

#[cfg(unix)]
fn is_executable(entry: &walkdir::DirEntry) -> bool {
    use std::os::unix::fs::PermissionsExt;
    entry.metadata().is_ok_and(|metadata| metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_entry: &walkdir::DirEntry) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_get_backstage_defaults() {
        let template = json!({
            "apiVersion": TEMPLATE_API_VERSION,
            "kind": "Template",
            "metadata": {"name": "demo"},
            "spec": {"type": "service", "steps": [{"action": "debug:log"}, {"id": "b", "name": "B", "action": "x"}]},
        });
        let spec = TaskSpec::from_template("t1", &template, json!({})).unwrap();
        assert_eq!((spec.steps[0].id.as_str(), spec.steps[0].name.as_str()), ("step-1", "debug:log"));
        assert_eq!((spec.steps[1].id.as_str(), spec.steps[1].name.as_str()), ("b", "B"));
        assert_eq!(spec.output, json!({}));
        assert_eq!(spec.template_info.entity_ref.as_deref(), Some("template:default/demo"));

        let old = json!({"apiVersion": "backstage.io/v1beta2", "spec": {"steps": []}});
        assert_eq!(
            TaskSpec::from_template("t1", &old, json!({})).unwrap_err().to_string(),
            "Unsupported apiVersion field in schema entity, backstage.io/v1beta2"
        );
    }

    #[test]
    fn js_strings_follow_javascript() {
        assert_eq!(js_string(&json!("blue")), "blue");
        assert_eq!(js_string(&json!({"a": 1})), "[object Object]");
        assert_eq!(js_string(&json!([1, "b"])), "1,b");
        assert_eq!(js_string(&json!(3)), "3");
    }
}
