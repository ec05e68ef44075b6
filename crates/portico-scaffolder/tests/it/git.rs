//! `publish:git` against real repositories: a bare repository on disk, and one served by
//! `git http-backend` behind a small CGI bridge that demands HTTP basic authentication.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use portico_scaffolder::actions::PublishGitAction;
use portico_scaffolder::api::{Action, ActionError, example_output};
use portico_scaffolder::config::{ActionsConfig, GitAuthor, GitCredential};
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::support::{Harness, assert_outside, symlink};

/// Runs git for a test's own checks, isolated from the machine's configuration.
pub(crate) fn git(cwd: &Path, args: &[&str]) -> String {
    let home = tempfile::tempdir().expect("home");
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("HOME", home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

pub(crate) fn bare_repository(parent: &Path, name: &str) -> PathBuf {
    let path = parent.join(name);
    git(parent, &["init", "--quiet", "--bare", path.to_str().expect("utf-8 path")]);
    path
}

/// Clones `branch` of `repository` next to it and returns the checkout.
pub(crate) fn clone(repository: &Path, branch: &str) -> PathBuf {
    let checkout = repository.with_extension("checkout");
    git(
        repository.parent().expect("parent"),
        &[
            "clone",
            "--quiet",
            "--branch",
            branch,
            repository.to_str().expect("utf-8 path"),
            checkout.to_str().expect("utf-8 path"),
        ],
    );
    checkout
}

fn workspace_with_files(h: &Harness) {
    h.workspace_file("README.md", "# Demo\n");
    h.workspace_file("src/main.rs", "fn main() {}\n");
    h.workspace_file(".github/workflows/ci.yaml", "on: push\n");
}

fn config() -> ActionsConfig {
    ActionsConfig {
        default_author: GitAuthor { name: "Portico Bot".into(), email: "bot@portico.example".into() },
        ..ActionsConfig::default()
    }
}

#[tokio::test]
async fn portico_publish_git_pushes_to_a_local_bare_repository() {
    let h = Harness::new();
    workspace_with_files(&h);
    let remote = bare_repository(h.dir.path(), "demo.git");
    let mut ctx = h.context(json!({
        "remoteUrl": remote.to_str().unwrap(),
        "defaultBranch": "trunk",
        "gitCommitMessage": "Create demo",
        "gitAuthorName": "Jane Doe",
        "gitAuthorEmail": "jane@example.com",
    }));
    PublishGitAction::new(config()).handle(&mut ctx).await.unwrap();

    let checkout = clone(&remote, "trunk");
    assert_eq!(std::fs::read_to_string(checkout.join("README.md")).unwrap(), "# Demo\n");
    assert_eq!(std::fs::read_to_string(checkout.join("src/main.rs")).unwrap(), "fn main() {}\n");
    assert!(checkout.join(".github/workflows/ci.yaml").is_file());
    let log = git(&checkout, &["log", "-1", "--format=%an|%ae|%cn|%ce|%s"]);
    assert_eq!(log, "Jane Doe|jane@example.com|Jane Doe|jane@example.com|Create demo");
    assert_eq!(git(&checkout, &["rev-list", "--count", "HEAD"]), "1");

    let head = git(&checkout, &["rev-parse", "HEAD"]);
    let remote_url = url::Url::from_file_path(&remote).unwrap().to_string();
    assert_eq!(ctx.outputs()["commitHash"], head.as_str());
    assert_eq!(ctx.outputs()["remoteUrl"], remote_url.as_str());
    assert_eq!(ctx.outputs()["repoContentsUrl"], format!("{remote_url}?ref=trunk").as_str());
}

#[tokio::test]
async fn portico_publish_git_creates_a_missing_local_repository() {
    let h = Harness::new();
    workspace_with_files(&h);
    let remote = h.dir.path().join("repos/team/new-service.git");
    let mut ctx = h.context(json!({"remoteUrl": remote.to_str().unwrap(), "defaultBranch": "main"}));
    PublishGitAction::new(config()).handle(&mut ctx).await.unwrap();

    assert_eq!(git(&remote, &["rev-parse", "--is-bare-repository"]), "true");
    assert_eq!(git(&remote, &["symbolic-ref", "HEAD"]), "refs/heads/main");
    let checkout = clone(&remote, "main");
    assert_eq!(std::fs::read_to_string(checkout.join("README.md")).unwrap(), "# Demo\n");
    assert!(h.log.text().contains("Created the bare repository"), "{}", h.log.text());
}

#[tokio::test]
async fn portico_publish_git_defaults_and_source_path() {
    let h = Harness::new();
    h.workspace_file("app/index.js", "console.log('hi')\n");
    h.workspace_file("outside-of-app.txt", "not published\n");
    let remote = bare_repository(h.dir.path(), "app.git");
    let remote_url = url::Url::from_file_path(&remote).unwrap().to_string();
    let mut ctx = h.context(json!({"remoteUrl": remote_url, "sourcePath": "./app"}));
    PublishGitAction::new(config()).handle(&mut ctx).await.unwrap();

    let checkout = clone(&remote, "main");
    assert!(checkout.join("index.js").is_file());
    assert!(!checkout.join("outside-of-app.txt").exists());
    let log = git(&checkout, &["log", "-1", "--format=%an|%ae|%s"]);
    assert_eq!(log, "Portico Bot|bot@portico.example|initial commit");
    // The repository lives outside the workspace.
    assert!(!h.ws(".git").exists() && !h.ws("app/.git").exists());
}

#[tokio::test]
async fn portico_publish_git_never_overwrites_an_existing_branch() {
    let h = Harness::new();
    workspace_with_files(&h);
    let remote = bare_repository(h.dir.path(), "demo.git");
    let input = json!({"remoteUrl": remote.to_str().unwrap()});
    PublishGitAction::new(config()).handle(&mut h.context(input.clone())).await.unwrap();
    let first = git(&remote, &["rev-parse", "refs/heads/main"]);
    h.workspace_file("README.md", "# Changed\n");
    let error = PublishGitAction::new(config()).handle(&mut h.context(input)).await.unwrap_err();
    assert!(error.to_string().contains("git push"), "{error}");
    assert_eq!(git(&remote, &["rev-parse", "refs/heads/main"]), first);
}

#[tokio::test]
async fn portico_publish_git_refuses_unsafe_remotes_and_source_paths() {
    let h = Harness::new();
    workspace_with_files(&h);
    for remote in ["ext::sh -c touch% /tmp/portico-pwned", "git@github.com:acme/demo.git", "demo.git"] {
        let error =
            PublishGitAction::new(config()).handle(&mut h.context(json!({"remoteUrl": remote}))).await;
        assert!(matches!(error, Err(ActionError::Input(_))), "{remote}: {error:?}");
    }
    let error = PublishGitAction::new(config())
        .handle(&mut h.context(json!({"remoteUrl": "https://bot:hunter2@git.example.com/x.git"})))
        .await
        .unwrap_err();
    assert!(!error.to_string().contains("hunter2"), "{error}");

    let remote = bare_repository(h.dir.path(), "demo.git");
    let no_local = ActionsConfig { allow_local_git_remotes: false, ..config() };
    let error = PublishGitAction::new(no_local)
        .handle(&mut h.context(json!({"remoteUrl": remote.to_str().unwrap()})))
        .await
        .unwrap_err();
    assert_eq!(error.name(), "NotAllowedError");

    symlink(&h.outside(), &h.ws("escape"));
    for source in ["../", "/etc", "escape"] {
        let input = json!({"remoteUrl": remote.to_str().unwrap(), "sourcePath": source});
        assert_outside(PublishGitAction::new(config()).handle(&mut h.context(input)).await);
    }
    let input = json!({"remoteUrl": remote.to_str().unwrap(), "defaultBranch": "--upload-pack=x"});
    let error = PublishGitAction::new(config()).handle(&mut h.context(input)).await.unwrap_err();
    assert!(error.to_string().contains("Invalid defaultBranch"), "{error}");
    assert!(!std::path::Path::new("/tmp/portico-pwned").exists());
}

#[tokio::test]
async fn backstage_publish_is_skipped_in_dry_runs_with_plausible_outputs() {
    let h = Harness::new();
    workspace_with_files(&h);
    let remote = bare_repository(h.dir.path(), "demo.git");
    let action = PublishGitAction::new(config());
    assert!(!action.supports_dry_run());
    let mut ctx = h.context(json!({"remoteUrl": remote.to_str().unwrap()}));
    ctx.dry_run = true;
    assert!(action.handle(&mut ctx).await.is_err());
    let refs = git(&remote, &["for-each-ref"]);
    assert!(refs.is_empty(), "nothing was pushed: {refs}");
    let faked = example_output(&action.schema().output);
    assert_eq!(faked["repoContentsUrl"], "https://git.example.com/acme/my-service/tree/main");
    assert_eq!(faked["commitHash"].as_str().map(str::len), Some(40));
}

/// A git smart-HTTP server: `git http-backend` run as CGI for every request that carries the
/// expected basic credentials; others get a 401 challenge.
struct GitServer {
    address: SocketAddr,
    root: PathBuf,
    authorizations: Arc<Mutex<Vec<Option<String>>>>,
}

struct ServerState {
    root: PathBuf,
    user: String,
    expected: String,
    authorizations: Arc<Mutex<Vec<Option<String>>>>,
}

async fn start_git_server(root: PathBuf, user: &str, password: &str) -> GitServer {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let authorizations = Arc::new(Mutex::new(Vec::new()));
    let state = Arc::new(ServerState {
        root: root.clone(),
        user: user.to_owned(),
        expected: format!("Basic {basic}"),
        authorizations: authorizations.clone(),
    });
    let router = axum::Router::new().fallback(http_backend).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    GitServer { address, root, authorizations }
}

async fn http_backend(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let header_text = |name: header::HeaderName| {
        parts.headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
    };
    let authorization = header_text(header::AUTHORIZATION);
    state.authorizations.lock().unwrap().push(authorization.clone());
    if authorization.as_deref() != Some(state.expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Basic realm=\"git\"")], "")
            .into_response();
    }
    let body = axum::body::to_bytes(body, 64 * 1024 * 1024).await.expect("request body");
    let mut command = tokio::process::Command::new("git");
    command
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", &state.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", &state.root)
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("PATH_INFO", parts.uri.path())
        .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
        .env("CONTENT_TYPE", header_text(header::CONTENT_TYPE).unwrap_or_default())
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_USER", &state.user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(encoding) = header_text(header::CONTENT_ENCODING) {
        command.env("HTTP_CONTENT_ENCODING", encoding);
    }
    if let Some(protocol) = parts.headers.get("git-protocol").and_then(|value| value.to_str().ok()) {
        command.env("GIT_PROTOCOL", protocol);
    }
    let mut child = command.spawn().expect("git http-backend");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = tokio::spawn(async move {
        stdin.write_all(&body).await.expect("write body");
    });
    let output = child.wait_with_output().await.expect("http-backend output");
    writer.await.expect("writer");
    cgi_response(&output.stdout)
}

