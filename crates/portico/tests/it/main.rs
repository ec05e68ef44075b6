//! The command line, run as a real process.

use std::process::Command;

fn portico() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portico"))
}

fn write(dir: &std::path::Path, name: &str, content: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

const VALID: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ok\nspec:\n  type: service\n  lifecycle: production\n  owner: team\n";

#[test]
fn validate_accepts_valid_files_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "catalog-info.yaml", VALID.as_bytes());
    let output = portico().args(["catalog", "validate"]).arg(&file).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stdout.is_empty());
}

#[test]
fn validate_prints_every_problem_as_file_line_column_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{VALID}---\nkind: [\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: bad_\nspec:\n  type: service\n  lifecycle: production\n  owner: team\n"
    );
    let file = write(dir.path(), "catalog-info.yaml", text.as_bytes());
    let output = portico().args(["catalog", "validate"]).arg(&file).output().unwrap();
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let shown = file.display().to_string();
    assert!(lines[0].starts_with(&format!("{shown}:11:1: YAML error at")), "{}", lines[0]);
    assert!(
        lines[1].starts_with(&format!("{shown}:15:3: Policy check failed for component:default/bad_")),
        "{}",
        lines[1]
    );
}

#[test]
fn validate_reports_unreadable_and_non_utf8_files() {
    let dir = tempfile::tempdir().unwrap();
    let latin1 = write(dir.path(), "latin1.yaml", b"kind: Component\nmetadata:\n  name: caf\xe9\n");
    let missing = dir.path().join("missing.yaml");
    let output = portico().args(["catalog", "validate"]).arg(&latin1).arg(&missing).output().unwrap();
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("latin1.yaml:3:1: the file is not valid UTF-8"), "{stdout}");
    assert!(stdout.contains("missing.yaml: ") && stdout.contains("does not exist"), "{stdout}");
}

#[test]
fn migrate_creates_the_database_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/portico.db");
    let config = write(
        dir.path(),
        "app-config.yaml",
        format!("backend:\n  database:\n    client: better-sqlite3\n    connection: {}\n", db.display())
            .as_bytes(),
    );
    let output = portico().arg("migrate").arg("--config").arg(&config).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(db.exists());
}

#[test]
fn a_wrong_config_type_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "app-config.yaml", b"backend:\n  listen:\n    port: [1, 2]\n");
    let output = portico().arg("serve").arg("--config").arg(&config).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("backend.listen.port"), "{stderr}");
}

#[test]
fn an_unknown_database_client_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "app-config.yaml", b"backend:\n  database:\n    client: oracle\n");
    let output = portico().arg("migrate").arg("--config").arg(&config).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("backend.database.client"), "{stderr}");
}

#[test]
fn serve_without_config_explains_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let output = portico().arg("serve").current_dir(dir.path()).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--config"));
}

/// A minimal HTTP/1.1 request over a fresh connection; returns (status, body).
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Writes `app-config.yaml` into `dir` for a server on `port` with its SQLite file,
/// `portico.db`, beside it; `rest` adds further top-level sections.
fn server_config(dir: &std::path::Path, port: u16, rest: &str) -> std::path::PathBuf {
    let yaml = format!(
        "backend:\n  listen:\n    port: {port}\n  database:\n    client: better-sqlite3\n    connection: ./portico.db\n{rest}"
    );
    write(dir, "app-config.yaml", yaml.as_bytes())
}

/// A server configuration whose one `file` location is a valid descriptor beside it.
fn config_serving_one_valid_file(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let descriptor = write(dir, "catalog-info.yaml", VALID.as_bytes());
    let location =
        format!("catalog:\n  locations:\n    - type: file\n      target: {}\n", descriptor.display());
    server_config(dir, port, &location)
}

/// Asks `done` every 25 ms, up to 200 times; whether it said yes.
fn poll(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    false
}

