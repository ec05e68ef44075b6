//! Bad input: none of it crashes the server, none blocks the good entities, each leaves a
//! readable problem on the location or entity.

use portico_testkit::{TestApp, TestDatabase, write_file};
use serde_json::Value;

use crate::support::{component, config_with_locations, status_messages};

/// Ingests `files` (relative path → content) as targets of one Location, plus one good file in
/// its own location; returns the app once everything settled.
async fn ingest(files: &[(&str, &[u8])], extra_config: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut targets = String::new();
    for (path, content) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, content).unwrap();
        targets.push_str(&format!("    - ./{path}\n"));
    }
    let index = write_file(
        dir.path(),
        "index.yaml",
        &format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: bad-input\nspec:\n  targets:\n{targets}"
        ),
    );
    let good = write_file(dir.path(), "good/catalog-info.yaml", &component("good-neighbour"));
    let yaml = format!(
        "{}{extra_config}",
        config_with_locations(&[("file", &index.to_string_lossy()), ("file", &good.to_string_lossy())])
    );
    let app = TestApp::start_in(dir, &yaml, TestDatabase::Sqlite).await;
    app.settle().await;
    assert!(app.entity("component:default/good-neighbour").await.is_some(), "the good location still lands");
    app
}

async fn location_problems(app: &TestApp) -> Vec<String> {
    let location = app.entity("location:default/bad-input").await.expect("the Location is served");
    status_messages(&location)
}

#[tokio::test]
async fn malformed_yaml_reports_line_and_column_and_other_documents_land() {
    let text = format!("{}---\nkind: [unclosed\n  name: x\n---\n{}", component("before"), component("after"));
    let app = ingest(&[("broken.yaml", text.as_bytes())], "").await;
    assert!(app.entity("component:default/before").await.is_some());
    assert!(app.entity("component:default/after").await.is_some());
    let problems = location_problems(&app).await;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    // The broken document starts on line 10 of the file.
    assert!(problems[0].contains("broken.yaml:1"), "file:line:column in {problems:?}");
}

#[tokio::test]
async fn an_invalid_entity_is_rejected_with_backstage_message_while_siblings_land() {
    let invalid = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: -bad-name-\nspec:\n  type: service\n  lifecycle: production\n  owner: team\n";
    let text = format!("{}---\n{invalid}---\n{}", component("sibling-a"), component("sibling-b"));
    let app = ingest(&[("mixed.yaml", text.as_bytes())], "").await;
    assert!(app.entity("component:default/sibling-a").await.is_some());
    assert!(app.entity("component:default/sibling-b").await.is_some());
    let problems = location_problems(&app).await;
    assert!(
        problems.iter().any(|p| p.contains(
            "\"metadata.name\" is not valid; expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total but found \"-bad-name-\""
        )),
        "{problems:#?}"
    );
    // Pointed at the field.
    assert!(problems.iter().any(|p| p.contains("mixed.yaml:13:3:")), "{problems:#?}");
}

#[tokio::test]
async fn a_file_over_the_size_limit_is_refused() {
    let big = format!("{}\n# {}\n", component("too-big"), "x".repeat(5_000));
    let app = ingest(
        &[("big.yaml", big.as_bytes()), ("fine.yaml", component("fine").as_bytes())],
        "  limits:\n    maxReadBytes: 2000\n",
    )
    .await;
    assert!(app.entity("component:default/too-big").await.is_none());
    assert!(
        app.entity("component:default/fine").await.is_some(),
        "the other target of the same Location lands"
    );
    let problems = location_problems(&app).await;
    assert!(
        problems.iter().any(|p| p.contains("big.yaml") && p.contains("larger than the limit")),
        "{problems:#?}"
    );
}

#[tokio::test]
async fn a_text_placeholder_outside_the_location_folder_is_refused() {
    let escaping = "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: escape\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team\n  definition:\n    $text: ../../../../../../../../etc/passwd\n";
    let app = ingest(&[("apis/escape.yaml", escaping.as_bytes())], "").await;
    let api = app.get_json("/api/catalog/entities?filter=kind=api").await;
    assert_eq!(api.as_array().unwrap().len(), 0, "nothing read from outside: {api:#}");
    let problems = location_problems(&app).await;
    assert!(problems.iter().any(|p| p.contains("outside the location's folder")), "{problems:#?}");
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlink_escaping_the_location_folder_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let secret = write_file(outside.path(), "secret.txt", "top secret");
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&secret, dir.path().join("link.txt")).unwrap();
    let file = write_file(
        dir.path(),
        "api.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: linked\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team\n  definition:\n    $text: ./link.txt\n",
    );
    let app = TestApp::start_in(
        dir,
        &config_with_locations(&[("file", &file.to_string_lossy())]),
        TestDatabase::Sqlite,
    )
    .await;
    app.settle().await;
    assert!(app.entity("api:default/linked").await.is_none());
    let roots = app.get_json("/api/catalog/entities?filter=kind=location").await;
    let messages: Vec<String> = roots.as_array().unwrap().iter().flat_map(status_messages).collect();
    assert!(messages.iter().any(|m| m.contains("outside the location's folder")), "{messages:#?}");
    assert!(!app.get("/api/catalog/entities").await.text().contains("top secret"));
}

#[tokio::test]
async fn a_url_location_to_a_host_not_allowed_is_refused() {
    let app =
        TestApp::start(&config_with_locations(&[("url", "http://127.0.0.1:9/catalog-info.yaml")])).await;
    app.settle().await;
    let roots = app.get_json("/api/catalog/entities?filter=kind=location").await;
    let messages: Vec<String> = roots.as_array().unwrap().iter().flat_map(status_messages).collect();
    assert!(messages.iter().any(|m| m.contains("backend.reading.allow")), "{messages:#?}");
}