/// A CGI answer (headers, blank line, body) as an HTTP response.
fn cgi_response(output: &[u8]) -> Response {
    let split = output
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| (at, at + 4))
        .or_else(|| output.windows(2).position(|window| window == b"\n\n").map(|at| (at, at + 2)))
        .expect("CGI headers");
    let head = String::from_utf8_lossy(&output[..split.0]);
    let mut response = Response::new(Body::from(output[split.1..].to_vec()));
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("Status") {
            let code = value.split_whitespace().next().and_then(|code| code.parse().ok()).expect("status");
            *response.status_mut() = StatusCode::from_u16(code).expect("status code");
        } else if let (Ok(name), Ok(value)) =
            (header::HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
        {
            response.headers_mut().append(name, value);
        }
    }
    response
}

fn http_config(server: &GitServer, username: &str, token: &str) -> ActionsConfig {
    ActionsConfig {
        git_credentials: vec![GitCredential {
            host: server.address.to_string(),
            username: username.into(),
            token: token.into(),
        }],
        ..config()
    }
}

const TOKEN: &str = "glpat-Zm9vYmFyYmF6cXV4MTIzNDU2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portico_publish_git_pushes_over_smart_http_with_basic_auth_and_never_logs_the_token() {
    let h = Harness::new();
    workspace_with_files(&h);
    let root = h.dir.path().join("served");
    std::fs::create_dir(&root).unwrap();
    let repository = bare_repository(&root, "demo.git");
    let server = start_git_server(root, "deploy-bot", TOKEN).await;
    let remote_url = format!("http://{}/demo.git", server.address);

    let mut ctx = h.context(json!({"remoteUrl": remote_url, "gitCommitMessage": "Over HTTP"}));
    PublishGitAction::new(http_config(&server, "deploy-bot", TOKEN)).handle(&mut ctx).await.unwrap();

    let checkout = clone(&repository, "main");
    assert_eq!(std::fs::read_to_string(checkout.join("README.md")).unwrap(), "# Demo\n");
    assert_eq!(git(&checkout, &["log", "-1", "--format=%an|%s"]), "Portico Bot|Over HTTP");
    assert_eq!(ctx.outputs()["remoteUrl"], remote_url.as_str());
    assert_eq!(
        ctx.outputs()["repoContentsUrl"],
        format!("http://{}/demo/tree/main", server.address).as_str()
    );
    assert_eq!(ctx.outputs()["commitHash"], git(&checkout, &["rev-parse", "HEAD"]).as_str());

    let authorizations = server.authorizations.lock().unwrap().clone();
    assert!(!authorizations.is_empty());
    assert!(authorizations.iter().all(Option::is_some), "every request carried credentials");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("deploy-bot:{TOKEN}"));
    let log = h.log.text();
    assert!(log.contains("git push"), "{log}");
    for secret in [TOKEN, basic.as_str()] {
        assert!(!log.contains(secret), "the log shows a secret: {log}");
    }
    assert!(server.root.join("demo.git").is_dir());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portico_publish_git_over_http_fails_cleanly_without_valid_credentials() {
    let h = Harness::new();
    workspace_with_files(&h);
    let root = h.dir.path().join("served");
    std::fs::create_dir(&root).unwrap();
    let repository = bare_repository(&root, "demo.git");
    let server = start_git_server(root, "deploy-bot", TOKEN).await;
    let remote_url = format!("http://{}/demo.git", server.address);

    let started = Instant::now();
    let mut ctx = h.context(json!({"remoteUrl": remote_url}));
    let error = PublishGitAction::new(config()).handle(&mut ctx).await.unwrap_err();
    assert!(error.to_string().contains("git push"), "{error}");
    assert!(error.to_string().contains("check the credentials for"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(30), "no prompt waits for a password");
    assert_eq!(
        server.authorizations.lock().unwrap().first(),
        Some(&None),
        "the server was asked, without credentials"
    );

    let wrong = "wrong-token-do-not-log-0123456789";
    let mut ctx = h.context(json!({"remoteUrl": remote_url}));
    let error =
        PublishGitAction::new(http_config(&server, "deploy-bot", wrong)).handle(&mut ctx).await.unwrap_err();
    assert!(!error.to_string().contains(wrong), "{error}");
    assert!(!h.log.text().contains(wrong));
    assert!(git(&repository, &["for-each-ref"]).is_empty(), "nothing was pushed");
}