/// Starts `portico serve` and waits until it answers.
fn start_server(config: &std::path::Path, port: u16) -> std::process::Child {
    let mut child = portico()
        .arg("serve")
        .arg("--config")
        .arg(config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    if poll(|| http(port, "GET", "/readyz", None).is_ok_and(|(status, _)| status == 200)) {
        return child;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("portico did not become ready on port {port}");
}

#[test]
fn an_acknowledged_registration_survives_a_killed_process() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = server_config(dir.path(), port, "catalog:\n  allowedLocationTypes: [url, file]\n");
    let descriptor = write(dir.path(), "catalog-info.yaml", VALID.as_bytes());
    let mut server = start_server(&config, port);
    let body = format!(r#"{{"type":"file","target":"{}"}}"#, descriptor.display());
    let (status, response) = http(port, "POST", "/api/catalog/locations", Some(&body)).unwrap();
    assert_eq!(status, 201, "{response}");
    // SIGKILL: no graceful shutdown, no chance to flush anything.
    server.kill().unwrap();
    server.wait().unwrap();

    let mut restarted = start_server(&config, port);
    let (status, locations) = http(port, "GET", "/api/catalog/locations", None).unwrap();
    restarted.kill().unwrap();
    restarted.wait().unwrap();
    assert_eq!(status, 200);
    assert!(locations.contains(&descriptor.display().to_string()), "{locations}");
}

#[test]
fn a_stopped_server_leaves_no_write_ahead_log_to_recover() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = config_serving_one_valid_file(dir.path(), port);
    let mut server = start_server(&config, port);
    let wal = dir.path().join("portico.db-wal");
    poll(|| {
        let listed = http(port, "GET", "/api/catalog/entities?filter=kind=component", None).unwrap().1;
        listed.contains("\"name\":\"ok\"")
    });
    assert!(std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0), "the running server writes ahead");

    // SIGTERM, as a service manager stops it.
    let status = Command::new("kill").arg("-TERM").arg(server.id().to_string()).status().unwrap();
    assert!(status.success());
    assert!(server.wait().unwrap().success(), "a stopped server exits cleanly");
    let left = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(left, 0, "the log was copied back into the database file");

    let mut restarted = start_server(&config, port);
    let (status, listed) = http(port, "GET", "/api/catalog/entities?filter=kind=component", None).unwrap();
    restarted.kill().unwrap();
    restarted.wait().unwrap();
    assert_eq!(status, 200);
    assert!(listed.contains("\"name\":\"ok\""), "{listed}");
}

#[test]
fn search_reindex_rebuilds_the_index_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = config_serving_one_valid_file(dir.path(), port);
    // Ingest with a real server first.
    let mut server = start_server(&config, port);
    let ingested = poll(|| {
        http(port, "GET", "/api/catalog/entities/by-name/component/default/ok", None)
            .is_ok_and(|(s, _)| s == 200)
    });
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(ingested, "the component was ingested");

    let output = portico().args(["search", "reindex", "--config"]).arg(&config).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // The component and its generated root Location.
    assert!(stderr.contains("indexed 2 documents"), "{stderr}");
    assert!(dir.path().join("data/search").is_dir(), "the index lives beside the database's config");
}

#[test]
fn docs_build_writes_the_site_and_prints_warnings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    write(dir.path(), "mkdocs.yml", b"site_name: CLI docs\nnav:\n  - Home: index.md\n");
    write(&dir.path().join("docs"), "index.md", b"# Hello\n\n[other](other.md) [gone](gone.md)\n");
    write(&dir.path().join("docs"), "other.md", b"# Other\n");
    let out = dir.path().join("site");
    let output =
        portico().args(["docs", "build"]).arg(dir.path()).arg("--output").arg(&out).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("building pages: 2/2"), "{stderr}");
    assert!(stderr.contains("warning: index.md: broken link 'gone.md'"), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("built 2 pages of 'CLI docs'"), "{stdout}");
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains("href=\"other/\""), "{index}");
    assert!(out.join("other/index.html").exists());
    assert!(out.join("techdocs_metadata.json").exists());
    assert!(out.join("search/search_index.json").exists());

    let again = portico().args(["docs", "build"]).arg(dir.path()).arg("--output").arg(&out).output().unwrap();
    assert!(again.status.success());
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("(0 rendered, 2 unchanged, 1 warnings)"), "{stdout}");
}

