//! `/create/templates/:namespace/:name`: a template's parameter pages as a wizard, one page
//! at a time, then a review, then *Create*.
//!
//! The values given so far travel with each post as JSON in a hidden input (`wizard:values`),
//! with the page they were posted from (`wizard:page`) and the button pressed (`wizard:nav`:
//! `back`, `next`, `edit:<page>` or `create`). Nothing is kept on the server between pages.
//! *Next* checks the page (the form's own checks first, then the page's schema) and stays on
//! it with the errors beside the fields; *Create* checks every shown page again, so a
//! hand-made post cannot skip validation. Pages whose `if` is false for the values are
//! skipped. Without JavaScript, fields that a choice reveals appear when the page is posted:
//! the page is shown again instead of moving on.
//!
//! The template is read as the viewer may read it: pages they may not read are neither shown
//! nor checked, pickers offer the entities they may read, and a template they may not run is
//! shown with the reason instead of its form.

use std::collections::HashSet;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use portico_model::entity_ref::EntityRef;
use portico_plugin::Access;
use portico_plugin::permission::permission::{SCAFFOLDER_TASK_CREATE, SCAFFOLDER_TASK_READ};
use portico_plugin::permission::{Decision, Resource};
use portico_web::components::{Component, Tags};
use portico_web::{ErrorKind, Markup, PageContext, PageError, Query, check_same_origin, see_other};
use serde_json::{Value, json};

use super::{TemplateSummary, task_path};
use crate::api::{Secrets, TaskUser};
use crate::parameters::{
    DEFAULT_PAGE_TITLE, FormContext, PageForm, PickerCatalog, ReviewRow, ValidationError, Widget, page_form,
    page_is_shown, render_page, review_rows, validate_form, validate_values, values_from_form,
};
use crate::routes::{self, ScaffolderApi, load_template, serialize_task};
use crate::template;

/// The hidden input carrying the values so far, as JSON.
const VALUES: &str = "wizard:values";
/// The hidden input naming the page posted from (the page count for the review).
const PAGE: &str = "wizard:page";
/// The name of the wizard's buttons.
const NAV: &str = "wizard:nav";
/// The most entities a page with pickers reads from the catalog.
const PICKER_ENTITY_LIMIT: usize = 5000;
/// The fields that pick catalog entities.
const PICKER_FIELDS: [&str; 5] =
    ["EntityPicker", "OwnerPicker", "OwnedEntityPicker", "MultiEntityPicker", "MyGroupsPicker"];

/// Where the wizard is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A parameter page, by its index in the template's list.
    Page(usize),
    Review,
}

/// The template being filled in, and by whom.
struct Wizard {
    access: Access,
    template: Value,
    template_ref: String,
    summary: TemplateSummary,
    pages: Vec<Value>,
    back_label: String,
    review_label: String,
    create_label: String,
    /// Secrets the template declares a schema for; this form cannot ask for them.
    secrets: Option<Vec<String>>,
    /// The steps a task runs, `(name, action)`.
    steps: Vec<(String, String)>,
}

