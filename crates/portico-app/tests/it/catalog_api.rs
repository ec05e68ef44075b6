//! The write side of `/api/catalog` and the app's own routes, over the whole app
//! (catalog-api.md §5 items 1, 10–12, 15–21 and 41).

use axum::http::{Method, StatusCode};
use portico_testkit::{TestApp, TestDatabase, write_file};
use serde_json::{Value, json};

use crate::support::{component, config_with_locations, status_messages};

/// An app on `database` with one registered file location holding components `a` and `b`.
async fn app_with_registered_location(database: TestDatabase) -> (TestApp, String) {
    let yaml = "catalog:\n  allowedLocationTypes: [url, file]\n";
    let app = TestApp::start_on(yaml, database).await;
    let file = app.write("repo/catalog-info.yaml", &format!("{}---\n{}", component("a"), component("b")));
    let response =
        app.post("/api/catalog/locations", json!({"type": "file", "target": file.to_string_lossy()})).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let body = response.json();
    assert_eq!(body["entities"], json!([]));
    let id = body["location"]["id"].as_str().unwrap().to_owned();
    app.settle().await;
    (app, id)
}

#[tokio::test]
async fn locations_can_be_registered_listed_fetched_and_deleted() {
    for database in TestDatabase::all() {
        let (app, id) = app_with_registered_location(database.clone()).await;
        let list = app.get_json("/api/catalog/locations").await;
        assert_eq!(list.as_array().unwrap().len(), 1, "{database:?}");
        assert_eq!(list[0]["data"]["id"], id.as_str());
        assert_eq!(list[0]["data"]["type"], "file");
        let one = app.get_json(&format!("/api/catalog/locations/{id}")).await;
        assert_eq!(one["id"], id.as_str());
        let by_entity = app.get_json("/api/catalog/locations/by-entity/component/default/a").await;
        assert_eq!(by_entity["id"], id.as_str());

        assert!(app.entity("component:default/a").await.is_some());
        let deleted = app.delete(&format!("/api/catalog/locations/{id}")).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        app.settle().await;
        assert!(
            app.entity("component:default/a").await.is_none(),
            "deleting a location removes its subtree at once"
        );
        assert!(app.entity("component:default/b").await.is_none());
        let all = app.get_json("/api/catalog/entities").await;
        assert_eq!(all, json!([]), "nothing is left: {all:#}");

        let missing = app.get(&format!("/api/catalog/locations/{id}")).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(missing.json()["error"]["message"], format!("Found no location with ID {id}"));
    }
}

#[tokio::test]
async fn registering_the_same_location_twice_is_a_conflict() {
    let (app, _) = app_with_registered_location(TestDatabase::Sqlite).await;
    let target = app.path("repo/catalog-info.yaml");
    let again =
        app.post("/api/catalog/locations", json!({"type": "file", "target": target.to_string_lossy()})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.json()["error"]["name"], "ConflictError");
}

#[tokio::test]
async fn location_body_with_unknown_key_is_rejected_and_nothing_stored() {
    let app = TestApp::start("catalog:\n  allowedLocationTypes: [url, file]\n").await;
    let response = app
        .post("/api/catalog/locations", json!({"typez": "url", "target": "https://example.com/a.yaml"}))
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let body = response.json();
    assert_eq!(body["error"]["name"], "InputError");
    assert_eq!(body["request"]["method"], "POST");
    assert_eq!(body["request"]["url"], "/api/catalog/locations");
    assert_eq!(body["response"]["statusCode"], 400);
    assert_eq!(app.get_json("/api/catalog/locations").await, json!([]));
}

#[tokio::test]
async fn only_url_locations_are_registrable_by_default() {
    let app = TestApp::start("").await;
    let response = app.post("/api/catalog/locations", json!({"type": "file", "target": "/etc/passwd"})).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json()["error"]["message"],
        r#"Registered locations must be of an allowed type ["url"]"#
    );
}

