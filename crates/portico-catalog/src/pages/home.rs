//! `/`: the home page — a search box, how much the catalog holds by kind, the viewer's
//! starred entities and the entities that changed last.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use portico_plugin::Access;
use portico_store::FinalChange;
use portico_web::components::Component;
use portico_web::{Markup, PageContext, icons};

use super::{CatalogPages, EntitySummary};

/// How many recently changed entities the home page lists.
const RECENT: usize = 8;
/// How far back in the change feed to look for them: a bounded read, never the whole catalog.
const RECENT_WINDOW: i64 = 200;

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

/// An entity in a home-page list.
struct Item {
    kind: String,
    label: String,
    href: String,
}

impl Item {
    fn of(body: &str) -> Option<Item> {
        let summary = EntitySummary::from_json(&serde_json::from_str(body).ok()?);
        Some(Item {
            kind: summary.kind.to_lowercase(),
            label: summary.display_name().to_owned(),
            href: summary.path(),
        })
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    app_title: &'a str,
    stats: Vec<Stat>,
    total: u64,
    search_icon: Markup,
    star_icon: Markup,
    starred: Vec<Item>,
    recent: Vec<Item>,
}

/// `GET /`.
pub(super) async fn home(State(pages): State<CatalogPages>, access: Access, cx: PageContext) -> Response {
    let starred_refs = match pages.starred(&cx).await {
        Ok(refs) => refs,
        Err(error) => return error.into_response(),
    };
    // The change feed's tail: each entity keeps only its latest change, so the last window of
    // sequence numbers holds the most recently changed entities.
    let last_seq = pages.read().last_seq();
    let changes = pages
        .store
        .final_changes_since((last_seq - RECENT_WINDOW).max(0), RECENT_WINDOW as usize)
        .await
        .unwrap_or_default();
    let mut recent_refs: Vec<String> = changes
        .into_iter()
        .rev()
        .filter_map(|c| match c {
            FinalChange::Upsert(row) => Some(row.entity_ref),
            FinalChange::Delete { .. } => None,
        })
        .filter(|r| !r.starts_with("location:"))
        .collect();
    recent_refs.dedup();
    let (stats, total, starred, recent) = {
        let index = pages.read();
        let readable = index.readable(&access);
        let mut visible = index.all().clone();
        readable.restrict(&mut visible);
        let counts = index.facet("kind", &visible);
        let stats = KINDS
            .iter()
            .map(|&(kind, label, icon)| Stat {
                label,
                count: counts.iter().filter(|c| c.value.eq_ignore_ascii_case(kind)).map(|c| c.count).sum(),
                href: if kind == "api" { "/api-docs".to_owned() } else { format!("/catalog?kind={kind}") },
                icon: icons::icon(icon),
            })
            .collect();
        let items = |refs: &[String], limit: usize| -> Vec<Item> {
            refs.iter()
                .filter_map(|r| index.by_ref(r))
                .filter(|e| readable.contains(e.ordinal))
                .filter_map(|e| Item::of(&e.body()))
                .take(limit)
                .collect()
        };
        let starred = items(&starred_refs, usize::MAX);
        let recent = items(&recent_refs, RECENT);
        (stats, visible.len(), starred, recent)
    };
    let page = HomePage {
        app_title: &cx.shell.app_title,
        stats,
        total,
        search_icon: icons::icon("search"),
        star_icon: icons::icon("star"),
        starred,
        recent,
    };
    cx.page("Home", page.markup())
}
