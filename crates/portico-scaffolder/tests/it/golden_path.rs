//! Portico's golden-path template `demo/templates/rust-service`: the files a dry run renders,
//! and the service those files make, which must pass its own CI script (rustfmt, clippy and its
//! tests) with a real cargo.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use base64::Engine;
use portico_model::relations::{RELATION_OWNED_BY, RELATION_PART_OF};
use portico_model::yaml::{YamlLimits, parse_documents};
use portico_model::{ProcessedEntity, Relation, process_entity};
use portico_scaffolder::api::{ActionRegistry, TemplateInfo};
use portico_scaffolder::config::ActionsConfig;
use portico_scaffolder::runner::{MemoryEvents, RunOptions, TaskResult, TaskSpec, TaskStatus, run_task};
use portico_scaffolder::workspace::{Workspace, WorkspaceLimits};
use serde_json::{Value, json};

const DEMO_TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/templates");

/// Where the generated service's build output is kept between runs, so only the first run
/// compiles its dependencies.
const GENERATED_TARGET_DIR_VARIABLE: &str = "PORTICO_GENERATED_TARGET_DIR";

/// A rendered file: its text and whether it is executable.
#[derive(Debug)]
struct Rendered {
    text: String,
    executable: bool,
}

fn template_path() -> PathBuf {
    Path::new(DEMO_TEMPLATES).join("rust-service/template.yaml")
}

/// The first document of a YAML file, as JSON.
fn load_yaml(text: &str) -> Value {
    let mut documents = parse_documents(text, &YamlLimits::default());
    documents.remove(0).expect("valid YAML").value
}

/// Dry-runs the template with `parameters`: the task's result and the files it rendered.
async fn dry_run(parameters: Value) -> (TaskResult, BTreeMap<String, Rendered>) {
    let path = template_path();
    let template = load_yaml(&std::fs::read_to_string(&path).expect("template file"));
    let mut spec = TaskSpec::from_template("golden-path", &template, parameters).expect("spec");
    spec.template_info = TemplateInfo {
        entity_ref: Some("template:default/rust-service".into()),
        base_url: Some(url::Url::from_file_path(&path).expect("file url").to_string()),
    };
    let registry = ActionRegistry::with_builtins(&ActionsConfig::default()).expect("built-ins");
    let dir = tempfile::tempdir().expect("temp dir");
    let workspace =
        Workspace::open(&dir.path().join("workspace"), WorkspaceLimits::default()).expect("workspace");
    let events = Arc::new(MemoryEvents::new());
    let options = RunOptions { dry_run: true, ..RunOptions::default() };
    let result = run_task(&spec, &registry, workspace, events.clone(), options).await;
    let messages: Vec<String> = events.events().into_iter().map(|event| event.body.message).collect();
    assert_eq!(result.status, TaskStatus::Completed, "{:?} {messages:#?}", result.error);
    let files = result
        .files
        .clone()
        .expect("a dry run lists the files")
        .into_iter()
        .map(|file| {
            let bytes =
                base64::engine::general_purpose::STANDARD.decode(&file.base64_content).expect("base64");
            let text = String::from_utf8(bytes).expect("UTF-8 file");
            (file.path, Rendered { text, executable: file.executable })
        })
        .collect();
    (result, files)
}

fn text<'a>(files: &'a BTreeMap<String, Rendered>, path: &str) -> &'a str {
    &files.get(path).unwrap_or_else(|| panic!("{path} was not rendered: {:?}", files.keys())).text
}

/// The rendered `catalog-info.yaml`, through every check the catalog runs on it.
fn catalog_entity(files: &BTreeMap<String, Rendered>) -> ProcessedEntity {
    let descriptor = text(files, "catalog-info.yaml");
    process_entity(load_yaml(descriptor)).unwrap_or_else(|error| panic!("{error:?}\n{descriptor}"))
}

fn relation(source: &str, relation_type: &str, target: &str) -> Relation {
    Relation::new(source, relation_type, target)
}