#[test]
fn docs_build_fails_on_an_unsafe_docs_dir() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "mkdocs.yml", b"site_name: x\ndocs_dir: ../..\n");
    let output = portico()
        .args(["docs", "build"])
        .arg(dir.path())
        .arg("--output")
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("docs_dir configuration value in mkdocs can't be an absolute directory"),
        "{stderr}"
    );
}

#[test]
fn docs_serve_previews_a_folder_and_rebuilds_on_save() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("My Handbook");
    std::fs::create_dir_all(site.join("docs")).unwrap();
    write(&site, "mkdocs.yml", b"site_name: Handbook\n");
    write(&site.join("docs"), "index.md", b"# Handbook\n\nFirst draft.\n");
    let port = free_port();
    let mut child = portico()
        .args(["docs", "serve"])
        .arg(&site)
        .args(["--port", &port.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let page = "/docs/default/component/my-handbook/";
    let wait_for = |needle: &str| {
        for _ in 0..400 {
            if let Ok((200, body)) = http(port, "GET", page, None)
                && body.contains(needle)
            {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        false
    };
    let first = wait_for("First draft");
    write(&site.join("docs"), "index.md", b"# Handbook\n\nSecond draft.\n");
    let second = first && wait_for("Second draft");
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(first, "the preview served the page; stdout: {stdout}");
    assert!(second, "a saved edit was rebuilt and served");
    assert!(stdout.contains(&format!("http://127.0.0.1:{port}{page}")), "{stdout}");
}

#[test]
fn docs_serve_refuses_a_folder_without_mkdocs_yml() {
    let dir = tempfile::tempdir().unwrap();
    let output = portico().args(["docs", "serve"]).arg(dir.path()).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("has no mkdocs.yml"));
}

/// The demo's golden-path template in this repository.
fn rust_service_template() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/templates/rust-service/template.yaml")
}

#[test]
fn template_run_renders_a_template_into_a_folder_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    let values = write(
        dir.path(),
        "values.yaml",
        b"name: billing\nowner: group:default/team-a\nremoteUrl: /srv/git/billing.git\n",
    );
    let output = dir.path().join("out");
    let run = portico()
        .args(["template", "run"])
        .arg(rust_service_template())
        .arg("--values")
        .arg(&values)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("[1/4] Beginning step Render the skeleton"), "{stderr}");
    assert!(stderr.contains("[3/4] – Skipping because publish:git does not support dry-run"), "{stderr}");
    assert!(stderr.contains("files written to"), "{stderr}");
    let manifest = std::fs::read_to_string(output.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"billing\""), "{manifest}");
    let catalog_info = std::fs::read_to_string(output.join("catalog-info.yaml")).unwrap();
    assert!(
        catalog_info
            .lines()
            .any(|line| line.trim_start().starts_with("owner:") && line.contains("group:default/team-a")),
        "{catalog_info}"
    );
    // The default of includeCi kept the CI files.
    assert!(output.join("scripts/ci.sh").is_file());
    // Nothing was pushed anywhere.
    assert!(!std::path::Path::new("/srv/git/billing.git").exists());

    // Running again into the same, now non-empty folder is refused.
    let again = portico()
        .args(["template", "run"])
        .arg(rust_service_template())
        .arg("--values")
        .arg(&values)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not an empty folder"));
}

#[test]
fn template_run_refuses_invalid_values_before_running_anything() {
    let dir = tempfile::tempdir().unwrap();
    let values = write(dir.path(), "values.yaml", b"name: Not A Name\n");
    let output = dir.path().join("out");
    let run = portico()
        .args(["template", "run"])
        .arg(rust_service_template())
        .arg("--values")
        .arg(&values)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(stderr.contains("instance.name does not match pattern"), "{stderr}");
    assert!(stderr.contains("instance requires property \"owner\""), "{stderr}");
    assert!(!output.exists(), "nothing is written for invalid values");
}

