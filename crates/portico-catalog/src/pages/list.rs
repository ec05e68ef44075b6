//! The catalog list: `/catalog` (any kind) and `/api-docs` (APIs only).
//!
//! The filter state lives in the query string (`kind`, `type`, `owner`, `lifecycle`, `tag`,
//! `namespace`, `status`, `user`, `q`, `sort`, `dir`, `page`, `size`), so a view can be shared and
//! the filter form works as a plain GET without JavaScript. With htmx the form and the sort and
//! page links ask for the `#catalog-body` fragment only. Each facet counts over the entities
//! matching every *other* filter, so a count tells what ticking that box would show.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use portico_plugin::Access;
use portico_web::components::{
    Column, Component, DataTable, EmptyState, FacetGroup, FacetOption, Pagination, SortState, Tags,
};
use portico_web::{Markup, PageContext, Query, icons};
use roaring::RoaringBitmap;
use serde_json::Value;

use super::{CatalogPages, EntitySummary, RefLink};
use crate::index::{Direction, EntityFilter, ReadIndex, Readable, SortKey};

/// Rows per page unless `size` says otherwise.
const DEFAULT_PAGE_SIZE: u64 = 25;
/// The page sizes offered.
const PAGE_SIZES: [u64; 3] = [25, 50, 100];
/// Facet options shown per filter before the rest are summarized.
const FACET_LIMIT: usize = 12;
/// The fields the text filter looks in.
const TEXT_FIELDS: [&str; 6] =
    ["metadata.name", "metadata.title", "metadata.description", "spec.type", "spec.owner", "metadata.tags"];

/// A multi-valued filter: its query parameter, the indexed key it matches, its legend.
struct FacetSpec {
    param: &'static str,
    key: &'static str,
    legend: &'static str,
}

const FACETS: [FacetSpec; 5] = [
    FacetSpec { param: "type", key: "spec.type", legend: "Type" },
    FacetSpec { param: "owner", key: "relations.ownedby", legend: "Owner" },
    FacetSpec { param: "lifecycle", key: "spec.lifecycle", legend: "Lifecycle" },
    FacetSpec { param: "tag", key: "metadata.tags", legend: "Tags" },
    FacetSpec { param: "namespace", key: "metadata.namespace", legend: "Namespace" },
];

/// A sortable column: its `sort` value, label, CSS class, and indexed key.
const COLUMNS: [(&str, &str, &str, &str); 7] = [
    ("name", "Name", "col-name", "metadata.name"),
    ("system", "System", "col-system", "spec.system"),
    ("owner", "Owner", "col-owner", "spec.owner"),
    ("type", "Type", "col-type", "spec.type"),
    ("lifecycle", "Lifecycle", "col-lifecycle", "spec.lifecycle"),
    ("description", "Description", "col-description", "metadata.description"),
    ("tags", "Tags", "col-tags", "metadata.tags"),
];

/// Which entities the "user" filter keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserFilter {
    All,
    Owned,
    Starred,
}

/// Which list is shown: the whole catalog or the APIs page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListPage {
    Catalog,
    Apis,
}

impl ListPage {
    fn path(self) -> &'static str {
        match self {
            ListPage::Catalog => "/catalog",
            ListPage::Apis => "/api-docs",
        }
    }
}

/// The list's state, read from the query string.
struct ListState {
    page_kind: ListPage,
    kind: String,
    facets: Vec<Vec<String>>,
    status: Vec<String>,
    user: UserFilter,
    text: String,
    sort: Option<(usize, Direction)>,
    page: u64,
    size: u64,
    query: Query,
}