#[tokio::test]
async fn dry_run_processes_without_storing() {
    let app = TestApp::start("catalog:\n  allowedLocationTypes: [url, file]\n").await;
    let file = app.write("repo/catalog-info.yaml", &component("dry"));
    let response = app
        .post("/api/catalog/locations?dryRun=true", json!({"type": "file", "target": file.to_string_lossy()}))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let body = response.json();
    assert_eq!(body["exists"], false);
    assert_eq!(body["location"]["id"], format!("file:{}", file.display()));
    let entities = body["entities"].as_array().unwrap();
    assert_eq!(entities.len(), 2);
    assert_eq!(entities[0]["kind"], "Location");
    assert!(entities[0]["metadata"]["name"].as_str().unwrap().starts_with("generated-"));
    assert_eq!(entities[1]["metadata"]["name"], "dry");
    app.settle().await;
    assert_eq!(app.get_json("/api/catalog/locations").await, json!([]));
    assert!(app.entity("component:default/dry").await.is_none());
}

#[tokio::test]
async fn readonly_mode_refuses_location_changes_but_allows_the_rest() {
    let app = TestApp::start("catalog:\n  readonly: true\n").await;
    let response = app
        .post("/api/catalog/locations", json!({"type": "url", "target": "https://example.com/a.yaml"}))
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(response.json()["error"]["message"].as_str().unwrap().contains("not allowed in readonly"));
    let delete = app.delete("/api/catalog/locations/00000000-0000-4000-8000-000000000000").await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    let delete_entity = app.delete("/api/catalog/entities/by-uid/00000000-0000-4000-8000-000000000000").await;
    assert_eq!(delete_entity.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/catalog/entities").await.status, StatusCode::OK);
}

#[tokio::test]
async fn refresh_answers_200_for_known_and_404_for_unknown_entities() {
    let (app, _) = app_with_registered_location(TestDatabase::Sqlite).await;
    let ok = app
        .post("/api/catalog/refresh", json!({"entityRef": "component:default/a", "authorizationToken": "t"}))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    let missing = app.post("/api/catalog/refresh", json!({"entityRef": "component:default/nope"})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["message"], "Entity component:default/nope not found");
}

#[tokio::test]
async fn deleting_a_still_declared_entity_brings_it_back_with_a_new_uid() {
    let (app, _) = app_with_registered_location(TestDatabase::Sqlite).await;
    let before = app.entity("component:default/a").await.unwrap();
    let uid = before["metadata"]["uid"].as_str().unwrap().to_owned();
    let by_uid = app.get_json(&format!("/api/catalog/entities/by-uid/{uid}")).await;
    assert_eq!(by_uid["metadata"]["name"], "a");
    let response = app.delete(&format!("/api/catalog/entities/by-uid/{uid}")).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    app.settle().await;
    let after = app.entity("component:default/a").await.expect("comes back");
    assert_ne!(after["metadata"]["uid"], uid.as_str());
    let gone = app.get(&format!("/api/catalog/entities/by-uid/{uid}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(gone.json()["error"]["message"].as_str().unwrap().contains("uid"));
}

#[tokio::test]
async fn ancestry_lists_the_entity_then_its_parents() {
    let (app, _) = app_with_registered_location(TestDatabase::Sqlite).await;
    let ancestry = app.get_json("/api/catalog/entities/by-name/component/default/a/ancestry").await;
    assert_eq!(ancestry["rootEntityRef"], "component:default/a");
    let items = ancestry["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{ancestry:#}");
    assert_eq!(items[0]["entity"]["metadata"]["name"], "a");
    let parent = items[0]["parentEntityRefs"][0].as_str().unwrap();
    assert!(parent.starts_with("location:default/generated-"), "{parent}");
    assert_eq!(items[1]["parentEntityRefs"], json!([]));
    let missing = app.get("/api/catalog/entities/by-name/component/default/nope/ancestry").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["message"], "No such entity component:default/nope");
}

#[tokio::test]
async fn validate_entity_accepts_valid_and_reports_invalid_entities() {
    let app = TestApp::start("").await;
    let entity: Value = serde_json::from_str(
        &serde_json::to_string(&json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {"name": "v"}, "spec": {"type": "service", "lifecycle": "production", "owner": "team"}
        }))
        .unwrap(),
    )
    .unwrap();
    let ok = app
        .post(
            "/api/catalog/validate-entity",
            json!({"entity": entity, "location": "url:https://example.com/c.yaml"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    assert!(ok.body.is_empty());

    let mut broken = entity.clone();
    broken["spec"].as_object_mut().unwrap().remove("owner");
    let invalid = app
        .post(
            "/api/catalog/validate-entity",
            json!({"entity": broken, "location": "url:https://example.com/c.yaml"}),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    let errors = invalid.json()["errors"].clone();
    assert!(errors[0]["message"].as_str().unwrap().contains("owner"), "{errors:#}");

    let null_location =
        app.post("/api/catalog/validate-entity", json!({"entity": entity, "location": null})).await;
    assert_eq!(null_location.status, StatusCode::BAD_REQUEST);
    assert!(null_location.json()["errors"][0]["message"].as_str().unwrap().contains("Malformed request:"));

    let null_entity = app
        .post(
            "/api/catalog/validate-entity",
            json!({"entity": null, "location": "url:https://example.com/c.yaml"}),
        )
        .await;
    assert_eq!(null_entity.status, StatusCode::BAD_REQUEST);
    assert!(
        null_entity.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("<root> must be object - type: object")
    );

    let file_location =
        app.post("/api/catalog/validate-entity", json!({"entity": entity, "location": "file:/x.yaml"})).await;
    assert_eq!(file_location.status, StatusCode::BAD_REQUEST);
    assert!(
        file_location.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid location ref file:/x.yaml")
    );
}

#[tokio::test]
async fn analyze_location_rejects_a_target_that_is_not_a_url() {
    let app = TestApp::start("").await;
    let response = app
        .post("/api/catalog/analyze-location", json!({"location": {"type": "url", "target": "not a url"}}))
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.json()["error"]["message"], "The given location.target is not a URL");
}

#[tokio::test]
async fn health_readiness_openapi_and_unknown_routes() {
    let app = TestApp::start("").await;
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    let openapi = app.get_json("/api/catalog/openapi.json").await;
    assert!(openapi["paths"]["/entities/by-query"].is_object(), "documents by-query");
    let unknown = app.get("/api/catalog/no-such-route").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.is_empty(), "unmatched routes answer an empty 404");
}

#[tokio::test]
async fn unknown_query_parameters_are_rejected() {
    let app = TestApp::start("").await;
    for uri in [
        "/api/catalog/entities?foo=1",
        "/api/catalog/locations?foo=1",
        "/api/catalog/entity-facets?facet=kind&foo=1",
    ] {
        let response = app.get(uri).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(response.json()["error"]["name"], "InputError");
    }
}

#[tokio::test]
async fn status_items_of_a_served_location_show_unreadable_targets() {
    let dir = tempfile::tempdir().unwrap();
    let index = write_file(
        dir.path(),
        "index.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: partial\nspec:\n  targets: [./missing.yaml, ./present.yaml]\n",
    );
    write_file(dir.path(), "present.yaml", &component("present"));
    let app = TestApp::start_in(
        dir,
        &config_with_locations(&[("file", &index.to_string_lossy())]),
        TestDatabase::Sqlite,
    )
    .await;
    app.settle().await;
    assert!(app.entity("component:default/present").await.is_some());
    let location = app.entity("location:default/partial").await.unwrap();
    let problems = status_messages(&location);
    assert!(problems.iter().any(|p| p.contains("missing.yaml")), "{problems:#?}");
}

#[tokio::test]
async fn updating_a_location_replaces_its_entities() {
    for database in TestDatabase::all() {
        let (app, id) = app_with_registered_location(database.clone()).await;
        assert!(app.entity("component:default/a").await.is_some(), "{database:?}");
        let moved = app.write("other/catalog-info.yaml", &component("c"));
        let target = moved.to_string_lossy().into_owned();
        let response = app
            .request(
                Method::PUT,
                &format!("/api/catalog/locations/{id}"),
                Some(json!({"type": "file", "target": target})),
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{database:?}: {}", response.text());
        assert_eq!(response.json(), json!({"id": id, "type": "file", "target": target}));
        app.settle().await;
        assert!(app.entity("component:default/a").await.is_none(), "{database:?}: the old subtree is gone");
        assert!(app.entity("component:default/b").await.is_none(), "{database:?}");
        assert!(
            app.entity("component:default/c").await.is_some(),
            "{database:?}: the new target is ingested"
        );
        let one = app.get_json(&format!("/api/catalog/locations/{id}")).await;
        assert_eq!(one["target"], target.as_str());
    }
}

#[tokio::test]
async fn updating_a_location_checks_id_body_type_and_conflicts() {
    let (app, id) = app_with_registered_location(TestDatabase::Sqlite).await;
    let put = |uri: String, body: Value| {
        let app = &app;
        async move { app.request(Method::PUT, &uri, Some(body)).await }
    };
    let unknown = "00000000-0000-4000-8000-000000000000";
    let missing =
        put(format!("/api/catalog/locations/{unknown}"), json!({"type": "file", "target": "/x.yaml"})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["message"], format!("Found no location with ID {unknown}"));

    let bad = put(format!("/api/catalog/locations/{id}"), json!({"type": "file"})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let extra =
        put(format!("/api/catalog/locations/{id}"), json!({"type": "file", "target": "/x", "x": 1})).await;
    assert_eq!(extra.status, StatusCode::BAD_REQUEST);
    let disallowed =
        put(format!("/api/catalog/locations/{id}"), json!({"type": "git", "target": "/x"})).await;
    assert_eq!(disallowed.status, StatusCode::BAD_REQUEST);

    let other = app.write("second/catalog-info.yaml", &component("d"));
    let created =
        app.post("/api/catalog/locations", json!({"type": "file", "target": other.to_string_lossy()})).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let clash = put(
        format!("/api/catalog/locations/{id}"),
        json!({"type": "file", "target": other.to_string_lossy()}),
    )
    .await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    assert_eq!(clash.json()["error"]["name"], "ConflictError");
}

#[tokio::test]
async fn updating_a_location_is_refused_in_readonly_mode() {
    let app = TestApp::start("catalog:\n  readonly: true\n").await;
    let response = app
        .request(
            Method::PUT,
            "/api/catalog/locations/00000000-0000-4000-8000-000000000000",
            Some(json!({"type": "url", "target": "https://example.com/a.yaml"})),
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.json()["error"]["message"], "This operation not allowed in readonly mode");
}

#[tokio::test]
async fn locations_can_be_queried_by_predicate_and_paged() {
    let app = TestApp::start("catalog:\n  allowedLocationTypes: [url, file]\n").await;
    let mut ids = Vec::new();
    for (kind, target) in [
        ("url", "https://example.com/a.yaml"),
        ("url", "https://example.com/b.yaml"),
        ("url", "https://other.org/c.yaml"),
        ("file", "/srv/d.yaml"),
    ] {
        let created = app.post("/api/catalog/locations", json!({"type": kind, "target": target})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        ids.push(created.json()["location"]["id"].as_str().unwrap().to_owned());
    }
    ids.sort();

    let all = app.post("/api/catalog/locations/by-query", json!({})).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text());
    let body = all.json();
    assert_eq!(body["totalItems"], 4);
    assert_eq!(body["pageInfo"], json!({}));
    let listed: Vec<&str> =
        body["items"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids, "locations come in id order");

    let query = json!({"type": "URL", "target": {"$hasPrefix": "https://example.com/"}});
    let first = app.post("/api/catalog/locations/by-query", json!({"limit": 1, "query": query})).await.json();
    assert_eq!(first["totalItems"], 2);
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let cursor = first["pageInfo"]["nextCursor"].as_str().expect("a next page").to_owned();
    let second = app.post("/api/catalog/locations/by-query", json!({"cursor": cursor})).await.json();
    assert_eq!(second["items"].as_array().unwrap().len(), 1, "the cursor keeps limit and query");
    assert_eq!(second["pageInfo"], json!({}));
    let mut targets =
        vec![first["items"][0]["target"].as_str().unwrap(), second["items"][0]["target"].as_str().unwrap()];
    targets.sort();
    assert_eq!(targets, ["https://example.com/a.yaml", "https://example.com/b.yaml"]);

    let not_url = app
        .post("/api/catalog/locations/by-query", json!({"query": {"$not": {"type": {"$in": ["url"]}}}}))
        .await
        .json();
    assert_eq!(not_url["items"][0]["target"], "/srv/d.yaml");
    assert_eq!(not_url["totalItems"], 1);

    for (body, message) in [
        (json!({"limit": 0}), "Limit must be a positive integer >= 1"),
        (json!({"cursor": ""}), "Cursor cannot be empty"),
        (json!({"cursor": "!!"}), "Malformed cursor, unknown encoding"),
        (json!({"query": "url"}), "Query must be an object"),
    ] {
        let response = app.post("/api/catalog/locations/by-query", body.clone()).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(response.json()["error"]["message"], message, "{body}");
    }
    let invalid = app.post("/api/catalog/locations/by-query", json!({"query": {"$bad": 1}})).await;
    assert!(invalid.json()["error"]["message"].as_str().unwrap().starts_with("Invalid query: "));
}
