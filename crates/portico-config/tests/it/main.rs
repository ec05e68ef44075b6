//! Loading real files: merging, substitution, includes and origins.

use std::path::{Path, PathBuf};
use std::time::Duration;

use portico_config::backend::{BackendConfig, DatabaseConfig, SqlitePath};
use portico_config::{Config, ConfigError};
use serde_json::json;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create folder");
    }
    std::fs::write(&path, text).expect("write file");
    path
}

fn env(name: &str) -> Option<String> {
    match name {
        "TOKEN" => Some("s3cret".into()),
        "HOST" => Some("db.example.com".into()),
        "EMPTY" => Some(String::new()),
        "SECRETS" => Some("prod".into()),
        _ => None,
    }
}

#[test]
fn two_files_merge_later_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = write(
        dir.path(),
        "app-config.yaml",
        "app:\n  title: Base\n  baseUrl: http://localhost:3000\nbackend:\n  listen: {port: 7007}\n  cors: {methods: [GET, POST]}\ncatalog:\n  locations:\n    - {type: file, target: ./base.yaml}\n",
    );
    let local = write(
        dir.path(),
        "overrides/app-config.local.yaml",
        "app:\n  title: Local\nbackend:\n  listen: {port: 8000}\n  cors: {methods: [GET]}\ncatalog:\n  locations:\n    - {type: file, target: ./local.yaml}\n",
    );
    let config = Config::load_with_env(&[base, local], &env).expect("loads");
    assert_eq!(config.string("app.title").expect("string"), Some("Local".into()));
    assert_eq!(config.string("app.baseUrl").expect("string"), Some("http://localhost:3000".into()));
    assert_eq!(config.u16("backend.listen.port").expect("port"), Some(8000));
    assert_eq!(config.string_list("backend.cors.methods").expect("list"), Some(vec!["GET".to_owned()]));
    assert_eq!(config.get("catalog.locations"), Some(&json!([{"type": "file", "target": "./local.yaml"}])));

    let root = std::path::absolute(dir.path()).expect("absolute");
    assert_eq!(config.origin_dir("catalog.locations"), Some(root.join("overrides").as_path()));
    assert_eq!(config.origin_dir("app.baseUrl"), Some(root.as_path()));
    assert_eq!(config.origin_dir("app.title"), Some(root.join("overrides").as_path()));
}

#[test]
fn substitution_forms() {
    let text = r#"
integrations:
  github:
    - host: github.com
      token: ${TOKEN}
    - host: ghe.example.com
      token: ${MISSING_TOKEN}
plain: 'Bearer ${TOKEN} for ${HOST}'
defaulted: ${MISSING:-fallback}
emptyDefaulted: ${EMPTY:-fallback}
escaped: $${TOKEN}
dropped: prefix-${MISSING}
list: [a, '${MISSING}', c]
fromEnv: {$env: TOKEN}
fromMissingEnv: {$env: NOPE}
"#;
    let config = Config::from_yaml_str(text, Path::new("/tmp"), &env).expect("valid");
    assert_eq!(config.get("integrations.github.0.token"), Some(&json!("s3cret")));
    // A missing variable drops the key (Backstage semantics), so readers see "absent".
    assert_eq!(config.get("integrations.github.1"), Some(&json!({"host": "ghe.example.com"})));
    assert_eq!(config.string("plain").expect("string").as_deref(), Some("Bearer s3cret for db.example.com"));
    assert_eq!(config.string("defaulted").expect("string").as_deref(), Some("fallback"));
    assert_eq!(config.string("emptyDefaulted").expect("string").as_deref(), Some("fallback"));
    assert_eq!(config.string("escaped").expect("string").as_deref(), Some("${TOKEN}"));
    assert!(!config.has("dropped"));
    assert_eq!(config.string_list("list").expect("list"), Some(vec!["a".to_owned(), "c".to_owned()]));
    assert_eq!(config.string("fromEnv").expect("string").as_deref(), Some("s3cret"));
    assert!(!config.has("fromMissingEnv"));
}

#[test]
fn file_and_include_forms_resolve_against_their_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "secrets/key.txt", "very-secret\n\n");
    write(
        dir.path(),
        "secrets/prod.yaml",
        "db:\n  connection: data/prod.sqlite\n  client: better-sqlite3\nnested:\n  text: {$file: key.txt}\n",
    );
    write(dir.path(), "extra.json", r#"{"a": {"b": [1, 2]}}"#);
    let main = write(
        dir.path(),
        "app-config.yaml",
        "key: {$file: secrets/key.txt}\nbackend:\n  database: {$include: 'secrets/${SECRETS}.yaml#db'}\nfromNested: {$include: 'secrets/prod.yaml#nested.text'}\njson: {$include: extra.json#a}\n",
    );
    let config = Config::load_with_env(&[main], &env).expect("loads");
    assert_eq!(config.string("key").expect("string").as_deref(), Some("very-secret"));
    assert_eq!(config.string("fromNested").expect("string").as_deref(), Some("very-secret"));
    assert_eq!(config.get("json"), Some(&json!({"b": [1, 2]})));
    let root = std::path::absolute(dir.path()).expect("absolute");
    assert_eq!(config.origin_dir("backend.database.connection"), Some(root.join("secrets").as_path()));
    let backend = BackendConfig::from_config(&config).expect("backend");
    assert_eq!(
        backend.database,
        DatabaseConfig::Sqlite { path: SqlitePath::File(root.join("secrets/data/prod.sqlite")) }
    );
}

