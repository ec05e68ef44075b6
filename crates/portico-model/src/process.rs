//! Processing one entity: envelope → policies → kind validation → relations.

use serde_json::Value;

use crate::{Relation, SerializedError};

/// An entity that passed every check, with the relations it emits (both directions).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedEntity {
    /// The entity with `metadata.namespace` defaulted.
    pub entity: Value,
    /// Canonical ref of the entity.
    pub entity_ref: String,
    pub relations: Vec<Relation>,
}

/// Runs every model check on an entity whose placeholders are already resolved.
pub fn process_entity(entity: Value) -> Result<ProcessedEntity, SerializedError> {
    todo!("{entity}")
}
