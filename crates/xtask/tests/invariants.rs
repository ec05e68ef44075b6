//! The architecture's invariants (ARCHITECTURE.md, code map), checked against the manifests and
//! sources so that a change that breaks one fails the build.

use std::path::{Path, PathBuf};

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The names of a crate's normal (non-dev) dependencies.
fn dependencies(krate: &str) -> Vec<String> {
    let manifest = std::fs::read_to_string(crates_dir().join(krate).join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("cannot read the manifest of {krate}: {e}"));
    let mut section = String::new();
    let mut out = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.to_owned();
            continue;
        }
        if section == "[dependencies]"
            && let Some((name, _)) = line.split_once(['=', '.'])
        {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                out.push(name.to_owned());
            }
        }
    }
    out
}

fn workspace_crates() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(crates_dir())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").exists())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every `.rs` file under a crate's `src/`.
fn sources(krate: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![crates_dir().join(krate).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn the_model_does_no_io() {
    let forbidden = ["tokio", "sqlx", "axum", "reqwest", "notify", "portico-store"];
    for dependency in dependencies("portico-model") {
        assert!(
            !forbidden.contains(&dependency.as_str()),
            "portico-model must stay pure, but depends on {dependency}"
        );
    }
}

#[test]
fn only_store_crates_talk_sql() {
    for krate in workspace_crates() {
        let allowed = krate.starts_with("portico-store-");
        if !allowed {
            assert!(
                !dependencies(&krate).contains(&"sqlx".to_owned()),
                "{krate} depends on sqlx; SQL lives in portico-store-*"
            );
            for file in sources(&krate) {
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                for keyword in ["SELECT ", "INSERT INTO ", "CREATE TABLE "] {
                    assert!(!text.contains(keyword), "{} contains SQL ({keyword:?})", file.display());
                }
            }
        }
    }
}

#[test]
fn only_the_binary_knows_clap_and_only_the_app_knows_the_plugin_list() {
    for krate in workspace_crates() {
        let dependencies = dependencies(&krate);
        if krate != "portico" {
            assert!(!dependencies.contains(&"clap".to_owned()), "{krate} depends on clap");
        }
        if !matches!(krate.as_str(), "portico" | "portico-testkit") {
            assert!(!dependencies.contains(&"portico-app".to_owned()), "{krate} depends on portico-app");
        }
    }
}

#[test]
fn plugins_use_each_other_only_through_their_api_modules() {
    // A plugin may depend on another plugin crate only to use that plugin's `api` module (the
    // extension points it offers); its internals stay private to it.
    let plugins = ["portico-catalog", "portico-search", "portico-techdocs", "portico-scaffolder"];
    for plugin in plugins {
        if !crates_dir().join(plugin).exists() {
            continue;
        }
        for dependency in dependencies(plugin) {
            if !plugins.contains(&dependency.as_str()) || dependency == plugin {
                continue;
            }
            let module = dependency.replace('-', "_");
            for file in sources(plugin) {
                let text = std::fs::read_to_string(&file).unwrap();
                for (at, _) in text.match_indices(&format!("{module}::")) {
                    let rest = &text[at + module.len() + 2..];
                    assert!(
                        rest.starts_with("api::") || rest.starts_with("api;") || rest.starts_with("api}"),
                        "{} uses {module} outside its api module: {}",
                        file.display(),
                        &text[at..(at + 60).min(text.len())]
                    );
                }
            }
        }
    }
}

#[test]
fn plugins_decide_permissions_only_through_the_access_extractor() {
    // Invariant 8: every handler that touches protected data asks `portico_plugin::Access`,
    // which records denials and applies token restrictions. Asking the policy engine directly
    // would skip both.
    let plugins =
        ["portico-catalog", "portico-search", "portico-techdocs", "portico-scaffolder", "portico-auth"];
    let bypasses = ["for_principal(", "PolicyEngine::", ".authorize(&", "authorize_body("];
    for plugin in plugins {
        for file in sources(plugin) {
            let text = std::fs::read_to_string(&file).unwrap();
            // Unit tests may build engines to exercise the code that filters.
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            for bypass in bypasses {
                assert!(
                    !text.contains(bypass),
                    "{} decides a permission without Access: `{bypass}`",
                    file.display()
                );
            }
        }
    }
}
