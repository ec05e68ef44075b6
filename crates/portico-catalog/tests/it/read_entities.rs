//! `GET /entities`.

use axum::http::StatusCode;

use crate::read_support::{api, api_with, get, sorted, strings};

#[tokio::test]
async fn get_entities_returns_bare_array_in_ref_order() {
    let api = api();
    let reply = get(&api, "/entities").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/json; charset=utf-8");
    let names = reply.names();
    assert_eq!(names.len(), 15);
    // Canonical ref order: api:…, component:default/…, component:other/…, domain:…
    assert_eq!(&names[..2], &strings(&["api-a", "api-b"])[..]);
    assert_eq!(names[6], "Lib-Core");
    assert_eq!(names[7], "dom");
}

#[tokio::test]
async fn filter_params_are_ored_and_conditions_anded() {
    let api = api();
    let reply =
        get(&api, "/entities?filter=kind=component,kind=api,spec.lifecycle=experimental&filter=kind=user")
            .await;
    assert_eq!(sorted(reply.names()), strings(&["alice", "api-b", "bob", "website"]));
}

#[tokio::test]
async fn url_encoded_filter_behaves_like_raw() {
    let api = api();
    let raw = get(&api, "/entities?filter=kind=component,spec.lifecycle=production").await;
    let encoded = get(&api, "/entities?filter=kind%3Dcomponent%2Cspec.lifecycle%3Dproduction").await;
    assert_eq!(raw.names(), encoded.names());
    assert_eq!(sorted(raw.names()), strings(&["Lib-Core", "service-a", "service-b"]));
}

#[tokio::test]
async fn filters_are_case_insensitive() {
    let api = api();
    let reply = get(&api, "/entities?filter=KIND=COMPONENT,spec.type=SERVICE").await;
    assert_eq!(sorted(reply.names()), strings(&["orphan-thing", "service-a", "service-b"]));
}

#[tokio::test]
async fn namespace_and_existence_filters() {
    let api = api();
    let reply = get(&api, "/entities?filter=kind=component,metadata.namespace=default").await;
    assert_eq!(reply.names().len(), 4);
    let reply = get(&api, "/entities?filter=spec.profile.displayname").await;
    assert_eq!(sorted(reply.names()), strings(&["alice", "bob"]));
    let reply = get(&api, "/entities?filter=metadata.annotations.backstage.io/orphan=true").await;
    assert_eq!(reply.names(), strings(&["orphan-thing"]));
}

#[tokio::test]
async fn tag_membership_matches_both_forms() {
    let api = api();
    let by_key = get(&api, "/entities?filter=metadata.tags.web").await;
    let by_value = get(&api, "/entities?filter=metadata.tags=web").await;
    assert_eq!(sorted(by_key.names()), strings(&["service-a", "website"]));
    assert_eq!(by_key.names(), by_value.names());
}

#[tokio::test]
async fn relation_filter_uses_canonical_refs() {
    let api = api();
    let reply = get(&api, "/entities?filter=kind=user,relations.memberof=group:default/team-a").await;
    assert_eq!(reply.names(), strings(&["alice"]));
}

#[tokio::test]
async fn long_values_match_only_by_existence() {
    let api = api();
    let definition = "openapi: 3.0.0\n".repeat(20);
    let encoded: String = url::form_urlencoded::byte_serialize(definition.as_bytes()).collect();
    let by_value = get(&api, &format!("/entities?filter=spec.definition={encoded}")).await;
    assert_eq!(by_value.names(), Vec::<String>::new());
    let by_key = get(&api, "/entities?filter=spec.definition").await;
    assert_eq!(by_key.names(), strings(&["api-a"]));
}

#[tokio::test]
async fn invalid_filter_is_400() {
    let api = api();
    let reply = get(&api, "/entities?filter=%3Da").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json["error"]["name"], "InputError");
    assert!(reply.message().starts_with("Invalid filter, '=a' is not a valid statement"));
}

#[tokio::test]
async fn order_sorts_lowercased_values_with_missing_last() {
    let api = api();
    let reply = get(&api, "/entities?filter=kind=component&order=desc:metadata.name").await;
    assert_eq!(reply.names(), strings(&["website", "service-b", "service-a", "orphan-thing", "Lib-Core"]));
    let reply = get(&api, "/entities?filter=kind=group,kind=api&order=asc:metadata.title").await;
    // api-a "alpha api", team-a "team a", then the ones without a title by uid (u-10, u-14).
    assert_eq!(reply.names(), strings(&["api-a", "team-a", "api-b", "team-b"]));
}

