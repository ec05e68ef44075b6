//! The write side of `/api/catalog` and the app's own routes, over the whole app
//! (catalog-api.md §5 items 1, 10–12, 15–21 and 41).

use axum::http::StatusCode;
use portico_testkit::{TestApp, TestDatabase, write_file};
use serde_json::{Value, json};

use crate::support::{config_with_locations, status_messages};

fn component(name: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: team\n"
    )
}

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
