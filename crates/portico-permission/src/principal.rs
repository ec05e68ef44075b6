//! Who asks: a signed-in user, a service, or an anonymous caller, and their Cedar entities.

use std::collections::HashSet;

use cedar_policy::{Entity, EntityUid, RestrictedExpression};
use portico_model::{EntityRef, RefDefaults};

use crate::vocabulary::{TYPES, uid};

/// The caller a decision is made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A signed-in user: the identity's `userEntityRef` and `ownershipEntityRefs`.
    User { user_ref: String, ownership_refs: Vec<String> },
    /// A service calling with its own credentials, named by the token's subject.
    Service { subject: String },
    /// A caller without credentials (Backstage passes no user to the policy).
    Anonymous,
}

impl Principal {
    /// A user with refs as the identity carries them (policies see them in lower case).
    pub fn user(
        user_ref: impl Into<String>,
        ownership_refs: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Principal::User {
            user_ref: user_ref.into(),
            ownership_refs: ownership_refs.into_iter().map(Into::into).collect(),
        }
    }

    /// A service principal.
    pub fn service(subject: impl Into<String>) -> Self {
        Principal::Service { subject: subject.into() }
    }

    /// How the principal is named in deny reasons: the user ref, `service <subject>`, `anonymous`.
    pub fn describe(&self) -> String {
        match self {
            Principal::User { user_ref, .. } => user_ref.to_lowercase(),
            Principal::Service { subject } => format!("service {subject}"),
            Principal::Anonymous => "anonymous".to_owned(),
        }
    }

    /// The principal's Cedar entity. A user's parents are its groups; the group entities
    /// themselves carry nothing, so requests do without them (`in` only needs the parents).
    pub(crate) fn to_entity(&self) -> Result<Entity, String> {
        match self {
            Principal::User { user_ref, ownership_refs } => {
                let user_ref = user_ref.to_lowercase();
                let ownership_refs: Vec<String> = ownership_refs.iter().map(|r| r.to_lowercase()).collect();
                let groups: HashSet<EntityUid> =
                    ownership_refs.iter().filter(|r| is_group_ref(r)).map(|r| uid(&TYPES.group, r)).collect();
                let attributes = [
                    ("ref".to_owned(), RestrictedExpression::new_string(user_ref.clone())),
                    (
                        "ownership_refs".to_owned(),
                        RestrictedExpression::new_set(
                            ownership_refs.into_iter().map(RestrictedExpression::new_string),
                        ),
                    ),
                ];
                Entity::new_with_tags(uid(&TYPES.user, &user_ref), attributes, groups, [])
                    .map_err(|e| format!("cannot describe user {user_ref}: {e}"))
            }
            Principal::Service { subject } => {
                let attributes = [("subject".to_owned(), RestrictedExpression::new_string(subject.clone()))];
                Entity::new_with_tags(uid(&TYPES.service, subject), attributes, [], [])
                    .map_err(|e| format!("cannot describe service {subject}: {e}"))
            }
            Principal::Anonymous => Ok(Entity::with_uid(uid(&TYPES.anonymous, "anonymous"))),
        }
    }
}

/// Whether an ownership ref names a group (`group:default/team-a`).
fn is_group_ref(reference: &str) -> bool {
    EntityRef::parse(reference, RefDefaults::default())
        .is_ok_and(|parsed| parsed.kind.eq_ignore_ascii_case("group"))
}
