//! Shared page components: data tables with sortable headers, facet lists, pagination, tag
//! chips, empty states, cards. Each is a plain struct rendered to [`Markup`] with
//! [`Component::markup`], so any plugin's template can embed it.

use askama::Template;

use crate::html::{Markup, safe_href};
use crate::icons::icon;
use crate::query::Query;

/// Anything that renders to markup.
pub trait Component: Template {
    /// The component's HTML.
    fn markup(&self) -> Markup {
        Markup::render(self)
    }
}

impl<T: Template> Component for T {}

/// How a column is currently sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortState {
    Unsorted,
    Ascending,
    Descending,
}

impl SortState {
    /// The `aria-sort` value.
    pub fn aria(self) -> &'static str {
        match self {
            SortState::Unsorted => "none",
            SortState::Ascending => "ascending",
            SortState::Descending => "descending",
        }
    }
}

/// A table column.
#[derive(Debug, Clone)]
pub struct Column {
    pub label: String,
    /// A CSS class for the column's cells (`col-name`), used for widths and hiding on phones.
    pub class: &'static str,
    /// The link that sorts by this column, with the current state; `None` when not sortable.
    pub sort: Option<(String, SortState)>,
}

/// A data table; cells are markup built by the page (escape text with [`Markup::text`]).
#[derive(Debug, Clone, Template)]
#[template(path = "components/table.html")]
pub struct DataTable {
    /// Describes the table to screen readers (visually hidden).
    pub caption: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Markup>>,
    /// Shown instead of the table when there are no rows.
    pub empty: Markup,
    /// With htmx: the element (CSS selector) a sort link replaces with the server's fragment,
    /// pushing the link to the history; without, sort links load the whole page.
    pub target: Option<String>,
}

/// One choice in a facet list.
#[derive(Debug, Clone)]
pub struct FacetOption {
    pub value: String,
    pub label: String,
    pub count: u64,
    pub checked: bool,
}

/// A list of choices for one filter parameter, with counts: checkboxes (any of several) or
/// radio buttons (one of). Options are shown most frequent first, at most `limit` of them;
/// checked ones are always shown.
#[derive(Debug, Clone, Template)]
#[template(path = "components/facet.html")]
pub struct FacetGroup {
    pub legend: String,
    /// The query parameter the choices set.
    pub name: String,
    pub options: Vec<FacetOption>,
    pub radio: bool,
    /// How many options were left out.
    pub hidden: usize,
}

impl FacetGroup {
    /// A checkbox group, trimmed to `limit` options (selected ones kept).
    pub fn checkboxes(
        legend: impl Into<String>,
        name: impl Into<String>,
        mut options: Vec<FacetOption>,
        limit: usize,
    ) -> FacetGroup {
        options.sort_by(|a, b| {
            b.checked.cmp(&a.checked).then(b.count.cmp(&a.count)).then_with(|| a.label.cmp(&b.label))
        });
        let hidden = options.len().saturating_sub(limit);
        options.truncate(limit.max(options.iter().filter(|o| o.checked).count()));
        options.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
        FacetGroup { legend: legend.into(), name: name.into(), options, radio: false, hidden }
    }

    /// A radio group, in the given order.
    pub fn radios(
        legend: impl Into<String>,
        name: impl Into<String>,
        options: Vec<FacetOption>,
    ) -> FacetGroup {
        FacetGroup { legend: legend.into(), name: name.into(), options, radio: true, hidden: 0 }
    }

    fn input_id(&self, index: &usize) -> String {
        format!("f-{}-{index}", self.name)
    }
}

/// Page-number navigation for a list of `total` items shown `page_size` at a time.
#[derive(Debug, Clone, Template)]
#[template(path = "components/pagination.html")]
pub struct Pagination {
    pub total: u64,
    /// 1-based.
    pub page: u64,
    pub page_size: u64,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    /// `(label, href, current)`; `None` is a gap.
    pub pages: Vec<Option<(u64, String, bool)>>,
    /// With htmx: the element (CSS selector) a page link replaces (see [`DataTable::target`]).
    pub target: Option<String>,
    prev_icon: Markup,
    next_icon: Markup,
}

impl Pagination {
    /// Links keep `query` and set the `page` parameter; `path` is the list's path.
    pub fn new(path: &str, query: &Query, total: u64, page: u64, page_size: u64) -> Pagination {
        let last = total.div_ceil(page_size.max(1)).max(1);
        let page = page.clamp(1, last);
        let href = |p: u64| {
            if p == 1 {
                query.without("page").url(path)
            } else {
                query.with("page", &p.to_string()).url(path)
            }
        };
        let mut numbers: Vec<u64> = [1, page.saturating_sub(1), page, page + 1, last]
            .into_iter()
            .filter(|p| (1..=last).contains(p))
            .collect();
        numbers.sort_unstable();
        numbers.dedup();
        let mut pages = Vec::new();
        for (i, &number) in numbers.iter().enumerate() {
            if i > 0 && number > numbers[i - 1] + 1 {
                pages.push(None);
            }
            pages.push(Some((number, href(number), number == page)));
        }
        Pagination {
            total,
            page,
            page_size,
            prev_href: (page > 1).then(|| href(page - 1)),
            next_href: (page < last).then(|| href(page + 1)),
            pages,
            target: None,
            prev_icon: icon("chevron-left"),
            next_icon: icon("chevron-right"),
        }
    }

