//! The `/create` pages: the catalog's templates (`/create`), a template's form as a wizard
//! ending in a review (`/create/templates/:namespace/:name`), a task's live page
//! (`/create/tasks/:id`) and the task history (`/create/tasks`).
//!
//! Every page is rendered on the server and works without JavaScript. htmx filters the
//! template list and the history in place and refreshes a running task's page every second.
//! Forms that change something (create, cancel, retry) are plain posts, refused when another
//! site sent them. Template and task text comes from the catalog and from users: it is
//! escaped everywhere, and links go through [`safe_href`].

mod form;
mod history;
mod list;
mod task;

use axum::Router;
use axum::routing::{get, post};
use portico_model::entity_ref::{EntityRef, RefDefaults};
use portico_web::html::encode_component;
use portico_web::{Markup, NavItem, escape, safe_href};
use serde_json::Value;

use crate::api::ActionRegistry;
use crate::parameters::humanize_entity_ref;
use crate::routes::{ScaffolderApi, iso_time};
use crate::runner::TEMPLATE_API_VERSION;
use crate::template;

/// The sidebar entry.
pub fn nav_item() -> NavItem {
    NavItem { label: "Create".to_owned(), href: "/create".to_owned(), icon: "create", order: 40 }
}

/// The pages.
pub fn router(api: ScaffolderApi) -> Router {
    Router::new()
        .route("/create", get(list::templates))
        .route("/create/templates/{namespace}/{name}", get(form::start).post(form::submit))
        .route("/create/tasks", get(history::tasks))
        .route("/create/tasks/{id}", get(task::page))
        .route("/create/tasks/{id}/live", get(task::live))
        .route("/create/tasks/{id}/cancel", post(task::cancel))
        .route("/create/tasks/{id}/retry", post(task::retry))
        .with_state(api)
}

/// The path of an entity's catalog page: `/catalog/<namespace>/<kind lowercased>/<name>`.
fn entity_path(kind: &str, namespace: &str, name: &str) -> String {
    format!(
        "/catalog/{}/{}/{}",
        encode_component(namespace),
        encode_component(&kind.to_lowercase()),
        encode_component(name)
    )
}

/// The path of a task's page.
fn task_path(id: &str) -> String {
    format!("/create/tasks/{}", encode_component(id))
}

/// The path of a template's form.
fn form_path(namespace: &str, name: &str) -> String {
    format!("/create/templates/{}/{}", encode_component(namespace), encode_component(name))
}

/// An entity reference shown humanised and linked to the entity's catalog page.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RefLink {
    /// The full reference, `group:default/team-a`.
    entity_ref: String,
    /// The reference without the default kind and the `default` namespace.
    label: String,
    href: String,
}

impl RefLink {
    /// Parses `text` (completed with `default_kind` and the `default` namespace); `None` when
    /// it is not a reference.
    fn parse(text: &str, default_kind: Option<&str>) -> Option<RefLink> {
        let parsed = EntityRef::parse(text, RefDefaults { kind: default_kind, namespace: None }).ok()?;
        let entity_ref = parsed.canonical();
        Some(RefLink {
            label: humanize_entity_ref(&entity_ref, default_kind, None),
            href: entity_path(&parsed.kind, &parsed.namespace, &parsed.name),
            entity_ref,
        })
    }

    /// The link as HTML.
    fn markup(&self) -> Markup {
        Markup::trusted(format!("<a href=\"{}\">{}</a>", escape(&self.href), escape(&self.label)))
    }
}

/// A link to a URL from a template or a task: a link when [`safe_href`] allows it, else the
/// label as struck-out text.
fn external_link(label: &str, url: &str, class: &str) -> Markup {
    match safe_href(url) {
        Some(href) => Markup::trusted(format!(
            "<a class=\"{class}\" href=\"{}\" rel=\"noopener noreferrer\">{}</a>",
            escape(href),
            escape(label)
        )),
        None => Markup::trusted(format!(
            "<span class=\"unsafe-link\" title=\"This link is not shown because its address is not a web or mail address\">{}</span>",
            escape(label)
        )),
    }
}

/// A non-blank string at `pointer`.
fn text_at(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer).and_then(Value::as_str).filter(|text| !text.trim().is_empty()).map(str::to_owned)
}

/// What the pages show of a template entity.
#[derive(Debug, Clone)]
struct TemplateSummary {
    namespace: String,
    name: String,
    /// `metadata.title`, else the name.
    title: String,
    description: Option<String>,
    spec_type: Option<String>,
    tags: Vec<String>,
    /// The `ownedBy` relation, else `spec.owner`.
    owner: Option<RefLink>,
    /// Why the template cannot be started here, if it cannot.
    blocked: Option<String>,
    /// Why the viewer may not run the template (the policies' deny reason), if they may not.
    denied: Option<String>,
}

