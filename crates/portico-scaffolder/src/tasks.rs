//! Durable tasks: creating them, running them on this node's workers, cancelling, retrying,
//! and recovering the ones a stopped node left behind.
//!
//! A task is a row of the [`TaskStore`]; its log is the store's event list. Workers on every
//! node claim `open` tasks (the store guarantees one claim per task), keep a heartbeat while
//! they run them, and complete them. A task whose heartbeat stops — its node exited or crashed
//! — is found by the janitor and either started over (templates that ask for it, with
//! `scaffolder.EXPERIMENTAL_recoverTasks`) or failed with the reason.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use portico_config::{Config, ConfigError};
use portico_plugin::{Access, Permissions};
use portico_store::{
    Millis, NewTask, StoreError, TaskEventRecord, TaskEventType as StoredEventType, TaskQuery, TaskRecord,
    TaskStatus as StoredStatus, TaskStore, now_millis,
};
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::api::{ActionRegistry, ActionServices, Secrets};
use crate::runner::{
    MemoryEvents, RunOptions, TaskEvent, TaskEventSink, TaskEventType, TaskResult, TaskSpec, TaskStatus,
    run_task,
};
use crate::templating::Templater;
use crate::workspace::{Workspace, WorkspaceLimits};

/// How often a running task's heartbeat is refreshed (Backstage: every second).
const HEARTBEAT: Duration = Duration::from_secs(1);
/// How often idle workers look for tasks created on other nodes.
const CLAIM_POLL: Duration = Duration::from_secs(1);
/// The longest pause between two janitor rounds.
const JANITOR_ROUND: Duration = Duration::from_secs(10);

/// The message of a task failed because its worker stopped.
pub const STALE_TASK_MESSAGE: &str = "This task was marked as stale as it exceeded its timeout: the portal \
     running it stopped (restart or crash) before it finished. Nothing was rolled back; run the template \
     again.";

/// How tasks run on this node.
#[derive(Debug, Clone)]
pub struct TaskSettings {
    /// `scaffolder.concurrentTasksLimit` (10): tasks run at once on this node; 0 runs none.
    pub concurrent_tasks_limit: usize,
    /// `scaffolder.EXPERIMENTAL_recoverTasks`: start over tasks whose template asks for it.
    pub recover_tasks: bool,
    /// `scaffolder.EXPERIMENTAL_recoverTasksTimeout` (30 s): a heartbeat older than this means
    /// the worker is gone.
    pub stale_after: Duration,
    /// Where task workspaces are created (`<backend.workingDirectory>/scaffolder`).
    pub working_directory: PathBuf,
    /// What one task may write.
    pub workspace_limits: WorkspaceLimits,
}

impl Default for TaskSettings {
    fn default() -> Self {
        TaskSettings {
            concurrent_tasks_limit: 10,
            recover_tasks: false,
            stale_after: Duration::from_secs(30),
            working_directory: std::env::temp_dir().join("portico-scaffolder"),
            workspace_limits: WorkspaceLimits::default(),
        }
    }
}

impl TaskSettings {
    /// Reads the `scaffolder.*` task keys; absent keys keep their defaults. Workspaces go to
    /// `<backend.workingDirectory>/scaffolder`, else to the system's temporary folder (they
    /// only live while their task runs).
    pub fn from_config(config: &Config, workspace_limits: WorkspaceLimits) -> Result<Self, ConfigError> {
        let defaults = TaskSettings::default();
        let working_directory = match config.string("backend.workingDirectory")? {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                match config.origin_dir("backend.workingDirectory") {
                    Some(origin) if dir.is_relative() => origin.join(dir),
                    _ => dir,
                }
                .join("scaffolder")
            }
            None => defaults.working_directory,
        };
        Ok(TaskSettings {
            concurrent_tasks_limit: config
                .u64("scaffolder.concurrentTasksLimit")?
                .map_or(defaults.concurrent_tasks_limit, |limit| limit as usize),
            recover_tasks: config.bool("scaffolder.EXPERIMENTAL_recoverTasks")?.unwrap_or(false),
            stale_after: config
                .duration("scaffolder.EXPERIMENTAL_recoverTasksTimeout")?
                .unwrap_or(defaults.stale_after),
            working_directory,
            workspace_limits,
        })
    }
}

/// A task failure of the service's own operations.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// No task with this id.
    #[error("No task with id '{0}' found")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The tasks of this portal. Cheap to clone.
