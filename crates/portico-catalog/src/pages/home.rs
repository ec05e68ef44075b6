//! `/`: the home page — a search box and how much the catalog holds, by kind.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use portico_web::components::Component;
use portico_web::{Markup, PageContext, icons};

use super::CatalogPages;

/// Kinds shown on the home page, in order: `(kind, label, icon)`.
const KINDS: [(&str, &str, &str); 7] = [
    ("component", "Components", "catalog"),
    ("api", "APIs", "api"),
    ("system", "Systems", "system"),
    ("domain", "Domains", "docs"),
    ("resource", "Resources", "settings"),
    ("group", "Groups", "group"),
    ("user", "Users", "user"),
];

struct Stat {
    label: &'static str,
    count: u64,
    href: String,
    icon: Markup,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    app_title: &'a str,
    stats: Vec<Stat>,
    total: u64,
    search_icon: Markup,
}

/// `GET /`.
pub(super) async fn home(State(pages): State<CatalogPages>, cx: PageContext) -> Response {
    let (stats, total) = {
        let index = pages.read();
        let counts = index.facet("kind", index.all());
        let stats = KINDS
            .iter()
            .map(|&(kind, label, icon)| Stat {
                label,
                count: counts.iter().filter(|c| c.value.eq_ignore_ascii_case(kind)).map(|c| c.count).sum(),
                href: if kind == "api" { "/api-docs".to_owned() } else { format!("/catalog?kind={kind}") },
                icon: icons::icon(icon),
            })
            .collect();
        (stats, index.len() as u64)
    };
    let page = HomePage { app_title: &cx.shell.app_title, stats, total, search_icon: icons::icon("search") };
    cx.page("Home", page.markup())
}
