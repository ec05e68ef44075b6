//! The `/search` page (type tabs, kind/lifecycle/owner filters, highlighted snippets, count,
//! paging) and `/search/suggest`, the fragment the shell's search box shows as the user types.
//!
//! Everything a document contains is escaped; highlights are rebuilt from the engine's tags
//! around escaped text, so a hostile title cannot inject markup.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use portico_plugin::Access;
use portico_web::{Markup, NavItem, PageContext, Query, escape};
use serde_json::{Map, Value, json};

use crate::engine::{SearchQuery, SearchResult, SearchResultSet};
use crate::service::SearchService;

/// Results per page on the search page.
const PAGE_SIZE: usize = 10;
/// Suggestions shown under the search box.
const SUGGESTIONS: usize = 8;
/// The kinds offered by the kind filter.
const KINDS: [&str; 9] =
    ["Component", "API", "System", "Domain", "Resource", "Group", "User", "Location", "Template"];
/// The lifecycles offered by the lifecycle filter.
const LIFECYCLES: [&str; 3] = ["production", "experimental", "deprecated"];

/// The page routes.
pub fn router(service: SearchService) -> Router {
    Router::new().route("/search", get(page)).route("/search/suggest", get(suggest)).with_state(service)
}

/// The navigation entry.
pub fn nav_item() -> NavItem {
    NavItem::new("Search", "/search", "search", 50)
}

/// What the page's query string asks for.
struct PageState {
    term: String,
    doc_type: String,
    kind: String,
    lifecycle: String,
    owner: String,
    page: usize,
}

impl PageState {
    fn read(query: &Query) -> PageState {
        let get = |name: &str| query.one(name).unwrap_or_default().trim().to_owned();
        PageState {
            term: get("q"),
            doc_type: get("type"),
            kind: get("kind"),
            lifecycle: get("lifecycle"),
            owner: get("owner"),
            page: get("page").parse::<usize>().unwrap_or(1).max(1),
        }
    }

    fn search_query(&self, service: &SearchService, page_limit: usize) -> SearchQuery {
        let mut filters = Map::new();
        for (name, value) in [("kind", &self.kind), ("lifecycle", &self.lifecycle), ("owner", &self.owner)] {
            if !value.is_empty() {
                filters.insert(name.to_owned(), json!(value));
            }
        }
        let types = if service.types().any(|t| t == self.doc_type) {
            vec![self.doc_type.clone()]
        } else {
            Vec::new()
        };
        // The box may hold more than the API accepts; the page searches the allowed prefix.
        let term: String = self.term.chars().take(100).collect();
        SearchQuery { term, types, filters, page: self.page - 1, page_limit }
    }

    /// The page's URL with one parameter changed (and paging reset unless it is `page`).
    fn url(&self, name: &str, value: &str) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("q", self.term.clone()),
            ("type", self.doc_type.clone()),
            ("kind", self.kind.clone()),
            ("lifecycle", self.lifecycle.clone()),
            ("owner", self.owner.clone()),
        ];
        for pair in &mut pairs {
            if pair.0 == name {
                pair.1 = value.to_owned();
            }
        }
        if name == "page" {
            pairs.push(("page", value.to_owned()));
        }
        let mut query = Query::default();
        for (k, v) in pairs.into_iter().filter(|(_, v)| !v.is_empty()) {
            query.push(k, v);
        }
        query.url("/search")
    }
}

