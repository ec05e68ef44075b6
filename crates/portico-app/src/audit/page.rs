//! `/admin/audit`: the audit log as a table, newest first, 50 entries a page, filtered by a
//! plain GET form (text in the target, actor, action, outcome; `since` and `until` from the
//! URL are kept). With htmx the form and the page links replace `#audit-body` only.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use portico_plugin::Access;
use portico_plugin::permission::permission::AUDIT_ENTRY_READ;
use portico_store::{AuditEntry, AuditOutcome, AuditStore, now_millis};
use portico_web::components::{Column, Component, DataTable, EmptyState, Pagination};
use portico_web::{Markup, PageContext, PageError, Query, escape};
use serde_json::Value;

use super::{AuditFilters, iso_time};

/// The page's path.
pub(super) const PATH: &str = "/admin/audit";
/// Entries per page.
const PAGE_SIZE: u64 = 50;

pub(super) fn router(store: Arc<dyn AuditStore>) -> Router {
    Router::new().route(PATH, get(audit_page)).with_state(store)
}

/// `GET /admin/audit`.
async fn audit_page(
    State(store): State<Arc<dyn AuditStore>>,
    access: Access,
    cx: PageContext,
) -> Result<Response, PageError> {
    access.require(&AUDIT_ENTRY_READ, None, "audit").await?;
    let query = Query::parse(cx.query.as_deref());
    let filters = AuditFilters::from_query(&query);
    let mut store_query = filters
        .to_query(now_millis())
        .map_err(|message| PageError::bad_request(message).first_link("Show every entry", PATH))?;
    let page = query.one("page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(1).max(1);
    store_query.limit = Some(PAGE_SIZE);
    store_query.offset = Some((page - 1).saturating_mul(PAGE_SIZE));
    let (entries, total) = store
        .list(&store_query)
        .await
        .map_err(|error| PageError::internal(format!("Could not read the audit log: {error}")))?;
    let body = body(&entries, total, page, &query, &filters);
    if cx.fragment {
        return Ok(cx.fragment(body));
    }
    let html = format!(
        "<div class=\"page-header\"><div><h1>Audit log</h1><p class=\"subtitle\">Every change asked of the portal, newest first: who asked, for what, on what, and how it ended. Entries cannot be changed or removed.</p></div></div>{}{}",
        form(&filters),
        body.as_str()
    );
    Ok(cx.page("Audit log", Markup::trusted(html)))
}

/// The filter form, showing the current filters.
fn form(filters: &AuditFilters) -> String {
    let mut outcomes = String::from("<option value=\"\">Any</option>");
    for outcome in AuditOutcome::ALL {
        let selected = if filters.outcome == outcome.as_str() { " selected" } else { "" };
        outcomes.push_str(&format!(
            "<option value=\"{0}\"{selected}>{1}</option>",
            outcome.as_str(),
            outcome_label(outcome)
        ));
    }
    let mut kept = String::new();
    for (name, value) in [("since", &filters.since), ("until", &filters.until)] {
        if !value.is_empty() {
            kept.push_str(&format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(value)));
        }
    }
    format!(
        r##"<form id="audit-form" class="filters search-form" action="{PATH}" method="get" aria-label="Filter the audit log" hx-get="{PATH}" hx-target="#audit-body" hx-swap="outerHTML" hx-push-url="true" hx-trigger="change, submit">{kept}
<label class="field">Target contains <input type="search" name="target" value="{target}" autocomplete="off"></label>
<label class="field">Actor <input type="text" name="actor" value="{actor}" placeholder="user:default/jane" autocomplete="off"></label>
<label class="field">Action <input type="text" name="action" value="{action}" placeholder="catalog.*" autocomplete="off"></label>
<label class="field">Outcome <select name="outcome">{outcomes}</select></label>
<button class="button primary" type="submit">Filter</button>
</form>"##,
        target = escape(&filters.target),
        actor = escape(&filters.actor),
        action = escape(&filters.action),
    )
}