#[test]
fn portico_rust_service_template_is_a_valid_template_owned_by_a_demo_group() {
    let template = load_yaml(&std::fs::read_to_string(template_path()).expect("template file"));
    let processed = process_entity(template.clone()).expect("a valid Template entity");
    assert_eq!(processed.entity_ref, "template:default/rust-service");
    let owner = template["spec"]["owner"].as_str().expect("spec.owner");
    assert!(
        processed.relations.contains(&relation("template:default/rust-service", RELATION_OWNED_BY, owner)),
        "{:?}",
        processed.relations
    );

    // The owner is a Group of the demo catalog.
    let acme = Path::new(DEMO_TEMPLATES).join("../catalog/acme");
    let groups: Vec<String> = std::fs::read_dir(&acme)
        .expect("demo groups")
        .map(|entry| std::fs::read_to_string(entry.expect("entry").path()).expect("group file"))
        .flat_map(|text| {
            parse_documents(&text, &YamlLimits::default())
                .into_iter()
                .map(|document| document.expect("valid YAML").value)
                .collect::<Vec<_>>()
        })
        .filter(|entity| entity["kind"] == "Group")
        .map(|entity| format!("group:default/{}", entity["metadata"]["name"].as_str().expect("name")))
        .collect();
    assert!(groups.iter().any(|group| group == owner), "{owner} is not one of {groups:?}");

    let pages: Vec<&str> = template["spec"]["parameters"]
        .as_array()
        .expect("parameter pages")
        .iter()
        .map(|page| page["title"].as_str().expect("page title"))
        .collect();
    assert_eq!(pages, ["Service", "Repository"]);
}

#[test]
fn portico_demo_templates_location_lists_every_template_folder() {
    let location =
        load_yaml(&std::fs::read_to_string(Path::new(DEMO_TEMPLATES).join("all.yaml")).expect("all.yaml"));
    assert_eq!(location["kind"], "Location");
    let mut listed: Vec<String> = location["spec"]["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|target| target.as_str().expect("target").to_owned())
        .collect();
    listed.sort();
    let mut folders: Vec<String> = std::fs::read_dir(DEMO_TEMPLATES)
        .expect("demo templates")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.join("template.yaml").is_file())
        .map(|path| format!("./{}/template.yaml", path.file_name().expect("name").to_string_lossy()))
        .collect();
    folders.sort();
    assert_eq!(listed, folders);
}

#[tokio::test]
async fn portico_rust_service_dry_run_renders_the_service_for_the_given_values() {
    let (result, files) = dry_run(json!({
        "name": "payments-api",
        "description": "Takes payments: cards and \"wallets\".\nRefunds them too.",
        "owner": "group:default/team-a",
        "system": "system:default/podcast",
        "remoteUrl": "https://git.example.com/acme/payments-api.git",
        "defaultBranch": "main",
        "includeCi": true,
    }))
    .await;

    let paths: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            ".github/workflows/ci.yml",
            ".gitignore",
            "Cargo.toml",
            "README.md",
            "catalog-info.yaml",
            "docs/index.md",
            "mkdocs.yml",
            "scripts/ci.sh",
            "src/lib.rs",
            "src/main.rs",
            "tests/routes.rs",
        ]
    );
    for (path, file) in &files {
        assert!(
            !file.text.contains("${{") && !file.text.contains("{%"),
            "{path} kept template syntax:\n{}",
            file.text
        );
    }
    assert!(files["scripts/ci.sh"].executable, "the CI script keeps its executable bit");
    assert!(text(&files, "Cargo.toml").contains("name = \"payments-api\"\n"));
    assert!(text(&files, "src/main.rs").contains("\nuse payments_api::app;\n"));
    assert!(text(&files, "tests/routes.rs").contains("\nuse payments_api::app;\n"));
    assert!(text(&files, "src/lib.rs").contains("\"Hello from payments-api!\""));
    assert!(text(&files, "README.md").starts_with(
        "# payments-api\n\nTakes payments: cards and \"wallets\".\nRefunds them too.\n\nAn HTTP service"
    ));
    assert!(text(&files, "README.md").contains("`scripts/ci.sh` runs what CI runs"));
    assert!(text(&files, "mkdocs.yml").starts_with("site_name: \"payments-api\"\n"));

    let component = catalog_entity(&files);
    assert_eq!(component.entity_ref, "component:default/payments-api");
    assert_eq!(
        component.entity["metadata"]["description"],
        "Takes payments: cards and \"wallets\".\nRefunds them too."
    );
    assert_eq!(component.entity["metadata"]["annotations"]["backstage.io/techdocs-ref"], "dir:.");
    assert_eq!(component.entity["spec"]["type"], "service");
    assert_eq!(component.entity["spec"]["lifecycle"], "experimental");
    for expected in [
        relation("component:default/payments-api", RELATION_OWNED_BY, "group:default/team-a"),
        relation("component:default/payments-api", RELATION_PART_OF, "system:default/podcast"),
    ] {
        assert!(component.relations.contains(&expected), "{expected:?} not in {:?}", component.relations);
    }

    // Publishing and registering are skipped in a dry run; the links show their faked outputs.
    let publish = &result.step_outputs["publish"];
    assert_eq!(
        result.output,
        Some(json!({"links": [
            {"title": "Repository", "url": publish["remoteUrl"]},
            {"title": "Open in catalog", "icon": "catalog", "entityRef": result.step_outputs["register"]["entityRef"]},
        ]}))
    );
    assert!(!result.step_outputs.contains_key("drop-ci"), "the CI files are kept");
}