impl ListState {
    fn parse(page_kind: ListPage, raw: Option<&str>) -> ListState {
        let query = Query::parse(raw);
        let kind = match page_kind {
            ListPage::Apis => "api".to_owned(),
            ListPage::Catalog => query.one("kind").unwrap_or("component").to_lowercase(),
        };
        let facets =
            FACETS.iter().map(|f| query.all(f.param).into_iter().map(str::to_owned).collect()).collect();
        let status = query
            .all("status")
            .into_iter()
            .filter(|s| matches!(*s, "orphan" | "error"))
            .map(str::to_owned)
            .collect();
        let user = match query.one("user") {
            Some("owned") => UserFilter::Owned,
            Some("starred") => UserFilter::Starred,
            _ => UserFilter::All,
        };
        let sort = query.one("sort").and_then(|s| COLUMNS.iter().position(|c| c.0 == s)).map(|column| {
            let direction = if query.one("dir") == Some("desc") { Direction::Desc } else { Direction::Asc };
            (column, direction)
        });
        let page = query.one("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
        let size = query
            .one("size")
            .and_then(|s| s.parse().ok())
            .filter(|s| PAGE_SIZES.contains(s))
            .unwrap_or(DEFAULT_PAGE_SIZE);
        let text = query.one("q").unwrap_or_default().trim().to_owned();
        // Links carry the state without the kind for the APIs page (its path implies it).
        let query = match page_kind {
            ListPage::Apis => query.without("kind"),
            ListPage::Catalog => query.with("kind", &kind),
        };
        ListState { page_kind, kind, facets, status, user, text, sort, page, size, query }
    }
}

/// The filters as entity sets, each computed once.
struct Sets {
    kind: RoaringBitmap,
    facets: Vec<Option<RoaringBitmap>>,
    status: Option<RoaringBitmap>,
    text: Option<RoaringBitmap>,
    owned: RoaringBitmap,
    starred: RoaringBitmap,
    orphans: RoaringBitmap,
    errors: RoaringBitmap,
}

/// The one filter [`Sets::matching`] leaves out, to count the choices of that filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    Nothing,
    Facet(usize),
    Status,
    User,
}

impl Sets {
    fn compute(
        index: &ReadIndex,
        readable: &Readable,
        state: &ListState,
        cx: &PageContext,
        starred: &[String],
    ) -> Sets {
        let key = |key: &str, values: &[String]| {
            index.filter(&EntityFilter::Key { key: key.to_owned(), values: Some(values.to_vec()) })
        };
        // Every set below is narrowed through this one, so counts only see readable entities.
        let mut kind = key("kind", std::slice::from_ref(&state.kind));
        readable.restrict(&mut kind);
        let facets = FACETS
            .iter()
            .zip(&state.facets)
            .map(|(spec, values)| (!values.is_empty()).then(|| key(spec.key, values)))
            .collect();
        let orphans = key("metadata.annotations.backstage.io/orphan", &["true".to_owned()]);
        let errors = index.with_errors().clone();
        let status = (!state.status.is_empty()).then(|| {
            let mut set = RoaringBitmap::new();
            if state.status.iter().any(|s| s == "orphan") {
                set |= &orphans;
            }
            if state.status.iter().any(|s| s == "error") {
                set |= &errors;
            }
            set
        });
        let text = (!state.text.is_empty()).then(|| {
            let fields: Vec<String> = TEXT_FIELDS.iter().map(|f| (*f).to_owned()).collect();
            index.full_text(&state.text, &fields)
        });
        // Signed in, the token says what the user owns through; otherwise the chosen user
        // entity and its groups in the catalog.
        let owned = match (cx.viewer.ownership_refs(), &cx.viewer.user_ref) {
            (Some(refs), _) => {
                key("relations.ownedby", &refs.iter().map(|r| r.to_lowercase()).collect::<Vec<_>>())
            }
            (None, Some(user)) => key("relations.ownedby", &owners_of(index, user)),
            (None, None) => RoaringBitmap::new(),
        };
        let starred = starred.iter().filter_map(|r| index.by_ref(r)).map(|e| e.ordinal).collect();
        Sets { kind, facets, status, text, owned, starred, orphans, errors }
    }

    /// The entities of the kind matching every filter except `skip`.
    fn matching(&self, state: &ListState, skip: Skip) -> RoaringBitmap {
        let mut set = self.kind.clone();
        for (i, facet) in self.facets.iter().enumerate() {
            if skip != Skip::Facet(i)
                && let Some(facet) = facet
            {
                set &= facet;
            }
        }
        if let Some(text) = &self.text {
            set &= text;
        }
        if skip != Skip::Status
            && let Some(status) = &self.status
        {
            set &= status;
        }
        if skip != Skip::User {
            match state.user {
                UserFilter::All => {}
                UserFilter::Owned => set &= &self.owned,
                UserFilter::Starred => set &= &self.starred,
            }
        }
        set
    }
}