impl Wizard {
    async fn load(
        api: &ScaffolderApi,
        access: Access,
        namespace: &str,
        name: &str,
    ) -> Result<Wizard, PageError> {
        let template_ref = format!("template:{namespace}/{name}");
        let template =
            load_template(api.catalog.as_ref(), &access, &template_ref).await.map_err(|error| match error
                .kind
            {
                ErrorKind::NotFound | ErrorKind::Input => PageError::not_found(
                    "Template not found",
                    format!("There is no template {namespace}/{name} in the catalog."),
                )
                .first_link("Browse the templates", "/create"),
                _ => PageError::internal(format!("Could not read the template: {}", error.message)),
            })?;
        let label = |key: &str, default: &str| {
            template
                .pointer(&format!("/spec/presentation/buttonLabels/{key}"))
                .and_then(Value::as_str)
                .filter(|text| !text.trim().is_empty())
                .unwrap_or(default)
                .to_owned()
        };
        let secrets = template::secrets_schema(&template).map(|schema| {
            schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
        let steps = template
            .pointer("/spec/steps")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|step| {
                let action = step.get("action").and_then(Value::as_str).unwrap_or_default().to_owned();
                let name = ["name", "id"]
                    .iter()
                    .find_map(|key| {
                        step.get(*key).and_then(Value::as_str).filter(|text| !text.trim().is_empty())
                    })
                    .unwrap_or(&action)
                    .to_owned();
                (name, action)
            })
            .collect();
        let mut summary = TemplateSummary::from_entity(&template, api.tasks.registry());
        if let Decision::Deny { reason } =
            access.decide(&SCAFFOLDER_TASK_CREATE, Some(Resource::Entity(&template)))
        {
            summary.denied = Some(reason);
        }
        Ok(Wizard {
            access,
            steps,
            summary,
            pages: template::parameter_pages(&template),
            back_label: label("backButtonText", "Back"),
            review_label: label("reviewButtonText", "Review"),
            create_label: label("createButtonText", "Create"),
            secrets,
            template_ref,
            template,
        })
    }

    fn shown(&self, index: usize, values: &Value) -> bool {
        page_is_shown(&self.pages[index], values)
    }

    /// The first shown page after `after` (from the start for `None`), else the review.
    fn next_step(&self, after: Option<usize>, values: &Value) -> Step {
        let start = after.map_or(0, |index| index + 1);
        (start..self.pages.len()).find(|&index| self.shown(index, values)).map_or(Step::Review, Step::Page)
    }

    /// The last shown page before `before`.
    fn previous_page(&self, before: usize, values: &Value) -> Option<usize> {
        (0..before.min(self.pages.len())).rev().find(|&index| self.shown(index, values))
    }

    /// Secrets the template requires, which block creating from this form.
    fn required_secrets(&self) -> &[String] {
        self.secrets.as_deref().unwrap_or_default()
    }
}

/// A message above the form.
struct Notice {
    /// `error`, `warn` or `info`.
    class: &'static str,
    title: String,
    text: String,
    /// Links to the fields in error, `(text, #id)`.
    links: Vec<(String, String)>,
}

impl Notice {
    fn new(class: &'static str, title: impl Into<String>, text: impl Into<String>) -> Notice {
        Notice { class, title: title.into(), text: text.into(), links: Vec::new() }
    }
}

/// One entry of the step indicator.
struct StepItem {
    number: usize,
    title: String,
    /// `done`, `current` or `upcoming`.
    state: &'static str,
}

#[derive(Template)]
#[template(path = "create_form.html")]
struct FormPage<'a> {
    summary: &'a TemplateSummary,
    /// The template's steps, `(name, action)`, for the side panel.
    actions: &'a [(String, String)],
    tags: Markup,
    owner: Option<Markup>,
    steps: Vec<StepItem>,
    notices: Vec<Notice>,
    action: String,
    /// The page's content, or `None` when the template cannot be started.
    content: Option<Markup>,
    labelled_by: &'static str,
    values_json: String,
    page_index: usize,
    back_label: Option<&'a str>,
    primary_nav: &'static str,
    primary_label: &'a str,
    primary_disabled: bool,
}

#[derive(Template)]
#[template(path = "create_form_page.html")]
struct PageContent<'a> {
    form: &'a PageForm,
    number: usize,
    count: usize,
    fields: Markup,
}

/// The review's rows of one page.
struct ReviewGroup {
    index: usize,
    title: String,
    rows: Vec<ReviewRow>,
}

#[derive(Template)]
#[template(path = "create_review.html")]
struct ReviewContent<'a> {
    groups: Vec<ReviewGroup>,
    others: Vec<ReviewRow>,
    create_label: &'a str,
}

/// `GET /create/templates/:namespace/:name`: the first page, with the schema's defaults; with
/// `?from=<task id>`, filled in with that task's values.
pub(super) async fn start(
    State(api): State<ScaffolderApi>,
    Path((namespace, name)): Path<(String, String)>,
    access: Access,
    cx: PageContext,
) -> Result<Response, PageError> {
    let wizard = Wizard::load(&api, access, &namespace, &name).await?;
    let values = prefill(&api, &wizard, cx.query.as_deref()).await;
    let step = wizard.next_step(None, &values);
    Ok(render(&api, &cx, &wizard, step, &values, &[], Vec::new()).await)
}

