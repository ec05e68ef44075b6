//! `/catalog/:namespace/:kind/:name[/:tab]`: the entity page — a header (kind, name, owner,
//! lifecycle, tags, star button), the built-in tabs (Overview; Dependencies; Definition for
//! APIs), the tabs plugins registered, and a helpful 404 when there is no such entity. Groups
//! and users get a profile on their overview.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::{Extension, Form};
use portico_plugin::Access;
use portico_plugin::permission::permission::CATALOG_LOCATION_DELETE;
use portico_plugin::permission::{Decision, Resource};
use portico_web::components::{Component, ExternalLink, Tags};
use portico_web::{EntityPageExtensions, Markup, PageContext, PageError, Query, escape, icons, see_other};
use serde::Deserialize;
use serde_json::Value;

use super::relations::{Related, Relation, relations_of, resolve, targets};
use super::{CatalogPages, EntitySummary, RefLink, definition, graph};
use crate::engine::location::{
    ANNOTATION_EDIT_URL, ANNOTATION_ORIGIN_LOCATION, ANNOTATION_SOURCE_LOCATION, ANNOTATION_VIEW_URL,
    annotation,
};
use crate::index::{EntityFilter, ReadIndex, Readable};

struct TabLink {
    title: String,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "entity.html")]
struct EntityPage<'a> {
    entity: &'a EntitySummary,
    tags: Markup,
    star: Markup,
    can_unregister: bool,
    /// Why the viewer may not unregister the entity, when they may not.
    unregister_denied: Option<String>,
    tabs: Vec<TabLink>,
    content: Markup,
}

/// The star button: a plain form post, swapped in place by htmx.
#[derive(Template)]
#[template(path = "star.html")]
pub(super) struct StarButton {
    pub action: String,
    pub starred: bool,
    pub icon: Markup,
}

#[derive(Template)]
#[template(path = "entity_overview.html")]
struct Overview<'a> {
    entity: &'a EntitySummary,
    domain: Option<RefLink>,
    tags: Markup,
    labels: Vec<(String, String)>,
    links: Vec<Markup>,
    source_links: Vec<Markup>,
    problems: Vec<(String, String)>,
    /// A group's or user's profile card; it comes first, and the About card then leaves out
    /// the facts people and teams do not have (owner, system, domain, lifecycle).
    profile: Markup,
    relation_cards: Vec<Markup>,
    cards: Vec<Markup>,
}

/// An entity page's subject: its JSON and summary.
pub(super) struct Subject {
    pub entity: Arc<Value>,
    pub summary: EntitySummary,
    pub entity_ref: String,
}

/// The canonical ref of a page's path segments.
pub(super) fn path_ref(namespace: &str, kind: &str, name: &str) -> String {
    format!("{}:{}/{}", kind.to_lowercase(), namespace.to_lowercase(), name.to_lowercase())
}

/// The entity, or a 404 page that helps find what was meant.
/// An entity the viewer may not read is not found, exactly like one that does not exist.
pub(super) fn find(
    pages: &CatalogPages,
    access: &Access,
    namespace: &str,
    kind: &str,
    name: &str,
) -> Result<Subject, PageError> {
    let entity_ref = path_ref(namespace, kind, name);
    let body = {
        let index = pages.read();
        let entity = index.by_ref(&entity_ref).filter(|e| index.readable(access).contains(e.ordinal));
        entity.map(|e| e.body())
    };
    let Some(body) = body else {
        let search = Query::default().with("kind", &kind.to_lowercase()).with("q", name).url("/catalog");
        return Err(PageError::not_found(
            "Entity not found",
            format!("There is no {kind} named “{name}” in namespace “{namespace}”. It may have been renamed or removed, or its catalog location not read yet."),
        )
        .first_link(format!("Search the catalog for “{name}”"), search));
    };
    let entity: Value = serde_json::from_str(&body)
        .map_err(|e| PageError::internal(format!("The stored entity is not valid JSON: {e}")))?;
    let summary = EntitySummary::from_json(&entity);
    Ok(Subject { entity: Arc::new(entity), summary, entity_ref })
}

