//! The Backstage-compatible entity model.
//!
//! This crate is pure: no IO, no async, no web or database types. Everything the catalog needs
//! to turn a parsed descriptor into a processed entity with its relations lives here, with
//! Backstage's exact rules and error messages (see `reference/catalog-api.md` §1–2).

pub mod entity_ref;
pub mod error;
pub mod fields;
pub mod flatten;
pub mod hash;
pub mod kinds;
pub mod location;
pub mod process;
pub mod relations;
mod schema;
pub mod validation;
pub mod yaml;

pub use entity_ref::{DEFAULT_NAMESPACE, EntityRef, RefDefaults};
pub use error::SerializedError;
pub use flatten::{SearchRow, search_rows};
pub use kinds::kind_is_known;
pub use process::{ProcessedEntity, process_entity, validate_envelope};
pub use relations::Relation;
