//! Backstage's own `@backstage/catalog-client` npm package, unchanged, against the whole app
//! serving the demo catalog on a real port: `compat/catalog-client/check.mjs` calls every client
//! method and checks the results. Skipped (with a message) where `node` or the package's
//! installed `node_modules` are missing; `.ci/run` installs them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use portico_testkit::{TestApp, TestDatabase};

use crate::support::{config_with_locations, demo_catalog};

/// How long one run of the compatibility script may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(180);

fn compat_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../compat/catalog-client")
}

/// Why the check cannot run here, if it cannot.
fn skip_reason(compat: &Path) -> Option<String> {
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|output| output.status.success()) {
        return Some("`node` is not installed".into());
    }
    let package = compat.join("node_modules/@backstage/catalog-client");
    if !package.is_dir() {
        return Some(format!(
            "{} is missing (run `npm ci --prefix compat/catalog-client`)",
            package.display()
        ));
    }
    None
}

/// The demo catalog's config locations, every core kind allowed, and url reading from
/// 127.0.0.1 on any port (the script serves a descriptor from a port of its own).
fn demo_config() -> String {
    let catalog = demo_catalog();
    let all = catalog.join("all.yaml");
    let acme = catalog.join("acme-corp.yaml");
    let mut yaml =
        config_with_locations(&[("file", &all.to_string_lossy()), ("file", &acme.to_string_lossy())]);
    yaml.push_str("backend:\n  reading:\n    allow:\n      - host: 127.0.0.1\n");
    yaml
}

#[tokio::test]
async fn official_catalog_client_works_against_the_demo_catalog() {
    let compat = compat_dir();
    if let Some(reason) = skip_reason(&compat) {
        println!("skipping the @backstage/catalog-client check: {reason}");
        return;
    }
    for database in TestDatabase::all() {
        let mut app = TestApp::start_on(&demo_config(), database.clone()).await;
        app.settle().await;
        assert!(app.entity("component:default/artist-lookup").await.is_some(), "demo catalog ingested");
        let addr = app.serve().await;

        let child = tokio::process::Command::new("node")
            .arg(compat.join("check.mjs"))
            .arg(format!("http://{addr}"))
            .current_dir(&compat)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start node");
        let output = tokio::time::timeout(CHECK_TIMEOUT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("check.mjs did not finish within {CHECK_TIMEOUT:?} ({database:?})"))
            .expect("node runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "check.mjs failed on {database:?} ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            output.status
        );
        assert!(stdout.contains(" passed, 0 failed"), "no summary line:\n{stdout}");
        println!("{database:?}:\n{stdout}");
    }
}
