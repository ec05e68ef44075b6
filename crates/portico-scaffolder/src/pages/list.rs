//! `/create`: the catalog's templates as cards, filtered by text (`q`), `tag`, `owner` and
//! `type`. Only the templates the viewer may read are listed; those they may not run
//! (`scaffolder.task.create`) are shown disabled with the reason.
//!
//! The filters live in the query string, so the form works as a plain GET without JavaScript;
//! with htmx the form asks for the `#create-body` fragment only. Each filter's counts are
//! taken over the templates matching every *other* filter, so a count tells what ticking that
//! box would show.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use portico_plugin::Access;
use portico_plugin::permission::permission::SCAFFOLDER_TASK_CREATE;
use portico_plugin::permission::{Decision, Resource};
use portico_web::components::{Component, EmptyState, FacetGroup, FacetOption, Tags};
use portico_web::{Markup, PageContext, PageError, Query, icons};
use serde_json::json;

use super::TemplateSummary;
use crate::routes::ScaffolderApi;

/// The most templates the page reads from the catalog.
const TEMPLATE_LIMIT: usize = 1000;
/// Options shown per filter before the rest are summarised.
const FACET_LIMIT: usize = 12;
/// The page's path.
const PATH: &str = "/create";

/// A filter with choices: its query parameter and legend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Facet {
    Type,
    Owner,
    Tag,
}

impl Facet {
    const ALL: [Facet; 3] = [Facet::Type, Facet::Owner, Facet::Tag];

    fn param(self) -> &'static str {
        match self {
            Facet::Type => "type",
            Facet::Owner => "owner",
            Facet::Tag => "tag",
        }
    }

    fn legend(self) -> &'static str {
        match self {
            Facet::Type => "Type",
            Facet::Owner => "Owner",
            Facet::Tag => "Tags",
        }
    }

    /// The template's values for this filter, with their labels.
    fn values(self, template: &TemplateSummary) -> Vec<(String, String)> {
        match self {
            Facet::Type => template.spec_type.iter().map(|t| (t.clone(), t.clone())).collect(),
            Facet::Owner => {
                template.owner.iter().map(|owner| (owner.entity_ref.clone(), owner.label.clone())).collect()
            }
            Facet::Tag => template.tags.iter().map(|tag| (tag.clone(), tag.clone())).collect(),
        }
    }
}

/// The filters of the query string.
struct Filters {
    text: String,
    /// Chosen values per [`Facet::ALL`] entry.
    chosen: Vec<Vec<String>>,
    query: Query,
}

impl Filters {
    fn parse(raw: Option<&str>) -> Filters {
        let query = Query::parse(raw);
        Filters {
            text: query.one("q").unwrap_or_default().trim().to_owned(),
            chosen: Facet::ALL
                .iter()
                .map(|facet| query.all(facet.param()).into_iter().map(str::to_owned).collect())
                .collect(),
            query,
        }
    }

    fn any(&self) -> bool {
        !self.text.is_empty() || self.chosen.iter().any(|values| !values.is_empty())
    }

    /// Whether a template passes every filter but `skip`.
    fn keeps(&self, template: &TemplateSummary, skip: Option<Facet>) -> bool {
        for (facet, chosen) in Facet::ALL.iter().zip(&self.chosen) {
            if Some(*facet) == skip || chosen.is_empty() {
                continue;
            }
            let values = facet.values(template);
            if !chosen.iter().any(|wanted| values.iter().any(|(value, _)| value.eq_ignore_ascii_case(wanted)))
            {
                return false;
            }
        }
        self.matches_text(template)
    }

    /// Every word of the text filter is in the title, name, description or tags.
    fn matches_text(&self, template: &TemplateSummary) -> bool {
        if self.text.is_empty() {
            return true;
        }
        let haystack = format!(
            "{} {} {} {}",
            template.title,
            template.name,
            template.description.as_deref().unwrap_or_default(),
            template.tags.join(" ")
        )
        .to_lowercase();
        self.text.to_lowercase().split_whitespace().all(|word| haystack.contains(word))
    }
}

/// One card.
struct Card<'a> {
    template: &'a TemplateSummary,
    id: String,
    tags: Markup,
    owner: Option<Markup>,
}

#[derive(Template)]
#[template(path = "create_list.html")]
struct ListPage<'a> {
    text: &'a str,
    body: Markup,
    search_icon: Markup,
}

#[derive(Template)]
#[template(path = "create_list_body.html")]
struct ListBody<'a> {
    facets: Vec<Markup>,
    cards: Vec<Card<'a>>,
    total: usize,
    empty: Markup,
}

