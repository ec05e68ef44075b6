use portico_scaffolder::actions::{FsDeleteAction, FsRenameAction};
use portico_scaffolder::api::{Action, ActionError};
use serde_json::json;

use crate::support::{Harness, assert_outside, symlink};

fn harness_with_files() -> Harness {
    let h = Harness::new();
    h.workspace_file("unit-test-a.js", "hello");
    h.workspace_file("unit-test-b.js", "world");
    h.workspace_file("a-folder/unit-test-in-a-folder.js2", "content");
    h
}

#[tokio::test]
async fn backstage_fs_delete_rejects_files_that_are_not_an_array() {
    let h = harness_with_files();
    for files in [None, Some(json!({})), Some(json!("")), Some(json!(null))] {
        let input = match files {
            Some(files) => json!({ "files": files }),
            None => json!({}),
        };
        let mut ctx = h.context(input);
        let error = FsDeleteAction.handle(&mut ctx).await.unwrap_err();
        assert_eq!(error.to_string(), "files must be an Array");
        assert_eq!(error.name(), "InputError");
    }
}

#[tokio::test]
async fn backstage_fs_delete_refuses_paths_outside_the_workspace() {
    let h = harness_with_files();
    std::fs::write(h.outside().join("index.js"), "keep").unwrap();
    symlink(&h.outside(), &h.ws("escape"));
    symlink(std::path::Path::new("/etc"), &h.ws("etc"));
    for file in [
        "/foo/../../../index.js",
        "../../../index.js",
        "../../../**/index.js",
        "escape/index.js",
        "escape",
        "etc/portico-does-not-exist",
    ] {
        let mut ctx = h.context(json!({ "files": [file] }));
        assert_outside(FsDeleteAction.handle(&mut ctx).await);
    }
    assert_eq!(std::fs::read_to_string(h.outside().join("index.js")).unwrap(), "keep");
}

#[tokio::test]
async fn backstage_fs_delete_deletes_files_and_folders() {
    let h = harness_with_files();
    let mut ctx = h.context(json!({ "files": ["unit-test-a.js", "a-folder", "missing.txt"] }));
    FsDeleteAction.handle(&mut ctx).await.unwrap();
    assert!(!h.ws("unit-test-a.js").exists());
    assert!(!h.ws("a-folder").exists());
    assert!(h.ws("unit-test-b.js").exists());
}

#[tokio::test]
async fn backstage_fs_delete_supports_wildcards() {
    let h = harness_with_files();
    h.workspace_file(".unit-hidden.js", "dot");
    let mut ctx = h.context(json!({ "files": ["unit-*.js"] }));
    FsDeleteAction.handle(&mut ctx).await.unwrap();
    assert!(!h.ws("unit-test-a.js").exists());
    assert!(!h.ws("unit-test-b.js").exists());
    // `*` stays within one folder, and dot files need a pattern naming them.
    assert!(h.ws("a-folder/unit-test-in-a-folder.js2").exists());
    assert!(h.ws(".unit-hidden.js").exists());
    let mut ctx = h.context(json!({ "files": ["**/*.js2"] }));
    FsDeleteAction.handle(&mut ctx).await.unwrap();
    assert!(!h.ws("a-folder/unit-test-in-a-folder.js2").exists());
}

#[tokio::test]
async fn backstage_fs_delete_accepts_windows_style_paths() {
    let h = harness_with_files();
    let mut ctx = h.context(json!({ "files": [".\\unit-test-a.js", ".\\unit-test-b.js"] }));
    FsDeleteAction.handle(&mut ctx).await.unwrap();
    assert!(!h.ws("unit-test-a.js").exists());
    assert!(!h.ws("unit-test-b.js").exists());
}

#[tokio::test]
async fn portico_fs_delete_removes_a_link_not_its_target() {
    let h = harness_with_files();
    symlink(std::path::Path::new("unit-test-b.js"), &h.ws("link.js"));
    let mut ctx = h.context(json!({ "files": ["link.js"] }));
    FsDeleteAction.handle(&mut ctx).await.unwrap();
    assert!(std::fs::symlink_metadata(h.ws("link.js")).is_err());
    assert_eq!(h.read("unit-test-b.js"), "world");
}

#[tokio::test]
async fn backstage_fs_rename_moves_files_and_folders() {
    let h = harness_with_files();
    let mut ctx = h.context(json!({ "files": [
        {"from": "unit-test-a.js", "to": "renamed/a.js"},
        {"from": "a-folder", "to": "b-folder"},
    ] }));
    FsRenameAction.handle(&mut ctx).await.unwrap();
    assert_eq!(h.read("renamed/a.js"), "hello");
    assert_eq!(h.read("b-folder/unit-test-in-a-folder.js2"), "content");
    assert!(!h.ws("unit-test-a.js").exists());
    assert!(!h.ws("a-folder").exists());
}

#[tokio::test]
async fn backstage_fs_rename_needs_from_and_to() {
    let h = harness_with_files();
    for files in [json!([{"from": "unit-test-a.js"}]), json!([{"to": "x"}]), json!([{"from": "", "to": "x"}])]
    {
        let mut ctx = h.context(json!({ "files": files }));
        let error = FsRenameAction.handle(&mut ctx).await.unwrap_err();
        assert_eq!(error.to_string(), "each file must have a from and to property");
    }
    let mut ctx = h.context(json!({ "files": "x" }));
    assert_eq!(FsRenameAction.handle(&mut ctx).await.unwrap_err().to_string(), "files must be an Array");
}

#[tokio::test]
async fn backstage_fs_rename_refuses_an_existing_target_without_overwrite() {
    let h = harness_with_files();
    let mut ctx = h.context(json!({ "files": [{"from": "unit-test-a.js", "to": "unit-test-b.js"}] }));
    let error = FsRenameAction.handle(&mut ctx).await.unwrap_err();
    assert!(matches!(error, ActionError::Conflict(_)), "{error}");
    assert!(error.to_string().contains("dest already exists"), "{error}");
    assert_eq!(h.read("unit-test-a.js"), "hello");
    assert_eq!(h.read("unit-test-b.js"), "world");

    let mut ctx = h
        .context(json!({ "files": [{"from": "unit-test-a.js", "to": "unit-test-b.js", "overwrite": true}] }));
    FsRenameAction.handle(&mut ctx).await.unwrap();
    assert_eq!(h.read("unit-test-b.js"), "hello");
    assert!(!h.ws("unit-test-a.js").exists());
}

#[tokio::test]
async fn backstage_fs_rename_refuses_paths_outside_the_workspace() {
    let h = harness_with_files();
    std::fs::write(h.outside().join("outside.txt"), "keep").unwrap();
    symlink(&h.outside(), &h.ws("escape"));
    symlink(std::path::Path::new("/etc"), &h.ws("etc"));
    let cases = [
        ("../outside.txt", "inside.txt"),
        ("unit-test-a.js", "../moved.js"),
        ("/etc/hostname", "inside.txt"),
        ("unit-test-a.js", "/tmp/portico-moved.js"),
        ("escape/outside.txt", "inside.txt"),
        ("unit-test-a.js", "escape/moved.js"),
        ("unit-test-a.js", "etc/portico-moved.js"),
    ];
    for (from, to) in cases {
        let mut ctx = h.context(json!({ "files": [{"from": from, "to": to}] }));
        assert_outside(FsRenameAction.handle(&mut ctx).await);
    }
    assert_eq!(h.read("unit-test-a.js"), "hello");
    assert_eq!(std::fs::read_to_string(h.outside().join("outside.txt")).unwrap(), "keep");
}
