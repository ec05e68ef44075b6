//! The golden path end to end: the demo's "Rust service" template, run by the portal's
//! workers, pushes a new repository to a local bare git repository; the repository holds a
//! service that passes its own tests; the new component appears in the catalog owned by the
//! chosen group, and its docs are built from the repository.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use portico_testkit::{TestApp, TestDatabase, write_file};
use serde_json::{Value, json};

/// Where the generated services compile, shared between runs so that only the service
/// itself is rebuilt (the same folder the scaffolder's own template test uses).
fn generated_target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PORTICO_GENERATED_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let binary = std::env::current_exe().expect("test binary path");
    binary
        .ancestors()
        .nth(3)
        .expect("the test binary lives in <target>/<profile>/deps")
        .join("generated-services")
}

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?} could not start: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn git(cwd: &Path, args: &[&str]) -> String {
    run(Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null"))
}

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
";

async fn golden_path_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let template =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/templates/rust-service/template.yaml");
    let template = template.canonicalize().expect("the demo template exists");
    write_file(dir.path(), "org.yaml", ORG);
    std::fs::create_dir_all(dir.path().join("repos")).unwrap();
    let config = format!(
        "backend:
  reading:
    localGit: [./repos]
catalog:
  rules:
    - allow: [Component, System, API, Resource, Location, Group, User, Template]
  locations:
    - type: file
      target: ./org.yaml
    - type: file
      target: {}
techdocs:
  checkInterval: 0ms
",
        template.display()
    );
    let app = TestApp::start_in(dir, &config, TestDatabase::Sqlite).await;
    app.settle().await;
    app
}

#[tokio::test]
async fn the_rust_service_template_publishes_a_working_service_that_lands_in_the_catalog() {
    let mut app = golden_path_app().await;
    app.serve().await;
    let remote = app.path("repos/hello-orders.git");
    let submitted = Instant::now();
    let response = app
        .post(
            "/api/scaffolder/v2/tasks",
            json!({
                "templateRef": "template:default/rust-service",
                "values": {
                    "name": "hello-orders",
                    "description": "Takes orders and says hello",
                    "owner": "group:default/team-a",
                    "remoteUrl": remote.to_str().unwrap(),
                    "defaultBranch": "main",
                    "includeCi": true,
                },
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let id = response.json()["id"].as_str().unwrap().to_owned();

    // The component becomes visible once the task registered it and the catalog read it.
    let mut component = None;
    while submitted.elapsed() < Duration::from_secs(30) {
        if let Some(entity) = app.entity("component:default/hello-orders").await {
            component = Some(entity);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let visible_after = submitted.elapsed();
    let task = app.get_json(&format!("/api/scaffolder/v2/tasks/{id}")).await;
    let events = app.get(&format!("/api/scaffolder/v2/tasks/{id}/events")).await.text();
    let component = component.unwrap_or_else(|| panic!("the component never appeared: {task}\n{events}"));
    eprintln!("submit → entity visible: {visible_after:?}");

    assert_eq!(component["spec"]["owner"], "group:default/team-a");
    assert_eq!(component["spec"]["type"], "service");
    assert_eq!(component["metadata"]["description"], "Takes orders and says hello");
    let relations: Vec<(String, String)> = component["relations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["type"].as_str().unwrap().to_owned(), r["targetRef"].as_str().unwrap().to_owned()))
        .collect();
    assert!(relations.contains(&("ownedBy".to_owned(), "group:default/team-a".to_owned())), "{relations:?}");
    let team = app.entity("group:default/team-a").await.unwrap();
    assert!(
        team["relations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["type"] == "ownerOf" && r["targetRef"] == "component:default/hello-orders"),
        "the group owns the new component"
    );

    // The task completed with links to the repository and the entity.
    let mut completed = task;
    for _ in 0..200 {
        if completed["status"] != "processing" && completed["status"] != "open" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        completed = app.get_json(&format!("/api/scaffolder/v2/tasks/{id}")).await;
    }
    assert_eq!(completed["status"], "completed", "{completed}");
    let all = app.get_json(&format!("/api/scaffolder/v2/tasks/{id}/events")).await;
    let completion = all.as_array().unwrap().last().unwrap().clone();
    let links = completion["body"]["output"]["links"].as_array().unwrap();
    assert_eq!(links[0]["url"], url::Url::from_file_path(&remote).unwrap().to_string());
    assert_eq!(links[1]["entityRef"], "component:default/hello-orders");

    // The repository holds the rendered service, and the service passes its own tests.
    assert_eq!(git(&remote, &["rev-parse", "--is-bare-repository"]).trim(), "true");
    let checkout = app.path("checkout");
    git(
        app.dir(),
        &["clone", "--quiet", "--branch", "main", remote.to_str().unwrap(), checkout.to_str().unwrap()],
    );
    let manifest = std::fs::read_to_string(checkout.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"hello-orders\""), "{manifest}");
    assert!(checkout.join("scripts/ci.sh").is_file());
    assert!(checkout.join("docs/index.md").is_file());
    let log = git(&checkout, &["log", "-1", "--format=%s"]);
    assert_eq!(log.trim(), "Create hello-orders from the Rust service template");
    run(Command::new("cargo")
        .args(["test", "--quiet"])
        .current_dir(&checkout)
        .env("CARGO_TARGET_DIR", generated_target_dir()));

    // Its docs are built from the repository by TechDocs.
    let mut record = Value::Null;
    for _ in 0..200 {
        let response = app.get("/api/techdocs/builds/default/component/hello-orders").await;
        if response.status == StatusCode::OK {
            record = response.json();
            if record["state"] == "published" || record["state"] == "failed" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(record["state"], "published", "{record}");
    let page = app.get("/docs/default/component/hello-orders/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("hello-orders"));
}
