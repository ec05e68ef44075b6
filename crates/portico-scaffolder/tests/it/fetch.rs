use portico_scaffolder::actions::{
    FetchPlainAction, FetchPlainFileAction, FetchTemplateAction, FetchTemplateFileAction,
};
use portico_scaffolder::api::{Action, ActionError, TemplateInfo};
use portico_scaffolder::filters::Integrations;
use serde_json::json;

use crate::support::{Harness, assert_outside, mode, symlink};

fn template_action() -> FetchTemplateAction {
    FetchTemplateAction::new(Integrations::default())
}

#[tokio::test]
async fn backstage_fetch_plain_copies_the_folder_next_to_the_template_into_target_path() {
    let h = Harness::new();
    h.template_file("skeleton/README.md", "# ${{ values.name }}\n");
    h.template_file("skeleton/.github/workflows/ci.yaml", "on: push\n");
    h.template_file("skeleton/src/main.rs", "fn main() {}\n");
    let mut ctx = h.context(json!({"url": "./skeleton", "targetPath": "out"}));
    FetchPlainAction.handle(&mut ctx).await.unwrap();
    // Contents are copied, never rendered.
    assert_eq!(h.read("out/README.md"), "# ${{ values.name }}\n");
    assert_eq!(h.read("out/.github/workflows/ci.yaml"), "on: push\n");
    assert_eq!(h.read("out/src/main.rs"), "fn main() {}\n");
}

#[tokio::test]
async fn backstage_fetch_plain_defaults_to_the_workspace_root_and_overwrites() {
    let h = Harness::new();
    h.template_file("skeleton/a.txt", "new");
    h.workspace_file("a.txt", "old");
    let mut ctx = h.context(json!({"url": "skeleton"}));
    FetchPlainAction.handle(&mut ctx).await.unwrap();
    assert_eq!(h.read("a.txt"), "new");
}

#[tokio::test]
async fn backstage_fetch_plain_file_copies_one_file_to_target_path() {
    let h = Harness::new();
    h.template_file("files/config.json", "{\"a\": 1}");
    let mut ctx = h.context(json!({"url": "./files/config.json", "targetPath": "conf/app.json"}));
    FetchPlainFileAction.handle(&mut ctx).await.unwrap();
    assert_eq!(h.read("conf/app.json"), "{\"a\": 1}");
    let mut ctx = h.context(json!({"url": "./files/config.json"}));
    let error = FetchPlainFileAction.handle(&mut ctx).await.unwrap_err();
    assert!(matches!(error, ActionError::Input(_)), "targetPath is required: {error}");
}

#[tokio::test]
async fn backstage_fetch_relative_url_needs_a_template_location() {
    let h = Harness::new();
    let mut ctx = h.context(json!({"url": "./skeleton"}));
    ctx.template_info = TemplateInfo::default();
    let error = FetchPlainAction.handle(&mut ctx).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "Failed to fetch, template location could not be determined and the fetch URL is relative, ./skeleton"
    );
}

#[tokio::test]
async fn portico_fetch_from_remote_locations_is_not_supported_yet() {
    let h = Harness::new();
    let mut ctx = h.context(json!({"url": "https://github.com/acme/skeletons/tree/main/web"}));
    let error = FetchPlainAction.handle(&mut ctx).await.unwrap_err();
    assert!(matches!(error, ActionError::NotSupported(_)), "{error}");
    assert!(error.to_string().contains("not supported yet"), "{error}");

    let mut ctx = h.context(json!({"url": "./skeleton"}));
    ctx.template_info.base_url = Some("https://github.com/acme/templates/blob/main/web/template.yaml".into());
    let error = template_action().handle(&mut ctx).await.unwrap_err();
    assert!(error.to_string().contains("not supported for remote templates yet"), "{error}");

    let mut ctx = h.context(json!({"url": "file:///etc"}));
    assert!(matches!(FetchPlainAction.handle(&mut ctx).await, Err(ActionError::Input(_))));
}

