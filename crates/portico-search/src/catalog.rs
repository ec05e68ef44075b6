//! The `software-catalog` collator: catalog entities as search documents, read from the catalog
//! store's change feed (never from the catalog plugin's internals).
//!
//! Templates are catalog entities of kind `Template`, so they are documents of this type too
//! (filter with `filters[kind]=Template`), as in Backstage.

use std::sync::Arc;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use portico_store::{CatalogStore, FinalChange};
use serde_json::{Map, Value, json};

use crate::api::{Changes, CollatorError, DocumentChange, SearchCollator, SearchDocument, Snapshot};

/// The document type of catalog entities.
pub const CATALOG_TYPE: &str = "software-catalog";
/// Backstage's default `search.collators.catalog.locationTemplate`.
pub const DEFAULT_LOCATION_TEMPLATE: &str = "/catalog/:namespace/:kind/:name";

/// What `encodeURIComponent` leaves alone.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Catalog entities from the store's change feed.
pub struct CatalogCollator {
    store: Arc<dyn CatalogStore>,
    location_template: String,
}

impl CatalogCollator {
    pub fn new(store: Arc<dyn CatalogStore>, location_template: impl Into<String>) -> CatalogCollator {
        CatalogCollator { store, location_template: location_template.into() }
    }

    fn document(&self, entity_ref: &str, body: &str) -> Option<SearchDocument> {
        let entity: Value = serde_json::from_str(body).ok()?;
        Some(entity_document(&entity, entity_ref, &self.location_template))
    }
}

/// The search document of an entity, as Backstage's catalog collator derives it.
pub fn entity_document(entity: &Value, entity_ref: &str, location_template: &str) -> SearchDocument {
    let str_at = |pointer: &str| entity.pointer(pointer).and_then(Value::as_str);
    let kind = str_at("/kind").unwrap_or_default();
    let name = str_at("/metadata/name").unwrap_or_default();
    let namespace = str_at("/metadata/namespace").unwrap_or("default");
    let title = str_at("/metadata/title").unwrap_or(name);
    let mut texts = vec![str_at("/metadata/description").unwrap_or_default()];
    let is_user = kind.eq_ignore_ascii_case("user");
    if (is_user || kind.eq_ignore_ascii_case("group"))
        && let Some(display_name) = str_at("/spec/profile/displayName").filter(|s| !s.is_empty())
    {
        texts.push(display_name);
    }
    if is_user && let Some(email) = str_at("/spec/profile/email").filter(|s| !s.is_empty()) {
        texts.push(email);
    }
    let component_type = str_at("/spec/type").unwrap_or("other");
    let encode = |s: &str| utf8_percent_encode(s, URI_COMPONENT).to_string();
    let location = location_template
        .replace(":namespace", &encode(namespace))
        .replace(":kind", &encode(kind))
        .replace(":name", &encode(name))
        .to_lowercase();
    let mut fields = Map::new();
    fields.insert("title".into(), json!(title));
    fields.insert("text".into(), json!(texts.join(" : ")));
    fields.insert("componentType".into(), json!(component_type));
    fields.insert("type".into(), json!(component_type));
    fields.insert("namespace".into(), json!(namespace));
    fields.insert("kind".into(), json!(kind));
    fields.insert("lifecycle".into(), json!(str_at("/spec/lifecycle").unwrap_or_default()));
    fields.insert("owner".into(), json!(str_at("/spec/owner").unwrap_or_default()));
    fields.insert("location".into(), json!(location));
    fields.insert("authorization".into(), json!({ "resourceRef": entity_ref }));
    SearchDocument { id: entity_ref.to_owned(), fields, exact_names: vec![name.to_lowercase()] }
}

#[async_trait::async_trait]
impl SearchCollator for CatalogCollator {
    fn document_type(&self) -> &str {
        CATALOG_TYPE
    }

    fn feed_id(&self) -> String {
        // Change sequence numbers belong to the store; a template change re-derives documents.
        format!("catalog-store:{}", self.location_template)
    }

    fn visibility_permission(&self) -> Option<&str> {
        Some("catalog.entity.read")
    }

    async fn snapshot(&self) -> Result<Snapshot, CollatorError> {
        let (rows, cursor) = self.store.final_snapshot().await.map_err(|e| CollatorError(e.to_string()))?;
        let documents = rows.iter().filter_map(|row| self.document(&row.entity_ref, &row.body)).collect();
        Ok(Snapshot { documents, cursor })
    }

    async fn changes_since(&self, cursor: i64, limit: usize) -> Result<Changes, CollatorError> {
        let feed =
            self.store.final_changes_since(cursor, limit).await.map_err(|e| CollatorError(e.to_string()))?;
        let next = feed.last().map_or(cursor, FinalChange::change_seq);
        let changes = feed
            .into_iter()
            .map(|change| match change {
                FinalChange::Upsert(row) => match self.document(&row.entity_ref, &row.body) {
                    Some(document) => DocumentChange::Upsert(document),
                    None => DocumentChange::Delete { id: row.entity_ref },
                },
                FinalChange::Delete { entity_ref, .. } => DocumentChange::Delete { id: entity_ref },
            })
            .collect();
        Ok(Changes { changes, cursor: next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_follow_backstages_derivation() {
        let entity = json!({
            "kind": "User", "metadata": {"name": "Jane.Doe", "description": "Engineer"},
            "spec": {"profile": {"displayName": "Jane Doe", "email": "jane@example.com"}}
        });
        let doc = entity_document(&entity, "user:default/jane.doe", DEFAULT_LOCATION_TEMPLATE);
        assert_eq!(doc.fields["title"], "Jane.Doe");
        assert_eq!(doc.fields["text"], "Engineer : Jane Doe : jane@example.com");
        assert_eq!(doc.fields["type"], "other");
        assert_eq!(doc.fields["componentType"], "other");
        assert_eq!(doc.fields["namespace"], "default");
        assert_eq!(doc.fields["lifecycle"], "");
        assert_eq!(doc.fields["location"], "/catalog/default/user/jane.doe");
        assert_eq!(doc.fields["authorization"]["resourceRef"], "user:default/jane.doe");
        assert_eq!(doc.exact_names, ["jane.doe"]);
    }

    #[test]
    fn location_parts_are_uri_encoded_then_lower_cased() {
        let entity = json!({
            "kind": "Component",
            "metadata": {"name": "My Svc", "namespace": "Team A", "title": "Nice"},
            "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}
        });
        let doc = entity_document(&entity, "component:team a/my svc", DEFAULT_LOCATION_TEMPLATE);
        assert_eq!(doc.fields["location"], "/catalog/team%20a/component/my%20svc");
        assert_eq!(doc.fields["title"], "Nice");
        assert_eq!(doc.fields["text"], "");
        assert_eq!(doc.fields["type"], "service");
        assert_eq!(doc.fields["owner"], "team-a");
    }
}
