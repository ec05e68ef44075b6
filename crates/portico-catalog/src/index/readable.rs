//! Read permission inside the index: which entities a caller may see, as a bitmap every query
//! intersects before it counts, pages or facets — so totals, cursors and facet counts only
//! ever reflect readable entities, and pages have no holes.
//!
//! The policies for `catalog.entity.read` look at a few attributes of an entity (its owner,
//! labels…). The index keeps entities grouped by what those attributes are (their
//! [`EntityClass`]), maintained as entities come and go, so filtering decides once per class
//! instead of once per entity. The readable set of one principal is cached until the index
//! changes.

use std::collections::HashMap;
use std::sync::Arc;

use portico_plugin::Filter;
use portico_plugin::permission::{EntityClass, EntityClassifier};
use roaring::RoaringBitmap;
use serde_json::Value;

/// How many principals' readable sets are kept between two changes of the index.
const CACHED_PRINCIPALS: usize = 256;

/// Entities grouped by the class the read policies see.
#[derive(Debug)]
pub(crate) struct ReadClasses {
    classifier: EntityClassifier,
    ids: HashMap<EntityClass, u32>,
    classes: Vec<(EntityClass, RoaringBitmap)>,
    /// Ordinal → class id (`u32::MAX` for an entity without a class, which nobody may read).
    class_of: Vec<u32>,
}

impl ReadClasses {
    pub(crate) fn new(classifier: EntityClassifier) -> ReadClasses {
        ReadClasses { classifier, ids: HashMap::new(), classes: Vec::new(), class_of: Vec::new() }
    }

    pub(crate) fn into_classifier(self) -> EntityClassifier {
        self.classifier
    }

    pub(crate) fn insert(&mut self, ordinal: u32, entity: &Value) {
        let id = match self.classifier.classify(entity) {
            None => u32::MAX,
            Some(class) => {
                let next = self.classes.len() as u32;
                let id = *self.ids.entry(class.clone()).or_insert(next);
                if id == next {
                    self.classes.push((class, RoaringBitmap::new()));
                }
                super::add_ordinal(&mut self.classes[id as usize].1, ordinal);
                id
            }
        };
        if self.class_of.len() <= ordinal as usize {
            self.class_of.resize(ordinal as usize + 1, u32::MAX);
        }
        self.class_of[ordinal as usize] = id;
    }

    pub(crate) fn remove(&mut self, ordinal: u32) {
        if let Some(id) = self.class_of.get_mut(ordinal as usize) {
            if let Some((_, members)) = self.classes.get_mut(*id as usize) {
                members.remove(ordinal);
            }
            *id = u32::MAX;
        }
    }

    /// The entities `filter` allows: the union of the classes it allows.
    fn allowed(&self, filter: &Filter<'_>) -> RoaringBitmap {
        let mut allowed = RoaringBitmap::new();
        for (class, members) in &self.classes {
            if !members.is_empty() && filter.allows_class(class) {
                allowed |= members;
            }
        }
        allowed
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.class_of.capacity() * 4
            + self.classes.iter().map(|(_, members)| members.serialized_size() + 64).sum::<usize>()
    }
}

/// What a caller may read.
#[derive(Debug, Clone)]
pub enum Readable {
    /// Every entity: no policy restricts reading.
    All,
    /// Only these ordinals.
    Only(Arc<RoaringBitmap>),
}

impl Readable {
    /// Narrows a query's result set to what may be read.
    pub fn restrict(&self, set: &mut RoaringBitmap) {
        if let Readable::Only(allowed) = self {
            *set &= allowed.as_ref();
        }
    }

    /// Whether the entity at `ordinal` may be read.
    pub fn contains(&self, ordinal: u32) -> bool {
        match self {
            Readable::All => true,
            Readable::Only(allowed) => allowed.contains(ordinal),
        }
    }
}

/// Readable sets already computed, by principal, for the index as it is now.
#[derive(Debug, Default)]
pub(crate) struct ReadableCache {
    sets: HashMap<String, Arc<RoaringBitmap>>,
}

impl ReadableCache {
    pub(crate) fn get(&self, principal: &str) -> Option<Arc<RoaringBitmap>> {
        self.sets.get(principal).cloned()
    }

    pub(crate) fn put(&mut self, principal: String, set: Arc<RoaringBitmap>) {
        if self.sets.len() >= CACHED_PRINCIPALS {
            self.sets.clear();
        }
        self.sets.insert(principal, set);
    }

    pub(crate) fn clear(&mut self) {
        self.sets.clear();
    }
}

