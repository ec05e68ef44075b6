//! End-to-end checks of the public model API: process entities, combine their relations the
//! way stitching does, and index the result.

use std::collections::BTreeSet;

use portico_model::fields::FieldProjection;
use portico_model::location::generated_location_entity;
use portico_model::{Relation, process_entity, search_rows};
use serde_json::{Value, json};

fn group() -> Value {
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": "team-a"},
        "spec": {"type": "team", "children": [], "members": ["breanna.davison"]}
    })
}

fn user() -> Value {
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "User",
        "metadata": {"name": "breanna.davison"},
        "spec": {"profile": {"displayName": "Breanna Davison"}, "memberOf": ["team-a"]}
    })
}

fn component() -> Value {
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "playback-order", "tags": ["java", "playback"]},
        "spec": {"type": "service", "lifecycle": "production", "owner": "guest", "system": "audio-playback"}
    })
}

/// Relations of several entities merged and deduplicated, as the stitcher sees them.
fn stitched(entities: &[Value]) -> BTreeSet<Relation> {
    entities.iter().flat_map(|e| process_entity(e.clone()).expect("entity processes").relations).collect()
}

#[test]
fn membership_declared_on_both_sides_yields_one_pair() {
    let relations = stitched(&[group(), user()]);
    assert_eq!(
        relations.into_iter().collect::<Vec<_>>(),
        vec![
            Relation::new("group:default/team-a", "hasMember", "user:default/breanna.davison"),
            Relation::new("user:default/breanna.davison", "memberOf", "group:default/team-a"),
        ]
    );
}

#[test]
fn relations_to_missing_targets_are_emitted_both_ways() {
    let relations = stitched(&[component()]);
    assert!(relations.contains(&Relation::new(
        "group:default/guest",
        "ownerOf",
        "component:default/playback-order"
    )));
    assert!(relations.contains(&Relation::new(
        "system:default/audio-playback",
        "hasPart",
        "component:default/playback-order"
    )));
}

#[test]
fn processed_entity_is_searchable_like_backstage() {
    let processed = process_entity(component()).expect("valid");
    let mut entity = processed.entity;
    let relations: Vec<Value> = processed
        .relations
        .iter()
        .filter(|r| r.source == processed.entity_ref)
        .map(|r| json!({"type": r.relation_type, "targetRef": r.target}))
        .collect();
    entity["relations"] = Value::Array(relations);
    let rows = search_rows(&entity).expect("rows");
    let has = |key: &str, value: &str| rows.iter().any(|r| r.key == key && r.value.as_deref() == Some(value));
    assert!(has("metadata.namespace", "default"));
    assert!(has("metadata.tags", "java"));
    assert!(has("metadata.tags.java", "true"));
    assert!(has("relations.ownedby", "group:default/guest"));
    assert!(has("kind", "component"));

    let projection = FieldProjection::parse(["kind,metadata.name"]).expect("fields");
    assert_eq!(
        projection.apply(&entity),
        json!({"kind": "Component", "metadata": {"name": "playback-order"}})
    );
}

#[test]
fn root_status_or_api_without_definition_fail_processing() {
    let mut with_status = component();
    with_status["status"] = json!({"items": []});
    let err = process_entity(with_status).expect_err("status in YAML");
    assert!(err.message.ends_with("caused by Error: Unknown field status"), "{}", err.message);

    let mcp = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "API",
        "metadata": {"name": "backstage-mcp-server"},
        "spec": {"type": "mcp-server", "lifecycle": "experimental", "owner": "team-a",
                 "remotes": [{"type": "streamable-http", "url": "https://example.com/mcp"}]}
    });
    let err = process_entity(mcp).expect_err("no definition");
    assert!(
        err.message.ends_with("/spec must have required property 'definition' - missingProperty: definition")
    );
}

#[test]
fn generated_location_entity_processes() {
    let processed = process_entity(generated_location_entity("url", "https://example.com/all.yaml", None))
        .expect("valid");
    assert!(processed.entity_ref.starts_with("location:default/generated-"));
    assert!(processed.relations.is_empty());
}
