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