/// The built-in tabs after the overview: `(id, title)`.
fn builtin_tabs(entity: &Value) -> Vec<(&'static str, &'static str)> {
    let mut tabs = vec![("dependencies", "Dependencies")];
    if is_api(entity) {
        tabs.insert(0, ("definition", "Definition"));
    }
    tabs
}

fn is_api(entity: &Value) -> bool {
    entity["kind"].as_str().is_some_and(|k| k.eq_ignore_ascii_case("api"))
}

fn tab_links(extensions: &EntityPageExtensions, subject: &Subject, current: &str) -> Vec<TabLink> {
    let base = subject.summary.path();
    let mut tabs =
        vec![TabLink { title: "Overview".into(), href: base.clone(), current: current.is_empty() }];
    tabs.extend(builtin_tabs(&subject.entity).into_iter().map(|(id, title)| TabLink {
        title: title.into(),
        href: format!("{base}/{id}"),
        current: id == current,
    }));
    // Plugin tabs come after the built-in ones, in their own order.
    tabs.extend(extensions.tabs_for(&subject.entity).map(|tab| TabLink {
        title: tab.title.clone(),
        href: format!("{base}/{}", tab.id),
        current: tab.id == current,
    }));
    tabs
}

/// The whole entity page around a tab's content.
async fn entity_page(
    pages: &CatalogPages,
    cx: &PageContext,
    access: &Access,
    extensions: &EntityPageExtensions,
    subject: &Subject,
    current: &str,
    content: Markup,
) -> Result<Response, PageError> {
    let starred = pages.starred(cx).await?.contains(&subject.entity_ref);
    let summary = &subject.summary;
    let page = EntityPage {
        entity: summary,
        tags: Tags::linked(&summary.tags, |tag| {
            Query::default().with("kind", &summary.kind.to_lowercase()).with("tag", tag).url("/catalog")
        })
        .markup(),
        star: star_button(summary, starred),
        can_unregister: annotation(&subject.entity, ANNOTATION_ORIGIN_LOCATION).is_some(),
        unregister_denied: match access
            .decide(&CATALOG_LOCATION_DELETE, Some(Resource::Entity(&subject.entity)))
        {
            Decision::Allow => None,
            Decision::Deny { reason } => Some(format!("You may not unregister this entity: {reason}")),
        },
        tabs: tab_links(extensions, subject, current),
        content,
    };
    let title = match current {
        "" => summary.display_name().to_owned(),
        tab => format!("{} · {}", summary.display_name(), tab_title(extensions, subject, tab)),
    };
    Ok(cx.page(&title, page.markup()))
}

fn tab_title(extensions: &EntityPageExtensions, subject: &Subject, id: &str) -> String {
    tab_links(extensions, subject, id)
        .into_iter()
        .find(|t| t.current)
        .map(|t| t.title)
        .unwrap_or_else(|| id.to_owned())
}

pub(super) fn star_button(summary: &EntitySummary, starred: bool) -> Markup {
    StarButton { action: format!("{}/star", summary.path()), starred, icon: icons::icon("star") }.markup()
}

fn extensions_of(extensions: Option<Extension<Arc<EntityPageExtensions>>>) -> Arc<EntityPageExtensions> {
    extensions.map(|Extension(e)| e).unwrap_or_default()
}

/// `GET /catalog/{namespace}/{kind}/{name}`.
pub(super) async fn overview(
    State(pages): State<CatalogPages>,
    extensions: Option<Extension<Arc<EntityPageExtensions>>>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    access: Access,
    cx: PageContext,
) -> Result<Response, PageError> {
    let subject = find(&pages, &access, &namespace, &kind, &name)?;
    let extensions = extensions_of(extensions);
    let mut cards = Vec::new();
    for card in extensions.cards_for(&subject.entity) {
        let html = (card.render)(subject.entity.clone()).await?;
        cards.push(Markup::trusted(format!(
            "<div class=\"plugin-card\" id=\"card-{}\">{html}</div>",
            escape(card.id)
        )));
    }
    let content = overview_content(&pages, &access, &subject, cards);
    entity_page(&pages, &cx, &access, &extensions, &subject, "", content).await
}

