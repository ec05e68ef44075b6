//! `/create/tasks/:id`: one task — its template, who started it and when, its status, the
//! template's steps with their state and duration, the log grouped by step, and once it
//! completed the template's output (links and texts).
//!
//! While the task is open or running, the live part of the page (`#task-live`) fetches itself
//! from `/create/tasks/:id/live` every second through htmx; the part returned for a finished
//! task has no trigger, so polling stops by itself. Without JavaScript a *Refresh* link does
//! the same. `?log=<step id>` shows one step's log lines only.
//!
//! The viewer must be allowed to read the task (`scaffolder.task.read`); *Cancel*, *Retry* and
//! *Start over* are only offered to a viewer allowed to do them.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use portico_model::entity_ref::{EntityRef, RefDefaults};
use portico_plugin::Access;
use portico_plugin::permission::Resource;
use portico_plugin::permission::permission::{SCAFFOLDER_TASK_CANCEL, SCAFFOLDER_TASK_CREATE};
use portico_store::{TaskEventRecord, TaskEventType, TaskRecord, TaskStatus, now_millis};
use portico_web::components::Component;
use portico_web::html::url_with_query;
use portico_web::{Markup, PageContext, PageError, Query, Viewer, check_same_origin, escape, see_other};
use serde_json::Value;

use super::{RefLink, duration_text, entity_path, external_link, form_path, task_path, text_at, time_markup};
use crate::access::stored_template;
use crate::routes::{self, ScaffolderApi, iso_time, serialize_task};
use crate::tasks::TaskError;
use crate::templating::is_truthy;

/// A step's state as the page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepState {
    /// Not started (yet).
    Pending,
    Processing,
    Completed,
    Failed,
    Skipped,
    Cancelled,
}

impl StepState {
    /// The state an event body's `status` sets.
    fn parse(text: &str) -> Option<StepState> {
        match text {
            "processing" => Some(StepState::Processing),
            "completed" => Some(StepState::Completed),
            "failed" => Some(StepState::Failed),
            "skipped" => Some(StepState::Skipped),
            "cancelled" => Some(StepState::Cancelled),
            _ => None,
        }
    }

    fn class(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Processing => "processing",
            StepState::Completed => "completed",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
            StepState::Cancelled => "cancelled",
        }
    }

    fn label(self, task_finished: bool) -> &'static str {
        match self {
            StepState::Pending if task_finished => "Not run",
            StepState::Pending => "Waiting",
            StepState::Processing => "Running",
            StepState::Completed => "Completed",
            StepState::Failed => "Failed",
            StepState::Skipped => "Skipped",
            StepState::Cancelled => "Cancelled",
        }
    }
}

/// One step of the template.
struct StepView {
    id: String,
    name: String,
    state: StepState,
    label: &'static str,
    duration: Option<String>,
    log_href: String,
    selected: bool,
}

/// One line of the log.
struct LogLine {
    iso: String,
    time: String,
    message: String,
}

/// Consecutive log lines of one step (or of the task itself).
struct LogGroup {
    title: String,
    lines: Vec<LogLine>,
}

/// A text of the template's output.
struct OutputText {
    title: String,
    content: String,
}

#[derive(Template)]
#[template(path = "create_task.html")]
struct TaskPage<'a> {
    id: &'a str,
    title: &'a str,
    created_by: Markup,
    created_at: Markup,
    template_link: Option<Markup>,
    live: Markup,
}

