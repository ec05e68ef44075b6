//! `GET /entities/by-query`.

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::read_support::{api, get, row, sorted, strings};

fn encode(cursor: &str) -> String {
    url::form_urlencoded::byte_serialize(cursor.as_bytes()).collect()
}

fn decode_cursor(cursor: &Value) -> Value {
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(cursor.as_str().expect("string")).expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

#[tokio::test]
async fn first_page_has_items_total_and_only_next_cursor() {
    let api = api();
    let reply = get(&api, "/entities/by-query?limit=5").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["totalItems"], 15);
    assert_eq!(reply.names().len(), 5);
    assert!(reply.json["pageInfo"]["nextCursor"].is_string());
    assert!(reply.json["pageInfo"].get("prevCursor").is_none());

    let all = get(&api, "/entities/by-query").await;
    assert_eq!(all.names().len(), 15);
    assert_eq!(all.json["pageInfo"], json!({}));
}

#[tokio::test]
async fn default_order_is_uid() {
    let api = api();
    let reply = get(&api, "/entities/by-query?filter=kind=component").await;
    // u-01, u-03, u-08, u-12, u-15
    assert_eq!(reply.names(), strings(&["Lib-Core", "service-b", "service-a", "website", "orphan-thing"]));
}

#[tokio::test]
async fn cursor_walk_visits_every_entity_once() {
    let api = api();
    for (limit, order) in
        [(4, ""), (4, "&orderField=metadata.name,desc"), (3, "&orderField=metadata.title,asc")]
    {
        let query = format!("limit={limit}{order}");
        let mut reply = get(&api, &format!("/entities/by-query?{query}")).await;
        let mut seen = reply.names();
        let mut pages = 1;
        while let Some(next) = reply.json["pageInfo"]["nextCursor"].as_str() {
            // The page size is not part of the cursor; clients send it with every request.
            reply = get(&api, &format!("/entities/by-query?limit={limit}&cursor={}", encode(next))).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert_eq!(reply.json["totalItems"], 15);
            assert!(reply.json["pageInfo"]["prevCursor"].is_string(), "{query}: later pages can go back");
            seen.extend(reply.names());
            pages += 1;
        }
        assert_eq!(seen.len(), 15, "{query}: {seen:?}");
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 15, "{query}");
        assert!(pages >= 4, "{query}");
    }
}

#[tokio::test]
async fn order_field_sorts_and_only_the_first_counts() {
    let api = api();
    let reply = get(
        &api,
        "/entities/by-query?filter=kind=component&orderField=metadata.name,desc&orderField=metadata.uid,asc",
    )
    .await;
    assert_eq!(reply.names(), strings(&["website", "service-b", "service-a", "orphan-thing", "Lib-Core"]));
    let reply = get(&api, "/entities/by-query?filter=kind=group,kind=api&orderField=metadata.title").await;
    assert_eq!(reply.names(), strings(&["api-a", "team-a", "api-b", "team-b"]));
}

#[tokio::test]
async fn prev_cursor_returns_previous_page() {
    let api = api();
    let first = get(&api, "/entities/by-query?limit=4&orderField=metadata.name,asc").await;
    let next = first.json["pageInfo"]["nextCursor"].as_str().expect("next").to_owned();
    let second = get(&api, &format!("/entities/by-query?limit=4&cursor={}", encode(&next))).await;
    let prev = second.json["pageInfo"]["prevCursor"].as_str().expect("prev").to_owned();
    let back = get(&api, &format!("/entities/by-query?limit=4&cursor={}", encode(&prev))).await;
    assert_eq!(back.names(), first.names());
    assert!(back.json["pageInfo"].get("prevCursor").is_none(), "back at the start");
    assert!(back.json["pageInfo"]["nextCursor"].is_string());
}

#[tokio::test]
async fn total_items_is_carried_in_cursor() {
    let api = api();
    let first = get(&api, "/entities/by-query?limit=2&filter=kind=user").await;
    assert_eq!(first.json["totalItems"], 2);
    let next = first.json["pageInfo"]["nextCursor"].clone();
    assert!(next.is_null(), "two users fit on one page");
    let first = get(&api, "/entities/by-query?limit=1&filter=kind=user").await;
    let next = first.json["pageInfo"]["nextCursor"].as_str().expect("next").to_owned();
    assert_eq!(decode_cursor(&first.json["pageInfo"]["nextCursor"])["totalItems"], 2);

    // A new user appears; the cursor's total still wins.
    let carol = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "User",
        "metadata": {"name": "carol", "namespace": "default", "uid": "u-99"}, "spec": {}, "relations": []});
    api.index.write().expect("lock").apply(portico_store::FinalChange::Upsert(row(&carol, 100)));
    let second = get(&api, &format!("/entities/by-query?limit=1&cursor={}", encode(&next))).await;
    assert_eq!(second.json["totalItems"], 2);
    assert_eq!(second.names(), strings(&["bob"]));
}

