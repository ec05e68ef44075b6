//! `/create/tasks`: the tasks, newest first, filtered by who created them (`owner=me`, the
//! default, or `all`) and by `status`, paged with `limit` and `offset`. The filter form is a
//! plain GET; with htmx it replaces `#history-body` only. Only the tasks the viewer may read
//! (`scaffolder.task.read`) are listed and counted.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use portico_plugin::Access;
use portico_store::{TaskEventType, TaskQuery, TaskStatus, now_millis};
use portico_web::components::{Column, Component, DataTable, EmptyState};
use portico_web::{Markup, PageContext, PageError, Query, escape, icons};

use super::task::{last_run, status_display, template_title};
use super::{RefLink, task_path, time_markup};
use crate::access::readable_tasks;
use crate::parameters::humanize_entity_ref;
use crate::routes::ScaffolderApi;

/// Rows per page unless `limit` says otherwise.
const DEFAULT_LIMIT: u64 = 25;
/// The largest `limit`.
const MAX_LIMIT: u64 = 100;
/// The page's path.
const PATH: &str = "/create/tasks";
/// The statuses a task is stored with, as the filter offers them.
const STATUSES: [(TaskStatus, &str); 4] = [
    (TaskStatus::Open, "Queued"),
    (TaskStatus::Processing, "Running"),
    (TaskStatus::Completed, "Completed"),
    (TaskStatus::Failed, "Failed"),
];

/// The query string's filters.
struct Filters {
    mine: bool,
    status: Option<TaskStatus>,
    limit: u64,
    offset: u64,
    query: Query,
}

impl Filters {
    fn parse(raw: Option<&str>) -> Filters {
        let query = Query::parse(raw);
        Filters {
            mine: query.one("owner") != Some("all"),
            status: query.one("status").and_then(TaskStatus::parse),
            limit: query
                .one("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(DEFAULT_LIMIT)
                .clamp(1, MAX_LIMIT),
            offset: query.one("offset").and_then(|o| o.parse().ok()).unwrap_or(0),
            query,
        }
    }

    /// This view at another offset.
    fn at(&self, offset: u64) -> String {
        let query = self.query.without("offset");
        if offset == 0 { query.url(PATH) } else { query.with("offset", &offset.to_string()).url(PATH) }
    }
}

#[derive(Template)]
#[template(path = "create_history.html")]
struct HistoryPage<'a> {
    mine: bool,
    statuses: Vec<(&'static str, &'static str, bool)>,
    limit: Option<u64>,
    body: Markup,
    identity: &'a str,
}

#[derive(Template)]
#[template(path = "create_history_body.html")]
struct HistoryBody {
    heading: &'static str,
    total: u64,
    table: Markup,
    first: u64,
    last: u64,
    previous: Option<String>,
    next: Option<String>,
    prev_icon: Markup,
    next_icon: Markup,
}

/// `GET /create/tasks`.
pub(super) async fn tasks(
    State(api): State<ScaffolderApi>,
    access: Access,
    cx: PageContext,
) -> Result<Response, PageError> {
    let filters = Filters::parse(cx.query.as_deref());
    let identity = cx.viewer.identity();
    let query = TaskQuery {
        created_by: if filters.mine { vec![identity.to_owned()] } else { Vec::new() },
        status: filters.status.into_iter().collect(),
        limit: Some(filters.limit),
        offset: Some(filters.offset),
        ..TaskQuery::default()
    };
    let (tasks, total) = readable_tasks(&api.tasks, &access, &query)
        .await
        .map_err(|error| PageError::internal(format!("Could not read the tasks: {error}")))?;
    // A cancelled task is stored as failed; its events tell.
    let mut cancelled = Vec::with_capacity(tasks.len());
    for task in &tasks {
        let was_cancelled = task.status == TaskStatus::Failed
            && api.tasks.events(&task.id, None).await.is_ok_and(|events| {
                last_run(&events).iter().any(|event| event.event_type == TaskEventType::Cancelled)
            });
        cancelled.push(was_cancelled);
    }
    let now = now_millis();
    let rows = tasks
        .iter()
        .zip(cancelled)
        .map(|(task, cancelled)| {
            let (class, label) = status_display(task.status, cancelled);
            vec![
                Markup::trusted(format!(
                    "<a class=\"cell-title\" href=\"{}\">{}</a><span class=\"cell-sub\">{}</span>",
                    escape(&task_path(&task.id)),
                    escape(&template_title(task)),
                    escape(&task.id)
                )),
                Markup::trusted(format!(
                    "<span class=\"task-badge task-badge-{class}\"><span class=\"task-badge-dot\" aria-hidden=\"true\"></span>{label}</span>"
                )),
                task.created_by
                    .as_deref()
                    .and_then(|user| RefLink::parse(user, Some("user")))
                    .map_or_else(|| Markup::text("unknown"), |link| link.markup()),
                time_markup(task.created_at, now),
            ]
        })
        .collect();
    let column = |label: &str, class| Column { label: label.to_owned(), class, sort: None };
    let filtered = filters.status.is_some() || filters.mine;
    let empty = if filtered && total == 0 && filters.offset == 0 {
        EmptyState {
            title: "No tasks here".into(),
            message: "No task matches these filters. Show all tasks, or create something new.".into(),
            action: Some(("Show all tasks".into(), format!("{PATH}?owner=all"))),
        }
    } else {
        EmptyState {
            title: "No tasks yet".into(),
            message: "Tasks appear here once a template is run.".into(),
            action: Some(("Choose a template".into(), "/create".into())),
        }
    };
    let table = DataTable {
        caption: "Tasks".into(),
        columns: vec![
            column("Template", "col-name"),
            column("Status", "col-status"),
            column("Created by", "col-owner"),
            column("Created", "col-created"),
        ],
        rows,
        empty: empty.markup(),
        target: None,
    };
    let shown = tasks.len() as u64;
    let body = HistoryBody {
        heading: if filters.mine { "My tasks" } else { "All tasks" },
        total,
        table: table.markup(),
        first: if shown == 0 { 0 } else { filters.offset + 1 },
        last: filters.offset + shown,
        previous: (filters.offset > 0).then(|| filters.at(filters.offset.saturating_sub(filters.limit))),
        next: (filters.offset + shown < total).then(|| filters.at(filters.offset + filters.limit)),
        prev_icon: icons::icon("chevron-left"),
        next_icon: icons::icon("chevron-right"),
    }
    .markup();
    if cx.fragment {
        return Ok(cx.fragment(body));
    }
    let page = HistoryPage {
        mine: filters.mine,
        statuses: STATUSES
            .iter()
            .map(|(status, label)| (status.as_str(), *label, filters.status == Some(*status)))
            .collect(),
        limit: (filters.limit != DEFAULT_LIMIT).then_some(filters.limit),
        body,
        identity: &humanize_entity_ref(identity, Some("user"), None),
    };
    Ok(cx.page("Task history", page.markup()))
}
