//! The flattened key/value rows Backstage's filters, ordering and facets work on.

use serde_json::Value;

use crate::SerializedError;

/// One searchable key/value pair of an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRow {
    /// Lowercased dot path.
    pub key: String,
    /// Lowercased value; `None` for null or values over 200 characters.
    pub value: Option<String>,
    /// The value in its original case; `None` where `value` is `None`.
    pub original: Option<String>,
}

/// Every searchable row of a final entity (Backstage's `buildEntitySearch`).
pub fn search_rows(entity: &Value) -> Result<Vec<SearchRow>, SerializedError> {
    todo!("{entity}")
}
