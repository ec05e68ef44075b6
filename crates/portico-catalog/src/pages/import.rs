//! Registering and unregistering locations from the browser.
//!
//! * `/catalog-import`: a form taking the URL (or, when `catalog.allowedLocationTypes` allows
//!   it, the path) of a `catalog-info.yaml`; *Analyze* runs a dry run and lists what the file
//!   holds, *Register* stores the location and links to the new entities.
//! * `/catalog/:namespace/:kind/:name/unregister`: a confirmation listing the entity's origin
//!   location and every entity that came from it, then the removal.
//!
//! Both are plain form posts (htmx swaps the result in place when present), refused when
//! another site sent them.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use portico_plugin::Access;
use portico_plugin::permission::permission::{
    CATALOG_ENTITY_DELETE, CATALOG_LOCATION_ANALYZE, CATALOG_LOCATION_CREATE, CATALOG_LOCATION_DELETE,
};
use portico_plugin::permission::{Decision, Resource};
use portico_store::LocationRecord;
use portico_web::{Markup, PageContext, PageError, Viewer, escape, see_other};
use serde::Deserialize;
use serde_json::Value;

use super::entity::{Subject, find};
use super::{CatalogPages, EntitySummary};
use crate::engine::EngineError;
use crate::engine::location::{ANNOTATION_ORIGIN_LOCATION, annotation};
use crate::index::EntityFilter;

/// The import form's fields.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ImportForm {
    #[serde(default)]
    target: String,
    /// `analyze` (default) or `register`.
    #[serde(default)]
    step: String,
}

/// What the import page shows below the form.
enum Outcome {
    Nothing,
    Error(String),
    Analyzed { kind: String, target: String, entities: Vec<Value>, exists: bool },
    Registered { kind: String, target: String, entities: Vec<Value> },
}

/// `GET /catalog-import`.
pub(super) async fn import_page(
    State(pages): State<CatalogPages>,
    access: Access,
    cx: PageContext,
) -> Response {
    let outcome = match access.decide(&CATALOG_LOCATION_CREATE, None) {
        Decision::Allow => Outcome::Nothing,
        Decision::Deny { reason } => Outcome::Error(format!("You may not register locations: {reason}")),
    };
    render_import(&pages, &cx, "", outcome)
}

/// `POST /catalog-import`: analyze or register.
pub(super) async fn import(
    State(pages): State<CatalogPages>,
    headers: HeaderMap,
    access: Access,
    cx: PageContext,
    Form(form): Form<ImportForm>,
) -> Result<Response, PageError> {
    portico_web::check_same_origin(&headers)?;
    let target = form.target.trim().to_owned();
    let register = (form.step == "register").then_some(&cx.viewer);
    let permission = if register.is_some() { &CATALOG_LOCATION_CREATE } else { &CATALOG_LOCATION_ANALYZE };
    if let Err(denied) = access.require(permission, None, &target).await {
        return Ok(render_import(&pages, &cx, &target, Outcome::Error(denied.message)));
    }
    let outcome = analyze_or_register(&pages, &target, register).await;
    Ok(render_import(&pages, &cx, &target, outcome))
}

/// The location type of what the user typed: URLs are `url`, anything else a `file` path.
fn location_type(target: &str) -> &'static str {
    let lower = target.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") { "url" } else { "file" }
}