/// The values of the task named by `?from=`, when it ran this template and the viewer may read
/// it.
async fn prefill(api: &ScaffolderApi, wizard: &Wizard, query: Option<&str>) -> Value {
    let query = Query::parse(query);
    let Some(id) = query.one("from") else { return json!({}) };
    let Ok(task) = api.tasks.task(id).await else { return json!({}) };
    if !wizard.access.allows(&SCAFFOLDER_TASK_READ, Some(Resource::Task(&serialize_task(&task)))) {
        return json!({});
    }
    let same_template = task
        .spec
        .pointer("/templateInfo/entityRef")
        .and_then(Value::as_str)
        .is_some_and(|entity_ref| entity_ref.eq_ignore_ascii_case(&wizard.template_ref));
    match task.spec.get("parameters") {
        Some(values @ Value::Object(_)) if same_template => values.clone(),
        _ => json!({}),
    }
}

/// `POST /create/templates/:namespace/:name`: a page's Back or Next, or the review's Edit,
/// Back or Create.
pub(super) async fn submit(
    State(api): State<ScaffolderApi>,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
    access: Access,
    cx: PageContext,
    body: Bytes,
) -> Result<Response, PageError> {
    check_same_origin(&headers)?;
    let wizard = Wizard::load(&api, access, &namespace, &name).await?;
    let mut values = json!({});
    let mut index = 0;
    let mut nav = String::from("next");
    let mut fields: Vec<(String, String)> = Vec::new();
    for (key, value) in url::form_urlencoded::parse(&body) {
        match key.as_ref() {
            VALUES => {
                values =
                    serde_json::from_str::<Value>(&value).ok().filter(Value::is_object).unwrap_or(values);
            }
            PAGE => index = value.parse::<usize>().unwrap_or(0).min(wizard.pages.len()),
            NAV => nav = value.into_owned(),
            _ => fields.push((key.into_owned(), value.into_owned())),
        }
    }
    if !wizard.summary.startable() {
        return Ok(render(&api, &cx, &wizard, Step::Review, &values, &[], Vec::new()).await);
    }

    if index < wizard.pages.len() {
        let page = &wizard.pages[index];
        let previous = values;
        let values = values_from_form(page, &fields, &previous);
        if nav == "back" {
            let step = wizard.previous_page(index, &values).map_or(Step::Page(index), Step::Page);
            return Ok(render(&api, &cx, &wizard, step, &values, &[], Vec::new()).await);
        }
        if field_names(page, &previous) != field_names(page, &values) {
            let notice = Notice::new(
                "info",
                "New questions appeared.",
                "Your answers made more questions relevant on this page. Check them, then continue.",
            );
            return Ok(render(&api, &cx, &wizard, Step::Page(index), &values, &[], vec![notice]).await);
        }
        let errors = page_errors(page, &values);
        if !errors.is_empty() {
            return Ok(render(&api, &cx, &wizard, Step::Page(index), &values, &errors, Vec::new()).await);
        }
        let step = wizard.next_step(Some(index), &values);
        return Ok(render(&api, &cx, &wizard, step, &values, &[], Vec::new()).await);
    }

    if nav == "back" {
        let step = wizard.previous_page(wizard.pages.len(), &values).map_or(Step::Review, Step::Page);
        return Ok(render(&api, &cx, &wizard, step, &values, &[], Vec::new()).await);
    }
    if let Some(page) = nav.strip_prefix("edit:").and_then(|page| page.parse::<usize>().ok())
        && page < wizard.pages.len()
        && wizard.shown(page, &values)
    {
        return Ok(render(&api, &cx, &wizard, Step::Page(page), &values, &[], Vec::new()).await);
    }
    if nav != "create" {
        return Ok(render(&api, &cx, &wizard, Step::Review, &values, &[], Vec::new()).await);
    }
    create(&api, &cx, &wizard, values).await
}

