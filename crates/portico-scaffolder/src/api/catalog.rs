//! What actions may ask of the software catalog. The application implements [`CatalogClient`]
//! over the catalog it runs; the catalog actions only see this trait.

use async_trait::async_trait;
use portico_plugin::Access;
use serde_json::Value;

/// A catalog failure, classified so that actions can tell "not there" from "broken".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The entity or location does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The location is already registered (Backstage's `ConflictError`).
    #[error("{0}")]
    Conflict(String),
    /// The request was refused as invalid (Backstage's `InputError`).
    #[error("{0}")]
    Input(String),
    /// The caller may not do this.
    #[error("{0}")]
    NotAllowed(String),
    /// Anything else (unreachable catalog, unreadable location...).
    #[error("{0}")]
    Other(String),
}

/// Options of [`CatalogClient::add_location`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddLocationOptions {
    /// Only read the location and report its entities; register nothing. Unlike a real
    /// registration this succeeds for a location that is already registered.
    pub dry_run: bool,
    /// The user the action runs for (`user:default/jane`), whose permissions apply.
    pub on_behalf_of: Option<String>,
}

/// The catalog operations the built-in actions use (Backstage's `CatalogApi` subset).
#[async_trait]
pub trait CatalogClient: Send + Sync {
    /// `POST /locations` with `{type: "url", target}`: registers the location (unless dry run)
    /// and returns the entities read from it.
    async fn add_location(
        &self,
        target: &str,
        options: AddLocationOptions,
    ) -> Result<Vec<Value>, CatalogError>;

    /// The entity with this reference (`kind:namespace/name`), if it exists and `access` may
    /// read it (`catalog.entity.read`); an entity the caller may not read does not exist.
    async fn get_entity_by_ref(
        &self,
        entity_ref: &str,
        access: &Access,
    ) -> Result<Option<Value>, CatalogError>;

    /// The entities with these references, in order, `None` for missing ones and for those
    /// `access` may not read.
    async fn get_entities_by_refs(
        &self,
        entity_refs: &[String],
        access: &Access,
    ) -> Result<Vec<Option<Value>>, CatalogError> {
        let mut entities = Vec::with_capacity(entity_refs.len());
        for entity_ref in entity_refs {
            entities.push(self.get_entity_by_ref(entity_ref, access).await?);
        }
        Ok(entities)
    }

    /// The entities matching a Backstage `catalogFilter` (`{kind: Group}` or a list of such
    /// objects) that `access` may read, at most `limit` — for the template list and the form's
    /// pickers.
    async fn entities_matching(
        &self,
        access: &Access,
        catalog_filter: Option<&Value>,
        limit: usize,
    ) -> Result<Vec<Value>, CatalogError>;
}
