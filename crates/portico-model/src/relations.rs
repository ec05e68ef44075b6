//! Relation types and the relation value.

/// One directed relation; refs are canonical.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Relation {
    pub source: String,
    pub relation_type: String,
    pub target: String,
}
