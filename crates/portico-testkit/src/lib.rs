//! Test helpers: an in-process [`TestApp`] (the whole app on a fresh store, requests sent to
//! the router without a socket, or served on a real loopback port) and small request helpers.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
pub use logs::LogCapture;
pub use oidc::OidcProvider;
use portico_app::{App, Portico};
use portico_config::Config;
use serde_json::Value;
pub use tokens::TokenSigner;
use tower::ServiceExt;

mod logs;
mod oidc;
mod tokens;

/// Which database a test app runs on.
#[derive(Debug, Clone)]
pub enum TestDatabase {
    /// A fresh SQLite file in the app's temporary folder.
    Sqlite,
    /// A fresh database on the PostgreSQL server at this URL.
    Postgres(String),
}

impl TestDatabase {
    /// SQLite, and PostgreSQL too when `PORTICO_TEST_DATABASE_URL` is set.
    pub fn all() -> Vec<TestDatabase> {
        let mut out = vec![TestDatabase::Sqlite];
        if let Ok(url) = std::env::var("PORTICO_TEST_DATABASE_URL") {
            out.push(TestDatabase::Postgres(url));
        }
        out
    }
}

/// A whole Portico app in-process, with a temporary folder for its files.
pub struct TestApp {
    pub app: App,
    router: Router,
    dir: tempfile::TempDir,
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON (panics with the body text when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl TestApp {
    /// Builds the app from a YAML config (keys as in app-config.yaml). `${TEST_DIR}` in the
    /// YAML is replaced by the app's temporary folder; the database is a fresh SQLite file
    /// unless the YAML sets one.
    pub async fn start(yaml: &str) -> TestApp {
        TestApp::start_on(yaml, TestDatabase::Sqlite).await
    }

    /// Like [`TestApp::start`], on the given database.
    pub async fn start_on(yaml: &str, database: TestDatabase) -> TestApp {
        let dir = tempfile::tempdir().expect("temporary folder");
        TestApp::start_in(dir, yaml, database).await
    }

    /// Builds the app with files already written into `dir`.
    pub async fn start_in(dir: tempfile::TempDir, yaml: &str, database: TestDatabase) -> TestApp {
        let text = yaml.replace("${TEST_DIR}", &dir.path().to_string_lossy());
        let mut config = Config::from_yaml_str(&text, dir.path(), &|name| std::env::var(name).ok())
            .expect("valid test config");
        if config.get("backend.database").is_none() {
            let database_yaml = match &database {
                TestDatabase::Sqlite => {
                    format!(
                        "backend:\n  database:\n    client: better-sqlite3\n    connection: {}/portico.db\n",
                        dir.path().display()
                    )
                }
                TestDatabase::Postgres(url) => {
                    let url = fresh_postgres_database(url).await;
                    format!("backend:\n  database:\n    client: pg\n    connection: {url}\n")
                }
            };
            let db = Config::from_yaml_str(&database_yaml, dir.path(), &|_| None).expect("database config");
            config.merge(db);
        }
        let app = Portico::default().build(config).await.expect("app builds");
        let router = app.router();
        TestApp { app, router, dir }
    }

    /// The app's temporary folder.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the app's temporary folder.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes a file inside the app's temporary folder.
    pub fn write(&self, relative: &str, content: &str) -> PathBuf {
        write_file(self.dir.path(), relative, content)
    }

    /// Finishes all pending background work (ingestion, index updates).
    pub async fn settle(&self) {
        self.app.settle().await;
    }

    /// Serves the app on a fresh `127.0.0.1` port and starts its background loops, for clients
    /// that need a real socket. Server and loops run as tasks on the test's runtime and end
    /// with it.
    pub async fn serve(&mut self) -> SocketAddr {
        let listener =
            tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let router = self.router.clone();
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                eprintln!("test server on {addr} stopped: {error}");
            }
        });
        self.app.spawn_loops();
        addr
    }

    pub async fn request(&self, method: Method, uri: &str, body: Option<Value>) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(uri);
        let body = match body {
            Some(value) => {
                builder = builder.header("content-type", "application/json");
                Body::from(value.to_string())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).expect("request")).await
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
        TestResponse { status, headers, body }
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.request(Method::GET, uri, None).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> TestResponse {
        self.request(Method::POST, uri, Some(body)).await
    }

    pub async fn delete(&self, uri: &str) -> TestResponse {
        self.request(Method::DELETE, uri, None).await
    }

    /// `GET` that must answer 200 with JSON.
    pub async fn get_json(&self, uri: &str) -> Value {
        let response = self.get(uri).await;
        assert_eq!(response.status, StatusCode::OK, "GET {uri}: {}", response.text());
        response.json()
    }

    /// The entity with this canonical ref, if served.
    pub async fn entity(&self, entity_ref: &str) -> Option<Value> {
        let (kind, rest) = entity_ref.split_once(':')?;
        let (namespace, name) = rest.split_once('/')?;
        let response = self.get(&format!("/api/catalog/entities/by-name/{kind}/{namespace}/{name}")).await;
        (response.status == StatusCode::OK).then(|| response.json())
    }
}

/// Writes `content` to `dir/relative`, creating folders.
pub fn write_file(dir: &Path, relative: &str, content: &str) -> PathBuf {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create folders");
    }
    std::fs::write(&path, content).expect("write file");
    path
}

/// Creates a scratch schema on the server and returns a URL whose connections use it.
async fn fresh_postgres_database(url: &str) -> String {
    portico_store_postgres::scratch_schema_url(url)
        .await
        .expect("create a scratch schema on PostgreSQL for tests")
}