#[derive(Clone)]
pub struct TaskService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn TaskStore>,
    registry: Arc<ActionRegistry>,
    services: ActionServices,
    templater: Arc<Templater>,
    settings: TaskSettings,
    /// The portal's policies, which decide what a task may do for whoever created it.
    permissions: Arc<Permissions>,
    /// Woken when a task is created or reopened here.
    created: Notify,
    /// Woken when an event of any task is appended here.
    appended: Notify,
    /// Cancellation of the tasks running on this node, by id.
    running: Mutex<HashMap<String, CancellationToken>>,
}

impl TaskService {
    /// A service running tasks with the actions of `registry`, each for its creator under
    /// `permissions`.
    pub fn new(
        store: Arc<dyn TaskStore>,
        registry: Arc<ActionRegistry>,
        services: ActionServices,
        templater: Arc<Templater>,
        settings: TaskSettings,
        permissions: Arc<Permissions>,
    ) -> Self {
        TaskService {
            inner: Arc::new(Inner {
                store,
                registry,
                services,
                templater,
                settings,
                permissions,
                created: Notify::new(),
                appended: Notify::new(),
                running: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The actions tasks can use.
    pub fn registry(&self) -> &ActionRegistry {
        &self.inner.registry
    }

    /// Stores `spec` as a new `open` task created by `created_by` and wakes the workers.
    /// Returns the task id (the spec's).
    pub async fn create(&self, spec: &TaskSpec, created_by: Option<String>) -> Result<String, TaskError> {
        let secrets = spec.secrets();
        let task = NewTask {
            id: spec.task_id.clone(),
            spec: spec.to_json(),
            created_by,
            secrets: (!secrets.is_empty()).then(|| json!(secrets)),
        };
        self.inner.store.create_task(task).await?;
        self.inner.created.notify_waiters();
        Ok(spec.task_id.clone())
    }

    /// The task with this id. Its secrets are left out: they never leave the service.
    pub async fn task(&self, id: &str) -> Result<TaskRecord, TaskError> {
        let mut task = self.inner.store.task(id).await?.ok_or_else(|| TaskError::NotFound(id.to_owned()))?;
        task.secrets = None;
        Ok(task)
    }

    /// The tasks matching `query` (without secrets) and how many match in all.
    pub async fn list(&self, query: &TaskQuery) -> Result<(Vec<TaskRecord>, u64), TaskError> {
        let (mut tasks, total) = self.inner.store.list_tasks(query).await?;
        for task in &mut tasks {
            task.secrets = None;
        }
        Ok((tasks, total))
    }

    /// The task's events after `after` (every `completion` event included); see
    /// [`TaskStore::task_events`]. When the newest `recovered` event started the task over,
    /// only the events from it on are returned, as Backstage does.
    pub async fn events(&self, id: &str, after: Option<i64>) -> Result<Vec<TaskEventRecord>, TaskError> {
        let events = self.inner.store.task_events(id, after).await?;
        let restart = events.iter().rposition(|event| {
            event.event_type == StoredEventType::Recovered
                && event.body.get("recoverStrategy").and_then(Value::as_str) == Some("startOver")
        });
        Ok(match restart {
            Some(position) => events[position..].to_vec(),
            None => events,
        })
    }

    /// Waits until an event is appended on this node, or `timeout` passes (events written
    /// by other nodes are seen by polling with this timeout).
    pub async fn wait_for_events(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.inner.appended.notified()).await;
    }

    /// Asks a task to stop: appends a `cancelled` event naming its current step, and stops it
    /// at once when it runs on this node (other nodes see the event at their next heartbeat).
    pub async fn cancel(&self, id: &str) -> Result<(), TaskError> {
        let task = self.task(id).await?;
        if task.status.is_final() {
            return Ok(());
        }
        let events = self.inner.store.task_events(id, None).await?;
        let step_id = events
            .iter()
            .rev()
            .find_map(|event| event.body.get("stepId").and_then(Value::as_str))
            .map(str::to_owned)
            .unwrap_or_default();
        let body = json!({
            "message": format!("Step {step_id} has been cancelled."),
            "stepId": step_id,
            "status": "cancelled",
        });
        self.inner.store.append_task_event(id, StoredEventType::Cancelled, body).await?;
        self.inner.appended.notify_waiters();
        if let Some(token) = self.inner.running.lock().unwrap_or_else(PoisonError::into_inner).get(id) {
            token.cancel();
        }
        Ok(())
    }

    /// Puts a task back to `open` with new `secrets` (`POST /v2/tasks/:id/retry`); it runs
    /// again from its first step under the same id and event stream.
    pub async fn retry(&self, id: &str, secrets: Option<Secrets>) -> Result<(), TaskError> {
        self.task(id).await?;
        let body = json!({"message": "The task was retried", "recoverStrategy": "none"});
        self.inner.store.reopen_task(id, secrets.filter(|s| !s.is_empty()).map(|s| json!(s)), body).await?;
        self.inner.appended.notify_waiters();
        self.inner.created.notify_waiters();
        Ok(())
    }

    /// Claims and runs tasks until `stop` is cancelled, at most
    /// `scaffolder.concurrentTasksLimit` at a time.
    pub async fn run_workers(&self, stop: CancellationToken) {
        let limit = self.inner.settings.concurrent_tasks_limit;
        if limit == 0 {
            tracing::info!("scaffolder.concurrentTasksLimit is 0: this node runs no tasks");
            return;
        }
        let slots = Arc::new(Semaphore::new(limit));
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else { return };
            // Register interest before claiming, so a task created meanwhile is not missed.
            let created = self.inner.created.notified();
            let claimed = match self.inner.store.claim_task().await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::error!(%error, "could not claim a scaffolder task");
                    None
                }
            };
            match claimed {
                Some(task) => {
                    let service = self.clone();
                    tokio::spawn(async move {
                        service.run_claimed(task).await;
                        drop(slot);
                    });
                }
                None => {
                    drop(slot);
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = created => {}
                        _ = tokio::time::sleep(CLAIM_POLL) => {}
                    }
                }
            }
            if stop.is_cancelled() {
                return;
            }
        }
    }

    /// Recovers stale tasks, then claims and runs every `open` task, one after the other,
    /// until none is left (one-shot commands and tests settle the scaffolder with it instead of
    /// waiting for workers and the janitor).
    pub async fn run_pending(&self) -> Result<usize, TaskError> {
        self.recover_stale_tasks().await?;
        let mut ran = 0;
        while let Some(task) = self.inner.store.claim_task().await? {
            self.run_claimed(task).await;
            ran += 1;
        }
        Ok(ran)
    }

    /// Finds tasks whose worker stopped and recovers or fails them, now and then every
    /// [`JANITOR_ROUND`] until `stop` is cancelled.
    pub async fn run_janitor(&self, stop: CancellationToken) {
        let round = JANITOR_ROUND.min(self.inner.settings.stale_after);
        loop {
            if let Err(error) = self.recover_stale_tasks().await {
                tracing::error!(%error, "could not check for stale scaffolder tasks");
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(round) => {}
            }
        }
    }

    /// One janitor round: every `processing` task whose heartbeat is older than
    /// `stale_after` is started over (when its template chose `startOver` and recovery is on)
    /// or failed with [`STALE_TASK_MESSAGE`]. Returns how many tasks it handled.
    pub async fn recover_stale_tasks(&self) -> Result<usize, TaskError> {
        let stale_after = self.inner.settings.stale_after.as_millis() as Millis;
        let stale = self.inner.store.stale_tasks(now_millis() - stale_after).await?;
        let count = stale.len();
        for task in stale {
            let strategy = task
                .spec
                .pointer("/EXPERIMENTAL_recovery/EXPERIMENTAL_strategy")
                .and_then(Value::as_str)
                .unwrap_or("none");
            if self.inner.settings.recover_tasks && strategy == "startOver" {
                tracing::warn!(task = %task.id, "starting over a task whose worker stopped");
                let body = json!({"message": "The task was recovered and starts over", "recoverStrategy": "startOver"});
                self.inner.store.reopen_task(&task.id, task.secrets.clone(), body).await?;
                self.inner.created.notify_waiters();
            } else {
                tracing::warn!(task = %task.id, "failing a task whose worker stopped");
                self.fail_stale(&task).await?;
            }
            self.inner.appended.notify_waiters();
        }
        Ok(count)
    }

    /// Fails a task whose worker stopped: each step that began but did not end gets a failed
    /// event, then the task completes as failed.
    async fn fail_stale(&self, task: &TaskRecord) -> Result<(), TaskError> {
        let events = self.events(&task.id, None).await?;
        let mut open_steps: Vec<String> = Vec::new();
        for event in &events {
            let step = event.body.get("stepId").and_then(Value::as_str);
            match (step, event.body.get("status").and_then(Value::as_str)) {
                (Some(step), Some("processing")) => open_steps.push(step.to_owned()),
                (Some(step), Some("completed" | "failed" | "skipped" | "cancelled")) => {
                    open_steps.retain(|open| open != step)
                }
                _ => {}
            }
        }
        for step in open_steps {
            let body = json!({"message": STALE_TASK_MESSAGE, "stepId": step, "status": "failed"});
            self.inner.store.append_task_event(&task.id, StoredEventType::Log, body).await?;
        }
        let body = json!({
            "message": STALE_TASK_MESSAGE,
            "error": {"name": "Error", "message": STALE_TASK_MESSAGE},
        });
        match self.inner.store.complete_task(&task.id, StoredStatus::Failed, body).await {
            // Its worker finished it meanwhile after all.
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Runs a task this node claimed, to its completion.
    async fn run_claimed(&self, task: TaskRecord) {
        let id = task.id.clone();
        if let Err(error) = self.try_run_claimed(task).await {
            tracing::error!(task = %id, %error, "a scaffolder task could not be run");
        }
    }

    async fn try_run_claimed(&self, task: TaskRecord) -> Result<(), TaskError> {
        let store = self.inner.store.clone();
        let id = task.id.clone();
        let secrets: Secrets = task
            .secrets
            .as_ref()
            .and_then(|value| serde_json::from_value(value.clone()).ok())
            .unwrap_or_default();
        let start_over =
            task.spec.pointer("/EXPERIMENTAL_recovery/EXPERIMENTAL_strategy").and_then(Value::as_str)
                == Some("startOver");
        if !start_over {
            store.forget_secrets(&id).await?;
        }
        let spec = match TaskSpec::from_json(&id, &task.spec) {
            Ok(spec) => spec.with_secrets(secrets),
            Err(error) => {
                let message = format!("The task cannot run: {error}");
                let body = json!({"message": message, "error": {"name": "InputError", "message": message}});
                store.complete_task(&id, StoredStatus::Failed, body).await?;
                self.inner.appended.notify_waiters();
                return Ok(());
            }
        };

        // A task that kept no creator (made before tasks kept one) runs as an anonymous caller.
        let permissions = self.inner.permissions.clone();
        let access = match &spec.run_as {
            Some(run_as) => run_as.access(permissions),
            None => Access::new(portico_web::Principal::None, permissions),
        };
        let cancel = CancellationToken::new();
        self.inner.running.lock().unwrap_or_else(PoisonError::into_inner).insert(id.clone(), cancel.clone());
        let workspace_root = self.inner.settings.working_directory.join(&id);
        let result = self.run_in_workspace(&spec, &workspace_root, cancel.clone(), access).await;
        self.inner.running.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
        if let Err(error) = std::fs::remove_dir_all(&workspace_root)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(task = %id, %error, "could not remove the task workspace");
        }

        let (status, body) = match result {
            Ok(result) => completion(&result),
            Err(message) => (
                StoredStatus::Failed,
                json!({"message": "Run completed with status: failed", "error": {"name": "Error", "message": message}}),
            ),
        };
        match store.complete_task(&id, status, body).await {
            Ok(()) => {}
            // The janitor of another node took it away (this node looked dead to it).
            Err(StoreError::Conflict(message)) => {
                tracing::warn!(task = %id, %message, "a task finished after it was taken away")
            }
            Err(error) => return Err(error.into()),
        }
        self.inner.appended.notify_waiters();
        Ok(())
    }

    /// Runs `spec` for `access` in a fresh workspace at `root`, with a heartbeat, writing its
    /// events to the store. `Err` when the workspace cannot be made.
    async fn run_in_workspace(
        &self,
        spec: &TaskSpec,
        root: &Path,
        cancel: CancellationToken,
        access: Access,
    ) -> Result<TaskResult, String> {
        // A previous run of the same task (retry, start over) may have left files.
        let _ = std::fs::remove_dir_all(root);
        std::fs::create_dir_all(root)
            .map_err(|e| format!("Could not create the task workspace {}: {e}", root.display()))?;
        let workspace = Workspace::open(root, self.inner.settings.workspace_limits)
            .map_err(|e| format!("Could not open the task workspace: {e}"))?;

        let (sink, writer) = StoreEvents::start(self.inner.store.clone(), spec.task_id.clone(), self.clone());
        let heartbeat =
            tokio::spawn(keep_alive(self.inner.store.clone(), spec.task_id.clone(), cancel.clone()));
        // A cancel that arrived while the task waited for a worker.
        if self.was_cancelled(&spec.task_id, None).await {
            cancel.cancel();
        }
        let options = RunOptions {
            dry_run: false,
            cancel: cancel.clone(),
            services: self.inner.services.clone(),
            templater: self.inner.templater.clone(),
            access,
        };
        let result = run_task(spec, &self.inner.registry, workspace, sink.clone(), options).await;
        heartbeat.abort();
        drop(sink);
        let _ = writer.await;
        Ok(result)
    }

    /// Whether the task's log has a `cancelled` event after `after`.
    async fn was_cancelled(&self, id: &str, after: Option<i64>) -> bool {
        self.inner
            .store
            .task_events(id, after)
            .await
            .map(|events| events.iter().any(|e| e.event_type == StoredEventType::Cancelled))
            .unwrap_or(false)
    }

    /// Runs a template for `access` without effects outside a throwaway workspace
    /// (`POST /v2/dry-run`): the actions that support it run, the others are skipped with faked
    /// outputs. Returns the log and the result with the workspace's files.
    pub async fn dry_run(
        &self,
        spec: &TaskSpec,
        workspace_root: &Path,
        access: Access,
    ) -> Result<(Vec<TaskEvent>, TaskResult), String> {
        std::fs::create_dir_all(workspace_root)
            .map_err(|e| format!("Could not create the dry-run workspace: {e}"))?;
        let workspace = Workspace::open(workspace_root, self.inner.settings.workspace_limits)
            .map_err(|e| format!("Could not open the dry-run workspace: {e}"))?;
        let events = Arc::new(MemoryEvents::new());
        let options = RunOptions {
            dry_run: true,
            cancel: CancellationToken::new(),
            services: self.inner.services.clone(),
            templater: self.inner.templater.clone(),
            access,
        };
        let result = run_task(spec, &self.inner.registry, workspace, events.clone(), options).await;
        Ok((events.events(), result))
    }

    /// Where this node creates task workspaces.
    pub fn working_directory(&self) -> &Path {
        &self.inner.settings.working_directory
    }
}