#[tokio::test]
async fn order_keys_must_be_lowercase_to_sort_camel_case_paths() {
    let api = api();
    let camel = get(&api, "/entities?filter=kind=user&order=desc:spec.profile.displayName").await;
    // No such (lowercase-indexed) key: every value is missing, ties broken by uid (u-05, u-11).
    assert_eq!(camel.names(), strings(&["alice", "bob"]));
    let lower = get(&api, "/entities?filter=kind=user&order=desc:spec.profile.displayname").await;
    assert_eq!(lower.names(), strings(&["bob", "alice"]));
}

#[tokio::test]
async fn invalid_order_is_400() {
    let api = api();
    let reply = get(&api, "/entities?order=sideways:metadata.name").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.message(),
        "Invalid order parameter \"sideways:metadata.name\", expected \"<asc or desc>:<field name>\""
    );
}

#[tokio::test]
async fn limit_offset_after_and_link_header() {
    let api = api();
    let first = get(&api, "/entities?filter=kind=component&limit=2").await;
    assert_eq!(first.names(), strings(&["orphan-thing", "service-a"]));
    let link = first.headers["link"].to_str().expect("ascii").to_owned();
    assert!(link.starts_with("</entities?filter=kind%3Dcomponent&limit=2&after="), "{link}");
    assert!(link.ends_with(">; rel=\"next\""));
    let next = &link[1..link.find('>').expect("closing")];
    let second = get(&api, next).await;
    assert_eq!(second.names(), strings(&["service-b", "website"]));
    let third_link = second.headers["link"].to_str().expect("ascii").to_owned();
    let third = get(&api, &third_link[1..third_link.find('>').expect("closing")]).await;
    assert_eq!(third.names(), strings(&["Lib-Core"]));
    assert!(third.headers.get("link").is_none());

    let offset = get(&api, "/entities?filter=kind=component&limit=2&offset=3").await;
    assert_eq!(offset.names(), strings(&["website", "Lib-Core"]));
    assert!(offset.headers.get("link").is_none());
}

#[tokio::test]
async fn pagination_parameters_are_validated() {
    let api = api();
    for (query, message) in [
        ("limit=asdf", "request/query/limit must be integer"),
        ("limit=-1", "request/query/limit must be >= 0"),
        ("limit=0", "Invalid limit, must be greater than zero"),
        ("limit=01", "Invalid limit, not an integer"),
        ("offset=1.5", "request/query/offset must be integer"),
        ("after=", "Empty value found for query parameter 'after'"),
        ("after=%21%21", "Malformed after cursor, could not be parsed"),
    ] {
        let reply = get(&api, &format!("/entities?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(reply.message(), message, "{query}");
    }
}

#[tokio::test]
async fn unknown_query_parameter_is_400_on_every_route() {
    let api = api();
    for uri in [
        "/entities?foo=1",
        "/entities/by-query?foo=1",
        "/entities/by-uid/u-08?foo=1",
        "/entities/by-name/component/default/service-a?foo=1",
        "/entity-facets?facet=kind&foo=1",
    ] {
        let reply = get(&api, uri).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(reply.message(), "Unknown query parameter 'foo'", "{uri}");
    }
    let reply =
        crate::read_support::send(&api, "POST", "/entities/by-refs?foo=1", Some(r#"{"entityRefs":[]}"#))
            .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn relation_compat_targets_on_list_and_by_uid_only() {
    let api = api();
    let expected = serde_json::json!({
        "type": "ownedBy", "targetRef": "group:default/team-a",
        "target": {"kind": "group", "namespace": "default", "name": "team-a"}
    });
    let list = get(&api, "/entities?filter=metadata.name=service-a").await;
    assert_eq!(list.json[0]["relations"][0], expected);
    let by_uid = get(&api, "/entities/by-uid/u-08").await;
    assert_eq!(by_uid.json["relations"][0], expected);
    let by_name = get(&api, "/entities/by-name/component/default/service-a").await;
    assert!(by_name.json["relations"][0].get("target").is_none());
    let by_query = get(&api, "/entities/by-query?filter=metadata.name=service-a").await;
    assert!(by_query.json["items"][0]["relations"][0].get("target").is_none());
}

#[tokio::test]
async fn relations_compatibility_can_be_disabled() {
    let api = api_with(false);
    let list = get(&api, "/entities?filter=metadata.name=service-a").await;
    assert!(list.json[0]["relations"][0].get("target").is_none());
    let by_uid = get(&api, "/entities/by-uid/u-08").await;
    assert!(by_uid.json["relations"][0].get("target").is_none());
}

#[tokio::test]
async fn fields_projection_keeps_selected_paths() {
    let api = api();
    let reply = get(&api, "/entities?filter=metadata.name=service-a&fields=kind,metadata.name").await;
    assert_eq!(reply.json, serde_json::json!([{"kind": "Component", "metadata": {"name": "service-a"}}]));
    let reply = get(&api, "/entities?fields=metadata.tags%5B0%5D").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.message(), "invalid fields, array type fields are not supported");
}