/// The refs that count as "me" for ownership: the user and the groups it is a member of.
fn owners_of(index: &ReadIndex, user: &str) -> Vec<String> {
    let mut owners = vec![user.to_owned()];
    let groups = index
        .by_ref(user)
        .and_then(|e| serde_json::from_str::<Value>(&e.body()).ok())
        .and_then(|entity| entity["relations"].as_array().cloned())
        .unwrap_or_default();
    owners.extend(
        groups
            .iter()
            .filter(|r| r["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("memberOf")))
            .filter_map(|r| r["targetRef"].as_str().map(str::to_lowercase)),
    );
    owners
}

#[derive(Template)]
#[template(path = "catalog.html")]
struct CatalogPage<'a> {
    title: &'a str,
    subtitle: &'a str,
    action: &'a str,
    kinds: Vec<(String, String, u64, bool)>,
    text: &'a str,
    body: Markup,
    search_icon: Markup,
}

#[derive(Template)]
#[template(path = "catalog_body.html")]
struct CatalogBody {
    facets: Vec<Markup>,
    clear_href: String,
    sort: Option<(&'static str, &'static str)>,
    size: u64,
    sizes: [u64; 3],
    heading: String,
    total: u64,
    table: Markup,
    pagination: Markup,
}

/// `GET /catalog`.
pub(super) async fn catalog(State(pages): State<CatalogPages>, access: Access, cx: PageContext) -> Response {
    let starred = match pages.starred(&cx).await {
        Ok(starred) => starred,
        Err(error) => return error.into_response(),
    };
    render(&pages, &cx, &access, ListPage::Catalog, &starred)
}

/// `GET /api-docs`: the catalog list preset to APIs.
pub(super) async fn api_docs(State(pages): State<CatalogPages>, access: Access, cx: PageContext) -> Response {
    let starred = match pages.starred(&cx).await {
        Ok(starred) => starred,
        Err(error) => return error.into_response(),
    };
    render(&pages, &cx, &access, ListPage::Apis, &starred)
}

/// Renders a list page; `starred` are the viewer's stored stars.
/// Only entities `access` may read are listed or counted.
fn render(
    pages: &CatalogPages,
    cx: &PageContext,
    access: &Access,
    page_kind: ListPage,
    starred: &[String],
) -> Response {
    let state = ListState::parse(page_kind, cx.query.as_deref());
    let path = page_kind.path();
    let (body, kinds) = {
        let index = pages.read();
        let readable = index.readable(access);
        let sets = Sets::compute(&index, &readable, &state, cx, starred);
        let body = render_body(&index, &sets, &state, path);
        let kinds = match page_kind {
            ListPage::Apis => Vec::new(),
            ListPage::Catalog => kind_options(&index, &readable, &state.kind),
        };
        (body, kinds)
    };
    if cx.fragment {
        return cx.fragment(body);
    }
    let (title, subtitle) = match page_kind {
        ListPage::Apis => ("APIs", "Every API in the catalog, with its owner, type and lifecycle."),
        ListPage::Catalog => ("Catalog", "Everything your organization builds and runs, in one place."),
    };
    let page = CatalogPage {
        title,
        subtitle,
        action: path,
        kinds,
        text: &state.text,
        body,
        search_icon: icons::icon("search"),
    };
    cx.page(title, page.markup())
}

/// The kind picker's options `(value, label, count, selected)`: every kind in the catalog, and
/// the selected one even when no entity has it.
fn kind_options(index: &ReadIndex, readable: &Readable, selected: &str) -> Vec<(String, String, u64, bool)> {
    let mut kinds: Vec<(String, String, u64, bool)> = Vec::new();
    let mut visible = index.all().clone();
    readable.restrict(&mut visible);
    for count in index.facet("kind", &visible) {
        let value = count.value.to_lowercase();
        match kinds.iter_mut().find(|k| k.0 == value) {
            Some(existing) => existing.2 += count.count,
            None => kinds.push((value.clone(), count.value.to_owned(), count.count, value == selected)),
        }
    }
    if !kinds.iter().any(|k| k.3) {
        kinds.push((selected.to_owned(), selected.to_owned(), 0, true));
    }
    kinds.sort_by_key(|k| k.1.to_lowercase());
    kinds
}

fn render_body(index: &ReadIndex, sets: &Sets, state: &ListState, path: &str) -> Markup {
    let mut facets = Vec::new();

    let without_user = sets.matching(state, Skip::User);
    let user_option = |value: &str, label: &str, count: u64, filter| FacetOption {
        value: value.to_owned(),
        label: label.to_owned(),
        count,
        checked: state.user == filter,
    };
    facets.push(
        FacetGroup::radios(
            "Show",
            "user",
            vec![
                user_option("all", "All", without_user.len(), UserFilter::All),
                user_option(
                    "owned",
                    "Owned by me",
                    without_user.intersection_len(&sets.owned),
                    UserFilter::Owned,
                ),
                user_option(
                    "starred",
                    "Starred",
                    without_user.intersection_len(&sets.starred),
                    UserFilter::Starred,
                ),
            ],
        )
        .markup(),
    );

    for (i, spec) in FACETS.iter().enumerate() {
        let others = sets.matching(state, Skip::Facet(i));
        let selected = &state.facets[i];
        let mut options: Vec<FacetOption> = Vec::new();
        for count in index.facet(spec.key, &others) {
            // Values differing only in case are one choice (matching ignores case).
            match options.iter_mut().find(|o| o.value.eq_ignore_ascii_case(count.value)) {
                Some(option) => option.count += count.count,
                None => options.push(FacetOption {
                    value: count.value.to_owned(),
                    label: facet_label(spec.param, count.value),
                    count: count.count,
                    checked: selected.iter().any(|s| s.eq_ignore_ascii_case(count.value)),
                }),
            }
        }
        for value in selected {
            if !options.iter().any(|o| o.value.eq_ignore_ascii_case(value)) {
                options.push(FacetOption {
                    value: value.clone(),
                    label: facet_label(spec.param, value),
                    count: 0,
                    checked: true,
                });
            }
        }
        // A filter with a single namespace to choose from says nothing; leave it out.
        if spec.param == "namespace" && options.len() <= 1 && selected.is_empty() {
            continue;
        }
        facets.push(FacetGroup::checkboxes(spec.legend, spec.param, options, FACET_LIMIT).markup());
    }

    let status_base = sets.matching(state, Skip::Status);
    let status_option = |value: &str, label: &str, set: &RoaringBitmap| FacetOption {
        value: value.to_owned(),
        label: label.to_owned(),
        count: status_base.intersection_len(set),
        checked: state.status.iter().any(|s| s == value),
    };
    let status_options = vec![
        status_option("orphan", "Orphaned", &sets.orphans),
        status_option("error", "Has errors", &sets.errors),
    ];
    facets.push(FacetGroup::checkboxes("Processing status", "status", status_options, 2).markup());

    let results = sets.matching(state, Skip::Nothing);
    let total = results.len();
    let pagination =
        Pagination::new(path, &state.query, total, state.page, state.size).with_target("#catalog-body");
    let offset = ((pagination.page - 1) * state.size) as usize;
    let order: Vec<SortKey> = match state.sort {
        Some((column, direction)) => {
            let mut order = vec![SortKey { field: COLUMNS[column].3.to_owned(), direction }];
            if column != 0 {
                order.push(SortKey { field: "metadata.name".to_owned(), direction: Direction::Asc });
            }
            order
        }
        None => Vec::new(),
    };
    let (ordinals, _) = index.list(&results, &order, offset, Some(state.size as usize));
    let rows = ordinals
        .iter()
        .filter_map(|&o| index.entity(o))
        .filter_map(|e| serde_json::from_str::<Value>(&e.body()).ok())
        .map(|entity| row(&EntitySummary::from_json(&entity), state, path))
        .collect();

    let columns = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, &(param, label, class, _))| {
            let current = match state.sort {
                Some((column, direction)) if column == i => match direction {
                    Direction::Asc => SortState::Ascending,
                    Direction::Desc => SortState::Descending,
                },
                None if i == 0 => SortState::Ascending,
                _ => SortState::Unsorted,
            };
            let next = if current == SortState::Ascending { "desc" } else { "asc" };
            let href = state.query.without("page").with("sort", param).with("dir", next).url(path);
            Column { label: label.to_owned(), class, sort: Some((href, current)) }
        })
        .collect();
    let filtered = state.facets.iter().any(|f| !f.is_empty())
        || !state.status.is_empty()
        || !state.text.is_empty()
        || state.user != UserFilter::All;
    let clear_href = match state.page_kind {
        ListPage::Apis => path.to_owned(),
        ListPage::Catalog => Query::default().with("kind", &state.kind).url(path),
    };
    let empty = if filtered {
        EmptyState {
            title: "No matches".into(),
            message: "Nothing matches these filters. Try removing a filter or a word from the text filter."
                .into(),
            action: Some(("Clear all filters".into(), clear_href.clone())),
        }
    } else {
        EmptyState {
            title: format!("No {} entities yet", state.kind),
            message: "Entities appear here once a catalog location that describes them is read.".into(),
            action: None,
        }
    };
    let table = DataTable {
        caption: format!("{} entities", state.kind),
        columns,
        rows,
        empty: empty.markup(),
        target: Some("#catalog-body".into()),
    };
    let heading = match state.page_kind {
        ListPage::Apis => "APIs".to_owned(),
        ListPage::Catalog => plural_label(&state.kind),
    };
    CatalogBody {
        facets,
        clear_href,
        sort: state.sort.map(|(column, direction)| (COLUMNS[column].0, direction.as_str())),
        size: state.size,
        sizes: PAGE_SIZES,
        heading,
        total,
        table: table.markup(),
        pagination: pagination.markup(),
    }
    .markup()
}