impl TemplateSummary {
    /// Reads a template entity; `registry` tells which of its actions this portal lacks.
    fn from_entity(entity: &Value, registry: &ActionRegistry) -> TemplateSummary {
        let name = text_at(entity, "/metadata/name").unwrap_or_default();
        let owned_by = entity
            .get("relations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|relation| relation.get("type").and_then(Value::as_str) == Some("ownedBy"))
            .and_then(|relation| relation.get("targetRef").and_then(Value::as_str))
            .map(str::to_owned);
        TemplateSummary {
            namespace: text_at(entity, "/metadata/namespace").unwrap_or_else(|| "default".to_owned()),
            title: text_at(entity, "/metadata/title").unwrap_or_else(|| name.clone()),
            name,
            description: text_at(entity, "/metadata/description"),
            spec_type: text_at(entity, "/spec/type"),
            tags: entity
                .pointer("/metadata/tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            owner: owned_by
                .or_else(|| text_at(entity, "/spec/owner"))
                .and_then(|owner| RefLink::parse(&owner, Some("group"))),
            blocked: blocked_reason(entity, registry),
            denied: None,
        }
    }

    /// Whether the viewer can start the template: it runs here and they may run it.
    fn startable(&self) -> bool {
        self.blocked.is_none() && self.denied.is_none()
    }

    fn form_path(&self) -> String {
        form_path(&self.namespace, &self.name)
    }

    fn catalog_path(&self) -> String {
        entity_path("template", &self.namespace, &self.name)
    }
}

/// Why a template cannot run on this portal: a version the runner does not execute, or
/// steps using actions it does not have.
fn blocked_reason(template: &Value, registry: &ActionRegistry) -> Option<String> {
    let api_version = template.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    if api_version != TEMPLATE_API_VERSION {
        return Some(format!(
            "This template is written for {api_version}; only {TEMPLATE_API_VERSION} templates can be run."
        ));
    }
    let missing: Vec<String> =
        template::step_actions(template).into_iter().filter(|action| registry.get(action).is_err()).collect();
    match missing.len() {
        0 => None,
        1 => Some(format!("This template uses the action {}, which this portal does not have.", missing[0])),
        _ => Some(format!("This template uses actions this portal does not have: {}.", missing.join(", "))),
    }
}

/// A moment as `<time>`: how long ago, with the exact UTC time as its tooltip.
fn time_markup(millis: i64, now: i64) -> Markup {
    let iso = iso_time(millis);
    Markup::trusted(format!(
        "<time datetime=\"{iso}\" title=\"{}\">{}</time>",
        readable_time(millis),
        escape(&ago(millis, now))
    ))
}

/// `2024-02-29 12:34 UTC`.
fn readable_time(millis: i64) -> String {
    let iso = iso_time(millis);
    format!("{} {} UTC", &iso[..10], &iso[11..16])
}

/// `just now`, `5 minutes ago`, `3 hours ago`, `2 days ago`; older moments as a date.
fn ago(millis: i64, now: i64) -> String {
    let seconds = (now - millis).max(0) / 1000;
    let plural = |count: i64, unit: &str| {
        if count == 1 { format!("1 {unit} ago") } else { format!("{count} {unit}s ago") }
    };
    match seconds {
        0..=44 => "just now".to_owned(),
        45..=3599 => plural((seconds / 60).max(1), "minute"),
        3600..=86_399 => plural(seconds / 3600, "hour"),
        86_400..=2_591_999 => plural(seconds / 86_400, "day"),
        _ => readable_time(millis),
    }
}

/// A duration as people say it: `<0.1s`, `0.4s`, `12s`, `3m 05s`, `2h 07m`.
fn duration_text(millis: i64) -> String {
    let millis = millis.max(0);
    if millis < 100 {
        return "<0.1s".to_owned();
    }
    if millis < 10_000 {
        return format!("{:.1}s", millis as f64 / 1000.0);
    }
    let seconds = millis / 1000;
    match seconds {
        0..=59 => format!("{seconds}s"),
        60..=3599 => format!("{}m {:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h {:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn durations_and_ages_read_naturally() {
        assert_eq!(duration_text(40), "<0.1s");
        assert_eq!(duration_text(400), "0.4s");
        assert_eq!(duration_text(12_300), "12s");
        assert_eq!(duration_text(185_000), "3m 05s");
        assert_eq!(duration_text(7_620_000), "2h 07m");
        let now = 1_709_210_096_789;
        assert_eq!(ago(now - 10_000, now), "just now");
        assert_eq!(ago(now - 60_000, now), "1 minute ago");
        assert_eq!(ago(now - 3 * 3_600_000, now), "3 hours ago");
        assert_eq!(ago(now - 40 * 86_400_000, now), "2024-01-20 12:34 UTC");
    }

    #[test]
    fn refs_link_to_the_catalog_humanised() {
        let owner = RefLink::parse("team-a", Some("group")).unwrap();
        assert_eq!(owner.entity_ref, "group:default/team-a");
        assert_eq!(owner.label, "team-a");
        assert_eq!(owner.href, "/catalog/default/group/team-a");
        let user = RefLink::parse("user:ops/jane", Some("group")).unwrap();
        assert_eq!((user.label.as_str(), user.href.as_str()), ("user:ops/jane", "/catalog/ops/user/jane"));
    }

    #[test]
    fn script_urls_are_not_links() {
        assert!(!external_link("x", "javascript:alert(1)", "button").as_str().contains("<a"));
        let link = external_link("<b>", "https://x.test/?a=1&b=2", "button").into_string();
        assert_eq!(
            link,
            "<a class=\"button\" href=\"https://x.test/?a=1&amp;b=2\" rel=\"noopener noreferrer\">&lt;b&gt;</a>"
        );
    }

    #[test]
    fn templates_with_missing_actions_or_other_versions_are_blocked() {
        let registry = ActionRegistry::new();
        let template = json!({"apiVersion": TEMPLATE_API_VERSION, "kind": "Template",
            "metadata": {"name": "t"}, "spec": {"steps": [{"action": "publish:github"}, {"action": "x:y"}]}});
        assert_eq!(
            blocked_reason(&template, &registry).unwrap(),
            "This template uses actions this portal does not have: publish:github, x:y."
        );
        let old = json!({"apiVersion": "scaffolder.backstage.io/v1beta2", "spec": {"steps": []}});
        assert!(blocked_reason(&old, &registry).unwrap().contains("v1beta2"));
        let empty = json!({"apiVersion": TEMPLATE_API_VERSION, "spec": {"steps": []}});
        assert_eq!(blocked_reason(&empty, &registry), None);
    }
}
