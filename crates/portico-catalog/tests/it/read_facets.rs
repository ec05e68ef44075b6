//! `GET /entity-facets`.

use axum::http::StatusCode;
use serde_json::Value;

use crate::read_support::{api, get};

/// A facet's `(value, count)` pairs, sorted.
fn facet(reply: &Value, name: &str) -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> = reply["facets"][name]
        .as_array()
        .expect("facet array")
        .iter()
        .map(|c| (c["value"].as_str().expect("value").to_owned(), c["count"].as_u64().expect("count")))
        .collect();
    counts.sort();
    counts
}

fn pairs(items: &[(&str, u64)]) -> Vec<(String, u64)> {
    items.iter().map(|(v, c)| ((*v).to_owned(), *c)).collect()
}

#[tokio::test]
async fn facets_count_original_case_values() {
    let api = api();
    let reply = get(&api, "/entity-facets?facet=kind&facet=spec.type").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        facet(&reply.json, "kind"),
        pairs(&[
            ("API", 2),
            ("Component", 5),
            ("Domain", 1),
            ("Group", 2),
            ("Location", 1),
            ("Resource", 1),
            ("System", 1),
            ("User", 2)
        ])
    );
    // `Service` and `service` are separate buckets.
    assert_eq!(
        facet(&reply.json, "spec.type"),
        pairs(&[
            ("Service", 1),
            ("database", 1),
            ("grpc", 1),
            ("library", 1),
            ("openapi", 1),
            ("service", 2),
            ("team", 2),
            ("url", 1),
            ("website", 1)
        ])
    );
}

#[tokio::test]
async fn facets_respect_filter_and_keep_requested_key_spelling() {
    let api = api();
    let reply = get(&api, "/entity-facets?facet=Spec.Lifecycle&filter=kind=component").await;
    assert_eq!(
        facet(&reply.json, "Spec.Lifecycle"),
        pairs(&[("deprecated", 1), ("experimental", 1), ("production", 3)])
    );
}

#[tokio::test]
async fn facets_of_arrays_count_elements_and_skip_long_values() {
    let api = api();
    let reply = get(&api, "/entity-facets?facet=metadata.tags&facet=spec.definition&facet=no.such.key").await;
    assert_eq!(facet(&reply.json, "metadata.tags"), pairs(&[("java", 1), ("python", 1), ("web", 2)]));
    assert_eq!(facet(&reply.json, "spec.definition"), pairs(&[]));
    assert_eq!(facet(&reply.json, "no.such.key"), pairs(&[]));
}

#[tokio::test]
async fn facet_parameter_is_required() {
    let api = api();
    let reply = get(&api, "/entity-facets").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.message(), "request/query must have required property 'facet'");
    let reply = get(&api, "/entity-facets?facet=&facet=").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.message(), "Missing facet parameter");
}