    /// Page links replace `target` through htmx (see [`DataTable::target`]).
    pub fn with_target(mut self, target: impl Into<String>) -> Pagination {
        self.target = Some(target.into());
        self
    }

    /// The 1-based position of the first item shown.
    pub fn first_item(&self) -> u64 {
        if self.total == 0 { 0 } else { (self.page - 1) * self.page_size + 1 }
    }

    /// The 1-based position of the last item shown.
    pub fn last_item(&self) -> u64 {
        (self.page * self.page_size).min(self.total)
    }

    /// Whether there is more than one page.
    pub fn has_pages(&self) -> bool {
        self.total > self.page_size
    }
}

/// Tag chips; each links to `href_prefix` + the tag when given.
#[derive(Debug, Clone, Template)]
#[template(path = "components/tags.html")]
pub struct Tags {
    pub tags: Vec<(String, Option<String>)>,
}

impl Tags {
    /// Chips linking to `link(tag)`.
    pub fn linked(tags: &[String], link: impl Fn(&str) -> String) -> Tags {
        Tags { tags: tags.iter().map(|t| (t.clone(), Some(link(t)))).collect() }
    }

    /// Chips without links.
    pub fn plain(tags: &[String]) -> Tags {
        Tags { tags: tags.iter().map(|t| (t.clone(), None)).collect() }
    }
}

/// A friendly "nothing here" block.
#[derive(Debug, Clone, Template)]
#[template(path = "components/empty.html")]
pub struct EmptyState {
    pub title: String,
    pub message: String,
    /// A way forward, `(label, href)`.
    pub action: Option<(String, String)>,
}

/// A link to a user-provided URL, or the URL as text when its scheme is not safe
/// (see [`safe_href`]). External links open normally and carry `rel="noopener noreferrer"`.
#[derive(Debug, Clone, Template)]
#[template(
    source = "{% if let Some(href) = href %}<a href=\"{{ href }}\" rel=\"noopener noreferrer\">{{ label }}</a>{% else %}<span class=\"unsafe-link\" title=\"This link is not shown because its address is not a web or mail address\">{{ label }}</span>{% endif %}",
    ext = "html"
)]
pub struct ExternalLink {
    pub label: String,
    pub href: Option<String>,
}

impl ExternalLink {
    /// A link to `url` labelled `label` (the URL itself when the label is empty).
    pub fn new(label: &str, url: &str) -> ExternalLink {
        let label = if label.trim().is_empty() { url } else { label };
        ExternalLink { label: label.to_owned(), href: safe_href(url).map(str::to_owned) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_shows_neighbours_and_gaps() {
        let query = Query::parse(Some("kind=api&page=5"));
        let pagination = Pagination::new("/catalog", &query, 250, 5, 25);
        let labels: Vec<String> = pagination
            .pages
            .iter()
            .map(|p| p.as_ref().map_or("…".into(), |(n, _, _)| n.to_string()))
            .collect();
        assert_eq!(labels, ["1", "…", "4", "5", "6", "…", "10"]);
        assert_eq!(pagination.prev_href.as_deref(), Some("/catalog?kind=api&page=4"));
        assert_eq!(pagination.pages[0].as_ref().map(|p| p.1.as_str()), Some("/catalog?kind=api"));
        assert_eq!((pagination.first_item(), pagination.last_item()), (101, 125));
    }

    #[test]
    fn pagination_clamps_out_of_range_pages() {
        let pagination = Pagination::new("/c", &Query::default(), 3, 9, 25);
        assert_eq!(pagination.page, 1);
        assert!(pagination.next_href.is_none() && !pagination.has_pages());
    }

    #[test]
    fn facets_keep_checked_options_when_trimmed() {
        let option = |value: &str, count, checked| FacetOption {
            value: value.into(),
            label: value.into(),
            count,
            checked,
        };
        let group = FacetGroup::checkboxes(
            "Owner",
            "owner",
            vec![option("a", 9, false), option("b", 1, true), option("c", 5, false)],
            1,
        );
        let values: Vec<&str> = group.options.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(values, ["b"]);
        assert_eq!(group.hidden, 2);
    }

    #[test]
    fn external_links_refuse_script_urls() {
        let html = ExternalLink::new("Click", "javascript:alert(1)").markup().into_string();
        assert!(!html.contains("<a"), "{html}");
        assert!(
            ExternalLink::new("", "https://x.test/").markup().as_str().contains("href=\"https://x.test/\"")
        );
    }
}