#[tokio::test]
async fn a_cycle_of_location_targets_is_reported_and_ends() {
    let a = "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: loop-a\nspec:\n  targets: [./b.yaml]\n";
    let b = format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: loop-b\nspec:\n  targets: [./a.yaml]\n---\n{}",
        component("inside-loop")
    );
    // The index reads a.yaml, which reads b.yaml, which points back at a.yaml.
    let app = ingest(&[("a.yaml", a.as_bytes())], "").await;
    std::fs::write(app.dir().join("b.yaml"), b).unwrap();
    app.post("/api/catalog/refresh", serde_json::json!({"entityRef": "location:default/loop-a"})).await;
    app.settle().await;
    assert!(app.entity("component:default/inside-loop").await.is_some());
    let locations = app.get_json("/api/catalog/entities?filter=kind=location").await;
    let messages: Vec<String> = locations.as_array().unwrap().iter().flat_map(status_messages).collect();
    assert!(messages.iter().any(|m| m.contains("Location cycle")), "{locations:#}");
}

#[tokio::test]
async fn ten_thousand_entities_in_one_file_all_land() {
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&component(&format!("bulk-{i}")));
        text.push_str("---\n");
    }
    let app = ingest(&[("bulk.yaml", text.as_bytes())], "").await;
    let page = app.get_json("/api/catalog/entities/by-query?filter=kind=component&limit=1").await;
    // 10,000 plus the good neighbour.
    assert_eq!(page["totalItems"], 10_001);
}

#[tokio::test]
async fn a_descriptor_with_5000_relations_lands() {
    let mut text = component("hub");
    text.push_str("  dependsOn:\n");
    for i in 0..5_000 {
        text.push_str(&format!("    - resource:db-{i}\n"));
    }
    let app = ingest(&[("hub.yaml", text.as_bytes())], "").await;
    let hub = app.entity("component:default/hub").await.expect("hub");
    let depends = hub["relations"].as_array().unwrap().iter().filter(|r| r["type"] == "dependsOn").count();
    assert_eq!(depends, 5_000);
}

#[tokio::test]
async fn invalid_utf8_is_reported() {
    let mut bytes = component("utf8").into_bytes();
    bytes.extend_from_slice(b"  description: \xff\xfe broken\n");
    let app = ingest(&[("latin1.yaml", &bytes), ("ok.yaml", component("ok").as_bytes())], "").await;
    assert!(app.entity("component:default/ok").await.is_some());
    let problems = location_problems(&app).await;
    assert!(problems.iter().any(|p| p.contains("latin1.yaml") && p.contains("UTF-8")), "{problems:#?}");
}

#[tokio::test]
async fn an_unknown_kind_is_reported_and_not_served() {
    // Rules that allow the kind, so that it reaches kind validation (with Backstage's default
    // rules the whole file would be refused as "not of an allowed kind").
    let dir = tempfile::tempdir().unwrap();
    let ship =
        "apiVersion: backstage.io/v1alpha1\nkind: Spaceship\nmetadata:\n  name: enterprise\nspec: {}\n";
    let file = write_file(dir.path(), "ships.yaml", &format!("{ship}---\n{}", component("crew")));
    let yaml = format!(
        "catalog:\n  rules:\n    - allow: [Component, Location, Spaceship]\n  locations:\n    - type: file\n      target: {}\n",
        file.display()
    );
    let app = TestApp::start_in(dir, &yaml, TestDatabase::Sqlite).await;
    app.settle().await;
    assert!(app.entity("spaceship:default/enterprise").await.is_none());
    assert!(app.entity("component:default/crew").await.is_some());
    let roots = app.get_json("/api/catalog/entities?filter=kind=location").await;
    let messages: Vec<String> = roots.as_array().unwrap().iter().flat_map(status_messages).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("ships.yaml:1:1") && m.contains("No processor recognized the entity")),
        "{messages:#?}"
    );
}

#[tokio::test]
async fn status_and_relations_in_yaml_fail_processing() {
    let text = format!("{}relations: []\n", component("sneaky"));
    let app = ingest(&[("sneaky.yaml", text.as_bytes())], "").await;
    assert!(app.entity("component:default/sneaky").await.is_none(), "never valid, never served");
    let problems = location_problems(&app).await;
    assert!(problems.iter().any(|p| p.contains("Unknown field relations")), "{problems:#?}");
    let all: Value = app.get_json("/api/catalog/entities?filter=metadata.name=sneaky").await;
    assert_eq!(all, serde_json::json!([]));
}

#[tokio::test]
async fn a_url_that_answers_too_slowly_is_given_up_on() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = axum::Router::new().route(
        "/slow.yaml",
        axum::routing::get(|| async {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            component("late")
        }),
    );
    tokio::spawn(async move { axum::serve(listener, server).await.unwrap() });
    let target = format!("http://127.0.0.1:{port}/slow.yaml");
    let yaml = format!(
        "backend:\n  reading:\n    allow:\n      - host: 127.0.0.1\n{}  limits:\n    readTimeout: 300ms\n",
        crate::support::config_with_locations(&[("url", &target)])
    );
    let app = TestApp::start(&yaml).await;
    let started = std::time::Instant::now();
    app.settle().await;
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "the read was cut off");
    assert!(app.entity("component:default/late").await.is_none());
    let roots = app.get_json("/api/catalog/entities?filter=kind=location").await;
    let messages: Vec<String> = roots.as_array().unwrap().iter().flat_map(status_messages).collect();
    assert!(messages.iter().any(|m| m.contains("timed out")), "{messages:#?}");
}
