//! Relation types and the relation value.

/// `ownedBy`: self is owned by the target.
pub const RELATION_OWNED_BY: &str = "ownedBy";
/// `ownerOf`: reverse of [`RELATION_OWNED_BY`].
pub const RELATION_OWNER_OF: &str = "ownerOf";
/// `consumesApi`: a component consumes the target API.
pub const RELATION_CONSUMES_API: &str = "consumesApi";
/// `apiConsumedBy`: reverse of [`RELATION_CONSUMES_API`].
pub const RELATION_API_CONSUMED_BY: &str = "apiConsumedBy";
/// `providesApi`: a component provides the target API.
pub const RELATION_PROVIDES_API: &str = "providesApi";
/// `apiProvidedBy`: reverse of [`RELATION_PROVIDES_API`].
pub const RELATION_API_PROVIDED_BY: &str = "apiProvidedBy";
/// `dependsOn`: self depends on the target.
pub const RELATION_DEPENDS_ON: &str = "dependsOn";
/// `dependencyOf`: reverse of [`RELATION_DEPENDS_ON`].
pub const RELATION_DEPENDENCY_OF: &str = "dependencyOf";
/// `parentOf`: self is the parent group of the target.
pub const RELATION_PARENT_OF: &str = "parentOf";
/// `childOf`: reverse of [`RELATION_PARENT_OF`].
pub const RELATION_CHILD_OF: &str = "childOf";
/// `memberOf`: a user is a member of the target group.
pub const RELATION_MEMBER_OF: &str = "memberOf";
/// `hasMember`: reverse of [`RELATION_MEMBER_OF`].
pub const RELATION_HAS_MEMBER: &str = "hasMember";
/// `partOf`: self is part of the target (system, domain, parent component).
pub const RELATION_PART_OF: &str = "partOf";
/// `hasPart`: reverse of [`RELATION_PART_OF`].
pub const RELATION_HAS_PART: &str = "hasPart";

/// Every relation type the built-in kinds emit.
pub const ALL_RELATION_TYPES: [&str; 14] = [
    RELATION_OWNED_BY,
    RELATION_OWNER_OF,
    RELATION_CONSUMES_API,
    RELATION_API_CONSUMED_BY,
    RELATION_PROVIDES_API,
    RELATION_API_PROVIDED_BY,
    RELATION_DEPENDS_ON,
    RELATION_DEPENDENCY_OF,
    RELATION_PARENT_OF,
    RELATION_CHILD_OF,
    RELATION_MEMBER_OF,
    RELATION_HAS_MEMBER,
    RELATION_PART_OF,
    RELATION_HAS_PART,
];

/// One directed relation; refs are canonical.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Relation {
    /// Canonical ref of the entity the relation starts from.
    pub source: String,
    /// Relation type, e.g. [`RELATION_OWNED_BY`].
    pub relation_type: String,
    /// Canonical ref of the entity the relation points to.
    pub target: String,
}

impl Relation {
    /// A relation between two canonical refs.
    pub fn new(
        source: impl Into<String>,
        relation_type: impl Into<String>,
        target: impl Into<String>,
    ) -> Self {
        Relation { source: source.into(), relation_type: relation_type.into(), target: target.into() }
    }
}