/// `GET /catalog/{namespace}/{kind}/{name}/{tab}`: a built-in tab or one a plugin registered.
pub(super) async fn tab(
    State(pages): State<CatalogPages>,
    extensions: Option<Extension<Arc<EntityPageExtensions>>>,
    Path((namespace, kind, name, tab)): Path<(String, String, String, String)>,
    access: Access,
    cx: PageContext,
) -> Result<Response, PageError> {
    let subject = find(&pages, &access, &namespace, &kind, &name)?;
    let extensions = extensions_of(extensions);
    let content = match tab.as_str() {
        "dependencies" => graph::tab(&pages, &access, &subject, &Query::parse(cx.query.as_deref())),
        "definition" if is_api(&subject.entity) => definition::tab(&subject),
        other => {
            let Some(registered) = extensions.tab(other, &subject.entity) else {
                return Err(PageError::not_found(
                    "Tab not found",
                    format!("“{}” has no tab “{other}”.", subject.summary.display_name()),
                )
                .first_link(format!("Back to {}", subject.summary.display_name()), subject.summary.path()));
            };
            (registered.render)(subject.entity.clone()).await?
        }
    };
    entity_page(&pages, &cx, &access, &extensions, &subject, &tab, content).await
}

/// The star form's fields.
#[derive(Debug, Deserialize)]
pub(super) struct StarForm {
    /// `true` to star, `false` to remove the star.
    starred: String,
}

/// `POST /catalog/{namespace}/{kind}/{name}/star`: stars or unstars for the viewer; htmx gets
/// the new button, a plain form post is sent back to the entity page.
pub(super) async fn star(
    State(pages): State<CatalogPages>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    access: Access,
    cx: PageContext,
    Form(form): Form<StarForm>,
) -> Result<Response, PageError> {
    portico_web::check_same_origin(&headers)?;
    let subject = find(&pages, &access, &namespace, &kind, &name)?;
    let starred = form.starred == "true";
    let user = cx.viewer.identity();
    let result = if starred {
        pages.user_data.star(user, &subject.entity_ref).await
    } else {
        pages.user_data.unstar(user, &subject.entity_ref).await
    };
    result.map_err(|e| PageError::internal(format!("Could not save the star: {e}")))?;
    if cx.fragment {
        return Ok(cx.fragment(star_button(&subject.summary, starred)));
    }
    Ok(see_other(&subject.summary.path()))
}

// ----- overview

fn overview_content(pages: &CatalogPages, access: &Access, subject: &Subject, cards: Vec<Markup>) -> Markup {
    let entity = &subject.entity;
    let summary = &subject.summary;
    let relations = relations_of(entity);
    let kind = summary.kind.to_lowercase();
    let (profile, relation_cards) = {
        let index = pages.read();
        let readable = index.readable(access);
        let profile = match kind.as_str() {
            "group" => group_profile(&index, &readable, subject, &relations),
            "user" => user_profile(&index, &readable, subject, &relations),
            _ => Markup::default(),
        };
        (profile, relation_cards(&index, &readable, &kind, &relations))
    };
    let source_links = [(ANNOTATION_VIEW_URL, "View source"), (ANNOTATION_EDIT_URL, "Edit")]
        .into_iter()
        .filter_map(|(key, label)| annotation(entity, key).map(|url| ExternalLink::new(label, url).markup()))
        .chain(source_location(entity).map(|url| ExternalLink::new("Source location", &url).markup()))
        .collect();
    let labels = entity["metadata"]["labels"]
        .as_object()
        .map(|labels| {
            labels.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect()
        })
        .unwrap_or_default();
    let problems = entity["status"]["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let level = item["level"].as_str().unwrap_or("info").to_owned();
                    let message = item["error"]["message"]
                        .as_str()
                        .or_else(|| item["message"].as_str())
                        .unwrap_or("Unknown problem")
                        .to_owned();
                    (level, message)
                })
                .collect()
        })
        .unwrap_or_default();
    let namespace = summary.namespace.clone();
    let domain = entity["spec"]["domain"].as_str().and_then(|d| RefLink::parse(d, "domain", &namespace));
    Overview {
        entity: summary,
        domain,
        tags: Tags::linked(&summary.tags, |tag| {
            Query::default().with("kind", &kind).with("tag", tag).url("/catalog")
        })
        .markup(),
        labels,
        links: summary.links.iter().map(|(title, url)| ExternalLink::new(title, url).markup()).collect(),
        source_links,
        problems,
        profile,
        relation_cards,
        cards,
    }
    .markup()
}