/// Analyzes `target`, and registers it when `register` names who asks.
async fn analyze_or_register(pages: &CatalogPages, target: &str, register: Option<&Viewer>) -> Outcome {
    if target.is_empty() {
        return Outcome::Error("Enter the URL of a catalog-info.yaml file.".to_owned());
    }
    let kind = location_type(target);
    let allowed = &pages.engine.config().allowed_location_types;
    if !allowed.iter().any(|t| t == kind) {
        let what = if kind == "file" { "File paths" } else { "URLs" };
        return Outcome::Error(format!(
            "{what} cannot be registered here: catalog.allowedLocationTypes allows only {}.",
            allowed.join(", ")
        ));
    }
    let entities = match pages.engine.dry_run(kind, target).await {
        // The generated root Location comes first; it is not what the user registers.
        Ok(entities) => entities.into_iter().skip(1).collect::<Vec<_>>(),
        Err(error) => return Outcome::Error(error.message),
    };
    let exists = match pages.engine.find_location(kind, target).await {
        Ok(found) => found.is_some(),
        Err(error) => return Outcome::Error(error.to_string()),
    };
    let Some(viewer) = register else {
        return Outcome::Analyzed { kind: kind.to_owned(), target: target.to_owned(), entities, exists };
    };
    if pages.engine.config().readonly {
        return Outcome::Error(
            "The catalog is read-only (catalog.readonly): nothing can be registered.".to_owned(),
        );
    }
    let registered = pages.engine.register_location(kind, target).await;
    pages
        .audit
        .result(viewer, "catalog.location.create", &format!("{kind}:{target}"), &registered, Value::Null)
        .await;
    match registered {
        Ok(_) => Outcome::Registered { kind: kind.to_owned(), target: target.to_owned(), entities },
        Err(EngineError::Conflict(message)) => {
            Outcome::Error(format!("{message}: it is registered already."))
        }
        Err(error) => Outcome::Error(error.to_string()),
    }
}

fn entity_rows(entities: &[Value], linked: bool) -> String {
    let mut html = String::from(
        "<table class=\"data-table\"><thead><tr><th>Kind</th><th>Name</th><th>Namespace</th></tr></thead><tbody>",
    );
    for entity in entities {
        let summary = EntitySummary::from_json(entity);
        let name = if linked {
            format!("<a href=\"{}\">{}</a>", escape(&summary.path()), escape(summary.display_name()))
        } else {
            escape(summary.display_name())
        };
        let _ = write!(
            html,
            "<tr><td><span class=\"kind-dot kind-{}\" aria-hidden=\"true\"></span>{}</td><td>{name}</td><td>{}</td></tr>",
            escape(&summary.kind.to_lowercase()),
            escape(&summary.kind),
            escape(&summary.namespace)
        );
    }
    html.push_str("</tbody></table>");
    html
}

fn render_import(pages: &CatalogPages, cx: &PageContext, target: &str, outcome: Outcome) -> Response {
    let allowed = &pages.engine.config().allowed_location_types;
    let files = allowed.iter().any(|t| t == "file");
    let mut result = String::new();
    match &outcome {
        Outcome::Nothing => {}
        Outcome::Error(message) => {
            let _ = write!(
                result,
                "<div class=\"notice error\" role=\"alert\"><strong>Could not import.</strong> {}</div>",
                escape(message)
            );
        }
        Outcome::Analyzed { kind, target, entities, exists } => {
            let _ = write!(
                result,
                "<section class=\"card\" aria-labelledby=\"review-title\"><h2 id=\"review-title\">Review <span class=\"count\">{}</span></h2><p>The {kind} location <code>{}</code> holds these entities:</p>",
                entities.len(),
                escape(target),
            );
            result.push_str(&entity_rows(entities, false));
            if *exists {
                result.push_str("<p class=\"notice warn\">This location is registered already; registering it again is not possible.</p>");
            } else {
                let _ = write!(
                    result,
                    "<form class=\"form-actions import-register\" method=\"post\" action=\"/catalog-import\" hx-post=\"/catalog-import\" hx-target=\"#import-result\" hx-select=\"#import-result\" hx-swap=\"outerHTML\"><input type=\"hidden\" name=\"target\" value=\"{}\"><input type=\"hidden\" name=\"step\" value=\"register\"><button class=\"button primary\" type=\"submit\">Register</button> <a class=\"button\" href=\"/catalog-import\">Cancel</a></form>",
                    escape(target)
                );
            }
            result.push_str("</section>");
        }
        Outcome::Registered { kind, target, entities } => {
            let _ = write!(
                result,
                "<section class=\"card\" aria-labelledby=\"done-title\"><h2 id=\"done-title\">Registered</h2><p class=\"notice\">The {kind} location <code>{}</code> was registered. Its entities appear in the catalog as soon as it has been read (usually within seconds).</p>",
                escape(target)
            );
            result.push_str(&entity_rows(entities, true));
            result.push_str("<p class=\"form-actions\"><a class=\"button\" href=\"/catalog-import\">Register another</a></p></section>");
        }
    }
    let placeholder = if files {
        "https://github.com/org/repo/blob/main/catalog-info.yaml or /path/to/catalog-info.yaml"
    } else {
        "https://github.com/org/repo/blob/main/catalog-info.yaml"
    };
    let help = if files {
        "The URL of a catalog-info.yaml file, or its path on the server."
    } else {
        "The URL of a catalog-info.yaml file in a repository Portico can read."
    };
    let html = format!(
        "<div class=\"page-header\"><div><h1>Register an existing component</h1><p class=\"subtitle\">Add entities to the catalog from their descriptor file. Nothing is stored until you confirm.</p></div></div>\
<div class=\"import-layout\"><section class=\"card\" aria-labelledby=\"import-title\"><h2 id=\"import-title\">1. Select a file</h2>\
<form class=\"import-form\" method=\"post\" action=\"/catalog-import\" hx-post=\"/catalog-import\" hx-target=\"#import-result\" hx-select=\"#import-result\" hx-swap=\"outerHTML\">\
<label class=\"field wide\" for=\"import-target\">Location<input id=\"import-target\" name=\"target\" type=\"text\" value=\"{}\" placeholder=\"{}\" required spellcheck=\"false\" autocomplete=\"off\" aria-describedby=\"import-help\"></label>\
<p class=\"help\" id=\"import-help\">{}</p><input type=\"hidden\" name=\"step\" value=\"analyze\"><p class=\"form-actions\"><button class=\"button primary\" type=\"submit\">Analyze</button></p></form></section>\
<aside class=\"card import-help\"><h2>How it works</h2><ol><li>Enter where the <code>catalog-info.yaml</code> lives.</li><li>Review the entities found in it.</li><li>Register: the catalog reads the file and keeps it up to date.</li></ol><p class=\"muted\">Allowed location types: {}</p></aside></div>\
<div id=\"import-result\">{result}</div>",
        escape(target),
        escape(placeholder),
        escape(help),
        escape(&allowed.join(", ")),
    );
    cx.page("Register an existing component", Markup::trusted(html))
}

