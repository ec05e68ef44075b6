//! Ingestion: the demo catalog, relations both ways, placeholders, orphans, conflicts,
//! refresh after edits, persistence of registered locations.

use std::time::Duration;

use axum::http::StatusCode;
use portico_testkit::{TestApp, TestDatabase, write_file};
use serde_json::{Value, json};

use crate::support::{
    component_owned_by, config_with_locations, count_kind, demo_catalog, has_relation, status_messages,
};

async fn demo_app(database: TestDatabase) -> TestApp {
    let catalog = demo_catalog();
    let all = catalog.join("all.yaml");
    let org = catalog.join("acme-corp.yaml");
    let yaml = config_with_locations(&[("file", &all.to_string_lossy()), ("file", &org.to_string_lossy())]);
    let app = TestApp::start_on(&yaml, database).await;
    app.settle().await;
    app
}

#[tokio::test]
async fn demo_catalog_ingests_with_only_the_problems_backstage_has() {
    for database in TestDatabase::all() {
        let app = demo_app(database.clone()).await;
        let entities = app.get_json("/api/catalog/entities").await;
        assert_eq!(count_kind(&entities, "Component"), 13, "{database:?}");
        assert_eq!(count_kind(&entities, "System"), 3);
        assert_eq!(count_kind(&entities, "Domain"), 3);
        assert_eq!(count_kind(&entities, "Resource"), 1);
        assert_eq!(count_kind(&entities, "Group"), 8);
        assert_eq!(count_kind(&entities, "User"), 17);
        // Ten APIs are declared; three read their definition from github.com (not allowed
        // offline) and one (mcp-server) has no definition: those never become valid.
        assert_eq!(count_kind(&entities, "API"), 6);

        let apis_location = app.entity("location:default/example-apis").await.expect("example-apis location");
        let problems = status_messages(&apis_location);
        assert_eq!(problems.len(), 4, "problems on example-apis: {problems:#?}");
        for name in ["spotify-api", "wayback-archive-api", "wayback-search-api"] {
            assert!(
                problems.iter().any(|p| p.contains(name) && p.contains("backend.reading.allow")),
                "{name} not reported: {problems:#?}"
            );
        }
        assert!(
            problems.iter().any(|p| p.contains("backstage-mcp-server-api") && p.contains("definition")),
            "{problems:#?}"
        );
        // Every other entity is clean.
        for entity in entities.as_array().unwrap() {
            if entity["metadata"]["name"] != "example-apis" {
                assert!(
                    entity.get("status").is_none(),
                    "unexpected status on {}",
                    entity["metadata"]["name"]
                );
            }
        }
    }
}

#[tokio::test]
async fn demo_relations_are_present_on_both_sides() {
    let app = demo_app(TestDatabase::Sqlite).await;
    let artist_lookup = app.entity("component:default/artist-lookup").await.expect("artist-lookup");
    let owner = artist_lookup["spec"]["owner"].as_str().unwrap().to_owned();
    let owner_ref = if owner.contains(':') { owner.clone() } else { format!("group:default/{owner}") };
    assert!(has_relation(&artist_lookup, "ownedBy", &owner_ref), "{artist_lookup:#}");
    let group = app.entity(&owner_ref).await.expect("owner group");
    assert!(has_relation(&group, "ownerOf", "component:default/artist-lookup"));

    // System ↔ domain, API provided by a component, user ↔ group membership (declared on
    // both sides yet listed once).
    let system = app.entity("system:default/audio-playback").await.expect("system");
    let domain_ref = format!("domain:default/{}", system["spec"]["domain"].as_str().unwrap());
    assert!(has_relation(&system, "partOf", &domain_ref));
    assert!(has_relation(
        &app.entity(&domain_ref).await.unwrap(),
        "hasPart",
        "system:default/audio-playback"
    ));

    let user = app.entity("user:default/breanna.davison").await.expect("user");
    let memberships: Vec<&Value> =
        user["relations"].as_array().unwrap().iter().filter(|r| r["type"] == "memberOf").collect();
    let unique: std::collections::HashSet<_> = memberships.iter().map(|r| r["targetRef"].clone()).collect();
    assert_eq!(memberships.len(), unique.len(), "memberships are listed once: {memberships:#?}");
    for membership in &memberships {
        let group = app.entity(membership["targetRef"].as_str().unwrap()).await.expect("group");
        assert!(has_relation(&group, "hasMember", "user:default/breanna.davison"));
    }

    // Annotations set by ingestion.
    let annotations = &artist_lookup["metadata"]["annotations"];
    let location = annotations["backstage.io/managed-by-location"].as_str().unwrap();
    assert!(
        location.starts_with("file:") && location.ends_with("artist-lookup-component.yaml"),
        "{location}"
    );
    let origin = annotations["backstage.io/managed-by-origin-location"].as_str().unwrap();
    assert!(origin.ends_with("all.yaml"), "{origin}");
}

