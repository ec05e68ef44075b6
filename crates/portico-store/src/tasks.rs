//! Durable software-template tasks and their event logs, in the shape of Backstage's
//! `tasks` and `task_events` tables.
//!
//! The store keeps rows and enforces the state machine (`open` → `processing` → `completed` |
//! `failed`); what a task *does* lives in the scaffolder plugin. Specs, secrets, state and event
//! bodies are opaque JSON here.

use async_trait::async_trait;
use serde_json::Value;

use crate::{Millis, StoreResult};

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// Waiting for a worker.
    Open,
    /// A worker claimed it and keeps its heartbeat fresh.
    Processing,
    /// Ran to the end.
    Completed,
    /// A step failed, it was cancelled, or it was abandoned.
    Failed,
    /// In Backstage's enum; a cancelled task ends `failed` through the normal failure path.
    Cancelled,
}

impl TaskStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::Open,
        TaskStatus::Processing,
        TaskStatus::Completed,
        TaskStatus::Failed,
        TaskStatus::Cancelled,
    ];

    /// The status as Backstage stores and serves it.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Processing => "processing",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    /// The status named `text`, if any.
    pub fn parse(text: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Whether the task has ended.
    pub fn is_final(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled)
    }
}

/// The type of a task event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskEventType {
    /// Progress and action log lines.
    Log,
    /// The task ended; the body holds the output or the error.
    Completion,
    /// Someone asked the task to stop.
    Cancelled,
    /// The task was put back to `open` (retry, or recovery after a restart).
    Recovered,
}

impl TaskEventType {
    /// The type as Backstage stores and serves it.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskEventType::Log => "log",
            TaskEventType::Completion => "completion",
            TaskEventType::Cancelled => "cancelled",
            TaskEventType::Recovered => "recovered",
        }
    }

    /// The type named `text`, if any.
    pub fn parse(text: &str) -> Option<TaskEventType> {
        [TaskEventType::Log, TaskEventType::Completion, TaskEventType::Cancelled, TaskEventType::Recovered]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// A task to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    /// The task id (a UUID chosen by the caller).
    pub id: String,
    /// The task spec (Backstage's `TaskSpec` JSON).
    pub spec: Value,
    /// The user ref of whoever created it.
    pub created_by: Option<String>,
    /// The request secrets; `None` when there are none.
    pub secrets: Option<Value>,
}

/// A stored task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub id: String,
    pub spec: Value,
    pub status: TaskStatus,
    pub created_at: Millis,
    /// Set when a worker claims the task and on every heartbeat.
    pub last_heartbeat_at: Option<Millis>,
    pub created_by: Option<String>,
    /// Present only between creation and claim (or completion, for tasks that keep them).
    pub secrets: Option<Value>,
    /// Checkpoints and completed steps, saved by the runner.
    pub state: Option<Value>,
}

/// One entry of a task's event log.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskEventRecord {
    /// From one autoincrement over all tasks (not per task), so ids order events globally.
    pub id: i64,
    pub task_id: String,
    pub event_type: TaskEventType,
    pub body: Value,
    pub created_at: Millis,
}

/// A column tasks can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskOrderField {
    CreatedAt,
    Status,
    CreatedBy,
}

/// Which tasks [`TaskStore::list_tasks`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskQuery {
    /// Only tasks created by one of these user refs (any when empty).
    pub created_by: Vec<String>,
    /// Only tasks in one of these states (any when empty).
    pub status: Vec<TaskStatus>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
    /// `(field, descending)` pairs, most significant first; newest first when empty.
    pub order: Vec<(TaskOrderField, bool)>,
}

/// Storage of scaffolder tasks. Every method is one transaction.
///
/// Methods that change a task answer [`crate::StoreError::Conflict`] when there is no task
/// with that id, and write nothing then.
#[async_trait]
pub trait TaskStore: Send + Sync + 'static {
    /// Inserts an `open` task created now. [`crate::StoreError::Conflict`] when a task with
    /// that id exists.
    async fn create_task(&self, task: NewTask) -> StoreResult<()>;

    /// The task with this id, secrets included (callers that serve it leave them out).
    async fn task(&self, id: &str) -> StoreResult<Option<TaskRecord>>;

    /// The tasks matching `query` and how many match it without limit and offset.
    ///
    /// Text columns order bytewise; tasks without a creator come last in ascending and first
    /// in descending `created_by` order. Ties are broken by id, so pages are stable.
    async fn list_tasks(&self, query: &TaskQuery) -> StoreResult<(Vec<TaskRecord>, u64)>;

    /// Claims the oldest `open` task: moves it to `processing` with a fresh heartbeat and
    /// returns it (secrets included). Two concurrent claims never return the same task; a
    /// claim may pass over a task another claim is taking at that moment.
    async fn claim_task(&self) -> StoreResult<Option<TaskRecord>>;

    /// Refreshes the heartbeat of a `processing` task; [`crate::StoreError::Conflict`] when the
    /// task is not processing (it was completed or taken away meanwhile).
    async fn heartbeat_task(&self, id: &str) -> StoreResult<()>;

    /// Ends a `processing` task with `status` (`completed` or `failed`), appends one
    /// `completion` event with `body` and removes its secrets. [`crate::StoreError::Conflict`]
    /// when the task is not processing or `status` is not final; nothing is written then.
    async fn complete_task(&self, id: &str, status: TaskStatus, body: Value) -> StoreResult<()>;

    /// Puts a task back to `open` (retry, recovery) whatever its status, replacing its secrets
    /// with `secrets`, refreshing its heartbeat, and appends a `recovered` event with `body`.
    async fn reopen_task(&self, id: &str, secrets: Option<Value>, body: Value) -> StoreResult<()>;

    /// Removes a task's secrets (after claim, unless the task may be started over).
    async fn forget_secrets(&self, id: &str) -> StoreResult<()>;

    /// Saves the runner's state (checkpoints, completed steps).
    async fn save_task_state(&self, id: &str, state: Value) -> StoreResult<()>;

    /// The `processing` tasks whose heartbeat is older than `heartbeat_before`.
    async fn stale_tasks(&self, heartbeat_before: Millis) -> StoreResult<Vec<TaskRecord>>;

    /// Appends an event to a task's log and returns its id. The events of one task become
    /// visible in id order, so a reader polling with `after` misses none.
    async fn append_task_event(
        &self,
        task_id: &str,
        event_type: TaskEventType,
        body: Value,
    ) -> StoreResult<i64>;

    /// The task's events in id order: all of them, or with `after` those with a larger id
    /// plus every `completion` event whatever its id (so a late subscriber learns the end).
    /// None for a task that does not exist.
    async fn task_events(&self, task_id: &str, after: Option<i64>) -> StoreResult<Vec<TaskEventRecord>>;
}