/// The count, the table and the page links: what htmx swaps.
fn body(entries: &[AuditEntry], total: u64, page: u64, query: &Query, filters: &AuditFilters) -> Markup {
    // A link to this view narrowed to one value, back on the first page.
    let narrowed = |name: &str, value: &str| escape(&query.without("page").with(name, value).url(PATH));
    let rows = entries
        .iter()
        .map(|entry| {
            let iso = iso_time(entry.at);
            let shown = iso.replacen('T', " ", 1);
            let shown = shown.split('.').next().unwrap_or_default();
            vec![
                Markup::trusted(format!("<time datetime=\"{}\">{}</time>", escape(&iso), escape(shown))),
                Markup::trusted(format!(
                    "<a href=\"{}\" title=\"Only this actor\">{}</a>",
                    narrowed("actor", &entry.actor),
                    escape(&entry.actor)
                )),
                Markup::trusted(format!(
                    "<a href=\"{}\" title=\"Only this action\"><code>{}</code></a>",
                    narrowed("action", &entry.action),
                    escape(&entry.action)
                )),
                target_cell(entry),
                outcome_badge(entry.outcome),
            ]
        })
        .collect();
    let column = |label: &str, class| Column { label: label.to_owned(), class, sort: None };
    let empty = if filters.is_empty() && page == 1 {
        EmptyState {
            title: "Nothing recorded yet".into(),
            message: "Changes made through the portal, such as registering a location or running a template, appear here.".into(),
            action: None,
        }
    } else {
        EmptyState {
            title: "No entries here".into(),
            message: "No entry matches these filters on this page.".into(),
            action: Some(("Show every entry".into(), PATH.into())),
        }
    };
    let table = DataTable {
        caption: "Audit log entries, newest first".into(),
        columns: vec![
            column("Time (UTC)", "col-created"),
            column("Actor", "col-owner"),
            column("Action", "col-action"),
            column("Target", "col-description"),
            column("Outcome", "col-status"),
        ],
        rows,
        empty: empty.markup(),
        target: Some("#audit-body".into()),
    };
    let pages = Pagination::new(PATH, query, total, page, PAGE_SIZE).with_target("#audit-body");
    Markup::trusted(format!(
        "<section id=\"audit-body\" class=\"card results\" aria-labelledby=\"audit-title\"><div class=\"results-head\"><h2 id=\"audit-title\">Entries <span class=\"count\">{total}</span></h2></div>{}{}</section>",
        table.markup().as_str(),
        pages.markup().as_str()
    ))
}

/// The target, with the details (an error message, ids) below it.
fn target_cell(entry: &AuditEntry) -> Markup {
    let details: Vec<String> = entry
        .details
        .iter()
        .map(|(key, value)| match value {
            Value::String(text) => format!("{key}: {text}"),
            other => format!("{key}: {other}"),
        })
        .collect();
    let mut html = format!("<span class=\"cell-title\">{}</span>", escape(&entry.target));
    if !details.is_empty() {
        html.push_str(&format!("<span class=\"cell-sub\">{}</span>", escape(&details.join(" · "))));
    }
    Markup::trusted(html)
}

fn outcome_label(outcome: AuditOutcome) -> &'static str {
    match outcome {
        AuditOutcome::Succeeded => "Succeeded",
        AuditOutcome::Failed => "Failed",
        AuditOutcome::Denied => "Denied",
    }
}

/// The outcome as a coloured badge (the task badges' colours: green, red, grey).
fn outcome_badge(outcome: AuditOutcome) -> Markup {
    let class = match outcome {
        AuditOutcome::Succeeded => "completed",
        AuditOutcome::Failed => "failed",
        AuditOutcome::Denied => "cancelled",
    };
    Markup::trusted(format!(
        "<span class=\"task-badge task-badge-{class}\"><span class=\"task-badge-dot\" aria-hidden=\"true\"></span>{}</span>",
        outcome_label(outcome)
    ))
}