#[test]
fn a_task_running_when_the_portal_is_killed_ends_failed_with_the_reason_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    write(
        dir.path(),
        "templates.yaml",
        b"apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: slow\nspec:\n  type: service\n  steps:\n    - id: wait\n      name: Wait\n      action: debug:wait\n      input:\n        seconds: 25\n",
    );
    let config = server_config(
        dir.path(),
        port,
        "catalog:\n  rules:\n    - allow: [Template, Location]\n  locations:\n    - type: file\n      target: ./templates.yaml\nscaffolder:\n  EXPERIMENTAL_recoverTasksTimeout: 1s\n",
    );
    let mut server = start_server(&config, port);
    let mut id = String::new();
    // Until the template is ingested, the task is refused.
    poll(|| {
        let (status, body) = http(
            port,
            "POST",
            "/api/scaffolder/v2/tasks",
            Some(r#"{"templateRef":"template:default/slow","values":{}}"#),
        )
        .unwrap();
        if status == 201 {
            id = body.split('"').nth(3).unwrap().to_owned();
        }
        status == 201
    });
    assert!(!id.is_empty(), "the task was never created");
    let path = format!("/api/scaffolder/v2/tasks/{id}/events");
    poll(|| http(port, "GET", &path, None).unwrap().1.contains("Beginning step Wait"));
    server.kill().unwrap();
    server.wait().unwrap();

    let mut restarted = start_server(&config, port);
    let task_path = format!("/api/scaffolder/v2/tasks/{id}");
    let mut task = String::new();
    for _ in 0..400 {
        task = http(port, "GET", &task_path, None).unwrap().1;
        if task.contains("\"status\":\"failed\"") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let (_, events) = http(port, "GET", &path, None).unwrap();
    restarted.kill().unwrap();
    restarted.wait().unwrap();
    assert!(task.contains("\"status\":\"failed\""), "{task}");
    assert!(events.contains("the portal running it stopped"), "{events}");
    assert!(events.contains("\"type\":\"completion\""), "{events}");
}

#[test]
fn audit_lists_what_a_server_changed_as_json_lines_or_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = server_config(dir.path(), port, "catalog:\n  allowedLocationTypes: [url, file]\n");
    let descriptor = write(dir.path(), "catalog-info.yaml", VALID.as_bytes());
    let mut server = start_server(&config, port);
    let body = format!(r#"{{"type":"file","target":"{}"}}"#, descriptor.display());
    let created = http(port, "POST", "/api/catalog/locations", Some(&body)).unwrap();
    let again = http(port, "POST", "/api/catalog/locations", Some(&body)).unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!((created.0, again.0), (201, 409), "{created:?} {again:?}");

    let audit =
        |args: &[&str]| portico().arg("audit").args(args).arg("--config").arg(&config).output().unwrap();
    let output = audit(&["--json"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<serde_json::Value> =
        stdout.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let target = format!("file:{}", descriptor.display());
    assert_eq!(lines.len(), 2, "{stdout}");
    for (line, outcome) in lines.iter().zip(["failed", "succeeded"]) {
        assert_eq!(line["actor"], "user:default/guest", "{line}");
        assert_eq!(line["action"], "catalog.location.create", "{line}");
        assert_eq!(line["target"], target.as_str(), "{line}");
        assert_eq!(line["outcome"], outcome, "newest first: {line}");
    }
    assert!(lines[0]["details"]["error"].as_str().unwrap().contains("already exists"), "{}", lines[0]);

    let failed = audit(&["--json", "--outcome", "failed", "--since", "1h", "--action", "catalog.*"]);
    assert_eq!(String::from_utf8_lossy(&failed.stdout).lines().count(), 1);
    let none = audit(&["--json", "--actor", "user:default/jane"]);
    assert!(none.status.success() && none.stdout.is_empty());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no audit entries match"));
    let limited = audit(&["--limit", "1"]);
    assert!(String::from_utf8_lossy(&limited.stderr).contains("showing the newest 1 of 2 entries"));

    let table = audit(&[]);
    let text = String::from_utf8_lossy(&table.stdout);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows[0].starts_with("TIME") && rows[0].ends_with("OUTCOME"), "{text}");
    assert!(
        rows[1].contains("user:default/guest  catalog.location.create  file:") && rows[1].ends_with("failed")
    );
    assert!(rows[2].ends_with("succeeded"), "{text}");
    assert_eq!(rows[1].find("catalog.location"), rows[0].find("ACTION"), "columns line up: {text}");

    let wrong = audit(&["--outcome", "ok"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("Invalid outcome \"ok\""));
}