#[derive(Template)]
#[template(path = "create_task_live.html")]
struct LivePart {
    /// The fragment's URL while the task runs; `None` once it finished.
    poll: Option<String>,
    page_href: String,
    cancel_href: String,
    retry_href: String,
    start_over: Option<String>,
    status_class: &'static str,
    status_label: &'static str,
    summary: String,
    running: bool,
    can_cancel: bool,
    can_retry: bool,
    error: Option<(&'static str, String, String)>,
    steps: Vec<StepView>,
    links: Vec<Markup>,
    texts: Vec<OutputText>,
    groups: Vec<LogGroup>,
    /// The name of the step whose lines alone are shown.
    filter: Option<String>,
    all_href: String,
    finished: bool,
}

impl LivePart {
    fn has_output(&self) -> bool {
        !self.links.is_empty() || !self.texts.is_empty()
    }
}

/// What the viewer may do with a task, beside reading it.
#[derive(Debug, Clone, Copy)]
struct Allowed {
    /// `scaffolder.task.cancel` on the task.
    cancel: bool,
    /// `scaffolder.task.create` on the template the task keeps.
    retry: bool,
    /// `scaffolder.task.create` on the template as the catalog has it now, which the viewer
    /// may read.
    start_over: bool,
}

impl Allowed {
    /// Asks the policies about the buttons `task` would show.
    async fn of(api: &ScaffolderApi, access: &Access, task: &TaskRecord) -> Allowed {
        let finished = task.status.is_final();
        let cancel =
            !finished && access.allows(&SCAFFOLDER_TASK_CANCEL, Some(Resource::Task(&serialize_task(task))));
        let retry = task.status == TaskStatus::Failed
            && access.allows(&SCAFFOLDER_TASK_CREATE, Some(Resource::Entity(&stored_template(&task.spec))));
        let mut start_over = false;
        if finished && let Some(parsed) = template_ref(task) {
            let template = api.catalog.get_entity_by_ref(&parsed.canonical(), access).await.ok().flatten();
            start_over = template.is_some_and(|template| {
                access.allows(&SCAFFOLDER_TASK_CREATE, Some(Resource::Entity(&template)))
            });
        }
        Allowed { cancel, retry, start_over }
    }
}

/// `GET /create/tasks/:id`.
pub(super) async fn page(
    State(api): State<ScaffolderApi>,
    Path(id): Path<String>,
    access: Access,
    cx: PageContext,
) -> Result<Response, PageError> {
    let (task, events) = load(&api, &access, &id).await?;
    let allowed = Allowed::of(&api, &access, &task).await;
    let log = Query::parse(cx.query.as_deref()).one("log").map(str::to_owned);
    let now = now_millis();
    let title = template_title(&task);
    let created_by = task
        .created_by
        .as_deref()
        .and_then(|user| RefLink::parse(user, Some("user")))
        .map_or_else(|| Markup::text("unknown"), |link| link.markup());
    let template_link = template_ref(&task).map(|parsed| {
        Markup::trusted(format!(
            "<a href=\"{}\">{}</a>",
            escape(&entity_path("template", &parsed.namespace, &parsed.name)),
            escape(&parsed.name)
        ))
    });
    let page = TaskPage {
        id: &task.id,
        title: &title,
        created_by,
        created_at: time_markup(task.created_at, now),
        template_link,
        live: live_part(&task, &events, log.as_deref(), now, allowed).markup(),
    };
    Ok(cx.page(&format!("{title} · Task"), page.markup()))
}

/// `GET /create/tasks/:id/live`: the live part alone, for htmx; a browser sent here is sent on
/// to the page.
pub(super) async fn live(
    State(api): State<ScaffolderApi>,
    Path(id): Path<String>,
    access: Access,
    cx: PageContext,
) -> Result<Response, PageError> {
    let log = Query::parse(cx.query.as_deref()).one("log").map(str::to_owned);
    if !cx.fragment {
        return Ok(see_other(&page_href(&id, log.as_deref())));
    }
    let (task, events) = load(&api, &access, &id).await?;
    let allowed = Allowed::of(&api, &access, &task).await;
    Ok(cx.fragment(live_part(&task, &events, log.as_deref(), now_millis(), allowed).markup()))
}

/// `POST /create/tasks/:id/cancel`: asks the task to stop, then shows it again.
pub(super) async fn cancel(
    State(api): State<ScaffolderApi>,
    Path(id): Path<String>,
    headers: HeaderMap,
    access: Access,
    viewer: Viewer,
) -> Result<Response, PageError> {
    check_same_origin(&headers)?;
    // A task that does not exist is a failed cancel; one the viewer may not cancel is a deny.
    let task = api.tasks.task(&id).await;
    if let Ok(task) = &task {
        routes::require_cancel(&access, task).await?;
    }
    let cancelled = match task {
        Ok(_) => api.tasks.cancel(&id).await,
        Err(error) => Err(error),
    };
    api.audit.result(&viewer, "scaffolder.task.cancel", &id, &cancelled, Value::Null).await;
    cancelled.map_err(|error| task_error(&id, error))?;
    Ok(see_other(&task_path(&id)))
}

/// `POST /create/tasks/:id/retry`: runs a failed task again from its first step.
pub(super) async fn retry(
    State(api): State<ScaffolderApi>,
    Path(id): Path<String>,
    headers: HeaderMap,
    access: Access,
    viewer: Viewer,
) -> Result<Response, PageError> {
    check_same_origin(&headers)?;
    let task = api.tasks.task(&id).await.map_err(|error| task_error(&id, error))?;
    if task.status == TaskStatus::Failed {
        routes::require_retry(&access, &task).await?;
        let retried = api.tasks.retry(&id, None).await;
        api.audit.result(&viewer, "scaffolder.task.retry", &id, &retried, Value::Null).await;
        retried.map_err(|error| task_error(&id, error))?;
    }
    Ok(see_other(&task_path(&id)))
}

/// The task and its events, when the viewer may read it.
async fn load(
    api: &ScaffolderApi,
    access: &Access,
    id: &str,
) -> Result<(TaskRecord, Vec<TaskEventRecord>), PageError> {
    let task = api.tasks.task(id).await.map_err(|error| task_error(id, error))?;
    routes::require_read(access, &task).await?;
    let events = api.tasks.events(id, None).await.map_err(|error| task_error(id, error))?;
    Ok((task, events))
}

fn task_error(id: &str, error: TaskError) -> PageError {
    match error {
        TaskError::NotFound(_) => {
            PageError::not_found("Task not found", format!("There is no task with the id {id}."))
                .first_link("See all tasks", "/create/tasks")
        }
        TaskError::Store(error) => PageError::internal(format!("Could not read the task: {error}")),
    }
}

/// The task page's URL, with the log filter.
fn page_href(id: &str, log: Option<&str>) -> String {
    url_with_query(&task_path(id), log.map(|step| ("log", step)))
}

/// The title of the template a task runs: its `metadata.title`, else its name.
pub(super) fn template_title(task: &TaskRecord) -> String {
    text_at(&task.spec, "/templateInfo/entity/metadata/title")
        .or_else(|| text_at(&task.spec, "/templateInfo/entity/metadata/name"))
        .or_else(|| template_ref(task).map(|parsed| parsed.name))
        .unwrap_or_else(|| "Untitled template".to_owned())
}

/// The template a task runs, from `templateInfo.entityRef`.
fn template_ref(task: &TaskRecord) -> Option<EntityRef> {
    let text = task.spec.pointer("/templateInfo/entityRef").and_then(Value::as_str)?;
    EntityRef::parse(text, RefDefaults { kind: Some("template"), namespace: None }).ok()
}

/// The status as shown: `(class, label)`. A failed task with a `cancelled` event in its last
/// run was cancelled.
pub(super) fn status_display(status: TaskStatus, cancelled: bool) -> (&'static str, &'static str) {
    match status {
        TaskStatus::Open => ("open", "Queued"),
        TaskStatus::Processing => ("processing", "Running"),
        TaskStatus::Completed => ("completed", "Completed"),
        TaskStatus::Failed if cancelled => ("cancelled", "Cancelled"),
        TaskStatus::Failed => ("failed", "Failed"),
        TaskStatus::Cancelled => ("cancelled", "Cancelled"),
    }
}

/// The events of the task's last run: those after its last `recovered` event.
pub(super) fn last_run(events: &[TaskEventRecord]) -> &[TaskEventRecord] {
    let start =
        events.iter().rposition(|event| event.event_type == TaskEventType::Recovered).map_or(0, |at| at + 1);
    &events[start..]
}

fn live_part(
    task: &TaskRecord,
    events: &[TaskEventRecord],
    log: Option<&str>,
    now: i64,
    allowed: Allowed,
) -> LivePart {
    let finished = task.status.is_final();
    let run = last_run(events);
    let cancelled = run.iter().any(|event| event.event_type == TaskEventType::Cancelled);
    let completion = run.iter().rev().find(|event| event.event_type == TaskEventType::Completion);
    let (status_class, status_label) = status_display(task.status, cancelled);

    let mut steps = step_views(task, run, finished, cancelled, completion.map(|event| event.created_at), now);
    for step in &mut steps {
        step.log_href = format!("{}#task-log", page_href(&task.id, Some(&step.id)));
        step.selected = log == Some(step.id.as_str());
    }
    let filter = log.and_then(|id| steps.iter().find(|step| step.id == id)).map(|step| step.name.clone());
    let groups = log_groups(events, &steps, filter.as_ref().and(log));

    let summary = match task.status {
        TaskStatus::Open => "Waiting for a worker to pick it up.".to_owned(),
        TaskStatus::Processing => match steps.iter().position(|step| step.state == StepState::Processing) {
            Some(at) => format!("Running step {} of {}: {}", at + 1, steps.len(), steps[at].name),
            None => "Starting…".to_owned(),
        },
        _ => {
            let started = run.first().map_or(task.created_at, |event| event.created_at);
            let ended = completion.map_or(now, |event| event.created_at);
            format!("Finished {} after {}", super::ago(ended, now), duration_text(ended - started))
        }
    };
    let body = completion.map(|event| &event.body);
    let error = match (task.status, cancelled) {
        (TaskStatus::Failed, true) | (TaskStatus::Cancelled, _) => Some((
            "warn",
            "This task was cancelled.".to_owned(),
            "Steps after the cancelled one did not run.".to_owned(),
        )),
        (TaskStatus::Failed, false) => Some((
            "error",
            "This task failed.".to_owned(),
            body.and_then(|body| text_at(body, "/error/message")).unwrap_or_default(),
        )),
        _ => None,
    };
    let output = match task.status {
        TaskStatus::Completed => body.and_then(|body| body.get("output")),
        _ => None,
    };
    let start_over = template_ref(task).filter(|_| allowed.start_over).map(|parsed| {
        url_with_query(&form_path(&parsed.namespace, &parsed.name), [("from", task.id.as_str())])
    });
    LivePart {
        poll: (!finished)
            .then(|| url_with_query(&format!("{}/live", task_path(&task.id)), log.map(|id| ("log", id)))),
        page_href: page_href(&task.id, log),
        cancel_href: format!("{}/cancel", task_path(&task.id)),
        retry_href: format!("{}/retry", task_path(&task.id)),
        start_over,
        status_class,
        status_label,
        summary,
        running: !finished,
        can_cancel: !finished && allowed.cancel,
        can_retry: task.status == TaskStatus::Failed && allowed.retry,
        error,
        steps,
        links: output.map(output_links).unwrap_or_default(),
        texts: output.map(output_texts).unwrap_or_default(),
        groups,
        filter,
        all_href: format!("{}#task-log", page_href(&task.id, None)),
        finished,
    }
}

/// The template's steps with their state in the last run.
fn step_views(
    task: &TaskRecord,
    run: &[TaskEventRecord],
    finished: bool,
    cancelled: bool,
    completed_at: Option<i64>,
    now: i64,
) -> Vec<StepView> {
    struct Progress {
        state: StepState,
        started: Option<i64>,
        ended: Option<i64>,
    }
    let spec_steps: Vec<(String, String)> = task
        .spec
        .get("steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|step| {
            let id = step.get("id").and_then(Value::as_str)?.to_owned();
            let name =
                step.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()).unwrap_or(&id).to_owned();
            Some((id, name))
        })
        .collect();
    let mut progress: Vec<Progress> = spec_steps
        .iter()
        .map(|_| Progress { state: StepState::Pending, started: None, ended: None })
        .collect();
    for event in run {
        let step_id = event.body.get("stepId").and_then(Value::as_str);
        let state = event.body.get("status").and_then(Value::as_str).and_then(StepState::parse);
        let (Some(step_id), Some(state)) = (step_id, state) else { continue };
        let Some(at) = spec_steps.iter().position(|(id, _)| id == step_id) else { continue };
        let step = &mut progress[at];
        match state {
            StepState::Processing => {
                step.state = state;
                step.started = Some(event.created_at);
            }
            // A cancel names the last step that logged, which may have finished already.
            StepState::Cancelled if !matches!(step.state, StepState::Pending | StepState::Processing) => {}
            _ => {
                step.state = state;
                step.ended = Some(event.created_at);
            }
        }
    }
    spec_steps
        .into_iter()
        .zip(progress)
        .map(|((id, name), mut step)| {
            if finished && step.state == StepState::Processing {
                step.state = if cancelled { StepState::Cancelled } else { StepState::Failed };
                step.ended = completed_at;
            }
            let duration = match (step.started, step.ended) {
                (Some(started), Some(ended)) => Some(duration_text(ended - started)),
                (Some(started), None) if !finished => Some(duration_text(now - started)),
                _ => None,
            };
            StepView {
                label: step.state.label(finished),
                state: step.state,
                id,
                name,
                duration,
                log_href: String::new(),
                selected: false,
            }
        })
        .collect()
}

