//! Locations in git repositories on the portal's machine (`file:` urls, `backend.reading.localGit`),
//! registered through the API and listed in config, read from a real repository made with git.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use portico_catalog::api::{read, write};
use portico_catalog::config::CatalogConfig;
use portico_catalog::engine::Engine;
use portico_catalog::index::{self, ReadIndex, SharedIndex};
use portico_config::Config;
use portico_store::CatalogStore;
use portico_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tower::ServiceExt;
use url::Url;

/// The catalog's engine, read index and routes on a fresh in-memory store.
struct Catalog {
    engine: Engine,
    index: SharedIndex,
    store: Arc<dyn CatalogStore>,
    routes: Router,
}

impl Catalog {
    async fn start(config_yaml: &str, config_dir: &Path) -> Catalog {
        let config = Config::from_yaml_str(config_yaml, config_dir, &|_| None).expect("valid config");
        let config = Arc::new(CatalogConfig::from_config(&config).expect("valid catalog config"));
        let sqlite = SqliteStore::in_memory().await.expect("store opens");
        sqlite.migrate().await.expect("store migrates");
        let audit = portico_plugin::Audit::new(Arc::new(sqlite.clone()));
        let store: Arc<dyn CatalogStore> = Arc::new(sqlite);
        let index: SharedIndex = Arc::new(RwLock::new(ReadIndex::new()));
        let engine = Engine::new(store.clone(), config.clone(), Arc::new(Notify::new()));
        let routes = read::router(read::ReadApi { index: index.clone(), relations_compatibility: true })
            .merge(write::router(write::WriteApi {
                engine: engine.clone(),
                index: index.clone(),
                store: store.clone(),
                readonly: false,
                audit,
            }));
        Catalog { engine, index, store, routes }
    }

    /// Processes everything due and brings the read index up to date.
    async fn settle(&self) {
        self.engine.settle().await.expect("processing succeeds");
        index::catch_up(&self.index, self.store.as_ref()).await.expect("index catches up");
    }

    async fn request(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        let response = self.routes.clone().oneshot(request.body(body).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn entity(&self, kind: &str, name: &str) -> Option<Value> {
        let (status, body) =
            self.request("GET", &format!("/entities/by-name/{kind}/default/{name}"), None).await;
        (status == StatusCode::OK).then_some(body)
    }

    /// The messages in the `status.items` of every Location entity.
    async fn location_problems(&self) -> Vec<String> {
        let (_, locations) = self.request("GET", "/entities?filter=kind=location", None).await;
        locations
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|location| location.pointer("/status/items").and_then(Value::as_array))
            .flatten()
            .filter_map(|item| item["message"].as_str().map(str::to_owned))
            .collect()
    }
}

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgSign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn write(dir: &Path, relative: &str, content: &str) {
    std::fs::write(dir.join(relative), content).unwrap();
}

/// The descriptor every branch has: the Component `svc` described by `description.txt`, and a
/// Location whose relative target `./more.yaml` names a different API on each branch.
const CATALOG_INFO: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: svc
  description:
    $text: ./description.txt
spec:
  type: service
  lifecycle: experimental
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: svc-more
spec:
  target: ./more.yaml
";

fn api(name: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: {name}\nspec:\n  type: openapi\n  lifecycle: experimental\n  owner: team-a\n  definition: 'openapi: 3.0.0'\n"
    )
}

/// A bare repository `<parent>/svc.git` (as `publish:git` leaves one) whose HEAD is `main`,
/// with a `release` branch that differs in `description.txt` and `more.yaml`.
fn svc_repository(parent: &Path) -> PathBuf {
    let bare = parent.join("svc.git");
    let work = parent.join("work");
    std::fs::create_dir_all(&bare).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    git(&bare, &["init", "--quiet", "--bare", "--initial-branch=main"]);
    git(&work, &["init", "--quiet", "--initial-branch=main"]);
    write(&work, "catalog-info.yaml", CATALOG_INFO);
    write(&work, "description.txt", "on main");
    write(&work, "more.yaml", &api("main-api"));
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "main"]);
    git(&work, &["checkout", "--quiet", "-b", "release"]);
    write(&work, "description.txt", "on release");
    write(&work, "more.yaml", &api("release-api"));
    git(&work, &["commit", "--quiet", "-am", "release"]);
    git(&work, &["push", "--quiet", bare.to_str().unwrap(), "main", "release"]);
    bare
}