/// `GET /create`.
pub(super) async fn templates(
    State(api): State<ScaffolderApi>,
    access: Access,
    cx: PageContext,
) -> Result<Response, PageError> {
    let entities = api
        .catalog
        .entities_matching(&access, Some(&json!({"kind": "Template"})), TEMPLATE_LIMIT)
        .await
        .map_err(|error| {
            PageError::internal(format!("Could not read the templates from the catalog: {error}"))
        })?;
    let runnable = access.filter(&SCAFFOLDER_TASK_CREATE);
    let mut templates: Vec<TemplateSummary> = entities
        .iter()
        .map(|entity| {
            let mut summary = TemplateSummary::from_entity(entity, api.tasks.registry());
            // One prepared check for the list; the reason is asked for the denied ones only.
            if !runnable.allows(Resource::Entity(entity))
                && let Decision::Deny { reason } =
                    access.decide(&SCAFFOLDER_TASK_CREATE, Some(Resource::Entity(entity)))
            {
                summary.denied = Some(reason);
            }
            summary
        })
        .collect();
    templates.sort_by(|a, b| {
        a.title.to_lowercase().cmp(&b.title.to_lowercase()).then_with(|| a.namespace.cmp(&b.namespace))
    });
    let filters = Filters::parse(cx.query.as_deref());
    let body = render_body(&templates, &filters);
    if cx.fragment {
        return Ok(cx.fragment(body));
    }
    let page = ListPage { text: &filters.text, body, search_icon: icons::icon("search") };
    Ok(cx.page("Create", page.markup()))
}

fn render_body(templates: &[TemplateSummary], filters: &Filters) -> Markup {
    if templates.is_empty() {
        let empty = EmptyState {
            title: "No templates yet".into(),
            message: "Software templates appear here once a template.yaml describing them is registered in the catalog."
                .into(),
            action: Some(("Register a template.yaml".into(), "/catalog-import".into())),
        };
        return Markup::trusted(format!(
            "<div id=\"create-body\" class=\"create-body create-body-empty\">{}</div>",
            empty.markup()
        ));
    }
    let facets = Facet::ALL
        .iter()
        .enumerate()
        .map(|(index, facet)| facet_group(templates, filters, index, *facet))
        .collect();
    let cards: Vec<Card<'_>> = templates
        .iter()
        .filter(|template| filters.keeps(template, None))
        .enumerate()
        .map(|(index, template)| Card {
            template,
            id: format!("template-{index}"),
            tags: Tags::linked(&template.tags, |tag| filters.query.without("tag").with("tag", tag).url(PATH))
                .markup(),
            owner: template.owner.as_ref().map(|owner| owner.markup()),
        })
        .collect();
    let empty = if filters.any() {
        EmptyState {
            title: "No matches".into(),
            message:
                "No template matches these filters. Try removing a filter or a word from the text filter."
                    .into(),
            action: Some(("Clear all filters".into(), PATH.into())),
        }
    } else {
        EmptyState { title: "No templates".into(), message: String::new(), action: None }
    };
    ListBody { facets, total: cards.len(), cards, empty: empty.markup() }.markup()
}

/// The choices of one filter with their counts.
fn facet_group(templates: &[TemplateSummary], filters: &Filters, index: usize, facet: Facet) -> Markup {
    let chosen = &filters.chosen[index];
    let mut options: Vec<FacetOption> = Vec::new();
    for template in templates.iter().filter(|template| filters.keeps(template, Some(facet))) {
        for (value, label) in facet.values(template) {
            match options.iter_mut().find(|option| option.value.eq_ignore_ascii_case(&value)) {
                Some(option) => option.count += 1,
                None => options.push(FacetOption {
                    checked: chosen.iter().any(|wanted| wanted.eq_ignore_ascii_case(&value)),
                    value,
                    label,
                    count: 1,
                }),
            }
        }
    }
    for value in chosen {
        if !options.iter().any(|option| option.value.eq_ignore_ascii_case(value)) {
            options.push(FacetOption { value: value.clone(), label: value.clone(), count: 0, checked: true });
        }
    }
    FacetGroup::checkboxes(facet.legend(), facet.param(), options, FACET_LIMIT).markup()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::RefLink;

    fn template(title: &str, tags: &[&str], owner: &str, spec_type: &str) -> TemplateSummary {
        TemplateSummary {
            namespace: "default".into(),
            name: title.to_lowercase().replace(' ', "-"),
            title: title.into(),
            description: Some(format!("Creates a {title}")),
            spec_type: Some(spec_type.into()),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            owner: RefLink::parse(owner, Some("group")),
            blocked: None,
            denied: None,
        }
    }

    #[test]
    fn filters_combine_and_counts_ignore_their_own_filter() {
        let templates = [
            template("Rust service", &["rust", "recommended"], "team-a", "service"),
            template("React website", &["react"], "team-b", "website"),
            template("Go service", &["go"], "team-a", "service"),
        ];
        let filters = Filters::parse(Some("type=service&owner=group:default/team-a&q=rust"));
        let kept: Vec<&str> =
            templates.iter().filter(|t| filters.keeps(t, None)).map(|t| t.title.as_str()).collect();
        assert_eq!(kept, ["Rust service"]);
        let types =
            facet_group(&templates, &Filters::parse(Some("type=service")), 0, Facet::Type).into_string();
        assert!(
            types.contains("value=\"website\"") && types.contains("value=\"service\" checked"),
            "{types}"
        );
        let words = Filters::parse(Some("q=creates+react"));
        assert_eq!(templates.iter().filter(|t| words.keeps(t, None)).count(), 1);
    }
}
