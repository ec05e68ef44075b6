//! Field projection (`fields=kind,metadata.name`).

use serde_json::Value;

/// A parsed `fields` parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldProjection {
    paths: Vec<String>,
}

impl FieldProjection {
    /// Parses the values of one or more `fields` parameters.
    pub fn parse<'a, I: IntoIterator<Item = &'a str>>(values: I) -> Result<FieldProjection, String> {
        let _ = values.into_iter().count();
        todo!()
    }

    /// `true` when no projection applies (the whole entity is returned).
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The entity pruned to the selected paths.
    pub fn apply(&self, entity: &Value) -> Value {
        todo!("{entity}")
    }
}