/// The log, in order, cut into groups of consecutive lines of one step; only the lines of
/// `only` when given.
fn log_groups(events: &[TaskEventRecord], steps: &[StepView], only: Option<&str>) -> Vec<LogGroup> {
    let mut groups: Vec<(Option<String>, LogGroup)> = Vec::new();
    for event in events {
        let Some(message) = event.body.get("message").and_then(Value::as_str).filter(|m| !m.is_empty())
        else {
            continue;
        };
        let step_id = event.body.get("stepId").and_then(Value::as_str).filter(|id| !id.is_empty());
        if only.is_some() && step_id != only {
            continue;
        }
        let iso = iso_time(event.created_at);
        let line = LogLine { time: iso[11..19].to_owned(), iso, message: message.to_owned() };
        match groups.last_mut() {
            Some((group_step, group)) if group_step.as_deref() == step_id => group.lines.push(line),
            _ => {
                let title = match step_id {
                    Some(id) => steps.iter().find(|step| step.id == id).map_or(id, |step| step.name.as_str()),
                    None => "Task",
                };
                groups.push((
                    step_id.map(str::to_owned),
                    LogGroup { title: title.to_owned(), lines: vec![line] },
                ));
            }
        }
    }
    groups.into_iter().map(|(_, group)| group).collect()
}