/// The stored status and `completion` body of a finished run. A cancelled task ends
/// `failed`, as in Backstage (the `cancelled` event tells it apart).
fn completion(result: &TaskResult) -> (StoredStatus, Value) {
    let status = match result.status {
        TaskStatus::Completed => StoredStatus::Completed,
        _ => StoredStatus::Failed,
    };
    let mut body = Map::new();
    body.insert("message".into(), json!(format!("Run completed with status: {}", status.as_str())));
    if let Some(output) = &result.output {
        body.insert("output".into(), output.clone());
    }
    if let Some(error) = &result.error {
        body.insert("error".into(), json!({"name": error.name, "message": error.message}));
    }
    (status, Value::Object(body))
}

/// Refreshes a running task's heartbeat every second and stops the task when its log gets a
/// `cancelled` event (written by any node) or the store says the task is no longer ours.
async fn keep_alive(store: Arc<dyn TaskStore>, id: String, cancel: CancellationToken) {
    let mut seen: Option<i64> = None;
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        match store.heartbeat_task(&id).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                cancel.cancel();
                return;
            }
            Err(error) => tracing::warn!(task = %id, %error, "could not refresh the task heartbeat"),
        }
        if let Ok(events) = store.task_events(&id, seen).await {
            if events.iter().any(|event| event.event_type == StoredEventType::Cancelled) {
                cancel.cancel();
            }
            seen = events.last().map(|event| event.id).or(seen);
        }
    }
}

/// The runner's events, appended to the store in order by one writer. `completion` is
/// written by [`TaskStore::complete_task`] and `cancelled` by whoever cancelled, so the
/// runner's own copies of those are not stored.
struct StoreEvents {
    queue: mpsc::UnboundedSender<TaskEvent>,
}

impl StoreEvents {
    fn start(
        store: Arc<dyn TaskStore>,
        task_id: String,
        service: TaskService,
    ) -> (Arc<dyn TaskEventSink>, tokio::task::JoinHandle<()>) {
        let (queue, mut events) = mpsc::unbounded_channel::<TaskEvent>();
        let writer = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if event.event_type != TaskEventType::Log {
                    continue;
                }
                if let Err(error) =
                    store.append_task_event(&task_id, StoredEventType::Log, event.body.to_json()).await
                {
                    tracing::error!(task = %task_id, %error, "could not store a task event");
                }
                service.inner.appended.notify_waiters();
            }
        });
        (Arc::new(StoreEvents { queue }), writer)
    }
}

impl TaskEventSink for StoreEvents {
    fn emit(&self, event: TaskEvent) {
        let _ = self.queue.send(event);
    }
}
