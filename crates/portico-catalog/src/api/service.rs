//! The catalog as other plugins use it in process: look entities up, list them by a Backstage
//! `catalogFilter`, and register locations — what Backstage's plugins do through
//! `@backstage/catalog-client`, without the HTTP round trip.
//!
//! The catalog only exists once its plugin started, while the plugins that need it are built
//! before any starts. So the composition root creates a [`CatalogHandle`], gives it to the
//! catalog plugin (which fills it at start) and to the plugins that use it (which read it when
//! they serve).

use std::collections::HashSet;
use std::sync::{Arc, OnceLock, PoisonError};

use portico_plugin::Access;

use serde_json::Value;

use crate::engine::{Engine, EngineError};
use crate::index::{EntityFilter, Readable, SharedIndex};

/// A catalog that may not have started yet. Cheap to clone; every clone sees the same catalog.
#[derive(Clone, Default)]
pub struct CatalogHandle(Arc<OnceLock<CatalogService>>);

impl CatalogHandle {
    /// An empty handle.
    pub fn new() -> Self {
        CatalogHandle::default()
    }

    /// The running catalog, once its plugin started.
    pub fn get(&self) -> Option<&CatalogService> {
        self.0.get()
    }

    pub(crate) fn fill(&self, service: CatalogService) {
        // A second start (never done by the app) keeps the first catalog.
        let _ = self.0.set(service);
    }
}

/// Why a catalog operation failed, classified like Backstage's errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogServiceError {
    /// `NotFoundError`.
    #[error("{0}")]
    NotFound(String),
    /// `ConflictError`: e.g. the location is already registered.
    #[error("{0}")]
    Conflict(String),
    /// `InputError`: the request or the location's contents are invalid.
    #[error("{0}")]
    Input(String),
    /// Anything else (the database failed).
    #[error("{0}")]
    Other(String),
}

impl From<EngineError> for CatalogServiceError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::NotFound(message) => CatalogServiceError::NotFound(message),
            EngineError::Conflict(message) => CatalogServiceError::Conflict(message),
            EngineError::Input(message) => CatalogServiceError::Input(message),
            EngineError::Store(error) => CatalogServiceError::Other(error.to_string()),
        }
    }
}

/// The running catalog. Cheap to clone.
#[derive(Clone)]
pub struct CatalogService {
    engine: Engine,
    index: SharedIndex,
}

impl CatalogService {
    pub(crate) fn new(engine: Engine, index: SharedIndex) -> Self {
        CatalogService { engine, index }
    }

    /// The entity with this ref (`kind:namespace/name`, compared case-insensitively), as the
    /// API serves it, when `access` may read it (`Access::unrestricted` for the portal's own
    /// lookups, such as resolving a user at sign-in).
    pub fn entity(&self, access: &Access, entity_ref: &str) -> Option<Value> {
        let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
        let view = index.by_ref(&entity_ref.to_lowercase())?;
        if !index.readable(access).contains(view.ordinal) {
            return None;
        }
        serde_json::from_str(&view.body()).ok()
    }

    /// What `access` may read, to filter things that stand for catalog entities (search
    /// results, documentation sites) by the entity's ref.
    pub fn readable_refs(&self, access: &Access) -> ReadableRefs {
        let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
        match index.readable(access) {
            Readable::All => ReadableRefs { only: None },
            Readable::Only(set) => ReadableRefs {
                only: Some(
                    set.iter()
                        .filter_map(|ordinal| index.entity(ordinal))
                        .map(|e| e.entity_ref.into())
                        .collect(),
                ),
            },
        }
    }

    /// The entities matching a Backstage `catalogFilter` (`{kind: Group}`, `{kind: [Group,
    /// User], 'spec.type': team}`, or a list of such objects, any of which may match), at
    /// most `limit`, ordered by ref. `None` or an empty object matches everything.
    /// Only entities `access` may read are considered.
    pub fn entities_matching(
        &self,
        access: &Access,
        catalog_filter: Option<&Value>,
        limit: usize,
    ) -> Vec<Value> {
        let filter = catalog_filter.map(filter_of_query);
        let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
        let mut matching = index.matching(filter.as_ref());
        index.readable(access).restrict(&mut matching);
        let mut views: Vec<_> = matching.iter().filter_map(|ordinal| index.entity(ordinal)).collect();
        views.sort_by(|a, b| a.entity_ref.cmp(b.entity_ref));
        views.into_iter().take(limit).filter_map(|view| serde_json::from_str(&view.body()).ok()).collect()
    }

    /// Registers the location `kind:target` (`POST /locations`), or with `dry_run` only reads
    /// it; returns the entities read from it, the generated Location entity first. A dry run
    /// succeeds for a location that is already registered.
    pub async fn add_location(
        &self,
        kind: &str,
        target: &str,
        dry_run: bool,
    ) -> Result<Vec<Value>, CatalogServiceError> {
        if !dry_run {
            self.engine.register_location(kind, target).await?;
            return Ok(Vec::new());
        }
        self.engine.dry_run(kind, target).await.map_err(|error| CatalogServiceError::Input(error.message))
    }
}

/// The entity refs a caller may read ([`CatalogService::readable_refs`]).
#[derive(Debug, Clone)]
pub struct ReadableRefs {
    /// Lower-case canonical refs; `None` when every entity may be read.
    only: Option<HashSet<Arc<str>>>,
}

impl ReadableRefs {
    /// Whether the entity with this ref (any case) may be read; refs of entities that do not
    /// exist are not readable when reading is restricted.
    pub fn allows(&self, entity_ref: &str) -> bool {
        match &self.only {
            None => true,
            Some(refs) => refs.contains(entity_ref.to_lowercase().as_str()),
        }
    }

    /// Whether every entity may be read.
    pub fn is_unrestricted(&self) -> bool {
        self.only.is_none()
    }
}

/// The index filter of a Backstage `EntityFilterQuery`: an object is the conjunction of its
/// keys (each one value or any of a list), a list is the disjunction of its objects.
fn filter_of_query(query: &Value) -> EntityFilter {
    match query {
        Value::Array(alternatives) => EntityFilter::AnyOf(alternatives.iter().map(filter_of_query).collect()),
        Value::Object(keys) => EntityFilter::AllOf(
            keys.iter()
                .map(|(key, values)| EntityFilter::Key {
                    key: key.clone(),
                    values: Some(filter_values(values)),
                })
                .collect(),
        ),
        // Not a filter: match nothing rather than everything.
        _ => EntityFilter::AnyOf(vec![EntityFilter::Key { key: String::new(), values: Some(Vec::new()) }]),
    }
}

fn filter_values(values: &Value) -> Vec<String> {
    let text = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    };
    match values {
        Value::Array(items) => items.iter().filter_map(text).collect(),
        single => text(single).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_catalog_filter_object_is_a_conjunction_and_a_list_a_disjunction() {
        let key = |key: &str, values: &[&str]| EntityFilter::Key {
            key: key.to_owned(),
            values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
        };
        assert_eq!(
            filter_of_query(&json!({"kind": ["Group", "User"], "spec.type": "team"})),
            EntityFilter::AllOf(vec![key("kind", &["Group", "User"]), key("spec.type", &["team"])])
        );
        assert_eq!(
            filter_of_query(&json!([{"kind": "Group"}, {"kind": "User"}])),
            EntityFilter::AnyOf(vec![
                EntityFilter::AllOf(vec![key("kind", &["Group"])]),
                EntityFilter::AllOf(vec![key("kind", &["User"])]),
            ])
        );
    }
}
