//! Reading an entity's relations and resolving their targets through the index, for the
//! overview's relation cards and the group and user profiles.

use serde_json::Value;

use super::{EntitySummary, RefLink};
use crate::index::{ReadIndex, Readable};

/// One relation of an entity: its type and target ref (lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub kind: String,
    pub target: String,
}

/// The entity's relations.
pub fn relations_of(entity: &Value) -> Vec<Relation> {
    entity["relations"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|r| {
                    Some(Relation {
                        kind: r["type"].as_str()?.to_owned(),
                        target: r["targetRef"].as_str()?.to_lowercase(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The targets of relations of type `kind` (compared case-insensitively), in order, each once.
pub fn targets(relations: &[Relation], kind: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for relation in relations.iter().filter(|r| r.kind.eq_ignore_ascii_case(kind)) {
        if !out.contains(&relation.target) {
            out.push(relation.target.clone());
        }
    }
    out
}

/// A related entity as a card row: its summary when the index has it, else a link built from
/// the ref alone (the target is missing from the catalog).
#[derive(Debug, Clone)]
pub struct Related {
    pub entity_ref: String,
    pub summary: Option<EntitySummary>,
    pub link: RefLink,
    /// The entity's JSON, when found (profiles read pictures and emails from it).
    pub json: Option<Value>,
}

impl Related {
    /// Its title or name.
    pub fn label(&self) -> &str {
        self.summary.as_ref().map_or(self.link.label.as_str(), |s| s.display_name())
    }

    /// Its kind, lowercased (from the ref when the entity is missing).
    pub fn kind(&self) -> String {
        self.summary
            .as_ref()
            .map(|s| s.kind.to_lowercase())
            .unwrap_or_else(|| self.entity_ref.split(':').next().unwrap_or_default().to_owned())
    }
}

/// Resolves refs through the index in one pass (one lock, no per-entity requests). Entities
/// the viewer may not read resolve like missing ones: only their ref is shown.
pub fn resolve(index: &ReadIndex, readable: &Readable, refs: &[String]) -> Vec<Related> {
    let views = match readable {
        Readable::All => index.by_refs(refs.iter().map(String::as_str), None),
        Readable::Only(set) => index.by_refs(refs.iter().map(String::as_str), Some(set.as_ref())),
    };
    refs.iter()
        .zip(views)
        .map(|(entity_ref, view)| {
            let json: Option<Value> = view.and_then(|v| serde_json::from_str(&v.body()).ok());
            let summary = json.as_ref().map(EntitySummary::from_json);
            let link = match &summary {
                Some(s) => RefLink { label: s.display_name().to_owned(), href: s.path() },
                None => RefLink::parse(entity_ref, "component", "default")
                    .unwrap_or(RefLink { label: entity_ref.clone(), href: String::from("/catalog") }),
            };
            Related { entity_ref: entity_ref.clone(), summary, link, json }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn targets_are_deduplicated_and_type_insensitive() {
        let entity = json!({"relations": [
            {"type": "dependsOn", "targetRef": "component:default/A"},
            {"type": "DEPENDSON", "targetRef": "component:default/a"},
            {"type": "ownedBy", "targetRef": "group:default/t"},
            {"type": 3}
        ]});
        let relations = relations_of(&entity);
        assert_eq!(targets(&relations, "dependsOn"), ["component:default/a"]);
        assert_eq!(targets(&relations, "ownedby"), ["group:default/t"]);
    }
}