#[test]
fn include_errors_name_the_file_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let main = write(dir.path(), "app-config.yaml", "a:\n  b: {$include: missing.yaml}\n");
    let error = Config::load_with_env(&[main], &env).expect_err("missing include");
    let text = error.to_string();
    assert!(
        text.contains("app-config.yaml") && text.contains("'a.b'") && text.contains("missing.yaml"),
        "{text}"
    );

    let adjacent =
        Config::from_yaml_str("x: {$env: TOKEN, other: 1}\n", Path::new("/"), &env).expect_err("adjacent");
    assert!(adjacent.to_string().contains("should not have adjacent keys"), "{adjacent}");
    let bad_ext =
        Config::from_yaml_str("x: {$include: a.txt}\n", Path::new("/"), &env).expect_err("extension");
    assert!(bad_ext.to_string().contains("no configuration parser"), "{bad_ext}");
}

#[test]
fn self_including_file_is_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let main = write(dir.path(), "loop.yaml", "again: {$include: loop.yaml}\n");
    let error = Config::load_with_env(&[main], &env).expect_err("include loop");
    assert!(error.to_string().contains("nested more than"), "{error}");
}

#[test]
fn missing_file_and_syntax_errors_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.yaml");
    let error = Config::load_with_env(std::slice::from_ref(&missing), &env).expect_err("missing");
    assert!(matches!(&error, ConfigError::Io { path, .. } if path == &missing));
    assert!(error.to_string().contains("nope.yaml"));

    let broken = write(dir.path(), "broken.yaml", "app:\n  title: x\n  bad: [unclosed\n");
    let error = Config::load_with_env(&[broken], &env).expect_err("syntax error");
    let text = error.to_string();
    assert!(text.contains("broken.yaml") && text.contains("YAML error at line"), "{text}");

    let list = write(dir.path(), "list.yaml", "- a\n- b\n");
    let error = Config::load_with_env(&[list], &env).expect_err("not an object");
    assert!(error.to_string().contains("expected an object at the config root, got an array"), "{error}");

    let empty = write(dir.path(), "empty.yaml", "# nothing yet\n");
    let config = Config::load_with_env(&[empty], &env).expect("empty file is an empty config");
    assert_eq!(config.as_json(), &json!({}));
}

#[test]
fn wrong_type_names_the_key_path() {
    let config =
        Config::from_yaml_str("backend:\n  listen:\n    port: seven\n", Path::new("/"), &env).expect("valid");
    let error = BackendConfig::from_config(&config).expect_err("bad port");
    assert!(
        matches!(&error, ConfigError::WrongType { key, expected, actual }
            if key == "backend.listen.port" && *expected == "a non-negative integer" && *actual == "a string"),
        "{error:?}"
    );
    assert!(error.to_string().contains("'backend.listen.port'"));
}

#[test]
fn unknown_database_client() {
    let config = Config::from_yaml_str("backend: {database: {client: oracledb}}\n", Path::new("/"), &env)
        .expect("valid");
    let error = BackendConfig::from_config(&config).expect_err("unsupported");
    assert!(
        matches!(&error, ConfigError::Invalid { key, .. } if key == "backend.database.client"),
        "{error:?}"
    );
    assert!(error.to_string().contains("'better-sqlite3'") && error.to_string().contains("'pg'"));
}

#[test]
fn postgres_object_becomes_a_url() {
    let text = "backend:\n  database:\n    client: pg\n    connection:\n      host: ${HOST}\n      port: 5433\n      user: portico\n      password: 'a b/c@d'\n      database: catalog\n";
    let config = Config::from_yaml_str(text, Path::new("/"), &env).expect("valid");
    let backend = BackendConfig::from_config(&config).expect("backend");
    assert_eq!(
        backend.database,
        DatabaseConfig::Postgres {
            url: "postgres://portico:a%20b%2Fc%40d@db.example.com:5433/catalog".into()
        }
    );
}

#[test]
fn relative_sqlite_path_uses_the_config_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let main = write(
        dir.path(),
        "deploy/app-config.yaml",
        "backend:\n  database:\n    client: better-sqlite3\n    connection: ../state/portico.db\n",
    );
    let config = Config::load_with_env(&[main], &env).expect("loads");
    let backend = BackendConfig::from_config(&config).expect("backend");
    let root = std::path::absolute(dir.path()).expect("absolute");
    assert_eq!(
        backend.database,
        DatabaseConfig::Sqlite { path: SqlitePath::File(root.join("deploy").join("../state/portico.db")) }
    );
}

#[test]
fn durations_in_all_forms() {
    let text =
        "a: {minutes: 1, seconds: 30}\nb: PT1M30S\nc: 90s\nd: '1.5 minutes'\ne:\n  hours: ${MISSING:-2}\n";
    let config = Config::from_yaml_str(text, Path::new("/"), &env).expect("valid");
    for key in ["a", "b", "c", "d"] {
        assert_eq!(config.duration(key).expect("duration"), Some(Duration::from_secs(90)), "{key}");
    }
    assert_eq!(config.duration("e").expect("duration"), Some(Duration::from_secs(7200)));
    assert_eq!(config.duration("absent").expect("absent"), None);
    let bad = Config::from_yaml_str("x: soon\n", Path::new("/"), &env).expect("valid");
    let error = bad.duration("x").expect_err("bad duration");
    assert!(error.to_string().contains("'x'") && error.to_string().contains("'soon'"), "{error}");
}