/// Checks that the viewer may run the template, every shown page and the values as a whole,
/// then creates the task and sends the browser to its page.
async fn create(
    api: &ScaffolderApi,
    cx: &PageContext,
    wizard: &Wizard,
    values: Value,
) -> Result<Response, PageError> {
    let access = &wizard.access;
    routes::require_create(access, &wizard.template, &wizard.template_ref).await?;
    for index in (0..wizard.pages.len()).filter(|&index| wizard.shown(index, &values)) {
        let errors = page_errors(&wizard.pages[index], &values);
        if !errors.is_empty() {
            return Ok(render(api, cx, wizard, Step::Page(index), &values, &errors, Vec::new()).await);
        }
    }
    if let Err(errors) = validate_values(&wizard.pages, &values) {
        let mut notice =
            Notice::new("error", "These values cannot be used.", "Go back to the pages and correct them:");
        notice.links = errors.iter().map(|error| (error.stack.clone(), String::new())).collect();
        return Ok(render(api, cx, wizard, Step::Review, &values, &[], vec![notice]).await);
    }
    if !wizard.required_secrets().is_empty() {
        return Ok(render(api, cx, wizard, Step::Review, &values, &[], Vec::new()).await);
    }
    let identity = cx.viewer.identity().to_owned();
    let entity_ref = cx.viewer.user_ref.clone().unwrap_or_else(|| identity.clone());
    let entity = api.catalog.get_entity_by_ref(&entity_ref, access).await.ok().flatten();
    let user = TaskUser { entity_ref: identity, entity };
    let id = routes::create(api, access, &cx.viewer, &wizard.template, values, Secrets::new(), user)
        .await
        .map_err(|error| {
            PageError::new(error.kind.status(), "The task could not be created", error.message)
                .first_link("Back to the templates", "/create")
        })?;
    Ok(see_other(&task_path(&id)))
}

/// The page's errors: the form's own checks first, then the page's schema.
fn page_errors(page: &Value, values: &Value) -> Vec<ValidationError> {
    let errors = validate_form(page, values);
    if !errors.is_empty() {
        return errors;
    }
    validate_values(std::slice::from_ref(page), values).err().unwrap_or_default()
}

/// The names of the fields a page shows for these values.
fn field_names(page: &Value, values: &Value) -> Vec<String> {
    page_form(page, values, &[], &FormContext::default()).fields.into_iter().map(|field| field.name).collect()
}

/// Whether a schema has a field that picks catalog entities.
fn uses_pickers(schema: &Value) -> bool {
    match schema {
        Value::Object(object) => object.iter().any(|(key, value)| {
            (key == "ui:field" && value.as_str().is_some_and(|field| PICKER_FIELDS.contains(&field)))
                || uses_pickers(value)
        }),
        Value::Array(items) => items.iter().any(uses_pickers),
        _ => false,
    }
}

