//! The docs reader: `/docs` (every documented entity, filtered by owner, kind and text) and
//! `/docs/:namespace/:kind/:name/<page>/` (a built page inside the shell with the site's nav,
//! the page's table of contents, previous/next links, "edit this page" and the build state),
//! plus the entity page's *Docs* tab.
//!
//! The reader shows only entities the caller may read (`catalog.entity.read`); any other entity's
//! docs answer the same 404 as docs that do not exist.
//!
//! Page fragments were sanitised when they were built and are shown as they are; everything
//! else (titles, nav labels, warnings) is escaped here. Files of a site other than pages
//! (images) are served under the page URLs, so the relative links the build wrote resolve.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portico_plugin::Access;
use portico_web::components::{Column, DataTable, EmptyState};
use portico_web::html::encode_component;
use portico_web::{
    AppliesTo, EntityTab, Markup, NavItem, PageContext, PageError, Query, escape, safe_href,
    with_docs_content_security_policy,
};
use serde::Deserialize;
use serde_json::Value;

use crate::build::has_url_scheme;
use crate::routes::moved;
use crate::service::{BuildRecord, BuildState, DocEntry, TechDocs};

/// A page view checks the sources again when the last check is older than this, so an edit
/// shows up on the next reload without waiting for the periodic check.
const VIEW_RECHECK_AFTER: Duration = Duration::from_secs(5);

/// A site's parsed metadata and the build (finish time) it belongs to.
type CachedSite = (Option<u64>, Arc<SiteView>);

/// The reader's state: the service and the parsed navigation of each published site.
#[derive(Clone)]
pub struct Reader {
    docs: TechDocs,
    sites: Arc<Mutex<HashMap<String, CachedSite>>>,
}

impl Reader {
    pub fn new(docs: TechDocs) -> Reader {
        Reader { docs, sites: Arc::default() }
    }

    /// The parsed metadata of an entry's published site, cached until it is rebuilt.
    async fn site(&self, entry: &DocEntry) -> Option<Arc<SiteView>> {
        let triplet = entry.triplet();
        let key = triplet.path();
        let version = entry.build.finished_at;
        if let Some((cached_version, view)) =
            self.sites.lock().unwrap_or_else(PoisonError::into_inner).get(&key)
            && *cached_version == version
        {
            return Some(view.clone());
        }
        let bytes =
            tokio::fs::read(self.docs.site_dir(&triplet).join("techdocs_metadata.json")).await.ok()?;
        let view = Arc::new(SiteView::parse(&bytes)?);
        self.sites.lock().unwrap_or_else(PoisonError::into_inner).insert(key, (version, view.clone()));
        Some(view)
    }
}

/// What the reader needs of `techdocs_metadata.json`.
#[derive(Debug, Deserialize)]
struct SiteView {
    #[serde(default)]
    site_name: String,
    #[serde(default)]
    nav: Vec<NavNode>,
    #[serde(default)]
    pages: Vec<PageView>,
    /// Page locations in reading order (the nav's order; pages not in the nav are not listed).
    #[serde(skip)]
    order: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct NavNode {
    title: String,
    location: Option<String>,
    url: Option<String>,
    #[serde(default)]
    children: Vec<NavNode>,
}

#[derive(Debug, Deserialize)]
struct PageView {
    location: String,
    title: String,
    #[serde(default)]
    toc: Vec<TocItem>,
    edit_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TocItem {
    level: u8,
    id: String,
    title: String,
}

impl SiteView {
    fn parse(bytes: &[u8]) -> Option<SiteView> {
        let mut view: SiteView = serde_json::from_slice(bytes).ok()?;
        fn walk(nodes: &[NavNode], out: &mut Vec<String>) {
            for node in nodes {
                if let Some(location) = &node.location
                    && !out.contains(location)
                {
                    out.push(location.clone());
                }
                walk(&node.children, out);
            }
        }
        let mut order = Vec::new();
        walk(&view.nav, &mut order);
        view.order = order;
        Some(view)
    }