#[tokio::test]
async fn relative_text_placeholder_is_resolved_against_the_descriptor() {
    let app = demo_app(TestDatabase::Sqlite).await;
    let api = app.entity("api:default/petstore-webhook").await.expect("petstore-webhook");
    let definition = api["spec"]["definition"].as_str().expect("definition is text");
    let expected = std::fs::read_to_string(demo_catalog().join("apis/petstore-webhook.oas.yaml")).unwrap();
    assert_eq!(definition, expected);
}

#[tokio::test]
async fn json_and_yaml_placeholders_are_parsed() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "data.json", r#"{"a": [1, 2]}"#);
    write_file(dir.path(), "data.yaml", "b: true\n");
    let root = write_file(
        dir.path(),
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c\nspec:\n  type: service\n  lifecycle: production\n  owner: team\n  extra:\n    fromJson: {$json: ./data.json}\n    fromYaml: {$yaml: ./data.yaml}\n    keepRef: {$ref: '#/x'}\n",
    );
    let app = TestApp::start_in(
        dir,
        &config_with_locations(&[("file", &root.to_string_lossy())]),
        TestDatabase::Sqlite,
    )
    .await;
    app.settle().await;
    let entity = app.entity("component:default/c").await.expect("component");
    assert_eq!(entity["spec"]["extra"]["fromJson"], json!({"a": [1, 2]}));
    assert_eq!(entity["spec"]["extra"]["fromYaml"], json!({"b": true}));
    assert_eq!(entity["spec"]["extra"]["keepRef"], json!({"$ref": "#/x"}), "unknown $ keys are left alone");
}

#[tokio::test]
async fn a_removed_entity_is_deleted_as_an_orphan_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "c.yaml",
        &format!("{}---\n{}", component_owned_by("a", "t"), component_owned_by("b", "t")),
    );
    let app = TestApp::start_in(
        dir,
        &config_with_locations(&[("file", &file.to_string_lossy())]),
        TestDatabase::Sqlite,
    )
    .await;
    app.settle().await;
    assert!(app.entity("component:default/b").await.is_some());
    std::fs::write(&file, component_owned_by("a", "t")).unwrap();
    app.get_json("/api/catalog/entities").await;
    let refresh = app.post("/api/catalog/refresh", json!({"entityRef": "component:default/a"})).await;
    assert_eq!(refresh.status, StatusCode::OK, "{}", refresh.text());
    app.settle().await;
    assert!(app.entity("component:default/a").await.is_some());
    assert!(app.entity("component:default/b").await.is_none(), "orphan deleted");
}

#[tokio::test]
async fn orphans_are_kept_and_marked_with_orphan_strategy_keep() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "c.yaml",
        &format!("{}---\n{}", component_owned_by("a", "t"), component_owned_by("b", "t")),
    );
    let yaml =
        format!("{}  orphanStrategy: keep\n", config_with_locations(&[("file", &file.to_string_lossy())]));
    let app = TestApp::start_in(dir, &yaml, TestDatabase::Sqlite).await;
    app.settle().await;
    std::fs::write(&file, component_owned_by("a", "t")).unwrap();
    app.post("/api/catalog/refresh", json!({"entityRef": "component:default/a"})).await;
    app.settle().await;
    let orphan = app.entity("component:default/b").await.expect("orphan kept");
    assert_eq!(orphan["metadata"]["annotations"]["backstage.io/orphan"], "true");
    let filtered =
        app.get_json("/api/catalog/entities?filter=metadata.annotations.backstage.io/orphan=true").await;
    assert_eq!(filtered.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failing_entity_keeps_its_last_good_version_with_the_error_in_status() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "c.yaml", &component_owned_by("a", "t"));
    let app = TestApp::start_in(
        dir,
        &config_with_locations(&[("file", &file.to_string_lossy())]),
        TestDatabase::Sqlite,
    )
    .await;
    app.settle().await;
    // Owner is required: the new version is invalid.
    std::fs::write(&file, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\n  description: new\nspec:\n  type: service\n  lifecycle: production\n").unwrap();
    app.post("/api/catalog/refresh", json!({"entityRef": "component:default/a"})).await;
    app.settle().await;
    let entity = app.entity("component:default/a").await.expect("still served");
    assert!(entity["metadata"].get("description").is_none(), "the last good version is served");
    let problems = status_messages(&entity);
    assert!(problems.iter().any(|p| p.contains("owner")), "{problems:#?}");
}

#[tokio::test]
async fn an_entity_in_two_locations_stays_with_the_first_and_the_conflict_is_visible() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_file(dir.path(), "first.yaml", &component_owned_by("shared", "first-team"));
    let second = write_file(dir.path(), "second/catalog.yaml", &component_owned_by("shared", "second-team"));
    let yaml =
        config_with_locations(&[("file", &first.to_string_lossy()), ("file", &second.to_string_lossy())]);
    let app = TestApp::start_in(dir, &yaml, TestDatabase::Sqlite).await;
    app.settle().await;
    let entity = app.entity("component:default/shared").await.expect("served once");
    assert_eq!(entity["spec"]["owner"], "first-team");
    assert!(status_messages(&entity).is_empty(), "a conflict is not an error on the entity");
    // The losing location shows the conflict.
    let locations = app.get_json("/api/catalog/entities?filter=kind=location").await;
    let conflicts: Vec<String> = locations
        .as_array()
        .unwrap()
        .iter()
        .flat_map(status_messages)
        .filter(|m| m.contains("conflicting"))
        .collect();
    assert_eq!(conflicts.len(), 1, "{locations:#}");
    assert!(conflicts[0].contains("second/catalog.yaml"), "{conflicts:?}");
}