/// `backstage.io/source-location` without its `url:` prefix (only URLs are linked; other
/// targets such as `file:` paths are not addresses a browser can open).
fn source_location(entity: &Value) -> Option<String> {
    let value = annotation(entity, ANNOTATION_SOURCE_LOCATION)?;
    value.strip_prefix("url:").map(str::to_owned)
}

/// The relation cards of the overview: `(title, relation type, only kinds, except kinds)`.
const RELATION_CARDS: [(&str, &str, &[&str], &[&str]); 12] = [
    ("Subcomponents", "hasPart", &["component"], &[]),
    ("Has parts", "hasPart", &[], &["component"]),
    ("Part of", "partOf", &[], &[]),
    ("Provided APIs", "providesApi", &[], &[]),
    ("Consumed APIs", "consumesApi", &[], &[]),
    ("Providers", "apiProvidedBy", &[], &[]),
    ("Consumers", "apiConsumedBy", &[], &[]),
    ("Depends on", "dependsOn", &[], &[]),
    ("Dependency of", "dependencyOf", &[], &[]),
    ("Members", "hasMember", &[], &[]),
    ("Owned entities", "ownerOf", &[], &[]),
    ("Member of", "memberOf", &[], &[]),
];

fn relation_cards(index: &ReadIndex, readable: &Readable, kind: &str, relations: &[Relation]) -> Vec<Markup> {
    let mut out = Vec::new();
    for (title, relation, only, except) in RELATION_CARDS {
        // Profiles show members, memberships and ownership their own way.
        if matches!(kind, "group" | "user") && matches!(relation, "hasMember" | "ownerOf" | "memberOf") {
            continue;
        }
        let refs = targets(relations, relation);
        if refs.is_empty() {
            continue;
        }
        let related: Vec<Related> = resolve(index, readable, &refs)
            .into_iter()
            .filter(|r| {
                let k = r.kind();
                (only.is_empty() || only.contains(&k.as_str())) && !except.contains(&k.as_str())
            })
            .collect();
        if related.is_empty() {
            continue;
        }
        out.push(related_card(title, &related));
    }
    out
}

/// A card listing related entities with their kind, type and description.
fn related_card(title: &str, related: &[Related]) -> Markup {
    let id = title.to_lowercase().replace(' ', "-");
    let mut html = format!(
        "<section class=\"card related\" aria-labelledby=\"rel-{id}\"><h2 id=\"rel-{id}\">{} <span class=\"count\">{}</span></h2><ul class=\"related-list\">",
        escape(title),
        related.len()
    );
    for r in related {
        let description = r.summary.as_ref().and_then(|s| s.description.as_deref()).unwrap_or_default();
        let spec_type = r.summary.as_ref().and_then(|s| s.spec_type.as_deref()).unwrap_or_default();
        html.push_str(&format!(
            "<li><span class=\"kind-dot kind-{kind}\" aria-hidden=\"true\"></span><div><a class=\"related-name\" href=\"{href}\">{label}</a> <span class=\"muted related-kind\">{kind}{sep}{spec_type}</span>{missing}{desc}</div></li>",
            kind = escape(&r.kind()),
            href = escape(&r.link.href),
            label = escape(r.label()),
            sep = if spec_type.is_empty() { "" } else { " · " },
            spec_type = escape(spec_type),
            missing = if r.summary.is_none() { " <span class=\"badge warn\">not in catalog</span>" } else { "" },
            desc = if description.is_empty() {
                String::new()
            } else {
                format!("<p class=\"related-desc\">{}</p>", escape(description))
            },
        ));
    }
    html.push_str("</ul></section>");
    Markup::trusted(html)
}

