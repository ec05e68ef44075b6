//! `POST /entities/by-query`: the filter-predicate operators, their errors, and paging.

use std::sync::{Arc, RwLock};

use axum::http::StatusCode;
use base64::Engine as _;
use portico_catalog::api::read::{ReadApi, router};
use portico_catalog::index::{ReadIndex, SharedIndex};
use serde_json::{Value, json};

use crate::read_support::{Reply, TestApi, api, fixture, row, send, sorted, strings};

async fn post(api: &TestApi, uri: &str, body: Value) -> Reply {
    send(api, "POST", uri, Some(&body.to_string())).await
}

/// The names matched by a predicate (all of them: the page size exceeds the fixture).
async fn names(api: &TestApi, query: Value) -> Vec<String> {
    let reply = post(api, "/entities/by-query", json!({ "query": query })).await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.json);
    assert_eq!(reply.json["totalItems"], reply.names().len(), "{query}");
    sorted(reply.names())
}

async fn error(api: &TestApi, body: Value) -> String {
    let reply = post(api, "/entities/by-query", body.clone()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.json);
    assert_eq!(reply.json["error"]["name"], "InputError");
    reply.message().to_owned()
}

fn decode_cursor(cursor: &Value) -> Value {
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(cursor.as_str().expect("string")).expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

#[tokio::test]
async fn primitive_matches_case_insensitively() {
    let api = api();
    assert_eq!(
        names(&api, json!({"kind": "COMPONENT", "spec.type": "SERVICE"})).await,
        strings(&["orphan-thing", "service-a", "service-b"])
    );
    assert_eq!(names(&api, json!({"metadata.name": "lib-core"})).await, strings(&["Lib-Core"]));
}

#[tokio::test]
async fn numbers_and_booleans_compare_as_strings() {
    let mut bodies = fixture();
    bodies.push(json!({
        "apiVersion": "backstage.io/v1alpha1", "kind": "Resource",
        "metadata": {"name": "counted", "namespace": "default", "uid": "u-99", "etag": "e"},
        "spec": {"replicas": 3, "public": true},
    }));
    let rows = bodies.iter().enumerate().map(|(i, body)| row(body, i as i64 + 1)).collect();
    let mut index = ReadIndex::new();
    index.load(rows, 16);
    let index: SharedIndex = Arc::new(RwLock::new(index));
    let api =
        TestApi { router: router(ReadApi { index: index.clone(), relations_compatibility: true }), index };
    assert_eq!(names(&api, json!({"spec.replicas": 3})).await, strings(&["counted"]));
    assert_eq!(names(&api, json!({"spec.replicas": "3"})).await, strings(&["counted"]));
    assert_eq!(names(&api, json!({"spec.public": true})).await, strings(&["counted"]));
    assert!(names(&api, json!({"spec.replicas": 4})).await.is_empty());
}

#[tokio::test]
async fn all_requires_every_predicate() {
    let api = api();
    let query =
        json!({"$all": [{"kind": "component"}, {"spec.owner": "team-a"}, {"spec.lifecycle": "production"}]});
    assert_eq!(names(&api, query).await, strings(&["service-a"]));
    assert_eq!(names(&api, json!({"$all": []})).await.len(), 15, "an empty $all constrains nothing");
}

#[tokio::test]
async fn any_requires_one_predicate() {
    let api = api();
    assert_eq!(
        names(&api, json!({"$any": [{"kind": "domain"}, {"kind": "system"}]})).await,
        strings(&["dom", "sys-1"])
    );
    assert!(names(&api, json!({"$any": []})).await.is_empty(), "an empty $any matches nothing");
}

#[tokio::test]
async fn not_negates() {
    let api = api();
    let query = json!({"$all": [{"kind": "component"}, {"$not": {"spec.lifecycle": "production"}}]});
    assert_eq!(names(&api, query).await, strings(&["orphan-thing", "website"]));
}

#[tokio::test]
async fn exists_true_and_false() {
    let api = api();
    assert_eq!(
        names(&api, json!({"metadata.title": {"$exists": true}})).await,
        strings(&["api-a", "service-a", "service-b", "team-a"])
    );
    let without = names(&api, json!({"kind": "component", "metadata.title": {"$exists": false}})).await;
    assert_eq!(without, strings(&["Lib-Core", "orphan-thing", "website"]));
}

#[tokio::test]
async fn in_matches_any_listed_value() {
    let api = api();
    assert_eq!(
        names(&api, json!({"spec.type": {"$in": ["website", "LIBRARY", "nothing"]}})).await,
        strings(&["Lib-Core", "website"])
    );
    assert!(names(&api, json!({"spec.type": {"$in": []}})).await.is_empty());
}

#[tokio::test]
async fn contains_matches_array_elements() {
    let api = api();
    assert_eq!(
        names(&api, json!({"metadata.tags": {"$contains": "WEB"}})).await,
        strings(&["service-a", "website"])
    );
    assert_eq!(names(&api, json!({"spec.memberOf": {"$contains": "team-a"}})).await, strings(&["alice"]));
}

#[tokio::test]
async fn contains_on_relations_uses_type_and_target() {
    let api = api();
    let query = json!({"relations": {"$contains": {"type": "ownedBy", "targetRef": "group:default/team-b"}}});
    assert_eq!(names(&api, query).await, strings(&["Lib-Core", "api-b", "service-b"]));
    let any_owner = json!({"kind": "api", "relations": {"$contains": {"type": "ownedBy"}}});
    assert_eq!(names(&api, any_owner).await, strings(&["api-a", "api-b"]));
}

#[tokio::test]
async fn has_prefix_and_starts_with_match_value_prefixes() {
    let api = api();
    assert_eq!(
        names(&api, json!({"metadata.name": {"$hasPrefix": "SERVICE-"}})).await,
        strings(&["service-a", "service-b"])
    );
    assert_eq!(names(&api, json!({"metadata.name": {"$startsWith": "lib"}})).await, strings(&["Lib-Core"]));
    assert!(names(&api, json!({"metadata.name": {"$hasPrefix": "zzz"}})).await.is_empty());
}

#[tokio::test]
async fn empty_query_matches_everything() {
    let api = api();
    assert_eq!(names(&api, json!({})).await.len(), 15);
    let reply = post(&api, "/entities/by-query", json!({})).await;
    assert_eq!(reply.json["totalItems"], 15);
}

#[tokio::test]
async fn query_must_be_an_object() {
    let api = api();
    assert_eq!(error(&api, json!({"query": "component"})).await, "Query must be an object");
    assert_eq!(error(&api, json!({"query": 7})).await, "Query must be an object");
    assert!(error(&api, json!({"query": [{"kind": "x"}]})).await.starts_with("Invalid query: "));
}

#[tokio::test]
async fn invalid_predicates_are_rejected() {
    let api = api();
    for query in [
        json!({"$foo": 1}),
        json!({"$all": [], "kind": "x"}),
        json!({"$not": {"kind": "x"}, "$any": []}),
        json!({"$all": {"kind": "x"}}),
        json!({"kind": {"$regex": "x"}}),
        json!({"kind": {"$in": "x"}}),
        json!({"kind": {"$in": [null]}}),
        json!({"kind": {"$exists": "yes"}}),
        json!({"kind": {"$hasPrefix": 1}}),
        json!({"kind": null}),
        json!({"kind": ["a"]}),
    ] {
        let message = error(&api, json!({ "query": query })).await;
        assert!(message.starts_with("Invalid query: "), "{query}: {message}");
    }
}

#[tokio::test]
async fn nested_primitive_predicates_are_rejected() {
    let api = api();
    let message = error(&api, json!({"query": {"$any": ["component"]}})).await;
    assert!(
        message.starts_with("Invalid filter predicate: top-level primitive values are not supported"),
        "{message}"
    );
}

#[tokio::test]
async fn body_errors() {
    let api = api();
    assert_eq!(error(&api, json!({"cursor": ""})).await, "Cursor cannot be empty");
    assert!(error(&api, json!({"cursor": "!!!"})).await.starts_with("Malformed cursor"));
    assert_eq!(
        error(&api, json!({"orderBy": [{"field": "metadata.name", "order": "sideways"}]})).await,
        "Invalid order field order, must be asc or desc"
    );
    assert_eq!(error(&api, json!({"limit": "ten"})).await, "request/body/limit must be integer");
    assert_eq!(error(&api, json!({"limit": -1})).await, "request/body/limit must be >= 0");
    assert_eq!(error(&api, json!({"fields": "kind"})).await, "request/body/fields must be array");
    let reply = send(&api, "POST", "/entities/by-query", Some("[1]")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = send(&api, "POST", "/entities/by-query?filter=kind=component", Some("{}")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "query parameters are not part of the POST route");
}

#[tokio::test]
async fn order_fields_offset_and_full_text_apply() {
    let api = api();
    let reply = post(
        &api,
        "/entities/by-query",
        json!({
            "query": {"kind": "component"},
            "orderBy": [{"field": "metadata.name", "order": "desc"}],
            "offset": 1,
            "fields": ["metadata.name"],
        }),
    )
    .await;
    assert_eq!(reply.names(), strings(&["service-b", "service-a", "orphan-thing", "Lib-Core"]));
    assert_eq!(reply.json["items"][0], json!({"metadata": {"name": "service-b"}}));
    assert_eq!(reply.json["totalItems"], 5);

    let reply = post(
        &api,
        "/entities/by-query",
        json!({"query": {"kind": "component"}, "fullTextFilter": {"term": "SERV", "fields": ["metadata.name"]}}),
    )
    .await;
    assert_eq!(sorted(reply.names()), strings(&["service-a", "service-b"]));
    assert_eq!(reply.json["totalItems"], 2);

    let reply =
        post(&api, "/entities/by-query", json!({"query": {"kind": "api"}, "totalItems": "exclude"})).await;
    assert_eq!(reply.names().len(), 2);
    assert_eq!(reply.json["totalItems"], 0, "totalItems: exclude skips the count");
}

#[tokio::test]
async fn cursor_walk_through_post_pages() {
    let api = api();
    let query = json!({"$any": [{"kind": "component"}, {"kind": "api"}]});
    let first = post(
        &api,
        "/entities/by-query",
        json!({"query": query, "limit": 2, "orderBy": [{"field": "metadata.name", "order": "asc"}]}),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.json["totalItems"], 7);
    assert!(first.json["pageInfo"].get("prevCursor").is_none());
    let mut seen = first.names();
    let mut reply = first;
    let mut pages = 1;
    while let Some(next) = reply.json["pageInfo"].get("nextCursor").cloned() {
        let decoded = decode_cursor(&next);
        assert_eq!(decoded["query"], query, "the cursor carries the predicate under `query`");
        reply = post(&api, "/entities/by-query", json!({"cursor": next, "limit": 2})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
        assert_eq!(reply.json["totalItems"], 7);
        assert!(reply.json["pageInfo"]["prevCursor"].is_string());
        seen.extend(reply.names());
        pages += 1;
    }
    assert_eq!(pages, 4);
    assert_eq!(
        seen,
        strings(&["api-a", "api-b", "Lib-Core", "orphan-thing", "service-a", "service-b", "website"])
    );

    // Going back from the last page returns the page before it.
    let prev = reply.json["pageInfo"]["prevCursor"].clone();
    let back = post(&api, "/entities/by-query", json!({"cursor": prev, "limit": 2})).await;
    assert_eq!(back.names(), strings(&["service-a", "service-b"]));
}

#[tokio::test]
async fn get_cursors_stay_free_of_query_and_work_on_post() {
    let api = api();
    let reply = crate::read_support::get(&api, "/entities/by-query?filter=kind=component&limit=2").await;
    let next = reply.json["pageInfo"]["nextCursor"].clone();
    assert!(decode_cursor(&next).get("query").is_none());
    let page = post(&api, "/entities/by-query", json!({"cursor": next, "limit": 10})).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.names().len(), 3);
    assert_eq!(page.json["totalItems"], 5);
}

#[tokio::test]
async fn by_refs_accepts_a_query() {
    let api = api();
    let reply = post(
        &api,
        "/entities/by-refs",
        json!({"entityRefs": ["component:default/service-a", "api:default/api-a"], "query": {"kind": "api"}}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.json["items"][0].is_null());
    assert_eq!(reply.json["items"][1]["metadata"]["name"], "api-a");
}