async fn page(State(service): State<SearchService>, access: Access, cx: PageContext) -> Response {
    let state = PageState::read(&Query::parse(cx.query.as_deref()));
    let query = state.search_query(&service, PAGE_SIZE);
    let body = match service.query(&access, &query) {
        Ok(set) => results_body(&service, &state, &set),
        Err(error) => {
            tracing::error!(%error, "search failed");
            Markup::trusted(r#"<p class="notice">Search is unavailable right now.</p>"#)
        }
    };
    let fragment = Markup::trusted(format!(r#"<div id="search-body">{body}</div>"#));
    cx.page_or_fragment(
        "Search",
        || Markup::trusted(format!("{}{fragment}", form(&service, &state))),
        fragment.clone(),
    )
}

/// The search form: term, type tabs, filters.
fn form(service: &SearchService, state: &PageState) -> String {
    let mut tabs = String::new();
    let mut all_types = vec![("", "All".to_owned())];
    all_types.extend(service.types().map(|t| (t, type_label(t))));
    for (value, label) in all_types {
        let current = if value == state.doc_type { r#" aria-current="page""# } else { "" };
        tabs.push_str(&format!(
            r#"<li><a href="{}"{current}>{}</a></li>"#,
            escape(&state.url("type", value)),
            escape(&label)
        ));
    }
    let select = |name: &str, legend: &str, options: &[&str], chosen: &str| {
        let mut html =
            format!(r#"<label class="field">{legend} <select name="{name}"><option value="">Any</option>"#);
        for option in options {
            let selected = if option.eq_ignore_ascii_case(chosen) { " selected" } else { "" };
            html.push_str(&format!(r#"<option value="{0}"{selected}>{0}</option>"#, escape(option)));
        }
        html.push_str("</select></label>");
        html
    };
    format!(
        r##"<header class="page-header"><h1>Search</h1></header>
<nav class="tabs" aria-label="Document types"><ul>{tabs}</ul></nav>
<form class="filters search-form" action="/search" method="get" hx-get="/search" hx-target="#search-body" hx-select="#search-body" hx-swap="outerHTML" hx-push-url="true" hx-trigger="input changed delay:250ms from:input, change">
<input type="hidden" name="type" value="{doc_type}">
<label class="field">Search <input type="search" name="q" value="{term}" autocomplete="off"></label>
{kind}{lifecycle}
<label class="field">Owner <input type="text" name="owner" value="{owner}"></label>
<button class="button" type="submit">Search</button>
</form>"##,
        doc_type = escape(&state.doc_type),
        term = escape(&state.term),
        kind = select("kind", "Kind", &KINDS, &state.kind),
        lifecycle = select("lifecycle", "Lifecycle", &LIFECYCLES, &state.lifecycle),
        owner = escape(&state.owner),
    )
}

fn type_label(document_type: &str) -> String {
    match document_type {
        "software-catalog" => "Software Catalog".to_owned(),
        "techdocs" => "Documentation".to_owned(),
        other => other.to_owned(),
    }
}

/// The count, the results and the paging links.
fn results_body(service: &SearchService, state: &PageState, set: &SearchResultSet) -> Markup {
    let count = set.number_of_results;
    let mut html = format!(
        r#"<p class="results-head count" role="status">{count} result{}</p>"#,
        if count == 1 { "" } else { "s" }
    );
    if set.results.is_empty() {
        html.push_str(
            r#"<div class="empty-state"><p>No results. Try fewer words or another type.</p></div>"#,
        );
    } else {
        html.push_str(r#"<ol class="results search-results">"#);
        for result in &set.results {
            html.push_str(&result_item(service, result));
        }
        html.push_str("</ol>");
    }
    let mut links = String::new();
    if set.previous_page_cursor.is_some() {
        links.push_str(&format!(
            r#"<a class="page-link" rel="prev" href="{}">Previous</a>"#,
            escape(&state.url("page", &(state.page - 1).to_string()))
        ));
    }
    if set.next_page_cursor.is_some() {
        links.push_str(&format!(
            r#"<a class="page-link" rel="next" href="{}">Next</a>"#,
            escape(&state.url("page", &(state.page + 1).to_string()))
        ));
    }
    if !links.is_empty() {
        html.push_str(&format!(r#"<nav class="pagination" aria-label="Pages">{links}</nav>"#));
    }
    Markup::trusted(html)
}

fn result_item(service: &SearchService, result: &SearchResult) -> String {
    let document = &result.document;
    let field = |name: &str| document.get(name).and_then(Value::as_str).unwrap_or_default();
    let shown = |name: &str| {
        let highlighted = result.highlight.as_ref().and_then(|h| h.fields.get(name));
        match highlighted {
            Some(text) => highlight_html(text, service.tags()),
            None => escape(field(name)),
        }
    };
    let mut meta = Vec::new();
    for name in ["kind", "type", "lifecycle", "owner"] {
        let value = field(name);
        if !value.is_empty() {
            meta.push(format!(r#"<span class="chip">{}: {}</span>"#, name, escape(value)));
        }
    }
    format!(
        r#"<li class="card search-result"><a class="cell-title" href="{href}">{title}</a><p class="muted">{text}</p><p class="tags">{meta}</p></li>"#,
        href = escape(portico_web::safe_href(field("location")).unwrap_or("#")),
        title = shown("title"),
        text = shown("text"),
        meta = meta.join(" "),
    )
}

/// Escapes highlighted text and turns the engine's tags into `<mark>`.
pub fn highlight_html(text: &str, tags: &(String, String)) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(&tags.0) {
        out.push_str(&escape(&rest[..start]));
        let after = &rest[start + tags.0.len()..];
        let end = after.find(&tags.1).unwrap_or(after.len());
        out.push_str("<mark>");
        out.push_str(&escape(&after[..end]));
        out.push_str("</mark>");
        rest = after.get(end + tags.1.len()..).unwrap_or_default();
    }
    out.push_str(&escape(rest));
    out
}

/// `GET /search/suggest?q=`: the best matches as a list of links, for the shell's box.
async fn suggest(State(service): State<SearchService>, access: Access, cx: PageContext) -> Response {
    let state = PageState::read(&Query::parse(cx.query.as_deref()));
    if state.term.is_empty() {
        return cx.fragment(Markup::trusted(String::new()));
    }
    let query = SearchQuery { page: 0, ..state.search_query(&service, SUGGESTIONS) };
    let set = match service.query(&access, &query) {
        Ok(set) => set,
        Err(error) => {
            tracing::error!(%error, "search suggestions failed");
            return cx.fragment(Markup::trusted(String::new()));
        }
    };
    let mut html = String::from(r#"<ul class="search-suggestions" role="listbox">"#);
    for result in &set.results {
        let location = result.document.get("location").and_then(Value::as_str).unwrap_or_default();
        let title = match result.highlight.as_ref().and_then(|h| h.fields.get("title")) {
            Some(text) => highlight_html(text, service.tags()),
            None => escape(result.document.get("title").and_then(Value::as_str).unwrap_or_default()),
        };
        let kind = result.document.get("kind").and_then(Value::as_str).unwrap_or(&result.document_type);
        html.push_str(&format!(
            r#"<li role="option"><a href="{}">{title} <span class="muted">{}</span></a></li>"#,
            escape(portico_web::safe_href(location).unwrap_or("#")),
            escape(kind)
        ));
    }
    let all = Query::default().with("q", &state.term).url("/search");
    html.push_str(&format!(
        r#"<li><a href="{}">See all {} results</a></li></ul>"#,
        escape(&all),
        set.number_of_results
    ));
    cx.fragment(Markup::trusted(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_escape_everything_but_the_marks() {
        let tags = ("<t>".to_owned(), "</t>".to_owned());
        assert_eq!(
            highlight_html("<script>x</script> <t>pay</t>ments & co", &tags),
            "&lt;script&gt;x&lt;/script&gt; <mark>pay</mark>ments &amp; co"
        );
    }
}
