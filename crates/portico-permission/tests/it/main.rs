//! Integration tests: policy loading, the shipped example policies, and the authorize body.

mod authorize;
mod examples;
mod loading;
mod vocabulary;

use std::path::PathBuf;

use portico_permission::Principal;
use serde_json::{Value, json};

/// The shipped example policies.
fn demo_policies() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo/policies")
}

fn demo_policy(file: &str) -> PathBuf {
    demo_policies().join(file)
}

/// Jane, a member of team-a.
fn jane() -> Principal {
    Principal::user("user:default/jane", ["user:default/jane", "group:default/team-a"])
}

/// Bob, a member of team-b.
fn bob() -> Principal {
    Principal::user("user:default/bob", ["user:default/bob", "group:default/team-b"])
}

/// A component as the catalog serves it.
fn component(name: &str, owner: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": "0b5bd7b4-31a4-4a4b-9c84-0e2f7c6a9d11",
            "labels": labels,
            "annotations": { "backstage.io/managed-by-location": "url:https://example.com/catalog-info.yaml" },
            "tags": ["rust", "payments"]
        },
        "spec": { "type": "service", "lifecycle": "production", "owner": owner },
        "relations": [{ "type": "ownedBy", "targetRef": "group:default/team-a" }]
    })
}

/// A template, with annotations.
fn template(name: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": { "name": name, "title": "Create a service", "annotations": annotations },
        "spec": {
            "type": "service",
            "owner": "group:default/platform",
            "parameters": [{ "title": "Name", "properties": { "name": { "type": "string" } } }],
            "steps": [{ "id": "fetch", "action": "fetch:template", "input": { "url": "./skeleton" } }]
        }
    })
}