fn descriptor_url(repo: &Path, revision: &str) -> String {
    format!("{}/catalog-info.yaml?ref={revision}", Url::from_file_path(repo).unwrap())
}

#[tokio::test]
async fn a_registered_file_url_into_a_local_repository_is_ingested_at_its_ref() {
    let root = tempfile::tempdir().unwrap();
    let repo = svc_repository(root.path());
    let config = format!("backend:\n  reading:\n    localGit: ['{}']\n", root.path().display());
    let catalog = Catalog::start(&config, root.path()).await;
    let target = descriptor_url(&repo, "release");

    let (status, body) =
        catalog.request("POST", "/locations", Some(json!({ "type": "url", "target": target }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    catalog.settle().await;

    let svc = catalog.entity("component", "svc").await.expect("the component is ingested");
    assert_eq!(svc["metadata"]["annotations"]["backstage.io/managed-by-location"], format!("url:{target}"));
    assert_eq!(
        svc["metadata"]["annotations"]["backstage.io/managed-by-origin-location"],
        format!("url:{target}")
    );
    // The placeholder and the nested location are read from the same ref as the descriptor.
    assert_eq!(svc["metadata"]["description"], "on release");
    let api = catalog.entity("api", "release-api").await.expect("the nested location is read at the ref");
    let nested = format!("url:{}/more.yaml?ref=release", Url::from_file_path(&repo).unwrap());
    assert_eq!(api["metadata"]["annotations"]["backstage.io/managed-by-location"], nested);
    assert!(catalog.entity("api", "main-api").await.is_none());
    assert_eq!(catalog.location_problems().await, Vec::<String>::new());
}

#[tokio::test]
async fn a_file_url_in_config_is_read_from_a_root_relative_to_the_config_file() {
    let root = tempfile::tempdir().unwrap();
    let repos = root.path().join("repos");
    std::fs::create_dir(&repos).unwrap();
    let repo = svc_repository(&repos);
    let config = format!(
        "backend:\n  reading:\n    localGit: [./repos]\ncatalog:\n  locations:\n    - type: url\n      target: '{}'\n",
        descriptor_url(&repo, "main")
    );
    let catalog = Catalog::start(&config, root.path()).await;
    catalog.settle().await;

    let svc = catalog.entity("component", "svc").await.expect("the component is ingested");
    assert_eq!(svc["metadata"]["description"], "on main");
    assert!(catalog.entity("api", "main-api").await.is_some());
    assert!(catalog.entity("api", "release-api").await.is_none());
}

#[tokio::test]
async fn without_local_git_roots_the_location_shows_the_refusal() {
    let root = tempfile::tempdir().unwrap();
    let repo = svc_repository(root.path());
    let catalog = Catalog::start("backend: {}\n", root.path()).await;
    let target = descriptor_url(&repo, "main");

    let (status, body) =
        catalog.request("POST", "/locations", Some(json!({ "type": "url", "target": target }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    catalog.settle().await;

    assert!(catalog.entity("component", "svc").await.is_none());
    let problems = catalog.location_problems().await;
    assert!(
        problems
            .iter()
            .any(|problem| problem.contains(&target) && problem.contains("backend.reading.localGit")),
        "{problems:#?}"
    );
}

#[tokio::test]
async fn import_analysis_of_a_local_repository_url_finds_the_descriptor_at_its_ref() {
    let root = tempfile::tempdir().unwrap();
    let repo = svc_repository(root.path());
    let config = format!("backend:\n  reading:\n    localGit: ['{}']\n", root.path().display());
    let catalog = Catalog::start(&config, root.path()).await;
    // What `publish:git` gives as `repoContentsUrl` for a local remote.
    let contents = format!("{}?ref=release", Url::from_file_path(&repo).unwrap());

    let (status, body) = catalog
        .request("POST", "/analyze-location", Some(json!({"location": {"type": "url", "target": contents}})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let existing = body["existingEntityFiles"].as_array().expect("existing entity files");
    assert_eq!(existing[0]["location"]["target"], descriptor_url(&repo, "release"));
    let names: Vec<&str> =
        existing.iter().filter_map(|file| file["entity"]["metadata"]["name"].as_str()).collect();
    assert!(names.contains(&"svc"), "{body}");
}
