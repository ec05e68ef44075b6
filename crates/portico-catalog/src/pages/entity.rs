//! `/catalog/:namespace/:kind/:name[/:tab]`: an entity's summary, the tabs plugins registered
//! for it, and a helpful 404 when there is no such entity.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use portico_web::components::{Component, ExternalLink, Tags};
use portico_web::{EntityPageExtensions, Markup, PageContext, PageError, Query};
use serde_json::Value;

use super::{CatalogPages, EntitySummary};

struct TabLink {
    title: String,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "entity.html")]
struct EntityPage<'a> {
    entity: &'a EntitySummary,
    tabs: Vec<TabLink>,
    content: Markup,
}

#[derive(Template)]
#[template(path = "entity_overview.html")]
struct Overview<'a> {
    entity: &'a EntitySummary,
    tags: Markup,
    links: Vec<Markup>,
    cards: Vec<Markup>,
}

/// The entity's JSON, or a 404 page that helps find what was meant.
fn find(pages: &CatalogPages, namespace: &str, kind: &str, name: &str) -> Result<Value, PageError> {
    let entity_ref = format!("{}:{}/{}", kind.to_lowercase(), namespace.to_lowercase(), name.to_lowercase());
    let body = pages.read().by_ref(&entity_ref).map(|e| e.body.to_owned());
    let Some(body) = body else {
        let search = Query::default().with("kind", &kind.to_lowercase()).with("q", name).url("/catalog");
        return Err(PageError::not_found(
            "Entity not found",
            format!("There is no {kind} named “{name}” in namespace “{namespace}”. It may have been renamed or removed, or its catalog location not read yet."),
        )
        .first_link(format!("Search the catalog for “{name}”"), search));
    };
    serde_json::from_str(&body)
        .map_err(|e| PageError::internal(format!("The stored entity is not valid JSON: {e}")))
}

fn tab_links(
    extensions: &EntityPageExtensions,
    entity: &Value,
    summary: &EntitySummary,
    current: &str,
) -> Vec<TabLink> {
    let base = summary.path();
    let mut tabs =
        vec![TabLink { title: "Overview".into(), href: base.clone(), current: current.is_empty() }];
    tabs.extend(extensions.tabs_for(entity).map(|tab| TabLink {
        title: tab.title.clone(),
        href: format!("{base}/{}", tab.id),
        current: tab.id == current,
    }));
    tabs
}

/// `GET /catalog/{namespace}/{kind}/{name}`.
pub(super) async fn overview(
    State(pages): State<CatalogPages>,
    extensions: Option<Extension<Arc<EntityPageExtensions>>>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    cx: PageContext,
) -> Response {
    let entity = match find(&pages, &namespace, &kind, &name) {
        Ok(entity) => Arc::new(entity),
        Err(error) => return error.into_response(),
    };
    let extensions = extensions.map(|Extension(e)| e).unwrap_or_default();
    let summary = EntitySummary::from_json(&entity);
    let mut cards = Vec::new();
    for card in extensions.cards_for(&entity) {
        match (card.render)(entity.clone()).await {
            Ok(html) => cards.push(html),
            Err(error) => return error.into_response(),
        }
    }
    let overview = Overview {
        entity: &summary,
        tags: Tags::linked(&summary.tags, |tag| {
            Query::default().with("kind", &summary.kind.to_lowercase()).with("tag", tag).url("/catalog")
        })
        .markup(),
        links: summary.links.iter().map(|(title, url)| ExternalLink::new(title, url).markup()).collect(),
        cards,
    };
    let page = EntityPage {
        entity: &summary,
        tabs: tab_links(&extensions, &entity, &summary, ""),
        content: overview.markup(),
    };
    cx.page(summary.display_name(), page.markup())
}

/// `GET /catalog/{namespace}/{kind}/{name}/{tab}`: a tab a plugin registered.
pub(super) async fn tab(
    State(pages): State<CatalogPages>,
    extensions: Option<Extension<Arc<EntityPageExtensions>>>,
    Path((namespace, kind, name, tab)): Path<(String, String, String, String)>,
    cx: PageContext,
) -> Response {
    let entity = match find(&pages, &namespace, &kind, &name) {
        Ok(entity) => Arc::new(entity),
        Err(error) => return error.into_response(),
    };
    let extensions = extensions.map(|Extension(e)| e).unwrap_or_default();
    let summary = EntitySummary::from_json(&entity);
    let Some(registered) = extensions.tab(&tab, &entity) else {
        return PageError::not_found(
            "Tab not found",
            format!("“{}” has no tab “{tab}”.", summary.display_name()),
        )
        .first_link(format!("Back to {}", summary.display_name()), summary.path())
        .into_response();
    };
    let content = match (registered.render)(entity.clone()).await {
        Ok(html) => html,
        Err(error) => return error.into_response(),
    };
    let page =
        EntityPage { entity: &summary, tabs: tab_links(&extensions, &entity, &summary, &tab), content };
    cx.page(summary.display_name(), page.markup())
}