// ----- unregister

/// What unregistering an entity removes.
struct Removal {
    origin: String,
    /// The registered location, when the origin is one (else it comes from configuration).
    location_id: Option<String>,
    /// Entities from the same origin (the entity itself included).
    entities: Vec<Value>,
}

async fn removal_of(pages: &CatalogPages, subject: &Subject) -> Result<Removal, PageError> {
    let Some(origin) = annotation(&subject.entity, ANNOTATION_ORIGIN_LOCATION).map(str::to_owned) else {
        return Err(PageError::bad_request(
            "This entity has no origin location, so it cannot be unregistered.",
        )
        .first_link(format!("Back to {}", subject.summary.display_name()), subject.summary.path()));
    };
    let (kind, target) = origin.split_once(':').unwrap_or((origin.as_str(), ""));
    let location = pages
        .engine
        .find_location(kind, target)
        .await
        .map_err(|e| PageError::internal(format!("Could not read the registered locations: {e}")))?;
    let entities = {
        let index = pages.read();
        let set = index.filter(&EntityFilter::Key {
            key: format!("metadata.annotations.{ANNOTATION_ORIGIN_LOCATION}"),
            values: Some(vec![origin.clone()]),
        });
        set.iter()
            .filter_map(|o| index.entity(o))
            .filter_map(|e| serde_json::from_str::<Value>(&e.body()).ok())
            // The generated Location entities are bookkeeping, not what the user registered.
            .filter(|e| !e["metadata"]["name"].as_str().is_some_and(|n| n.starts_with("generated-")))
            .collect()
    };
    Ok(Removal { origin, location_id: location.map(|l| l.id), entities })
}

