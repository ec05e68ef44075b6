//! What sign-in needs from the catalog: the user entity, and the groups it is a member of
//! (with their parent groups), which make up what the user owns through.

use std::collections::BTreeSet;

use async_trait::async_trait;
use portico_model::{EntityRef, RefDefaults};
use serde_json::Value;

/// The most groups one user's ownership is collected from, so that a cyclic or huge group
/// tree cannot make sign-in slow (the token would be too large long before).
const MAX_GROUPS: usize = 1_000;

/// The catalog as sign-in reads it. The app answers it with the running catalog plugin.
#[async_trait]
pub trait UserCatalog: Send + Sync + 'static {
    /// The entity with this ref (`user:default/jane`, compared case-insensitively) as the
    /// catalog serves it, relations included; `None` when there is none.
    async fn entity(&self, entity_ref: &str) -> Option<Value>;

    /// The entities matching a Backstage catalog filter object such as `{"kind": "user",
    /// "spec.profile.email": "jane@example.com"}`: every key a dotted path into the entity
    /// (`metadata.annotations.oidc/email` for an annotation), every value compared
    /// case-insensitively. Sign-in resolvers only tell none, one and several apart, so a
    /// handful of matches is enough.
    ///
    /// `None` when this catalog can only look entities up by ref; sign-in resolvers that
    /// search by email or annotation then find nobody.
    async fn find_entities(&self, _filter: &Value) -> Option<Vec<Value>> {
        None
    }
}

/// What `user_ref` owns through according to the catalog: the user, every group it is a
/// member of (`memberOf`), and their parent groups (`childOf`, transitively), as canonical
/// refs. `None` when the user is not in the catalog.
pub async fn catalog_ownership(catalog: &dyn UserCatalog, user_ref: &str) -> Option<Vec<String>> {
    let user = catalog.entity(user_ref).await?;
    let user_ref = EntityRef::from_entity(&user).map_or_else(|| user_ref.to_lowercase(), |r| r.canonical());
    let mut ownership = vec![user_ref];
    let mut seen = BTreeSet::new();
    let mut pending = targets(&user, "memberOf");
    while let Some(group) = pending.pop() {
        if seen.len() >= MAX_GROUPS || !seen.insert(group.clone()) {
            continue;
        }
        ownership.push(group.clone());
        if let Some(entity) = catalog.entity(&group).await {
            pending.extend(targets(&entity, "childOf"));
        }
    }
    Some(ownership)
}

/// The canonical target refs of an entity's relations of `relation_type`, in reverse order
/// (they are popped from the end).
fn targets(entity: &Value, relation_type: &str) -> Vec<String> {
    let mut refs: Vec<String> = entity["relations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|relation| relation["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(relation_type)))
        .filter_map(|relation| relation["targetRef"].as_str())
        .filter_map(|target| EntityRef::parse(target, RefDefaults::default()).ok())
        .map(|target| target.canonical())
        .collect();
    refs.reverse();
    refs
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;

    /// A catalog of fixed entities, searchable unless told otherwise.
    #[derive(Default)]
    pub(crate) struct FixedCatalog {
        entities: HashMap<String, Value>,
        no_search: bool,
    }

    impl FixedCatalog {
        /// A User with this `spec` and these annotations.
        pub(crate) fn with_user(
            mut self,
            name: &str,
            spec: Value,
            annotations: Value,
            relations: &[(&str, &str)],
        ) -> FixedCatalog {
            self = self.with("User", name, relations);
            let user = self.entities.get_mut(&format!("user:default/{name}")).expect("just added");
            user["spec"] = spec;
            user["metadata"]["annotations"] = annotations;
            self
        }

        /// The same catalog, able to look entities up by ref only.
        pub(crate) fn without_search(self) -> FixedCatalog {
            FixedCatalog { no_search: true, ..self }
        }

        pub(crate) fn with(mut self, kind: &str, name: &str, relations: &[(&str, &str)]) -> FixedCatalog {
            let relations: Vec<Value> =
                relations.iter().map(|(kind, target)| json!({"type": kind, "targetRef": target})).collect();
            let entity = json!({
                "apiVersion": "backstage.io/v1alpha1",
                "kind": kind,
                "metadata": {"name": name, "namespace": "default"},
                "relations": relations,
            });
            self.entities.insert(format!("{kind}:default/{name}").to_lowercase(), entity);
            self
        }
    }

    #[async_trait]
    impl UserCatalog for FixedCatalog {
        async fn entity(&self, entity_ref: &str) -> Option<Value> {
            self.entities.get(&entity_ref.to_lowercase()).cloned()
        }

        async fn find_entities(&self, filter: &Value) -> Option<Vec<Value>> {
            if self.no_search {
                return None;
            }
            let filter = filter.as_object().expect("a filter object");
            let matches = |entity: &Value| {
                let rows = portico_model::search_rows(entity).expect("searchable");
                filter.iter().all(|(key, value)| {
                    let value = value.as_str().expect("a string").to_lowercase();
                    rows.iter().any(|row| row.key == key.to_lowercase() && row.value.as_ref() == Some(&value))
                })
            };
            Some(self.entities.values().filter(|entity| matches(entity)).cloned().collect())
        }
    }

    #[tokio::test]
    async fn ownership_is_the_user_its_groups_and_their_parents() {
        let catalog = FixedCatalog::default()
            .with(
                "User",
                "Jane",
                &[("memberOf", "group:default/team-a"), ("memberOf", "group:default/Guild")],
            )
            .with(
                "Group",
                "team-a",
                &[("childOf", "group:default/department"), ("hasMember", "user:default/jane")],
            )
            .with("Group", "department", &[("childOf", "group:default/team-a")])
            .with("Group", "guild", &[]);
        let ownership = catalog_ownership(&catalog, "user:default/JANE").await.expect("in the catalog");
        assert_eq!(
            ownership,
            ["user:default/jane", "group:default/team-a", "group:default/department", "group:default/guild"],
            "parent groups followed, cycles end, refs canonical"
        );
        assert_eq!(catalog_ownership(&catalog, "user:default/joe").await, None);
    }
}