/// `output.links` as links: `url` links as they are (when safe), `entityRef` links to the
/// entity's catalog page; items whose `if` is falsy are left out.
fn output_links(output: &Value) -> Vec<Markup> {
    output
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|link| link.get("if").is_none_or(is_truthy))
        .filter_map(|link| {
            let title = text_at(link, "/title");
            if let Some(url) = text_at(link, "/url") {
                return Some(external_link(title.as_deref().unwrap_or(&url), &url, "button task-link"));
            }
            let target = RefLink::parse(&text_at(link, "/entityRef")?, None)?;
            Some(Markup::trusted(format!(
                "<a class=\"button task-link\" href=\"{}\">{}</a>",
                escape(&target.href),
                escape(title.as_deref().unwrap_or(&target.label))
            )))
        })
        .collect()
}

/// `output.text` entries with a title and content (any JSON value shown as JSON text).
fn output_texts(output: &Value) -> Vec<OutputText> {
    output
        .get("text")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|text| text.get("if").is_none_or(is_truthy))
        .filter_map(|text| {
            let content = match text.get("content")? {
                Value::String(content) => content.clone(),
                Value::Null => return None,
                other => serde_json::to_string_pretty(other).unwrap_or_default(),
            };
            Some(OutputText {
                title: text_at(text, "/title").unwrap_or_else(|| "Output".to_owned()),
                content,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const EVERYTHING: Allowed = Allowed { cancel: true, retry: true, start_over: true };

    fn event(id: i64, event_type: TaskEventType, body: Value, created_at: i64) -> TaskEventRecord {
        TaskEventRecord { id, task_id: "t".into(), event_type, body, created_at }
    }

    fn task(status: TaskStatus) -> TaskRecord {
        TaskRecord {
            id: "t".into(),
            spec: json!({"steps": [{"id": "a", "name": "First"}, {"id": "b", "name": "Second"}, {"id": "c"}],
                "templateInfo": {"entityRef": "template:default/hello", "entity": {"metadata": {"name": "hello"}}}}),
            status,
            created_at: 0,
            last_heartbeat_at: None,
            created_by: Some("user:default/guest".into()),
            secrets: None,
            state: None,
        }
    }

    #[test]
    fn steps_take_their_state_and_duration_from_the_last_run() {
        let events = vec![
            event(
                1,
                TaskEventType::Log,
                json!({"message": "Beginning step First", "stepId": "a", "status": "processing"}),
                1000,
            ),
            event(2, TaskEventType::Log, json!({"message": "boom", "stepId": "a", "status": "failed"}), 1500),
            event(
                3,
                TaskEventType::Completion,
                json!({"message": "Run completed with status: failed"}),
                1600,
            ),
            event(4, TaskEventType::Recovered, json!({"message": "The task was retried"}), 2000),
            event(
                5,
                TaskEventType::Log,
                json!({"message": "Beginning step First", "stepId": "a", "status": "processing"}),
                3000,
            ),
            event(6, TaskEventType::Log, json!({"message": "hello", "stepId": "a"}), 3100),
            event(
                7,
                TaskEventType::Log,
                json!({"message": "Finished step First", "stepId": "a", "status": "completed"}),
                15_400,
            ),
            event(
                8,
                TaskEventType::Log,
                json!({"message": "Beginning step Second", "stepId": "b", "status": "processing"}),
                15_500,
            ),
        ];
        let part = live_part(&task(TaskStatus::Processing), &events, None, 20_000, EVERYTHING);
        let states: Vec<(&str, Option<&str>)> =
            part.steps.iter().map(|s| (s.label, s.duration.as_deref())).collect();
        assert_eq!(states, [("Completed", Some("12s")), ("Running", Some("4.5s")), ("Waiting", None)]);
        assert_eq!(part.summary, "Running step 2 of 3: Second");
        assert_eq!(part.poll.as_deref(), Some("/create/tasks/t/live"));
        let titles: Vec<&str> = part.groups.iter().map(|g| g.title.as_str()).collect();
        assert_eq!(titles, ["First", "Task", "First", "Second"]);

        let only = live_part(&task(TaskStatus::Processing), &events, Some("b"), 20_000, EVERYTHING);
        assert_eq!(only.filter.as_deref(), Some("Second"));
        assert_eq!(only.groups.len(), 1);
        assert_eq!(only.poll.as_deref(), Some("/create/tasks/t/live?log=b"));
    }

    #[test]
    fn a_cancelled_task_names_its_interrupted_step_and_stops_polling() {
        let events = vec![
            event(
                1,
                TaskEventType::Log,
                json!({"message": "Beginning step First", "stepId": "a", "status": "processing"}),
                1000,
            ),
            event(
                2,
                TaskEventType::Cancelled,
                json!({"message": "Step a has been cancelled.", "stepId": "a", "status": "cancelled"}),
                2000,
            ),
            event(
                3,
                TaskEventType::Completion,
                json!({"message": "Run completed with status: failed", "error": {"name": "Error", "message": "x"}}),
                2100,
            ),
        ];
        let part = live_part(&task(TaskStatus::Failed), &events, None, 3000, EVERYTHING);
        assert_eq!((part.status_class, part.status_label), ("cancelled", "Cancelled"));
        assert_eq!(part.steps[0].label, "Cancelled");
        assert_eq!(part.steps[1].label, "Not run");
        assert!(part.poll.is_none());
        assert!(part.can_retry);
    }

    #[test]
    fn output_links_are_safe_and_entity_refs_point_into_the_catalog() {
        let output = json!({"links": [
            {"title": "Repository", "url": "https://git.example.com/a"},
            {"title": "Evil", "url": "javascript:alert(1)"},
            {"entityRef": "component:default/payments"},
            {"title": "Hidden", "url": "https://x.test", "if": false},
        ], "text": [{"title": "Note", "content": "<b>bold</b>"}]});
        let links: Vec<String> = output_links(&output).into_iter().map(Markup::into_string).collect();
        assert_eq!(links.len(), 3);
        assert!(links[0].contains("href=\"https://git.example.com/a\""));
        assert!(!links[1].contains("<a"));
        assert!(
            links[2].contains("href=\"/catalog/default/component/payments\"")
                && links[2].contains(">component:payments<")
        );
        assert_eq!(output_texts(&output)[0].content, "<b>bold</b>");
    }
}