/// `GET /catalog/{namespace}/{kind}/{name}/unregister`: the confirmation.
pub(super) async fn unregister_page(
    State(pages): State<CatalogPages>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    access: Access,
    cx: PageContext,
) -> Result<Response, PageError> {
    let subject = find(&pages, &access, &namespace, &kind, &name)?;
    let removal = removal_of(&pages, &subject).await?;
    let denied = match &removal.location_id {
        Some(_) => removal.entities.iter().find_map(|entity| {
            match access.decide(&CATALOG_LOCATION_DELETE, Some(Resource::Entity(entity))) {
                Decision::Allow => None,
                Decision::Deny { reason } => Some(reason),
            }
        }),
        None => match access.decide(&CATALOG_ENTITY_DELETE, Some(Resource::Entity(&subject.entity))) {
            Decision::Allow => None,
            Decision::Deny { reason } => Some(reason),
        },
    };
    let display = subject.summary.display_name();
    let action = format!("{}/unregister", subject.summary.path());
    let mut html = format!(
        "<div class=\"page-header\"><div><h1>Unregister {}</h1><p class=\"subtitle\">Origin location <code>{}</code></p></div></div><section class=\"card danger-zone\">",
        escape(display),
        escape(&removal.origin)
    );
    if removal.location_id.is_some() {
        let _ = write!(
            html,
            "<p>This removes the registered location and the <strong>{} entities</strong> that came from it. The file itself is not changed; register it again to bring them back.</p>",
            removal.entities.len()
        );
        html.push_str(&entity_rows(&removal.entities, true));
    } else {
        html.push_str("<p class=\"notice warn\">This entity comes from a location in the app's configuration (<code>catalog.locations</code>), which cannot be unregistered here. Only this entity will be deleted, and it comes back the next time its location is read unless the configuration or the file changes.</p>");
        html.push_str(&entity_rows(std::slice::from_ref(&subject.entity), true));
    }
    if let Some(reason) = denied {
        let _ = write!(
            html,
            "<p class=\"notice warn\" role=\"status\">You may not unregister this: {}</p><div class=\"form-actions\"><a class=\"button\" href=\"{}\">Back</a></div></section>",
            escape(&reason),
            escape(&subject.summary.path()),
        );
        return Ok(cx.page(&format!("Unregister {display}"), Markup::trusted(html)));
    }
    let _ = write!(
        html,
        "<form class=\"form-actions\" method=\"post\" action=\"{a}\"><button class=\"button danger\" type=\"submit\">{}</button> <a class=\"button\" href=\"{}\">Cancel</a></form></section>",
        if removal.location_id.is_some() { "Unregister location" } else { "Delete entity" },
        escape(&subject.summary.path()),
        a = escape(&action),
    );
    Ok(cx.page(&format!("Unregister {display}"), Markup::trusted(html)))
}

/// `POST /catalog/{namespace}/{kind}/{name}/unregister`: removes the location (or the single
/// entity of a configured location) and goes to the catalog.
pub(super) async fn unregister(
    State(pages): State<CatalogPages>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    viewer: Viewer,
    access: Access,
) -> Result<Response, PageError> {
    portico_web::check_same_origin(&headers)?;
    if pages.engine.config().readonly {
        return Err(PageError::new(
            axum::http::StatusCode::FORBIDDEN,
            "The catalog is read-only",
            "catalog.readonly is set: nothing can be unregistered.",
        ));
    }
    let subject = find(&pages, &access, &namespace, &kind, &name)?;
    let removal = removal_of(&pages, &subject).await?;
    match &removal.location_id {
        Some(id) => {
            let (kind, target) = removal.origin.split_once(':').unwrap_or((removal.origin.as_str(), ""));
            let location =
                LocationRecord { id: id.clone(), kind: kind.to_owned(), target: target.to_owned() };
            crate::access::require_location_delete(&access, &pages.index, &location).await?;
        }
        None => {
            let resource = Some(Resource::Entity(&subject.entity));
            access.require(&CATALOG_ENTITY_DELETE, resource, &subject.entity_ref).await?;
        }
    }
    let (action, target, result) = match &removal.location_id {
        Some(id) => {
            ("catalog.location.delete", &removal.origin, pages.engine.delete_location(id).await.map(|_| ()))
        }
        None => {
            let uid = subject.entity["metadata"]["uid"].as_str().unwrap_or_default();
            ("catalog.entity.delete", &subject.entity_ref, pages.engine.delete_entity(uid).await)
        }
    };
    pages.audit.result(&viewer, action, target, &result, Value::Null).await;
    result.map_err(|e| PageError::internal(format!("Could not unregister: {e}")))?;
    pages.catch_up().await?;
    Ok(see_other(&format!("/catalog?kind={}", subject.summary.kind.to_lowercase())))
}
