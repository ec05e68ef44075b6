//! The catalog's permission check that the API and the pages share: unregistering a location.

use portico_plugin::permission::Resource;
use portico_plugin::permission::permission::CATALOG_LOCATION_DELETE;
use portico_plugin::{Access, Denied};
use portico_store::LocationRecord;
use serde_json::Value;

use crate::engine::location::ANNOTATION_LOCATION;
use crate::index::{EntityFilter, ReadIndex, SharedIndex};

/// The entities a location produced (their `backstage.io/managed-by-location` names it),
/// parsed; the Location entities among them are left out, since they exist only to record
/// where the others came from.
fn entities_of_location(index: &ReadIndex, location: &LocationRecord) -> Vec<(String, Value)> {
    let key = format!("metadata.annotations.{ANNOTATION_LOCATION}");
    let value = format!("{}:{}", location.kind, location.target).to_lowercase();
    let filter = EntityFilter::Key { key, values: Some(vec![value]) };
    index
        .filter(&filter)
        .iter()
        .filter_map(|ordinal| index.entity(ordinal))
        .filter(|entity| !entity.entity_ref.starts_with("location:"))
        .filter_map(|entity| Some((entity.entity_ref.to_owned(), serde_json::from_str(&entity.body()).ok()?)))
        .collect()
}

/// `catalog.location.delete` for unregistering `location`: checked against every entity it
/// produced (so "only owners may unregister their entities" can be written), or against the
/// catalog as a whole when it produced none.
pub(crate) async fn require_location_delete(
    access: &Access,
    index: &SharedIndex,
    location: &LocationRecord,
) -> Result<(), Denied> {
    if !access.enforces() {
        return Ok(());
    }
    let entities = {
        let index = index.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        entities_of_location(&index, location)
    };
    if entities.is_empty() {
        let target = format!("{}:{}", location.kind, location.target);
        return access.require(&CATALOG_LOCATION_DELETE, None, &target).await;
    }
    for (entity_ref, entity) in &entities {
        access.require(&CATALOG_LOCATION_DELETE, Some(Resource::Entity(entity)), entity_ref).await?;
    }
    Ok(())
}
