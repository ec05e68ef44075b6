//! Shared fixtures.

use std::path::PathBuf;

use serde_json::Value;

/// The demo catalog shipped in the repository.
pub fn demo_catalog() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo/catalog")
}

/// Config allowing every core kind, reading `locations` (each `(type, target)`).
pub fn config_with_locations(locations: &[(&str, &str)]) -> String {
    let mut yaml = String::from(
        "catalog:\n  rules:\n    - allow: [Component, System, API, Resource, Location, Domain, Group, User, Template]\n  allowedLocationTypes: [url, file]\n  locations:\n",
    );
    for (kind, target) in locations {
        yaml.push_str(&format!("    - type: {kind}\n      target: {target}\n"));
    }
    yaml
}

/// The `message`s of an entity's status items.
pub fn status_messages(entity: &Value) -> Vec<String> {
    entity
        .pointer("/status/items")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|i| i["message"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Whether `entity` has the relation `(type, target)`.
pub fn has_relation(entity: &Value, relation_type: &str, target: &str) -> bool {
    entity["relations"]
        .as_array()
        .is_some_and(|r| r.iter().any(|r| r["type"] == relation_type && r["targetRef"] == target))
}

/// Counts served entities by kind.
pub fn count_kind(entities: &Value, kind: &str) -> usize {
    entities.as_array().map(|all| all.iter().filter(|e| e["kind"] == kind).count()).unwrap_or(0)
}

/// A valid Component descriptor owned by `owner`.
pub fn component_owned_by(name: &str, owner: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
    )
}

/// A valid Component descriptor owned by `team`.
pub fn component(name: &str) -> String {
    component_owned_by(name, "team")
}