/// The refs the user owns through: the user and the groups it is a member of.
fn ownership_refs(entities: &[Value], user_ref: Option<&str>) -> Vec<String> {
    let Some(user_ref) = user_ref else { return Vec::new() };
    let mut refs = vec![user_ref.to_owned()];
    let user = entities.iter().find(|entity| {
        EntityRef::from_entity(entity)
            .is_some_and(|entity_ref| entity_ref.canonical().eq_ignore_ascii_case(user_ref))
    });
    refs.extend(
        user.and_then(|user| user.get("relations"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|relation| relation.get("type").and_then(Value::as_str) == Some("memberOf"))
            .filter_map(|relation| relation.get("targetRef").and_then(Value::as_str))
            .map(str::to_lowercase),
    );
    refs
}

/// Focuses the first field in error instead of the template's autofocus field.
fn focus_first_error(form: &mut PageForm) {
    let Some(first) = form.fields.iter().position(|field| {
        !field.errors.is_empty() && !matches!(field.widget, Widget::Section | Widget::Hidden)
    }) else {
        return;
    };
    for (index, field) in form.fields.iter_mut().enumerate() {
        field.autofocus = index == first;
    }
}

/// The rows of the review, by shown page, and the values no shown page has.
fn review_groups(pages: &[Value], values: &Value) -> (Vec<ReviewGroup>, Vec<ReviewRow>) {
    let rows = review_rows(pages, values);
    let mut placed: HashSet<String> = HashSet::new();
    let mut groups = Vec::new();
    for (index, page) in pages.iter().enumerate().filter(|(_, page)| page_is_shown(page, values)) {
        let form = page_form(page, values, &[], &FormContext::default());
        let names: HashSet<&str> = form.fields.iter().map(|field| field.name.as_str()).collect();
        let page_rows: Vec<ReviewRow> =
            rows.iter().filter(|row| names.contains(row.name.as_str())).cloned().collect();
        placed.extend(page_rows.iter().map(|row| row.name.clone()));
        groups.push(ReviewGroup { index, title: form.title, rows: page_rows });
    }
    let others = rows.into_iter().filter(|row| !placed.contains(&row.name)).collect();
    (groups, others)
}

/// Renders a step of the wizard (or, for a template that cannot be started, why).
async fn render(
    api: &ScaffolderApi,
    cx: &PageContext,
    wizard: &Wizard,
    step: Step,
    values: &Value,
    errors: &[ValidationError],
    mut notices: Vec<Notice>,
) -> Response {
    let summary = &wizard.summary;
    let action = summary.form_path();
    let values_json = serde_json::to_string(values).unwrap_or_else(|_| "{}".to_owned());
    let refusal = match (&summary.blocked, &summary.denied) {
        (Some(reason), _) => Some(("This template cannot be started here.", reason)),
        (None, Some(reason)) => Some(("You may not run this template.", reason)),
        (None, None) => None,
    };
    if let Some((title, reason)) = refusal {
        notices.insert(0, Notice::new("warn", title, reason.clone()));
        let page = FormPage {
            summary,
            actions: &wizard.steps,
            tags: Tags::plain(&summary.tags).markup(),
            owner: summary.owner.as_ref().map(|owner| owner.markup()),
            steps: Vec::new(),
            notices,
            action,
            content: None,
            labelled_by: "",
            values_json,
            page_index: 0,
            back_label: None,
            primary_nav: "",
            primary_label: "",
            primary_disabled: true,
        };
        return cx.page(&summary.title, page.markup());
    }
    let required_secrets = wizard.required_secrets();
    if wizard.secrets.is_some() {
        let (class, text) = if required_secrets.is_empty() {
            (
                "info",
                "This template accepts secrets, which this form cannot send; it runs without them."
                    .to_owned(),
            )
        } else {
            (
                "warn",
                format!(
                    "This template needs secrets ({}), which this form cannot send. Create its tasks through the API (POST /api/scaffolder/v2/tasks) instead.",
                    required_secrets.join(", ")
                ),
            )
        };
        notices.push(Notice::new(class, "Secrets", text));
    }

    let shown: Vec<usize> = (0..wizard.pages.len()).filter(|&index| wizard.shown(index, values)).collect();
    let position = match step {
        Step::Page(index) => shown.iter().position(|&shown| shown == index).unwrap_or(0),
        Step::Review => shown.len(),
    };
    let mut steps: Vec<StepItem> = shown
        .iter()
        .enumerate()
        .map(|(number, &index)| StepItem {
            number: number + 1,
            title: wizard.pages[index]
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or(DEFAULT_PAGE_TITLE)
                .to_owned(),
            state: step_state(number, position),
        })
        .collect();
    steps.push(StepItem {
        number: shown.len() + 1,
        title: wizard.review_label.clone(),
        state: step_state(shown.len(), position),
    });

    match step {
        Step::Page(index) => {
            let page = &wizard.pages[index];
            let entities: Vec<Value> = if uses_pickers(page) {
                api.catalog.entities_matching(&wizard.access, None, PICKER_ENTITY_LIMIT).await.unwrap_or_else(
                    |error| {
                        tracing::warn!(%error, "could not read the catalog for a template form's pickers");
                        Vec::new()
                    },
                )
            } else {
                Vec::new()
            };
            let owned_through = ownership_refs(&entities, cx.viewer.user_ref.as_deref());
            let context = FormContext {
                catalog: Some(&entities as &dyn PickerCatalog),
                scm_hosts: &api.scm_hosts,
                user_ref: cx.viewer.user_ref.as_deref(),
                ownership_refs: &owned_through,
            };
            let mut form = page_form(page, values, errors, &context);
            focus_first_error(&mut form);
            let invalid: Vec<(String, String)> = form
                .fields
                .iter()
                .filter(|field| !field.errors.is_empty())
                .map(|field| {
                    (format!("{}: {}", field.label, field.errors.join(" ")), format!("#{}", field.id))
                })
                .collect();
            if !invalid.is_empty() || !form.errors.is_empty() {
                let count = invalid.len() + form.errors.len();
                let mut notice = Notice::new(
                    "error",
                    if count == 1 { "One answer needs attention." } else { "Some answers need attention." },
                    "Correct the highlighted fields to continue.",
                );
                notice.links = invalid;
                notices.insert(0, notice);
            }
            let content = PageContent {
                form: &form,
                number: position + 1,
                count: shown.len(),
                fields: render_page(&form),
            };
            let next = wizard.next_step(Some(index), values);
            let page = FormPage {
                summary,
                actions: &wizard.steps,
                tags: Tags::plain(&summary.tags).markup(),
                owner: summary.owner.as_ref().map(|owner| owner.markup()),
                steps,
                notices,
                action,
                content: Some(content.markup()),
                labelled_by: "create-page-title",
                values_json,
                page_index: index,
                back_label: wizard.previous_page(index, values).map(|_| wizard.back_label.as_str()),
                primary_nav: "next",
                primary_label: if next == Step::Review { &wizard.review_label } else { "Next" },
                primary_disabled: false,
            };
            cx.page(&format!("{} · {}", form.title, summary.title), page.markup())
        }
        Step::Review => {
            let (groups, others) = review_groups(&wizard.pages, values);
            let content = ReviewContent { groups, others, create_label: &wizard.create_label };
            let page = FormPage {
                summary,
                actions: &wizard.steps,
                tags: Tags::plain(&summary.tags).markup(),
                owner: summary.owner.as_ref().map(|owner| owner.markup()),
                steps,
                notices,
                action,
                content: Some(content.markup()),
                labelled_by: "create-review-title",
                values_json,
                page_index: wizard.pages.len(),
                back_label: wizard
                    .previous_page(wizard.pages.len(), values)
                    .map(|_| wizard.back_label.as_str()),
                primary_nav: "create",
                primary_label: &wizard.create_label,
                primary_disabled: !required_secrets.is_empty(),
            };
            cx.page(&format!("Review · {}", summary.title), page.markup())
        }
    }
}

/// The state of the step at `number` (0-based) when the wizard is at `position`.
fn step_state(number: usize, position: usize) -> &'static str {
    match number.cmp(&position) {
        std::cmp::Ordering::Less => "done",
        std::cmp::Ordering::Equal => "current",
        std::cmp::Ordering::Greater => "upcoming",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pickers_are_found_anywhere_in_a_page() {
        let page = json!({"properties": {"a": {"type": "object", "properties": {"owner": {"type": "string", "ui:field": "OwnerPicker"}}}}});
        assert!(uses_pickers(&page));
        assert!(!uses_pickers(
            &json!({"properties": {"name": {"type": "string", "ui:field": "EntityNamePicker"}}})
        ));
    }

    #[test]
    fn ownership_goes_through_the_users_groups() {
        let entities = vec![
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "User", "metadata": {"name": "jane"},
            "relations": [{"type": "memberOf", "targetRef": "group:default/team-a"}, {"type": "ownerOf", "targetRef": "component:default/x"}]}),
        ];
        assert_eq!(
            ownership_refs(&entities, Some("user:default/jane")),
            ["user:default/jane", "group:default/team-a"]
        );
        assert!(ownership_refs(&entities, None).is_empty());
    }

    #[test]
    fn review_rows_are_grouped_by_page_and_hidden_pages_go_to_the_others() {
        let pages = vec![
            json!({"title": "One", "properties": {"name": {"type": "string", "title": "Name"}}}),
            json!({"title": "Two", "if": "${{ parameters.more }}", "properties": {"extra": {"type": "string"}}}),
        ];
        let values = json!({"name": "svc", "extra": "kept"});
        let (groups, others) = review_groups(&pages, &values);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].rows[0].value, "svc");
        assert_eq!(others.iter().map(|row| row.name.as_str()).collect::<Vec<_>>(), ["extra"]);
    }
}