#[tokio::test]
async fn backstage_fetch_urls_may_not_leave_the_template_folder() {
    let h = Harness::new();
    std::fs::write(h.outside().join("secret.txt"), "secret").unwrap();
    symlink(&h.outside(), &h.template_dir().join("linked"));
    symlink(std::path::Path::new("/etc"), &h.template_dir().join("etc"));
    for url in ["../outside", "./linked", "etc", "/etc"] {
        let mut ctx = h.context(json!({"url": url}));
        assert_outside(FetchPlainAction.handle(&mut ctx).await);
        let mut ctx = h.context(json!({"url": url}));
        assert_outside(template_action().handle(&mut ctx).await);
    }
    for url in ["../outside/secret.txt", "linked/secret.txt", "etc/hostname"] {
        let mut ctx = h.context(json!({"url": url, "targetPath": "copy.txt"}));
        assert_outside(FetchPlainFileAction.handle(&mut ctx).await);
        let mut ctx = h.context(json!({"url": url, "targetPath": "copy.txt"}));
        assert_outside(FetchTemplateFileAction::new(Integrations::default()).handle(&mut ctx).await);
    }
    assert!(!h.ws("copy.txt").exists());
}

#[tokio::test]
async fn backstage_fetch_target_paths_may_not_leave_the_workspace() {
    let h = Harness::new();
    h.template_file("skeleton/a.txt", "a");
    h.template_file("one.txt", "one");
    symlink(&h.outside(), &h.ws("escape"));
    for target in ["../elsewhere", "/tmp/portico-escape", "escape", "escape/deeper"] {
        let mut ctx = h.context(json!({"url": "./skeleton", "targetPath": target}));
        assert_outside(FetchPlainAction.handle(&mut ctx).await);
        let mut ctx = h.context(json!({"url": "./skeleton", "targetPath": target}));
        assert_outside(template_action().handle(&mut ctx).await);
        let file_target = format!("{target}/one.txt");
        let mut ctx = h.context(json!({"url": "./one.txt", "targetPath": file_target}));
        assert_outside(FetchPlainFileAction.handle(&mut ctx).await);
        let mut ctx = h.context(json!({"url": "./one.txt", "targetPath": file_target}));
        assert_outside(FetchTemplateFileAction::new(Integrations::default()).handle(&mut ctx).await);
    }
    assert_eq!(std::fs::read_dir(h.outside()).unwrap().count(), 0, "nothing was written outside");
}