#[tokio::test]
async fn cursor_request_ignores_filter_and_order_params() {
    let api = api();
    let first = get(&api, "/entities/by-query?limit=2&filter=kind=component").await;
    let next = encode(first.json["pageInfo"]["nextCursor"].as_str().expect("next"));
    let plain = get(&api, &format!("/entities/by-query?limit=2&cursor={next}")).await;
    let noisy = get(
        &api,
        &format!("/entities/by-query?limit=2&cursor={next}&filter=%3Dbad&orderField=x,diagonal&offset=3"),
    )
    .await;
    assert_eq!(noisy.status, StatusCode::OK);
    assert_eq!(plain.names(), noisy.names());
    assert_eq!(plain.names(), strings(&["service-a", "website"]));
}

#[tokio::test]
async fn limit_and_fields_are_honoured_on_cursor_requests() {
    let api = api();
    let first = get(&api, "/entities/by-query?limit=2&filter=kind=component").await;
    let next = encode(first.json["pageInfo"]["nextCursor"].as_str().expect("next"));
    let reply = get(&api, &format!("/entities/by-query?cursor={next}&limit=1&fields=metadata.name")).await;
    assert_eq!(reply.json["items"], json!([{"metadata": {"name": "service-a"}}]));
}

#[tokio::test]
async fn next_cursor_keeps_full_text_term_and_has_no_query_key() {
    let api = api();
    let first = get(
        &api,
        "/entities/by-query?limit=1&fullTextFilterTerm=SERVICE&fullTextFilterFields=metadata.name,metadata.title",
    )
    .await;
    assert_eq!(first.json["totalItems"], 2);
    let cursor = decode_cursor(&first.json["pageInfo"]["nextCursor"]);
    assert_eq!(cursor["fullTextFilter"]["term"], "SERVICE");
    assert!(cursor.get("query").is_none());
    let next = encode(first.json["pageInfo"]["nextCursor"].as_str().expect("next"));
    let second = get(&api, &format!("/entities/by-query?cursor={next}")).await;
    assert_eq!(sorted([first.names(), second.names()].concat()), strings(&["service-a", "service-b"]));
}

#[tokio::test]
async fn full_text_filter_matches_lowercase_substrings() {
    let api = api();
    let reply = get(
        &api,
        "/entities/by-query?fullTextFilterTerm=%20ALPHA%20&fullTextFilterFields=metadata.name,metadata.title&orderField=metadata.name,asc",
    )
    .await;
    assert_eq!(reply.names(), strings(&["api-a", "service-a"]));
    // Without fields the order field (or metadata.uid) is searched.
    let reply = get(&api, "/entities/by-query?fullTextFilterTerm=u-1").await;
    assert_eq!(reply.json["totalItems"], 6);
    let reply = get(&api, "/entities/by-query?fullTextFilterTerm=beta&orderField=metadata.title").await;
    assert_eq!(reply.names(), strings(&["service-b"]));
}

#[tokio::test]
async fn malformed_cursor_is_400() {
    let api = api();
    let wrong_json = encode(&base64::engine::general_purpose::STANDARD.encode(r#"{"foo":1}"#));
    for cursor in [wrong_json.as_str(), "bm90IGpzb24", "%21%21%21"] {
        let reply = get(&api, &format!("/entities/by-query?cursor={cursor}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{cursor}");
        assert!(reply.message().starts_with("Malformed cursor"), "{}", reply.message());
    }
    let reply = get(&api, "/entities/by-query?cursor=").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn limit_zero_returns_total_only() {
    let api = api();
    let reply = get(&api, "/entities/by-query?limit=0&filter=kind=component").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json, json!({"items": [], "totalItems": 5, "pageInfo": {}}));
}

#[tokio::test]
async fn query_parameters_are_validated() {
    let api = api();
    for (query, message) in [
        ("limit=asdf", "request/query/limit must be integer"),
        ("orderField=metadata.uid,diagonal", "Invalid order field order, must be asc or desc"),
        (
            "filter=%3D",
            "Invalid filter, '=' is not a valid statement (expected a string on the form a=b or a= or a)",
        ),
        ("fields=spec.x%5B0%5D", "invalid fields, array type fields are not supported"),
    ] {
        let reply = get(&api, &format!("/entities/by-query?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(reply.message(), message, "{query}");
    }
}

#[tokio::test]
async fn offset_skips_rows_of_the_first_page() {
    let api = api();
    let reply = get(&api, "/entities/by-query?filter=kind=component&offset=3").await;
    assert_eq!(reply.names(), strings(&["website", "orphan-thing"]));
    assert_eq!(reply.json["totalItems"], 5);
}
