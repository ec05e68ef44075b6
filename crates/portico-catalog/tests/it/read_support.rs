//! A small fixture catalog and request helpers for the read-route tests.

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use portico_catalog::api::read::{ReadApi, router};
use portico_catalog::index::{ReadIndex, SharedIndex};
use portico_store::FinalEntityRow;
use serde_json::{Value, json};
use tower::ServiceExt;

/// A final-entity row for a body; ref and uid are taken from the body.
pub fn row(body: &Value, seq: i64) -> FinalEntityRow {
    let kind = body["kind"].as_str().unwrap_or_default().to_lowercase();
    let namespace = body["metadata"]["namespace"].as_str().unwrap_or("default").to_lowercase();
    let name = body["metadata"]["name"].as_str().unwrap_or_default().to_lowercase();
    FinalEntityRow {
        entity_id: body["metadata"]["uid"].as_str().unwrap_or_default().to_owned(),
        entity_ref: format!("{kind}:{namespace}/{name}"),
        hash: format!("hash-{seq}"),
        body: body.to_string(),
        change_seq: seq,
        updated_at: 0,
    }
}

fn entity(kind: &str, name: &str, uid: &str, extra_meta: Value, spec: Value, relations: Value) -> Value {
    let mut metadata =
        json!({ "name": name, "namespace": "default", "uid": uid, "etag": format!("etag-{uid}") });
    if let (Some(target), Some(extra)) = (metadata.as_object_mut(), extra_meta.as_object()) {
        for (k, v) in extra {
            target.insert(k.clone(), v.clone());
        }
    }
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": metadata,
        "spec": spec,
        "relations": relations,
    })
}

fn rel(kind: &str, target: &str) -> Value {
    json!({ "type": kind, "targetRef": target })
}

/// Fifteen entities: components, APIs, groups, users, a system, a domain, a resource and a
/// location, with relations, tags, annotations and mixed-case values. Uids are deliberately
/// not in name order.
pub fn fixture() -> Vec<Value> {
    let long_definition = "openapi: 3.0.0\n".repeat(20);
    vec![
        entity(
            "Component",
            "service-a",
            "u-08",
            json!({"title": "Service Alpha", "tags": ["java", "web"],
                   "annotations": {"backstage.io/managed-by-location": "url:https://example.com/a.yaml"}}),
            json!({"type": "service", "lifecycle": "production", "owner": "team-a", "system": "sys-1"}),
            json!([rel("ownedBy", "group:default/team-a"), rel("partOf", "system:default/sys-1")]),
        ),
        entity(
            "Component",
            "service-b",
            "u-03",
            json!({"title": "Service Beta", "tags": ["python"]}),
            json!({"type": "Service", "lifecycle": "production", "owner": "team-b"}),
            json!([rel("ownedBy", "group:default/team-b")]),
        ),
        entity(
            "Component",
            "website",
            "u-12",
            json!({"tags": ["web"]}),
            json!({"type": "website", "lifecycle": "experimental", "owner": "team-a"}),
            json!([rel("ownedBy", "group:default/team-a")]),
        ),
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "Lib-Core", "namespace": "other", "uid": "u-01", "etag": "e"},
            "spec": {"type": "library", "lifecycle": "production", "owner": "team-b"},
            "relations": [rel("ownedBy", "group:default/team-b")],
        }),
        entity(
            "Component",
            "orphan-thing",
            "u-15",
            json!({"annotations": {"backstage.io/orphan": "true"}}),
            json!({"type": "service", "lifecycle": "deprecated", "owner": "team-a"}),
            json!([]),
        ),
        entity(
            "API",
            "api-a",
            "u-06",
            json!({"title": "Alpha API"}),
            json!({"type": "openapi", "lifecycle": "production", "owner": "team-a", "definition": long_definition}),
            json!([rel("ownedBy", "group:default/team-a")]),
        ),
        entity(
            "API",
            "api-b",
            "u-10",
            json!({}),
            json!({"type": "grpc", "lifecycle": "experimental", "owner": "team-b"}),
            json!([rel("ownedBy", "group:default/team-b")]),
        ),
        entity(
            "Group",
            "team-a",
            "u-02",
            json!({"title": "Team A"}),
            json!({"type": "team", "children": []}),
            json!([rel("hasMember", "user:default/alice"), rel("ownerOf", "component:default/service-a")]),
        ),
        entity("Group", "team-b", "u-14", json!({}), json!({"type": "team", "children": []}), json!([])),
        entity(
            "User",
            "alice",
            "u-05",
            json!({}),
            json!({"profile": {"displayName": "Alice Smith"}, "memberOf": ["team-a"]}),
            json!([rel("memberOf", "group:default/team-a")]),
        ),
        entity(
            "User",
            "bob",
            "u-11",
            json!({}),
            json!({"profile": {"displayName": "Bob Jones"}, "memberOf": []}),
            json!([]),
        ),
        entity("System", "sys-1", "u-04", json!({}), json!({"owner": "team-a"}), json!([])),
        entity("Domain", "dom", "u-13", json!({}), json!({"owner": "team-a"}), json!([])),
        entity(
            "Resource",
            "db-1",
            "u-09",
            json!({}),
            json!({"type": "database", "owner": "team-b"}),
            json!([]),
        ),
        entity(
            "Location",
            "loc-1",
            "u-07",
            json!({}),
            json!({"type": "url", "target": "https://x/y.yaml"}),
            json!([]),
        ),
    ]
}

pub fn fixture_index() -> ReadIndex {
    let rows = fixture().iter().enumerate().map(|(i, body)| row(body, i as i64 + 1)).collect();
    let mut index = ReadIndex::new();
    index.load(rows, 15);
    index
}

pub struct TestApi {
    pub index: SharedIndex,
    pub router: Router,
}

pub fn api_with(compat: bool) -> TestApi {
    let index: SharedIndex = Arc::new(RwLock::new(fixture_index()));
    let router = router(ReadApi { index: index.clone(), relations_compatibility: compat });
    TestApi { index, router }
}

pub fn api() -> TestApi {
    api_with(true)
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Reply {
    /// The error message of an error body.
    pub fn message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or_default()
    }

    /// `metadata.name` of every item of a bare array or `{items}` body.
    pub fn names(&self) -> Vec<String> {
        let items = self.json.get("items").unwrap_or(&self.json);
        items
            .as_array()
            .map(|a| a.iter().map(|e| e["metadata"]["name"].as_str().unwrap_or("null").to_owned()).collect())
            .unwrap_or_default()
    }
}

pub async fn send(api: &TestApi, method: &str, uri: &str, body: Option<&str>) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request.body(Body::from(body.unwrap_or_default().to_owned())).expect("request");
    let response = api.router.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let json =
        if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("json body") };
    Reply { status, headers, json }
}

pub async fn get(api: &TestApi, uri: &str) -> Reply {
    send(api, "GET", uri, None).await
}

pub fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