// ----- group and user profiles

/// The profile fields of a group or user: display name, email, picture (only `https:`).
struct Profile {
    display_name: Option<String>,
    email: Option<String>,
    picture: Option<String>,
}

fn profile_of(entity: &Value) -> Profile {
    let field = |name: &str| {
        entity["spec"]["profile"][name].as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
    };
    Profile {
        display_name: field("displayName"),
        email: field("email"),
        // Pictures load from other hosts: only over TLS, so a page served over HTTPS stays
        // free of mixed content and no `data:`/`javascript:` URL reaches an `src`.
        picture: field("picture").filter(|p| p.to_ascii_lowercase().starts_with("https://")),
    }
}

/// A round avatar: the initials, covered by the profile picture when there is one.
///
/// Pictures usually live on another host (an identity provider, a generated-avatar service), so
/// the page never depends on them: the initials are always drawn and the picture, lazily loaded
/// without a referrer (the portal's URLs stay private), is layered on top. When the host cannot
/// be reached the picture draws nothing (empty `alt`) and the initials remain — no broken-image
/// icon, no script needed.
fn avatar(profile: &Profile, name: &str, class: &str) -> String {
    let initial: String = profile
        .display_name
        .as_deref()
        .unwrap_or(name)
        .chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    let picture = profile
        .picture
        .as_deref()
        .map(|src| {
            format!(
                "<img class=\"avatar-picture\" src=\"{}\" alt=\"\" loading=\"lazy\" decoding=\"async\" referrerpolicy=\"no-referrer\">",
                escape(src)
            )
        })
        .unwrap_or_default();
    format!("<span class=\"{class} initials\" aria-hidden=\"true\">{}{picture}</span>", escape(&initial))
}

fn profile_card(subject: &Subject, facts: &[(&str, String)]) -> String {
    let profile = profile_of(&subject.entity);
    let name = &subject.summary.name;
    let mut html = String::from(
        "<section class=\"card profile\" aria-labelledby=\"profile-title\"><div class=\"profile-head\">",
    );
    html.push_str(&avatar(&profile, name, "avatar large"));
    html.push_str(&format!(
        "<div><h2 id=\"profile-title\">{}</h2>",
        escape(profile.display_name.as_deref().unwrap_or(name))
    ));
    if let Some(email) = &profile.email {
        html.push_str(&format!(
            "<p class=\"profile-email\"><a href=\"mailto:{}\">{}</a></p>",
            escape(email),
            escape(email)
        ));
    }
    html.push_str("</div></div><dl class=\"facts\">");
    for (label, value) in facts {
        html.push_str(&format!("<div><dt>{}</dt><dd>{value}</dd></div>", escape(label)));
    }
    html.push_str("</dl></section>");
    html
}

fn links_or_dash(related: &[Related]) -> String {
    if related.is_empty() {
        return "<span class=\"muted\">—</span>".to_owned();
    }
    related
        .iter()
        .map(|r| format!("<a href=\"{}\">{}</a>", escape(&r.link.href), escape(r.label())))
        .collect::<Vec<_>>()
        .join(", ")
}

fn group_profile(
    index: &ReadIndex,
    readable: &Readable,
    subject: &Subject,
    relations: &[Relation],
) -> Markup {
    let parents = resolve(index, readable, &targets(relations, "childOf"));
    let children = resolve(index, readable, &targets(relations, "parentOf"));
    let members = resolve(index, readable, &targets(relations, "hasMember"));
    let facts = [
        ("Type", escape(subject.summary.spec_type.as_deref().unwrap_or("—"))),
        ("Parent group", links_or_dash(&parents)),
        ("Child groups", links_or_dash(&children)),
        ("Members", members.len().to_string()),
    ];
    let mut html = profile_card(subject, &facts);
    html.push_str(&members_card(&members));
    html.push_str(&ownership_card(index, readable, std::slice::from_ref(&subject.entity_ref), "Ownership"));
    Markup::trusted(html)
}

