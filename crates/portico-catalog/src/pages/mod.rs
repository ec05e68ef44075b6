//! The catalog's HTML pages: home (`/`), the catalog list (`/catalog`, and `/api-docs` preset
//! to APIs), the entity page (`/catalog/:namespace/:kind/:name[/:tab]`: overview, group and
//! user profiles, the dependency graph, API definitions, plugin tabs), starring, registering
//! (`/catalog-import`) and unregistering. Pages read the same in-memory index as the API;
//! none loads the whole catalog.

mod definition;
mod entity;
pub mod graph;
mod home;
mod import;
pub mod layout;
mod list;
mod relations;

use std::sync::{Arc, PoisonError, RwLockReadGuard};

use axum::Router;
use axum::routing::{get, post};
use portico_model::entity_ref::{EntityRef, RefDefaults};
use portico_plugin::Audit;
use portico_store::{CatalogStore, UserDataStore};
use portico_web::{NavItem, PageContext, PageError};
use serde_json::Value;

use crate::engine::Engine;
use crate::index::{ReadIndex, SharedIndex};

/// State of the catalog pages.
#[derive(Clone)]
pub struct CatalogPages {
    index: SharedIndex,
    /// The catalog store: the change feed (recently changed entities) and catching the index
    /// up after a page changed the catalog.
    store: Arc<dyn CatalogStore>,
    user_data: Arc<dyn UserDataStore>,
    engine: Engine,
    /// Where registering and unregistering are recorded.
    audit: Audit,
}

impl CatalogPages {
    /// Pages over this index, changing the catalog through `engine` and recording the changes in
    /// `audit`.
    pub fn new(
        index: SharedIndex,
        store: Arc<dyn CatalogStore>,
        user_data: Arc<dyn UserDataStore>,
        engine: Engine,
        audit: Audit,
    ) -> CatalogPages {
        CatalogPages { index, store, user_data, engine, audit }
    }

    fn read(&self) -> RwLockReadGuard<'_, ReadIndex> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The viewer's starred entity refs, from the store.
    async fn starred(&self, cx: &PageContext) -> Result<Vec<String>, PageError> {
        self.user_data
            .starred(cx.viewer.identity())
            .await
            .map_err(|e| PageError::internal(format!("Could not read your starred entities: {e}")))
    }

    /// Brings the index up to date after a page changed the catalog, so the next page shows it.
    async fn catch_up(&self) -> Result<(), PageError> {
        crate::index::catch_up(&self.index, self.store.as_ref())
            .await
            .map(|_| ())
            .map_err(|e| PageError::internal(format!("The catalog index could not be updated: {e}")))
    }
}

/// The page routes, state applied.
pub fn router(pages: CatalogPages) -> Router {
    Router::new()
        .route("/", get(home::home))
        .route("/catalog", get(list::catalog))
        .route("/api-docs", get(list::api_docs))
        .route("/catalog/{namespace}/{kind}/{name}", get(entity::overview))
        .route("/catalog/{namespace}/{kind}/{name}/{tab}", get(entity::tab))
        .route("/catalog/{namespace}/{kind}/{name}/star", post(entity::star))
        .route(
            "/catalog/{namespace}/{kind}/{name}/unregister",
            get(import::unregister_page).post(import::unregister),
        )
        .route("/catalog/{namespace}/{kind}/{name}/definition/raw", get(definition::raw))
        .route("/catalog-import", get(import::import_page).post(import::import))
        .with_state(pages)
}

/// The navigation entries of the catalog pages.
pub fn nav_items() -> Vec<NavItem> {
    vec![
        NavItem::new("Home", "/", "home", 0),
        NavItem::new("Catalog", "/catalog", "catalog", 10),
        NavItem::new("APIs", "/api-docs", "api", 20),
        NavItem::new("Register", "/catalog-import", "create", 45),
    ]
}

/// The path of an entity's page: `/catalog/<namespace>/<kind lowercased>/<name>`.
pub fn entity_path(kind: &str, namespace: &str, name: &str) -> String {
    use portico_web::html::encode_component as enc;
    format!("/catalog/{}/{}/{}", enc(namespace), enc(&kind.to_lowercase()), enc(name))
}

/// An entity ref (`group:default/team-a`, or a bare name with `default_kind`) parsed for display
/// and linking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefLink {
    /// Backstage's humanized form: the kind omitted when it is `default_kind`, the namespace
    /// when it is `default`.
    pub label: String,
    pub href: String,
}

