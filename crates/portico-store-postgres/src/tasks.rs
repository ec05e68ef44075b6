//! [`TaskStore`] on PostgreSQL.
//!
//! Claims lock the task they take with `FOR UPDATE SKIP LOCKED`, so replicas claiming at once
//! never get the same task. Every write that adds an event first locks the task's row, so the
//! events of one task take their ids and commit one after the other: a reader polling with
//! `after` never sees a later id before an earlier one of the same task.

use async_trait::async_trait;
use portico_store::{
    Millis, NewTask, StoreError, StoreResult, TaskEventRecord, TaskEventType, TaskOrderField, TaskQuery,
    TaskRecord, TaskStatus, TaskStore, now_millis,
};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use crate::{PostgresStore, db};

/// The columns [`task_from`] reads, in its order.
const TASK_COLUMNS: &str = "id, spec, status, created_at, last_heartbeat_at, created_by, secrets, state";
/// The columns [`event_from`] reads, in its order.
const EVENT_COLUMNS: &str = "id, task_id, event_type, body, created_at";

fn to_json(value: &Value) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot serialize JSON: {e}")))
}

fn from_json(text: &str, what: &str) -> StoreResult<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn task_from(row: &PgRow) -> StoreResult<TaskRecord> {
    let id: String = row.try_get(0).map_err(db)?;
    let spec: String = row.try_get(1).map_err(db)?;
    let status: String = row.try_get(2).map_err(db)?;
    let secrets: Option<String> = row.try_get(6).map_err(db)?;
    let state: Option<String> = row.try_get(7).map_err(db)?;
    Ok(TaskRecord {
        spec: from_json(&spec, &format!("spec of task {id}"))?,
        status: TaskStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("task {id} has unknown status {status:?}")))?,
        created_at: row.try_get(3).map_err(db)?,
        last_heartbeat_at: row.try_get(4).map_err(db)?,
        created_by: row.try_get(5).map_err(db)?,
        secrets: secrets.map(|text| from_json(&text, &format!("secrets of task {id}"))).transpose()?,
        state: state.map(|text| from_json(&text, &format!("state of task {id}"))).transpose()?,
        id,
    })
}

fn event_from(row: &PgRow) -> StoreResult<TaskEventRecord> {
    let id: i64 = row.try_get(0).map_err(db)?;
    let event_type: String = row.try_get(2).map_err(db)?;
    let body: String = row.try_get(3).map_err(db)?;
    Ok(TaskEventRecord {
        id,
        task_id: row.try_get(1).map_err(db)?,
        event_type: TaskEventType::parse(&event_type)
            .ok_or_else(|| StoreError::Corrupt(format!("task event {id} has unknown type {event_type:?}")))?,
        body: from_json(&body, &format!("body of task event {id}"))?,
        created_at: row.try_get(4).map_err(db)?,
    })
}

fn no_task(id: &str) -> StoreError {
    StoreError::Conflict(format!("no task with id '{id}'"))
}

/// The conflict for a task that `action` found not processing: missing, or in another state.
async fn not_processing(conn: &mut PgConnection, id: &str, action: &str) -> StoreError {
    let status = sqlx::query("SELECT status FROM tasks WHERE id = $1").bind(id).fetch_optional(conn).await;
    match status {
        Ok(Some(row)) => match row.try_get::<String, _>(0) {
            Ok(status) => {
                StoreError::Conflict(format!("cannot {action} task '{id}': it is {status}, not processing"))
            }
            Err(e) => db(e),
        },
        Ok(None) => no_task(id),
        Err(e) => db(e),
    }
}

/// Appends an event inside the caller's transaction, which holds the lock on the task's row
/// (see the module's documentation); the task must exist.
async fn insert_event(
    conn: &mut PgConnection,
    task_id: &str,
    event_type: TaskEventType,
    body: &Value,
) -> StoreResult<i64> {
    let row = sqlx::query(
        "INSERT INTO task_events (task_id, event_type, body, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id",
    )
    .bind(task_id)
    .bind(event_type.as_str())
    .bind(to_json(body)?)
    .bind(now_millis())
    .fetch_one(conn)
    .await
    .map_err(db)?;
    row.try_get(0).map_err(db)
}

/// Appends `WHERE` clauses for the query's filters.
fn push_filters<'a>(qb: &mut QueryBuilder<'a, Postgres>, query: &'a TaskQuery) {
    qb.push(" WHERE 1 = 1");
    if !query.created_by.is_empty() {
        qb.push(" AND created_by IN (");
        let mut list = qb.separated(", ");
        for user in &query.created_by {
            list.push_bind(user);
        }
        qb.push(")");
    }
    if !query.status.is_empty() {
        qb.push(" AND status IN (");
        let mut list = qb.separated(", ");
        for status in &query.status {
            list.push_bind(status.as_str());
        }
        qb.push(")");
    }
}

