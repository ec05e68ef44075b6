//! `POST /entity-facets`: facet counts over the entities a predicate selects.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::read_support::{Reply, TestApi, api, send};

async fn post(api: &TestApi, body: Value) -> Reply {
    send(api, "POST", "/entity-facets", Some(&body.to_string())).await
}

/// `[(value, count)]` of one facet, sorted by value.
fn facet(reply: &Reply, name: &str) -> Vec<(String, u64)> {
    let mut values: Vec<(String, u64)> = reply.json["facets"][name]
        .as_array()
        .expect("facet array")
        .iter()
        .map(|v| (v["value"].as_str().unwrap_or_default().to_owned(), v["count"].as_u64().unwrap_or(0)))
        .collect();
    values.sort();
    values
}

#[tokio::test]
async fn facets_count_only_entities_matching_the_query() {
    let api = api();
    let reply = post(&api, json!({"facets": ["spec.type", "kind"], "query": {"kind": "component"}})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(
        facet(&reply, "spec.type"),
        vec![
            ("Service".to_owned(), 1),
            ("library".to_owned(), 1),
            ("service".to_owned(), 2),
            ("website".to_owned(), 1)
        ]
    );
    assert_eq!(facet(&reply, "kind"), vec![("Component".to_owned(), 5)]);
}

#[tokio::test]
async fn facets_with_operators_in_the_query() {
    let api = api();
    let query =
        json!({"$all": [{"spec.owner": "team-a"}, {"$not": {"kind": {"$in": ["system", "domain"]}}}]});
    let reply = post(&api, json!({"facets": ["kind"], "query": query})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(facet(&reply, "kind"), vec![("API".to_owned(), 1), ("Component".to_owned(), 3)]);
}

#[tokio::test]
async fn facets_without_a_query_count_everything() {
    let api = api();
    let reply = post(&api, json!({"facets": ["kind"]})).await;
    assert_eq!(reply.status, StatusCode::OK);
    let total: u64 = facet(&reply, "kind").iter().map(|(_, c)| c).sum();
    assert_eq!(total, 15);
}

#[tokio::test]
async fn facets_body_errors() {
    let api = api();
    let reply = post(&api, json!({"query": {"kind": "component"}})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.message(), "request/body must have required property 'facets'");
    let reply = post(&api, json!({"facets": []})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.message(), "Missing facet parameter");
    let reply = post(&api, json!({"facets": ["kind"], "query": "component"})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.message(), "Query must be an object");
    let reply = post(&api, json!({"facets": ["kind"], "query": {"$nope": 1}})).await;
    assert!(reply.message().starts_with("Invalid query: "), "{}", reply.message());
}