    fn page(&self, location: &str) -> Option<&PageView> {
        self.pages.iter().find(|page| page.location == location)
    }
}

/// The page routes.
pub fn router(docs: TechDocs) -> Router {
    Router::new()
        .route("/docs", get(index))
        .route("/docs/{namespace}/{kind}/{name}", get(site_without_slash))
        .route("/docs/{namespace}/{kind}/{name}/", get(site_home))
        .route("/docs/{namespace}/{kind}/{name}/{*path}", get(site_path))
        .with_state(Reader::new(docs))
}

/// The navigation entry.
pub fn nav_item() -> NavItem {
    NavItem::new("Docs", "/docs", "docs", 30)
}

/// The entity page's *Docs* tab, for entities with `backstage.io/techdocs-ref`. It shows the
/// docs of the entity the page was rendered for, so it is as visible as that entity: the entity
/// page answers 404 for an entity the caller may not read before any tab is rendered (the tab
/// hook is given the entity, not the caller).
pub fn entity_tab(docs: TechDocs) -> EntityTab {
    let reader = Reader::new(docs);
    let applies_to: AppliesTo = Arc::new(crate::source::has_docs);
    EntityTab {
        id: "docs",
        title: "Docs".into(),
        order: 30,
        applies_to,
        render: Arc::new(move |entity: Arc<Value>| {
            let reader = reader.clone();
            Box::pin(async move { Ok(docs_tab(&reader, &entity).await) })
        }),
    }
}

fn reader_url(entry: &DocEntry, location: &str) -> String {
    let t = entry.triplet();
    format!(
        "/docs/{}/{}/{}/{location}",
        encode_component(&t.namespace),
        encode_component(&t.kind),
        encode_component(&t.name)
    )
}

fn catalog_url(entry: &DocEntry) -> String {
    format!(
        "/catalog/{}/{}/{}",
        encode_component(&entry.entity.namespace().to_lowercase()),
        encode_component(&entry.entity.kind().to_lowercase()),
        encode_component(entry.entity.name())
    )
}

fn owner_of(entry: &DocEntry) -> &str {
    entry.entity.owner()
}

/// `GET /docs`: every documented entity the caller may read, filtered by owner, kind and text.
async fn index(State(reader): State<Reader>, access: Access, cx: PageContext) -> Response {
    let query = Query::parse(cx.query.as_deref());
    let text = query.one("q").unwrap_or_default().trim().to_lowercase();
    let owner = query.one("owner").unwrap_or_default().trim().to_owned();
    let kind = query.one("kind").unwrap_or_default().trim().to_owned();
    let entries = reader.docs.readable_entries(&access);
    let mut owners: Vec<String> =
        entries.iter().map(|e| owner_of(e).to_owned()).filter(|o| !o.is_empty()).collect();
    owners.sort_unstable_by_key(|o| o.to_lowercase());
    owners.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let mut kinds: Vec<String> = entries.iter().map(|e| e.entity.kind().to_owned()).collect();
    kinds.sort_unstable_by_key(|k| k.to_lowercase());
    kinds.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let mut shown: Vec<&DocEntry> = entries
        .iter()
        .filter(|e| owner.is_empty() || owner_of(e).eq_ignore_ascii_case(&owner))
        .filter(|e| kind.is_empty() || e.entity.kind().eq_ignore_ascii_case(&kind))
        .filter(|e| {
            text.is_empty()
                || [e.title(), e.entity.name(), e.entity.description(), owner_of(e)]
                    .iter()
                    .any(|field| field.to_lowercase().contains(&text))
        })
        .collect();
    shown.sort_by_key(|e| e.title().to_lowercase());

    let columns = ["Documentation", "Owner", "Kind", "Type", "Build"]
        .into_iter()
        .zip(["col-name", "col-owner", "col-kind", "col-type", "col-build"])
        .map(|(label, class)| Column { label: label.into(), class, sort: None })
        .collect();
    let rows = shown
        .iter()
        .map(|e| {
            let description = e.entity.description();
            let title = format!(
                r#"<a class="cell-title" href="{}">{}</a>{}"#,
                escape(&reader_url(e, "")),
                escape(e.title()),
                if description.is_empty() {
                    String::new()
                } else {
                    format!(r#"<span class="cell-note clamp">{}</span>"#, escape(description))
                }
            );
            vec![
                Markup::trusted(title),
                Markup::text(owner_of(e)),
                Markup::text(e.entity.kind()),
                Markup::text(e.entity.spec_type()),
                Markup::trusted(build_badge(&e.build)),
            ]
        })
        .collect();
    let empty = EmptyState {
        title: if entries.is_empty() { "No documentation yet".into() } else { "Nothing matches".into() },
        message: if entries.is_empty() {
            "Entities get docs here when their descriptor has the annotation backstage.io/techdocs-ref (for example dir:. next to an mkdocs.yml).".into()
        } else {
            "No documented entity matches these filters.".into()
        },
        action: (!entries.is_empty()).then(|| ("Show all documentation".to_owned(), "/docs".to_owned())),
    };
    let table = Markup::render(&DataTable {
        caption: "Documented entities".into(),
        columns,
        rows,
        empty: Markup::render(&empty),
        target: None,
    });
    let select = |name: &str, label: &str, options: &[String], chosen: &str| {
        let mut html =
            format!(r#"<label class="field">{label} <select name="{name}"><option value="">Any</option>"#);
        for option in options {
            let selected = if option.eq_ignore_ascii_case(chosen) { " selected" } else { "" };
            html.push_str(&format!(r#"<option value="{0}"{selected}>{0}</option>"#, escape(option)));
        }
        html.push_str("</select></label>");
        html
    };
    let raw_text = query.one("q").unwrap_or_default().trim().to_owned();
    let search_link = if raw_text.is_empty() {
        String::new()
    } else {
        format!(
            r#"<p class="muted">Looking for text inside the pages? <a href="{}">Search the docs for “{}”</a>.</p>"#,
            escape(&portico_web::html::url_with_query(
                "/search",
                [("q", raw_text.as_str()), ("type", "techdocs")]
            )),
            escape(&raw_text)
        )
    };
    let body = format!(
        r##"<div id="docs-body"><p class="results-head muted">{count} of {total} documented entities</p>{search_link}<section class="card results">{table}</section></div>"##,
        count = shown.len(),
        total = entries.len(),
    );
    let fragment = Markup::trusted(body);
    let form = format!(
        r##"<header class="page-header"><div><h1>Documentation</h1><p class="muted">Docs-like-code sites of the catalog's entities, built from the Markdown next to their code.</p></div></header>
<form class="filters search-form docs-filters" action="/docs" method="get" hx-get="/docs" hx-target="#docs-body" hx-select="#docs-body" hx-swap="outerHTML" hx-push-url="true" hx-trigger="input changed delay:250ms from:input, change">
<label class="field">Filter <input type="search" name="q" value="{text}" placeholder="Name, title, description" autocomplete="off"></label>
{owners}{kinds}
<button class="button" type="submit">Filter</button>
</form>"##,
        text = escape(&raw_text),
        owners = select("owner", "Owner", &owners, &owner),
        kinds = select("kind", "Kind", &kinds, &kind),
    );
    cx.page_or_fragment("Documentation", || Markup::trusted(format!("{form}{fragment}")), fragment.clone())
}

fn build_badge(record: &BuildRecord) -> String {
    let (class, label) = match record.state {
        BuildState::Published if !record.warnings.is_empty() => {
            let count = record.warnings.len();
            ("badge warning", format!("{count} warning{}", if count == 1 { "" } else { "s" }))
        }
        BuildState::Published => ("badge success", "Up to date".to_owned()),
        BuildState::Building => ("badge", "Building".to_owned()),
        BuildState::Pending => ("badge", "Not built yet".to_owned()),
        BuildState::Failed => ("badge error", "Build failed".to_owned()),
    };
    format!(r#"<span class="{class}">{}</span>"#, escape(&label))
}

async fn site_without_slash(UrlPath((namespace, kind, name)): UrlPath<(String, String, String)>) -> Response {
    moved(&format!(
        "/docs/{}/{}/{}/",
        encode_component(&namespace),
        encode_component(&kind),
        encode_component(&name)
    ))
    .into_response()
}

async fn site_home(
    state: State<Reader>,
    access: Access,
    UrlPath((namespace, kind, name)): UrlPath<(String, String, String)>,
    cx: PageContext,
) -> Result<Response, PageError> {
    site_page(state, &access, namespace, kind, name, String::new(), cx).await
}

async fn site_path(
    state: State<Reader>,
    access: Access,
    UrlPath((namespace, kind, name, path)): UrlPath<(String, String, String, String)>,
    cx: PageContext,
) -> Result<Response, PageError> {
    site_page(state, &access, namespace, kind, name, path, cx).await
}

/// A page of a site, or a file of it (images), or a redirect to the page's canonical URL.
async fn site_page(
    State(reader): State<Reader>,
    access: &Access,
    namespace: String,
    kind: String,
    name: String,
    path: String,
    cx: PageContext,
) -> Result<Response, PageError> {
    let docs = &reader.docs;
    let Some(entry) = docs.readable_entry(access, &namespace, &kind, &name) else {
        return Err(PageError::not_found(
            "No documentation here",
            format!("{kind}:{namespace}/{name} has no documentation, or is not in the catalog."),
        )
        .first_link("All documentation", "/docs"));
    };
    let triplet = entry.triplet();
    let canonical = (namespace.as_str(), kind.as_str(), name.as_str())
        == (triplet.namespace.as_str(), triplet.kind.as_str(), triplet.name.as_str());
    if !canonical {
        return Ok(moved(&reader_url(&entry, &path)).into_response());
    }
    docs.recheck_soon(&entry, VIEW_RECHECK_AFTER);
    let Some(site) = reader.site(&entry).await.filter(|_| entry.build.published) else {
        return Ok(not_built_page(&cx, &entry));
    };
    if let Some(page) = site.page(&path) {
        let fragment_path = docs.site_dir(&triplet).join(format!("{}index.html", page.location));
        let fragment = tokio::fs::read_to_string(&fragment_path).await.map_err(|_| {
            PageError::internal("This page of the docs could not be read. Try again after the next build.")
        })?;
        return Ok(render_page(&cx, &entry, &site, page, &fragment, docs.settings().live_reload));
    }
    if let Some(folder) = path.strip_suffix("index.html")
        && site.page(folder).is_some()
    {
        return Ok(moved(&reader_url(&entry, folder)).into_response());
    }
    if !path.ends_with('/') && site.page(&format!("{path}/")).is_some() {
        return Ok(moved(&reader_url(&entry, &format!("{path}/"))).into_response());
    }
    if !path.ends_with(".html")
        && let Some(file) = crate::routes::site_file(docs, &triplet, &path)
        && let Ok(bytes) = tokio::fs::read(&file).await
    {
        return Ok(asset_response(&file, bytes));
    }
    Err(PageError::not_found(
        "Page not found",
        format!(
            "{} has no page {path}.",
            if site.site_name.is_empty() { entry.title() } else { &site.site_name }
        ),
    )
    .first_link("Home of these docs", reader_url(&entry, "")))
}

/// A file of a site shown inside pages. SVG is served as an image here (pages embed it with
/// `<img>`, where scripts never run); opened on its own, the sandbox policy keeps it inert.
fn asset_response(file: &Path, bytes: Vec<u8>) -> Response {
    let extension = file.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    let content_type =
        if extension == "svg" { "image/svg+xml" } else { crate::routes::content_type(&extension) };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn page_header(entry: &DocEntry, site_name: &str) -> String {
    let site_name = if site_name.is_empty() { entry.title() } else { site_name };
    format!(
        r#"<header class="page-header docs-header"><div><p class="breadcrumbs"><a href="/docs">Docs</a> <span aria-hidden="true">›</span> <a href="{}">{}</a></p><h1>{}</h1></div></header>"#,
        escape(&catalog_url(entry)),
        escape(entry.title()),
        escape(site_name)
    )
}

/// The build state line above a page.
fn build_line(record: &BuildRecord) -> String {
    let when = record.finished_at.map(format_time).unwrap_or_default();
    let took = record.duration_ms.map(|ms| format!(" in {ms} ms")).unwrap_or_default();
    let (class, line) = match record.state {
        BuildState::Failed => (
            "docs-build notice error",
            format!(
                "The last build failed{}: {}. The version shown was built earlier.",
                if when.is_empty() { String::new() } else { format!(" ({when})") },
                escape(record.error.as_deref().unwrap_or("unknown error"))
            ),
        ),
        BuildState::Building => {
            ("docs-build notice", "A new version of these docs is being built.".to_owned())
        }
        _ if !record.warnings.is_empty() => {
            ("docs-build notice warning", format!("Built {when}{took}, with warnings."))
        }
        _ => ("docs-build notice", format!("Built {when}{took}.")),
    };
    let warnings = warnings_details(record);
    format!(r#"<div class="{class}" role="status"><p>{line}</p>{warnings}</div>"#)
}

/// The warnings of a build, folded.
fn warnings_details(record: &BuildRecord) -> String {
    if record.warnings.is_empty() {
        return String::new();
    }
    let items: String = record.warnings.iter().map(|w| format!("<li>{}</li>", escape(w))).collect();
    let count = record.warnings.len();
    format!(
        r#"<details><summary>{count} build warning{}</summary><ul>{items}</ul></details>"#,
        if count == 1 { "" } else { "s" }
    )
}

/// Shown while a site has never been published (first build running or failed).
fn not_built_page(cx: &PageContext, entry: &DocEntry) -> Response {
    let message = match entry.build.state {
        BuildState::Failed => format!(
            r#"<div class="docs-build notice error" role="status"><p>These docs could not be built: {}</p>{}<p>Fix the problem in the sources; the docs are built again when they change.</p></div>"#,
            escape(entry.build.error.as_deref().unwrap_or("unknown error")),
            warnings_details(&entry.build)
        ),
        _ => r#"<div class="docs-build notice" role="status"><p>These docs are being built for the first time. <a href="">Reload</a> in a moment.</p></div>"#.to_owned(),
    };
    let source = match &entry.source {
        Ok(source) => format!(r#"<p class="muted">Source: {}</p>"#, escape(&source.describe())),
        Err(_) => String::new(),
    };
    let body = format!("{}{message}{source}", page_header(entry, ""));
    cx.page(entry.title(), Markup::trusted(body))
}

/// Renders the site's nav as nested lists, marking the current page.
fn nav_html(nodes: &[NavNode], entry: &DocEntry, current: &str, out: &mut String) {
    out.push_str("<ul>");
    for node in nodes {
        match (&node.location, &node.url) {
            (Some(location), _) => {
                let aria = if location == current { r#" aria-current="page""# } else { "" };
                out.push_str(&format!(
                    r#"<li><a href="{}"{aria}>{}</a></li>"#,
                    escape(&reader_url(entry, location)),
                    escape(&node.title)
                ));
            }
            (None, Some(url)) => match safe_href(url) {
                Some(href) => out.push_str(&format!(
                    r#"<li><a href="{}" class="docs-nav-external" rel="noopener noreferrer">{}</a></li>"#,
                    escape(href),
                    escape(&node.title)
                )),
                None => out.push_str(&format!("<li><span>{}</span></li>", escape(&node.title))),
            },
            (None, None) => {
                out.push_str(&format!(
                    r#"<li class="docs-nav-section"><span>{}</span>"#,
                    escape(&node.title)
                ));
                nav_html(&node.children, entry, current, out);
                out.push_str("</li>");
            }
        }
    }
    out.push_str("</ul>");
}

fn render_page(
    cx: &PageContext,
    entry: &DocEntry,
    site: &SiteView,
    page: &PageView,
    fragment: &str,
    live_reload: bool,
) -> Response {
    let mut nav = format!(
        r#"<nav class="docs-nav" aria-label="Documentation"><p class="docs-site-name"><a href="{}">{}</a></p>"#,
        escape(&reader_url(entry, "")),
        escape(if site.site_name.is_empty() { entry.title() } else { &site.site_name })
    );
    nav_html(&site.nav, entry, &page.location, &mut nav);
    nav.push_str("</nav>");

    let position = site.order.iter().position(|location| *location == page.location);
    let neighbour = |index: Option<usize>, class: &str, label: &str| -> String {
        index
            .and_then(|i| site.order.get(i))
            .and_then(|location| site.page(location))
            .map(|target| {
                format!(
                    r#"<a class="{class}" href="{}"><span>{label}</span>{}</a>"#,
                    escape(&reader_url(entry, &target.location)),
                    escape(&target.title)
                )
            })
            .unwrap_or_default()
    };
    let previous = neighbour(position.and_then(|p| p.checked_sub(1)), "docs-prev", "Previous");
    let next = neighbour(position.map(|p| p + 1), "docs-next", "Next");
    let pager = if previous.is_empty() && next.is_empty() {
        String::new()
    } else {
        format!(r#"<nav class="docs-pager" aria-label="Previous and next page">{previous}{next}</nav>"#)
    };
    let edit = page
        .edit_url
        .as_deref()
        .and_then(safe_href)
        .map(|href| {
            format!(
                r#"<p class="docs-edit"><a href="{}" rel="noopener noreferrer">Edit this page</a></p>"#,
                escape(href)
            )
        })
        .unwrap_or_default();
    let toc_items: String = page
        .toc
        .iter()
        .filter(|item| (2..=3).contains(&item.level))
        .map(|item| {
            format!(
                r##"<li class="toc-{}"><a href="#{}">{}</a></li>"##,
                item.level,
                escape(&item.id),
                escape(&item.title)
            )
        })
        .collect();
    let toc = if toc_items.is_empty() {
        String::new()
    } else {
        format!(
            r#"<aside class="docs-toc" aria-label="On this page"><p>On this page</p><ul>{toc_items}</ul></aside>"#
        )
    };
    let mermaid = if fragment.contains(r#"<pre class="mermaid">"#) {
        format!(r#"<script src="{}" defer></script>"#, portico_web::assets::url("mermaid.min.js"))
    } else {
        String::new()
    };
    let live = if live_reload {
        let triplet = entry.triplet();
        format!(
            r#" data-live-reload="/api/techdocs/builds/{}/{}/{}""#,
            encode_component(&triplet.namespace),
            encode_component(&triplet.kind),
            encode_component(&triplet.name)
        )
    } else {
        String::new()
    };
    let body = format!(
        r#"{header}<div class="docs-layout"{live}>{nav}<div class="docs-main">{build}<article class="techdocs">{fragment}</article>{edit}{pager}</div>{toc}</div>{mermaid}"#,
        header = page_header(entry, &site.site_name),
        build = build_line(&entry.build),
    );
    let title = if page.location.is_empty() {
        site.site_name.clone()
    } else {
        format!("{} · {}", page.title, site.site_name)
    };
    let response = cx.page(&title, Markup::trusted(body));
    // Mermaid styles its diagrams inline; only pages that draw one relax the style policy.
    if mermaid.is_empty() { response } else { with_docs_content_security_policy(response) }
}

/// The entity page's Docs tab: the build state, the site's home page and a link to the reader.
async fn docs_tab(reader: &Reader, entity: &Value) -> Markup {
    let namespace = entity.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default");
    let kind = entity.pointer("/kind").and_then(Value::as_str).unwrap_or_default();
    let name = entity.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let Some(entry) = reader.docs.entry(namespace, kind, name) else {
        return Markup::trusted(
            r#"<p class="notice">The docs of this entity are not known yet; they appear here once the catalog change has been picked up.</p>"#,
        );
    };
    reader.docs.recheck_soon(&entry, VIEW_RECHECK_AFTER);
    let site = reader.site(&entry).await.filter(|_| entry.build.published);
    let Some(site) = site else {
        let message = match entry.build.state {
            BuildState::Failed => format!(
                "These docs could not be built: {}",
                escape(entry.build.error.as_deref().unwrap_or("unknown error"))
            ),
            _ => "These docs are being built for the first time.".to_owned(),
        };
        return Markup::trusted(format!(
            r#"<div class="docs-build notice" role="status"><p>{message}</p></div>"#
        ));
    };
    let home = tokio::fs::read_to_string(reader.docs.site_dir(&entry.triplet()).join("index.html"))
        .await
        .unwrap_or_default();
    // The home page's relative links were written for its reader URL, not the entity page.
    let home = absolute_links(&home, &reader_url(&entry, ""));
    // Diagrams need the reader's style policy; the tab points there instead of drawing them.
    let home = replace_diagrams(&home, &reader_url(&entry, ""));
    let mut nav = String::new();
    nav_html(&site.nav, &entry, "", &mut nav);
    Markup::trusted(format!(
        r#"<div class="docs-layout docs-tab"><nav class="docs-nav" aria-label="Documentation"><p class="docs-site-name"><a href="{url}">{name}</a></p>{nav}</nav><div class="docs-main">{build}<article class="techdocs">{home}</article><p><a class="button" href="{url}">Open in the docs reader</a></p></div></div>"#,
        url = escape(&reader_url(&entry, "")),
        name = escape(if site.site_name.is_empty() { entry.title() } else { &site.site_name }),
        build = build_line(&entry.build),
    ))
}

/// Replaces each `<pre class="mermaid">` block with a link to the page in the reader.
fn replace_diagrams(fragment: &str, reader: &str) -> String {
    const OPEN: &str = r#"<pre class="mermaid">"#;
    let mut out = String::with_capacity(fragment.len());
    let mut rest = fragment;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after.find("</pre>").map_or(after.len(), |end| end + "</pre>".len());
        out.push_str(&format!(
            r#"<p class="notice">A diagram: <a href="{}">see it in the docs reader</a>.</p>"#,
            escape(reader)
        ));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Rewrites the relative `href`/`src` values of a built fragment (which the build wrote
/// double-quoted and escaped) against `base`, a folder URL ending in `/`.
fn absolute_links(fragment: &str, base: &str) -> String {
    let mut out = String::with_capacity(fragment.len() + 256);
    let mut rest = fragment;
    while let Some(value_start) =
        [" href=\"", " src=\""].iter().filter_map(|attr| rest.find(attr).map(|at| at + attr.len())).min()
    {
        out.push_str(&rest[..value_start]);
        rest = &rest[value_start..];
        let value = &rest[..rest.find('"').unwrap_or(rest.len())];
        let has_scheme = has_url_scheme(value);
        if !(value.is_empty() || value.starts_with('/') || has_scheme) {
            out.push_str(&escape(base));
        }
    }
    out.push_str(rest);
    out
}

/// `2026-11-23 10:32 UTC` from milliseconds since the epoch.
fn format_time(millis: u64) -> String {
    let seconds = millis / 1000;
    let days = (seconds / 86_400) as i64;
    let (hour, minute) = ((seconds % 86_400) / 3600, (seconds % 3600) / 60);
    let (year, month, day) = portico_web::time::civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_as_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(format_time(1_795_437_120_000), "2026-11-23 12:32 UTC");
    }

    #[test]
    fn relative_links_are_made_absolute_for_the_docs_tab() {
        let fragment = r##"<p><a href="guide/">g</a> <a href="#top">t</a> <a href="https://x.org/a">x</a> <a href="/abs">a</a> <img src="img/a.png" alt=""></p>"##;
        assert_eq!(
            absolute_links(fragment, "/docs/default/component/svc/"),
            r##"<p><a href="/docs/default/component/svc/guide/">g</a> <a href="/docs/default/component/svc/#top">t</a> <a href="https://x.org/a">x</a> <a href="/abs">a</a> <img src="/docs/default/component/svc/img/a.png" alt=""></p>"##
        );
    }

    #[test]
    fn diagrams_in_the_docs_tab_link_to_the_reader() {
        let out =
            replace_diagrams("<p>a</p><pre class=\"mermaid\">graph LR; A--&gt;B\n</pre><p>b</p>", "/docs/x/");
        assert_eq!(
            out,
            "<p>a</p><p class=\"notice\">A diagram: <a href=\"/docs/x/\">see it in the docs reader</a>.</p><p>b</p>"
        );
    }

    #[test]
    fn reading_order_follows_the_nav() {
        let view = SiteView::parse(
            br#"{"site_name":"S","nav":[{"title":"Home","location":""},{"title":"Guide","children":[{"title":"A","location":"a/"}]},{"title":"Ext","url":"https://x.org"}],"pages":[]}"#,
        )
        .unwrap();
        assert_eq!(view.order, ["", "a/"]);
    }
}
