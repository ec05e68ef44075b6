//! Entity references: `[<kind>:][<namespace>/]<name>` with Backstage's parsing quirks.

/// Defaults applied when parsing a reference that omits parts.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefDefaults<'a> {
    pub kind: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

/// A parsed entity reference. Keeps the original casing; [`EntityRef::canonical`] lowercases.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl EntityRef {
    /// Parses a string reference (see catalog-api.md §1.4).
    pub fn parse(text: &str, defaults: RefDefaults<'_>) -> Result<EntityRef, crate::SerializedError> {
        todo!("{text} {defaults:?}")
    }

    /// `lower(kind):lower(namespace)/lower(name)`.
    pub fn canonical(&self) -> String {
        todo!()
    }
}