#[tokio::test]
async fn backstage_fetch_template_renders_names_and_contents_and_skips_empty_names() {
    let h = Harness::new();
    h.template_file("skeleton/${{ values.name }}.txt", "Hello ${{ values.name }}, ${{ values.count }}\n");
    h.template_file("skeleton/dir-${{ values.name }}/nested.txt", "${{ values.itemList | join(',') }}");
    h.template_file("skeleton/{% if values.showDummyFile %}dummy.txt{% endif %}", "dummy");
    h.template_file("skeleton/{% if values.showDummyFile %}dummy-dir{% endif %}/inner.txt", "inner");
    h.template_file("skeleton/.dotfile", "${{ values.name }}");
    let mut ctx = h.context(json!({
        "url": "./skeleton",
        "targetPath": "./target",
        "values": {"name": "test-project", "count": 1234, "itemList": ["first", "second"], "showDummyFile": false},
    }));
    template_action().handle(&mut ctx).await.unwrap();
    assert_eq!(h.read("target/test-project.txt"), "Hello test-project, 1234\n");
    assert_eq!(h.read("target/dir-test-project/nested.txt"), "first,second");
    assert_eq!(h.read("target/.dotfile"), "test-project");
    let mut names: Vec<_> = std::fs::read_dir(h.ws("target"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [".dotfile", "dir-test-project", "test-project.txt"]);
}

#[tokio::test]
async fn backstage_fetch_template_copy_without_templating_renders_paths_only() {
    let h = Harness::new();
    h.template_file("skeleton/.unprocessed/${{ values.name }}.txt", "${{ values.name }}");
    h.template_file("skeleton/processed.txt", "${{ values.name }}");
    let mut ctx = h.context(json!({
        "url": "./skeleton",
        "values": {"name": "svc"},
        "copyWithoutTemplating": [".unprocessed"],
    }));
    template_action().handle(&mut ctx).await.unwrap();
    assert_eq!(h.read(".unprocessed/svc.txt"), "${{ values.name }}");
    assert_eq!(h.read("processed.txt"), "svc");
}

#[tokio::test]
async fn backstage_fetch_template_copy_without_render_keeps_paths_and_contents() {
    let h = Harness::new();
    h.template_file("skeleton/.github/workflows/${{ values.name }}.yaml", "name: ${{ github.ref }}");
    let mut ctx = h.context(json!({
        "url": "./skeleton",
        "values": {"name": "svc"},
        "copyWithoutRender": [".github/workflows/*"],
    }));
    template_action().handle(&mut ctx).await.unwrap();
    assert_eq!(h.read(".github/workflows/${{ values.name }}.yaml"), "name: ${{ github.ref }}");
    assert!(h.log.text().contains("[Deprecated] copyWithoutRender is deprecated"));
}

#[tokio::test]
async fn backstage_fetch_template_option_errors() {
    let h = Harness::new();
    h.template_file("skeleton/a.txt", "a");
    let cases = [
        (
            json!({"url": "./skeleton", "copyWithoutRender": ["a"], "copyWithoutTemplating": ["b"]}),
            "Fetch action input copyWithoutRender and copyWithoutTemplating can not be used at the same time",
        ),
        (
            json!({"url": "./skeleton", "copyWithoutTemplating": "a"}),
            "Fetch action input copyWithoutRender/copyWithoutTemplating must be an Array",
        ),
        (
            json!({"url": "./skeleton", "templateFileExtension": true, "cookiecutterCompat": true}),
            "Fetch action input extension incompatible with copyWithoutRender/copyWithoutTemplating and cookiecutterCompat",
        ),
    ];
    for (input, message) in cases {
        let mut ctx = h.context(input);
        let error = template_action().handle(&mut ctx).await.unwrap_err();
        assert!(matches!(error, ActionError::Input(_)));
        assert_eq!(error.to_string(), message);
        assert_eq!(error.name(), "InputError");
    }
}

#[tokio::test]
async fn backstage_fetch_template_extension_true_means_njk() {
    let h = Harness::new();
    h.template_file("skeleton/${{ values.name }}.txt.njk", "${{ values.name }}");
    h.template_file("skeleton/plain.txt", "${{ values.name }}");
    let mut ctx =
        h.context(json!({"url": "./skeleton", "values": {"name": "svc"}, "templateFileExtension": true}));
    template_action().handle(&mut ctx).await.unwrap();
    assert_eq!(h.read("svc.txt"), "svc");
    assert_eq!(h.read("plain.txt"), "${{ values.name }}");
}

#[tokio::test]
async fn backstage_fetch_template_cookiecutter_compat_uses_cookiecutter_values_and_jsonify() {
    let h = Harness::new();
    h.template_file("skeleton/{{ cookiecutter.name }}.json", "{{ cookiecutter.items | jsonify }}");
    let mut ctx = h.context(json!({
        "url": "./skeleton",
        "values": {"name": "svc", "items": ["a", "b"]},
        "cookiecutterCompat": true,
    }));
    template_action().handle(&mut ctx).await.unwrap();
    assert_eq!(h.read("svc.json"), "[\"a\",\"b\"]");
}

#[tokio::test]
async fn backstage_fetch_template_leaves_existing_files_unless_replace() {
    let h = Harness::new();
    h.template_file("skeleton/a.txt", "${{ values.v }}");
    h.workspace_file("a.txt", "existing");
    let mut ctx = h.context(json!({"url": "./skeleton", "values": {"v": "new"}}));
    template_action().handle(&mut ctx).await.unwrap();
    assert_eq!(h.read("a.txt"), "existing");
    let mut ctx = h.context(json!({"url": "./skeleton", "values": {"v": "new"}, "replace": true}));
    template_action().handle(&mut ctx).await.unwrap();
    assert_eq!(h.read("a.txt"), "new");
}

#[tokio::test]
async fn backstage_fetch_template_copies_binaries_and_links_as_is_and_keeps_modes() {
    let h = Harness::new();
    let binary = [0x89u8, b'P', b'N', b'G', 0, 1, 2, b'$', b'{', b'{', 0xff];
    h.template_file("skeleton/logo.png", binary);
    h.template_file("skeleton/run.sh", "#!/bin/sh\necho ${{ values.name }}\n");
    let script = h.template_dir().join("skeleton/run.sh");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    symlink(std::path::Path::new("run.sh"), &h.template_dir().join("skeleton/link.sh"));
    let mut ctx = h.context(json!({"url": "./skeleton", "values": {"name": "svc"}}));
    template_action().handle(&mut ctx).await.unwrap();
    assert_eq!(std::fs::read(h.ws("logo.png")).unwrap(), binary);
    assert_eq!(h.read("run.sh"), "#!/bin/sh\necho svc\n");
    assert_eq!(mode(&h.ws("run.sh")), 0o755);
    assert_eq!(std::fs::read_link(h.ws("link.sh")).unwrap(), std::path::Path::new("run.sh"));
}

#[tokio::test]
async fn portico_fetch_template_rendered_names_may_not_climb_out_of_the_target() {
    let h = Harness::new();
    h.template_file("skeleton/${{ values.name }}.txt", "x");
    let mut ctx =
        h.context(json!({"url": "./skeleton", "targetPath": "target", "values": {"name": "../../escape"}}));
    assert_outside(template_action().handle(&mut ctx).await);
    assert!(!h.dir.path().join("escape.txt").exists());
}

#[tokio::test]
async fn backstage_fetch_template_fails_the_step_on_a_template_error() {
    let h = Harness::new();
    h.template_file("skeleton/a.txt", "${{ values.name | noSuchFilter }}");
    let mut ctx = h.context(json!({"url": "./skeleton", "values": {"name": "svc"}}));
    let error = template_action().handle(&mut ctx).await.unwrap_err();
    assert!(matches!(error, ActionError::Template { .. }), "{error}");
    assert!(error.to_string().starts_with("Could not render a.txt"), "{error}");
}

#[tokio::test]
async fn backstage_fetch_template_file_renders_one_file_and_keeps_existing_ones() {
    let h = Harness::new();
    h.template_file("files/readme.md", "# ${{ values.name }}\n");
    let action = FetchTemplateFileAction::new(Integrations::default());
    let mut ctx = h.context(
        json!({"url": "./files/readme.md", "targetPath": "docs/README.md", "values": {"name": "svc"}}),
    );
    action.handle(&mut ctx).await.unwrap();
    assert_eq!(h.read("docs/README.md"), "# svc\n");
    let mut ctx = h.context(
        json!({"url": "./files/readme.md", "targetPath": "docs/README.md", "values": {"name": "other"}}),
    );
    action.handle(&mut ctx).await.unwrap();
    assert_eq!(h.read("docs/README.md"), "# svc\n");
    assert!(h.log.text().contains("File docs/README.md already exists in workspace, not replacing."));
}

/// The springboot demo template's skeleton (folder names from values, `{%- %}` blocks, a
/// `.sh` named after a value) renders like Backstage would.
#[tokio::test]
async fn backstage_fetch_template_renders_the_springboot_demo_skeleton() {
    let h = Harness::new();
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../demo/templates/springboot-grpc-template");
    let mut ctx = h.context(json!({
        "url": "./skeleton",
        "values": {
            "component_id": "greeter", "description": "Says hello", "artifact_id": "greeter",
            "java_package_name": "greeter", "owner": "group:default/team",
            "destination": {"host": "github.com", "owner": "acme", "repo": "greeter"}, "http_port": 8080,
        },
    }));
    let base = url::Url::from_file_path(demo.canonicalize().unwrap().join("template.yaml")).unwrap();
    ctx.template_info.base_url = Some(base.into());
    template_action().handle(&mut ctx).await.unwrap();
    assert!(h.ws("greeter.sh").is_file());
    assert!(h.ws("src/main/java/com/example/greeter/Application.java").is_file());
    let catalog_info = h.read("catalog-info.yaml");
    assert!(
        catalog_info.contains("  name: \"greeter\"\n  description: \"Says hello\"\n  annotations:\n"),
        "{catalog_info}"
    );
    assert!(catalog_info.contains("github.com/project-slug: acme/greeter\n"), "{catalog_info}");
    assert!(catalog_info.contains("owner: \"group:default/team\""), "{catalog_info}");
}
