//! `GET /entities/by-uid`, `GET /entities/by-name` and `POST /entities/by-refs`.

use axum::http::StatusCode;
use serde_json::json;

use crate::read_support::{api, get, send, strings};

#[tokio::test]
async fn by_uid_returns_entity_or_404() {
    let api = api();
    let reply = get(&api, "/entities/by-uid/u-10").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["metadata"]["name"], "api-b");
    let missing = get(&api, "/entities/by-uid/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json["error"]["name"], "NotFoundError");
    assert_eq!(missing.message(), "No entity with uid nope");
}

#[tokio::test]
async fn by_name_is_case_insensitive_and_404_mentions_name() {
    let api = api();
    let reply = get(&api, "/entities/by-name/Component/OTHER/lib-core").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["metadata"]["name"], "Lib-Core");
    let missing = get(&api, "/entities/by-name/component/default/Nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.message(),
        "No entity named 'Nope' found, with kind 'component' in namespace 'default'"
    );
}

#[tokio::test]
async fn by_refs_returns_items_in_order_with_nulls() {
    let api = api();
    let body = r#"{"entityRefs":["user:default/bob","component:default/nope","user:default/bob","api:default/api-a"]}"#;
    let reply = send(&api, "POST", "/entities/by-refs", Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.names(), strings(&["bob", "null", "bob", "api-a"]));
    assert!(reply.json["items"][1].is_null());
}

#[tokio::test]
async fn by_refs_is_not_normalised() {
    let api = api();
    let body = r#"{"entityRefs":["User:default/bob","user:bob","user:default/bob"]}"#;
    let reply = send(&api, "POST", "/entities/by-refs", Some(body)).await;
    assert_eq!(reply.names(), strings(&["null", "null", "bob"]));
}

#[tokio::test]
async fn by_refs_rejects_bad_bodies() {
    let api = api();
    for body in [
        "",
        "not json",
        "[",
        "[]",
        "{}",
        r#"{"unknown":7}"#,
        r#"{"entityRefs":7}"#,
        r#"{"entityRefs":[7]}"#,
        r#"{"entityRefs":[7],"fields":7}"#,
        r#"{"entityRefs":[7],"fields":[7]}"#,
        r#"{"entityRefs":["a"],"fields":[4]}"#,
    ] {
        let reply = send(&api, "POST", "/entities/by-refs", Some(body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.json["error"]["name"], "InputError", "{body}");
    }
}

#[tokio::test]
async fn by_refs_applies_filter_and_fields() {
    let api = api();
    let body =
        r#"{"entityRefs":["component:default/service-a","api:default/api-a"],"fields":["metadata.name"]}"#;
    let reply = send(&api, "POST", "/entities/by-refs?filter=kind=Component", Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json, json!({"items": [{"metadata": {"name": "service-a"}}, null]}));
}