#[tokio::test]
async fn portico_rust_service_without_ci_and_optional_values_leaves_them_out() {
    let (_, files) = dry_run(json!({
        "name": "ledger",
        "owner": "group:default/team-b",
        "remoteUrl": "/srv/git/ledger.git",
        "defaultBranch": "main",
        "includeCi": false,
    }))
    .await;

    let paths: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            ".gitignore",
            "Cargo.toml",
            "README.md",
            "catalog-info.yaml",
            "docs/index.md",
            "mkdocs.yml",
            "src/lib.rs",
            "src/main.rs",
            "tests/routes.rs",
        ]
    );
    let readme = text(&files, "README.md");
    assert!(readme.starts_with("# ledger\n\nAn HTTP service"), "{readme}");
    assert!(!readme.contains("ci.sh") && !readme.contains(".github"), "{readme}");
    assert!(text(&files, "docs/index.md").starts_with("# ledger\n\n## Running the service\n"));

    let component = catalog_entity(&files);
    assert_eq!(component.entity_ref, "component:default/ledger");
    let metadata = component.entity["metadata"].as_object().expect("metadata");
    assert!(!metadata.contains_key("description"), "{metadata:?}");
    assert!(component.entity["spec"].get("system").is_none(), "{}", component.entity["spec"]);
    assert_eq!(component.entity["spec"]["owner"], "group:default/team-b");
}

/// Runs `command` and fails the test with its output unless it succeeds.
fn run_checked(command: &mut Command) {
    let shown = format!("{command:?}");
    let output = command.output().unwrap_or_else(|error| panic!("could not start {shown}: {error}"));
    assert!(
        output.status.success(),
        "{shown} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `$PORTICO_GENERATED_TARGET_DIR`, else `generated-services` in this test binary's target
/// folder (`<target>/debug/deps/it-*` → `<target>/generated-services`).
fn generated_target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(GENERATED_TARGET_DIR_VARIABLE) {
        return PathBuf::from(dir);
    }
    let binary = std::env::current_exe().expect("test binary path");
    let target = binary.ancestors().nth(3).expect("the test binary lives in <target>/<profile>/deps");
    target.join("generated-services")
}

/// Writes the rendered files into `root`, executable bits included.
fn write_project(root: &Path, files: &BTreeMap<String, Rendered>) {
    for (path, file) in files {
        let destination = root.join(path);
        std::fs::create_dir_all(destination.parent().expect("parent")).expect("project folder");
        std::fs::write(&destination, &file.text).expect("project file");
        if file.executable {
            set_executable(&destination);
        }
    }
}

#[tokio::test]
async fn portico_rust_service_generated_project_passes_its_own_ci_script() {
    // The longest name the template accepts: formatting must not depend on the name's length.
    let name = "golden-path-check-named-as-long-as-a-catalog-entity-name-may-be";
    assert_eq!(name.len(), 63);
    let (_, files) = dry_run(json!({
        "name": name,
        "description": "Generated by Portico's golden-path test.",
        "owner": "group:default/team-a",
        "remoteUrl": format!("https://git.example.com/acme/{name}.git"),
        "defaultBranch": "main",
        "includeCi": true,
    }))
    .await;
    let project = tempfile::tempdir().expect("project dir");
    write_project(project.path(), &files);

    // The same toolchain as this build (cargo, rustfmt and clippy live beside `$CARGO`).
    let mut path = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .and_then(|cargo| cargo.parent().map(Path::to_path_buf))
        .into_iter()
        .collect::<Vec<_>>();
    path.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    // The script runs `cargo fmt --check`, `cargo clippy --all-targets -- -D warnings` and
    // `cargo test`; it stops at the first failure.
    run_checked(
        Command::new(project.path().join("scripts/ci.sh"))
            .current_dir(project.path())
            .env("PATH", std::env::join_paths(path).expect("PATH"))
            .env("CARGO_TARGET_DIR", generated_target_dir())
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS"),
    );
}

#[cfg(unix)]
fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
