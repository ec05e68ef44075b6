//! Extension points of the entity page: tabs (`/catalog/:namespace/:kind/:name/:tab`) and
//! overview cards that plugins contribute for the entities they concern. Plugins register them
//! on the `Registrar`; the app collects them into one [`EntityPageExtensions`], which the
//! entity page finds in the request's extensions.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::html::Markup;
use crate::page_error::PageError;

/// What rendering a tab or card yields: its HTML, or a page error.
pub type TabFuture = Pin<Box<dyn Future<Output = Result<Markup, PageError>> + Send>>;

/// Renders a tab or card for one entity (the final entity's JSON).
pub type TabRender = Arc<dyn Fn(Arc<Value>) -> TabFuture + Send + Sync>;

/// Decides whether a tab or card applies to an entity (for example, kind API only).
pub type AppliesTo = Arc<dyn Fn(&Value) -> bool + Send + Sync>;

/// A tab of the entity page.
#[derive(Clone)]
pub struct EntityTab {
    /// The URL segment (`api`, `dependencies`); unique among tabs.
    pub id: &'static str,
    /// The tab's label.
    pub title: String,
    /// Position: lower comes first; the overview is 0.
    pub order: i32,
    pub applies_to: AppliesTo,
    pub render: TabRender,
}

/// A card on the entity page's overview tab.
#[derive(Clone)]
pub struct EntityCard {
    /// Unique id (also the card's HTML id).
    pub id: &'static str,
    pub order: i32,
    pub applies_to: AppliesTo,
    pub render: TabRender,
}

impl fmt::Debug for EntityTab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntityTab").field("id", &self.id).field("title", &self.title).finish_non_exhaustive()
    }
}

impl fmt::Debug for EntityCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntityCard").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Every registered tab and card, in display order.
#[derive(Debug, Clone, Default)]
pub struct EntityPageExtensions {
    tabs: Vec<EntityTab>,
    cards: Vec<EntityCard>,
}

impl EntityPageExtensions {
    /// Sorts the contributions by `order` (ties keep registration order).
    pub fn new(mut tabs: Vec<EntityTab>, mut cards: Vec<EntityCard>) -> EntityPageExtensions {
        tabs.sort_by_key(|t| t.order);
        cards.sort_by_key(|c| c.order);
        EntityPageExtensions { tabs, cards }
    }

    /// The tabs shown for an entity.
    pub fn tabs_for<'a>(&'a self, entity: &'a Value) -> impl Iterator<Item = &'a EntityTab> + 'a {
        self.tabs.iter().filter(move |t| (t.applies_to)(entity))
    }

    /// The overview cards shown for an entity.
    pub fn cards_for<'a>(&'a self, entity: &'a Value) -> impl Iterator<Item = &'a EntityCard> + 'a {
        self.cards.iter().filter(move |c| (c.applies_to)(entity))
    }

    /// The tab with this id, if it applies to the entity.
    pub fn tab(&self, id: &str, entity: &Value) -> Option<&EntityTab> {
        self.tabs.iter().find(|t| t.id == id && (t.applies_to)(entity))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tab(id: &'static str, order: i32, kind: &'static str) -> EntityTab {
        EntityTab {
            id,
            title: id.to_uppercase(),
            order,
            applies_to: Arc::new(move |e: &Value| e["kind"] == kind),
            render: Arc::new(|_| Box::pin(async { Ok(Markup::text("tab")) })),
        }
    }

    #[tokio::test]
    async fn tabs_are_ordered_and_filtered_by_entity() {
        let extensions =
            EntityPageExtensions::new(vec![tab("docs", 30, "Component"), tab("api", 10, "API")], vec![]);
        let api = json!({"kind": "API"});
        let ids: Vec<&str> = extensions.tabs_for(&api).map(|t| t.id).collect();
        assert_eq!(ids, ["api"]);
        assert!(extensions.tab("docs", &api).is_none());
        let rendered = (extensions.tab("api", &api).unwrap().render)(Arc::new(api.clone())).await.unwrap();
        assert_eq!(rendered.as_str(), "tab");
    }
}