/// The readable set of `filter` over `live` entities grouped in `classes`; `None` without
/// classes means the policies do not look at entities, so one decision covers all.
pub(crate) fn compute(filter: &Filter<'_>, classes: Option<&ReadClasses>, live: &RoaringBitmap) -> Readable {
    match classes {
        Some(classes) if filter.reads_resource() => Readable::Only(Arc::new(classes.allowed(filter) & live)),
        _ if filter.allows_class(&EntityClass::default()) => Readable::All,
        _ => Readable::Only(Arc::new(RoaringBitmap::new())),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use portico_plugin::permission::PolicyEngine;
    use portico_plugin::permission::permission::CATALOG_ENTITY_READ;
    use portico_plugin::{Access, Permissions};
    use portico_store::{FinalChange, FinalEntityRow};
    use portico_web::{Principal, UserPrincipal};
    use serde_json::json;

    use crate::index::ReadIndex;

    const RESTRICTED: &str = r#"
        permit (principal, action, resource);
        forbid (principal, action == Portico::Action::"catalog.entity.read", resource is Portico::Entity)
        when { resource.labels.contains("portico.io/restricted=true") }
        unless { principal is Portico::User && resource has owner && principal.ownership_refs.contains(resource.owner) };
    "#;

    fn row(seq: i64, name: &str, owner: &str, restricted: bool) -> FinalEntityRow {
        let labels = if restricted { json!({"portico.io/restricted": "true"}) } else { json!({}) };
        let body = json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"), "labels": labels},
            "spec": {"type": "service", "owner": owner},
        });
        FinalEntityRow {
            entity_id: format!("uid-{name}"),
            entity_ref: format!("component:default/{name}"),
            hash: format!("h{seq}"),
            body: body.to_string(),
            change_seq: seq,
            updated_at: 0,
        }
    }

    fn user(engine: &PolicyEngine, groups: &[&str]) -> Access {
        let principal = Principal::User(UserPrincipal {
            user_entity_ref: "user:default/someone".into(),
            ownership_entity_refs: groups.iter().map(|g| (*g).to_owned()).collect(),
            expires_at: u64::MAX,
        });
        Access::new(principal, Arc::new(Permissions::without_audit(engine.clone())))
    }

    fn readable_names(index: &ReadIndex, access: &Access) -> Vec<String> {
        let mut set = index.all().clone();
        index.readable(access).restrict(&mut set);
        set.iter()
            .map(|o| index.entity(o).unwrap().entity_ref.trim_start_matches("component:default/").to_owned())
            .collect()
    }

    #[test]
    fn classes_follow_entities_as_they_change_and_cached_sets_are_dropped() {
        let engine = PolicyEngine::from_text("test.cedar", RESTRICTED).expect("valid policy");
        let mut index = ReadIndex::with_read_classifier(engine.entity_classifier(&CATALOG_ENTITY_READ));
        index.load(
            vec![row(1, "open", "group:default/a", false), row(2, "secret", "group:default/a", true)],
            2,
        );
        let owner = user(&engine, &["group:default/a"]);
        let other = user(&engine, &["group:default/b"]);
        assert_eq!(readable_names(&index, &owner), ["open", "secret"]);
        assert_eq!(readable_names(&index, &other), ["open"]);

        // Relabelled and re-owned, the entity moves to another class; the cached sets go.
        index.apply(FinalChange::Upsert(row(3, "open", "group:default/a", true)));
        index.apply(FinalChange::Upsert(row(4, "secret", "group:default/b", true)));
        assert_eq!(readable_names(&index, &owner), ["open"]);
        assert_eq!(readable_names(&index, &other), ["secret"]);
        index.apply(FinalChange::Delete {
            entity_id: "uid-secret".into(),
            entity_ref: "component:default/secret".into(),
            change_seq: 5,
        });
        assert!(readable_names(&index, &other).is_empty());
        assert_eq!(
            index.read_classes.as_ref().map(|c| c.classes.len()),
            Some(3),
            "one class per distinct owner and labels"
        );
    }

    #[test]
    fn without_classes_entities_are_decided_one_by_one() {
        let engine = PolicyEngine::from_text("test.cedar", RESTRICTED).expect("valid policy");
        let mut index = ReadIndex::new();
        index.load(
            vec![row(1, "open", "group:default/a", false), row(2, "secret", "group:default/a", true)],
            2,
        );
        assert_eq!(readable_names(&index, &user(&engine, &["group:default/b"])), ["open"]);
        assert_eq!(readable_names(&index, &Access::unrestricted()), ["open", "secret"]);
    }
}