#[tokio::test]
async fn editing_a_file_is_reflected_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "c.yaml", &component_owned_by("live", "before"));
    let mut app = TestApp::start_in(
        dir,
        &config_with_locations(&[("file", &file.to_string_lossy())]),
        TestDatabase::Sqlite,
    )
    .await;
    let _loops = app.app.spawn_loops();
    let wait_for = |owner: &'static str| {
        let app = &app;
        async move {
            for _ in 0..100 {
                if let Some(entity) = app.entity("component:default/live").await
                    && entity["spec"]["owner"] == owner
                {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            false
        }
    };
    assert!(wait_for("before").await, "ingested by the background loop");
    std::fs::write(&file, component_owned_by("live", "after")).unwrap();
    assert!(wait_for("after").await, "the edit is picked up without a refresh call");
    app.app.shutdown();
}

#[tokio::test]
async fn registered_locations_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "c.yaml", &component_owned_by("registered", "t"));
    let db = dir.path().join("portico.db");
    let yaml = format!(
        "backend:\n  database:\n    client: better-sqlite3\n    connection: {}\ncatalog:\n  allowedLocationTypes: [url, file]\n",
        db.display()
    );
    let app = TestApp::start_in(dir, &yaml, TestDatabase::Sqlite).await;
    let created =
        app.post("/api/catalog/locations", json!({"type": "file", "target": file.to_string_lossy()})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    app.settle().await;
    assert!(app.entity("component:default/registered").await.is_some());

    let second = portico_testkit::TestApp::start(&yaml).await;
    let locations = second.get_json("/api/catalog/locations").await;
    assert_eq!(locations.as_array().unwrap().len(), 1, "{locations:#}");
    assert_eq!(locations[0]["data"]["target"], file.to_string_lossy().as_ref());
    assert!(
        second.entity("component:default/registered").await.is_some(),
        "entities are served right after start"
    );
}

#[tokio::test]
async fn a_url_location_is_read_from_an_allowed_host() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = component_owned_by("remote", "web-team");
    let server =
        axum::Router::new().route("/repo/catalog-info.yaml", axum::routing::get(move || async move { body }));
    tokio::spawn(async move { axum::serve(listener, server).await.unwrap() });
    let target = format!("http://127.0.0.1:{port}/repo/catalog-info.yaml");
    let yaml = format!(
        "backend:\n  reading:\n    allow:\n      - host: 127.0.0.1:{port}\n{}",
        config_with_locations(&[("url", &target)])
    );
    let app = TestApp::start(&yaml).await;
    app.settle().await;
    let entity = app.entity("component:default/remote").await.expect("read over http");
    let annotations = &entity["metadata"]["annotations"];
    assert_eq!(annotations["backstage.io/managed-by-location"], format!("url:{target}"));
    assert_eq!(annotations["backstage.io/view-url"], target);
}

#[tokio::test]
async fn catalog_rules_reject_a_disallowed_kind_for_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "org.yaml",
        &format!(
            "{}---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: g\nspec:\n  type: team\n  children: []\n",
            component_owned_by("c", "g")
        ),
    );
    // Default rules: Component, API and Location only.
    let yaml = format!("catalog:\n  locations:\n    - type: file\n      target: {}\n", file.display());
    let app = TestApp::start_in(dir, &yaml, TestDatabase::Sqlite).await;
    app.settle().await;
    assert!(app.entity("component:default/c").await.is_none(), "the whole file is rejected");
    let roots = app.get_json("/api/catalog/entities?filter=kind=location").await;
    let messages: Vec<String> = roots.as_array().unwrap().iter().flat_map(status_messages).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("group:default/g")
                && m.contains("is not of an allowed kind for that location")),
        "{messages:#?}"
    );
}

#[tokio::test]
async fn relations_to_missing_targets_are_kept_and_the_reverse_appears_when_the_target_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let service = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: service\nspec:\n  type: service\n  lifecycle: production\n  owner: team\n  dependsOn: [resource:db]\n";
    let file = write_file(dir.path(), "catalog.yaml", service);
    let app = TestApp::start_in(
        dir,
        &config_with_locations(&[("file", &file.to_string_lossy())]),
        TestDatabase::Sqlite,
    )
    .await;
    app.settle().await;
    let entity = app.entity("component:default/service").await.unwrap();
    assert!(has_relation(&entity, "dependsOn", "resource:default/db"), "dangling relations are normal");

    let db = "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: db\nspec:\n  type: database\n  owner: team\n";
    std::fs::write(&file, format!("{service}---\n{db}")).unwrap();
    app.post("/api/catalog/refresh", json!({"entityRef": "component:default/service"})).await;
    app.settle().await;
    let resource = app.entity("resource:default/db").await.expect("resource arrives");
    assert!(has_relation(&resource, "dependencyOf", "component:default/service"), "{resource:#}");
}
