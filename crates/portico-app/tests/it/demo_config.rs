//! The repository's own `app-config.yaml`: the demo it serves ingests cleanly, templates
//! included, and the golden-path template can be started from it.

use std::path::Path;

use portico_testkit::{TestApp, TestDatabase};
use serde_json::Value;

#[tokio::test]
async fn the_demo_config_serves_every_demo_template_without_problems() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let text = std::fs::read_to_string(root.join("app-config.yaml")).unwrap();
    // Demo files from the repository; the database and repositories in the test's folder.
    let text = text.replace("./demo/", &format!("{}/demo/", root.display()));
    let app = TestApp::start_in(tempfile::tempdir().unwrap(), &text, TestDatabase::Sqlite).await;
    app.settle().await;
    app.settle().await;

    let templates = app.get_json("/api/catalog/entities?filter=kind=template").await;
    let mut names: Vec<&str> =
        templates.as_array().unwrap().iter().map(|t| t["metadata"]["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "conditional-output-demo",
            "conditional-parameters-demo",
            "create-react-app-template",
            "golang-template",
            "rust-service",
            "springboot-template",
        ],
        "{templates}"
    );
    let location =
        app.get_json("/api/catalog/entities?filter=kind=location,metadata.name=software-templates").await;
    let problems = location[0]["status"]["items"].as_array().cloned().unwrap_or_default();
    assert!(problems.is_empty(), "{problems:?}");
    let schema =
        app.get_json("/api/scaffolder/v2/templates/default/template/rust-service/parameter-schema").await;
    assert_eq!(schema["title"], "Rust service");
    let owner = app.entity("group:default/infrastructure").await;
    assert!(
        owner.is_some_and(|group: Value| group["kind"] == "Group"),
        "the template's owner exists in the demo"
    );
}