fn user_profile(index: &ReadIndex, readable: &Readable, subject: &Subject, relations: &[Relation]) -> Markup {
    let groups = resolve(index, readable, &targets(relations, "memberOf"));
    let facts = [("Member of", links_or_dash(&groups))];
    let mut html = profile_card(subject, &facts);
    if !groups.is_empty() {
        html.push_str(&related_card("Memberships", &groups).into_string());
    }
    // What the user owns directly and through the groups it belongs to.
    let mut owners = vec![subject.entity_ref.clone()];
    owners.extend(groups.iter().map(|g| g.entity_ref.clone()));
    html.push_str(&ownership_card(index, readable, &owners, "Ownership (own and through memberships)"));
    Markup::trusted(html)
}

fn members_card(members: &[Related]) -> String {
    let mut html = format!(
        "<section class=\"card members\" aria-labelledby=\"members-title\"><h2 id=\"members-title\">Members <span class=\"count\">{}</span></h2>",
        members.len()
    );
    if members.is_empty() {
        html.push_str("<p class=\"muted\">This group has no members.</p>");
    } else {
        html.push_str("<ul class=\"member-grid\">");
        for member in members {
            let profile = member.json.as_ref().map(profile_of).unwrap_or(Profile {
                display_name: None,
                email: None,
                picture: None,
            });
            let name = member.summary.as_ref().map_or(member.link.label.as_str(), |s| s.name.as_str());
            html.push_str(&format!(
                "<li class=\"member\">{}<div><a class=\"member-name\" href=\"{}\">{}</a>{}</div></li>",
                avatar(&profile, name, "avatar"),
                escape(&member.link.href),
                escape(profile.display_name.as_deref().unwrap_or(name)),
                profile
                    .email
                    .as_deref()
                    .map(|e| format!("<span class=\"member-email\">{}</span>", escape(e)))
                    .unwrap_or_default(),
            ));
        }
        html.push_str("</ul>");
    }
    html.push_str("</section>");
    html
}

/// Everything `owners` own, counted by kind, each count linking to the catalog list
/// filtered to it; asked of the index with the `relations.ownedby` filter.
fn ownership_card(index: &ReadIndex, readable: &Readable, owners: &[String], title: &str) -> String {
    let mut owned =
        index.filter(&EntityFilter::Key { key: "relations.ownedby".into(), values: Some(owners.to_vec()) });
    readable.restrict(&mut owned);
    let counts = index.facet("kind", &owned);
    let mut html = format!(
        "<section class=\"card ownership\" aria-labelledby=\"ownership-title\"><h2 id=\"ownership-title\">{} <span class=\"count\">{}</span></h2>",
        escape(title),
        owned.len()
    );
    if counts.is_empty() {
        html.push_str("<p class=\"muted\">Nothing in the catalog is owned here yet.</p>");
    } else {
        html.push_str("<ul class=\"ownership-grid\">");
        let owner_param = owners.first().map(String::as_str).unwrap_or_default();
        for count in counts {
            let kind = count.value.to_lowercase();
            let query = Query::default().with("kind", &kind).with("owner", owner_param);
            html.push_str(&format!(
                "<li><a class=\"owned-kind\" href=\"{}\"><span class=\"stat-value\">{}</span><span class=\"stat-label\"><span class=\"kind-dot kind-{}\" aria-hidden=\"true\"></span>{}</span></a></li>",
                escape(&query.url("/catalog")),
                count.count,
                escape(&kind),
                escape(count.value),
            ));
        }
        html.push_str("</ul>");
    }
    html.push_str("</section>");
    html
}