impl RefLink {
    /// Parses `text` with the given defaults; `None` when it is not a ref.
    pub fn parse(text: &str, default_kind: &str, default_namespace: &str) -> Option<RefLink> {
        let parsed = EntityRef::parse(
            text,
            RefDefaults { kind: Some(default_kind), namespace: Some(default_namespace) },
        )
        .ok()?;
        let mut label = String::new();
        if !parsed.kind.eq_ignore_ascii_case(default_kind) {
            label.push_str(&parsed.kind.to_lowercase());
            label.push(':');
        }
        if parsed.namespace != "default" {
            label.push_str(&parsed.namespace);
            label.push('/');
        }
        label.push_str(&parsed.name);
        Some(RefLink { label, href: entity_path(&parsed.kind, &parsed.namespace, &parsed.name) })
    }
}

/// The fields pages show of an entity, read from its JSON.
#[derive(Debug, Clone, Default)]
pub struct EntitySummary {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub spec_type: Option<String>,
    pub lifecycle: Option<String>,
    /// The owner (from the `ownedBy` relation, else `spec.owner`).
    pub owner: Option<RefLink>,
    pub system: Option<RefLink>,
    pub tags: Vec<String>,
    /// `metadata.links` as `(title, url)`.
    pub links: Vec<(String, String)>,
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer).and_then(Value::as_str).filter(|s| !s.trim().is_empty()).map(str::to_owned)
}

impl EntitySummary {
    /// Reads an entity's JSON.
    pub fn from_json(entity: &Value) -> EntitySummary {
        let namespace = text(entity, "/metadata/namespace").unwrap_or_else(|| "default".to_owned());
        let owned_by = entity["relations"]
            .as_array()
            .and_then(|relations| {
                relations
                    .iter()
                    .find(|r| r["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("ownedBy")))
            })
            .and_then(|r| r["targetRef"].as_str().map(str::to_owned));
        let owner = owned_by
            .or_else(|| text(entity, "/spec/owner"))
            .and_then(|owner| RefLink::parse(&owner, "group", &namespace));
        let system = text(entity, "/spec/system").and_then(|s| RefLink::parse(&s, "system", &namespace));
        EntitySummary {
            kind: text(entity, "/kind").unwrap_or_default(),
            name: text(entity, "/metadata/name").unwrap_or_default(),
            title: text(entity, "/metadata/title"),
            description: text(entity, "/metadata/description"),
            spec_type: text(entity, "/spec/type"),
            lifecycle: text(entity, "/spec/lifecycle"),
            owner,
            system,
            tags: entity["metadata"]["tags"]
                .as_array()
                .map(|tags| tags.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
            links: entity["metadata"]["links"]
                .as_array()
                .map(|links| {
                    links
                        .iter()
                        .filter_map(|l| {
                            let url = l["url"].as_str()?;
                            Some((l["title"].as_str().unwrap_or(url).to_owned(), url.to_owned()))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            namespace,
        }
    }

    /// What to call the entity: its title, else its name.
    pub fn display_name(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.name)
    }

    /// The entity page's path.
    pub fn path(&self) -> String {
        entity_path(&self.kind, &self.namespace, &self.name)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn refs_are_humanized_like_backstage() {
        let link = RefLink::parse("group:default/team-a", "group", "default").unwrap();
        assert_eq!(link, RefLink { label: "team-a".into(), href: "/catalog/default/group/team-a".into() });
        let link = RefLink::parse("user:ops/jane", "group", "default").unwrap();
        assert_eq!(link.label, "user:ops/jane");
        assert_eq!(RefLink::parse("svc", "system", "prod").unwrap().href, "/catalog/prod/system/svc");
    }

    #[test]
    fn summary_prefers_the_owned_by_relation() {
        let entity = json!({
            "kind": "Component",
            "metadata": {"name": "web", "tags": ["a", 1], "links": [{"url": "https://x.test"}]},
            "spec": {"owner": "team-a", "system": "shop"},
            "relations": [{"type": "ownedBy", "targetRef": "group:default/team-b"}]
        });
        let summary = EntitySummary::from_json(&entity);
        assert_eq!(summary.owner.as_ref().unwrap().label, "team-b");
        assert_eq!(summary.system.as_ref().unwrap().href, "/catalog/default/system/shop");
        assert_eq!(summary.tags, ["a"]);
        assert_eq!(summary.links, [("https://x.test".to_owned(), "https://x.test".to_owned())]);
        assert_eq!(summary.path(), "/catalog/default/component/web");
    }
}