/// How a facet value is shown: owners humanized, others as they are.
fn facet_label(param: &str, value: &str) -> String {
    match param {
        "owner" => RefLink::parse(value, "group", "default").map_or_else(|| value.to_owned(), |l| l.label),
        _ => value.to_owned(),
    }
}

/// "Components", "APIs", "Systems", … for a lowercase kind.
fn plural_label(kind: &str) -> String {
    match kind {
        "api" => "APIs".to_owned(),
        "user" | "group" | "component" | "system" | "domain" | "resource" | "location" | "template" => {
            let mut label = kind[..1].to_uppercase() + &kind[1..];
            label.push('s');
            label
        }
        other => other.to_owned(),
    }
}

fn row(entity: &EntitySummary, state: &ListState, path: &str) -> Vec<Markup> {
    let link = |label: &RefLink| {
        Markup::trusted(format!(
            "<a href=\"{}\">{}</a>",
            portico_web::escape(&label.href),
            portico_web::escape(&label.label)
        ))
    };
    let or_dash = |text: &Option<String>| match text {
        Some(text) => Markup::text(text),
        None => Markup::trusted("<span class=\"muted\" aria-label=\"none\">—</span>"),
    };
    let mut name = format!(
        "<a class=\"cell-title\" href=\"{}\">{}</a>",
        portico_web::escape(&entity.path()),
        portico_web::escape(entity.display_name())
    );
    if entity.title.is_some() || entity.namespace != "default" {
        let sub = if entity.namespace == "default" {
            entity.name.clone()
        } else {
            format!("{}/{}", entity.namespace, entity.name)
        };
        name.push_str(&format!("<span class=\"cell-sub\">{}</span>", portico_web::escape(&sub)));
    }
    let description = match &entity.description {
        Some(text) => Markup::trusted(format!("<span class=\"clamp\">{}</span>", portico_web::escape(text))),
        None => or_dash(&None),
    };
    let lifecycle = match &entity.lifecycle {
        Some(value) => Markup::trusted(format!(
            "<span class=\"badge lifecycle-{}\">{}</span>",
            portico_web::escape(&value.to_lowercase()),
            portico_web::escape(value)
        )),
        None => or_dash(&None),
    };
    vec![
        Markup::trusted(name),
        entity.system.as_ref().map_or_else(|| or_dash(&None), link),
        entity.owner.as_ref().map_or_else(|| or_dash(&None), link),
        or_dash(&entity.spec_type),
        lifecycle,
        description,
        Tags::linked(&entity.tags, |tag| {
            state.query.without("page").without("tag").with("tag", tag).url(path)
        })
        .markup(),
    ]
}