/// The `ORDER BY` clause for `order`: newest first when empty, ties broken by id. Tasks
/// without a creator sort last ascending and first descending (PostgreSQL's default, spelled
/// out to match the SQLite store).
fn order_by(order: &[(TaskOrderField, bool)]) -> String {
    let mut terms: Vec<String> = order
        .iter()
        .map(|(field, descending)| {
            let column = match field {
                TaskOrderField::CreatedAt => "created_at",
                TaskOrderField::Status => "status",
                TaskOrderField::CreatedBy => "created_by",
            };
            if *descending {
                format!("{column} DESC NULLS FIRST")
            } else {
                format!("{column} ASC NULLS LAST")
            }
        })
        .collect();
    if terms.is_empty() {
        terms.push("created_at DESC".to_owned());
    }
    terms.push("id".to_owned());
    format!(" ORDER BY {}", terms.join(", "))
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[async_trait]
impl TaskStore for PostgresStore {
    async fn create_task(&self, task: NewTask) -> StoreResult<()> {
        let secrets = task.secrets.as_ref().map(to_json).transpose()?;
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO tasks (id, spec, status, created_at, created_by, secrets) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&task.id)
        .bind(to_json(&task.spec)?)
        .bind(TaskStatus::Open.as_str())
        .bind(now_millis())
        .bind(&task.created_by)
        .bind(secrets)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("a task with id '{}' already exists", task.id)));
        }
        tx.commit().await.map_err(db)
    }

    async fn task(&self, id: &str) -> StoreResult<Option<TaskRecord>> {
        let row = sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(task_from).transpose()
    }

    async fn list_tasks(&self, query: &TaskQuery) -> StoreResult<(Vec<TaskRecord>, u64)> {
        let mut tx = self.begin_read().await?;
        let mut count = QueryBuilder::new("SELECT COUNT(*) FROM tasks");
        push_filters(&mut count, query);
        let total: i64 =
            count.build().fetch_one(&mut *tx).await.and_then(|row| row.try_get(0)).map_err(db)?;

        let mut select = QueryBuilder::new(format!("SELECT {TASK_COLUMNS} FROM tasks"));
        push_filters(&mut select, query);
        select.push(order_by(&query.order));
        if let Some(limit) = query.limit {
            select.push(" LIMIT ").push_bind(to_i64(limit));
        }
        select.push(" OFFSET ").push_bind(query.offset.map_or(0, to_i64));
        let rows = select.build().fetch_all(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        let tasks = rows.iter().map(task_from).collect::<StoreResult<Vec<_>>>()?;
        Ok((tasks, u64::try_from(total).unwrap_or(0)))
    }

    async fn claim_task(&self) -> StoreResult<Option<TaskRecord>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE tasks SET status = 'processing', last_heartbeat_at = $1 WHERE id = \
             (SELECT id FROM tasks WHERE status = 'open' ORDER BY created_at, id LIMIT 1 \
             FOR UPDATE SKIP LOCKED) \
             RETURNING {TASK_COLUMNS}"
        ))
        .bind(now_millis())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        row.as_ref().map(task_from).transpose()
    }

    async fn heartbeat_task(&self, id: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let updated =
            sqlx::query("UPDATE tasks SET last_heartbeat_at = $1 WHERE id = $2 AND status = 'processing'")
                .bind(now_millis())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        if updated.rows_affected() == 0 {
            return Err(not_processing(&mut tx, id, "heartbeat").await);
        }
        tx.commit().await.map_err(db)
    }

    async fn complete_task(&self, id: &str, status: TaskStatus, body: Value) -> StoreResult<()> {
        if !status.is_final() {
            return Err(StoreError::Conflict(format!(
                "cannot complete task '{id}' with status {}: it is not a final status",
                status.as_str()
            )));
        }
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE tasks SET status = $1, secrets = NULL WHERE id = $2 AND status = 'processing'",
        )
        .bind(status.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if updated.rows_affected() == 0 {
            return Err(not_processing(&mut tx, id, "complete").await);
        }
        insert_event(&mut tx, id, TaskEventType::Completion, &body).await?;
        tx.commit().await.map_err(db)
    }

    async fn reopen_task(&self, id: &str, secrets: Option<Value>, body: Value) -> StoreResult<()> {
        let secrets = secrets.as_ref().map(to_json).transpose()?;
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE tasks SET status = 'open', secrets = $1, last_heartbeat_at = $2 WHERE id = $3",
        )
        .bind(secrets)
        .bind(now_millis())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if updated.rows_affected() == 0 {
            return Err(no_task(id));
        }
        insert_event(&mut tx, id, TaskEventType::Recovered, &body).await?;
        tx.commit().await.map_err(db)
    }

    async fn forget_secrets(&self, id: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query("UPDATE tasks SET secrets = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if updated.rows_affected() == 0 {
            return Err(no_task(id));
        }
        tx.commit().await.map_err(db)
    }

    async fn save_task_state(&self, id: &str, state: Value) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query("UPDATE tasks SET state = $1 WHERE id = $2")
            .bind(to_json(&state)?)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if updated.rows_affected() == 0 {
            return Err(no_task(id));
        }
        tx.commit().await.map_err(db)
    }

    async fn stale_tasks(&self, heartbeat_before: Millis) -> StoreResult<Vec<TaskRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE status = 'processing' AND last_heartbeat_at < $1 \
             ORDER BY created_at, id"
        ))
        .bind(heartbeat_before)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(task_from).collect()
    }

    async fn append_task_event(
        &self,
        task_id: &str,
        event_type: TaskEventType,
        body: Value,
    ) -> StoreResult<i64> {
        let mut tx = self.begin_write().await?;
        let task = sqlx::query("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE")
            .bind(task_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if task.is_none() {
            return Err(no_task(task_id));
        }
        let id = insert_event(&mut tx, task_id, event_type, &body).await?;
        tx.commit().await.map_err(db)?;
        Ok(id)
    }

    async fn task_events(&self, task_id: &str, after: Option<i64>) -> StoreResult<Vec<TaskEventRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM task_events \
             WHERE task_id = $1 AND (id > $2 OR event_type = 'completion') ORDER BY id"
        ))
        .bind(task_id)
        .bind(after.unwrap_or(i64::MIN))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(event_from).collect()
    }
}
