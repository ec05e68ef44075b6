use portico_scaffolder::actions::{CatalogWriteAction, FetchPlainAction, FetchTemplateAction};
use portico_scaffolder::api::{Action, ActionError};
use portico_scaffolder::filters::Integrations;
use portico_scaffolder::workspace::{WorkspaceError, WorkspaceLimits};
use serde_json::json;

use crate::support::Harness;

#[tokio::test]
async fn portico_workspace_limit_on_files_fails_with_a_clear_error() {
    let h = Harness::with_limits(WorkspaceLimits { max_files: 3, max_bytes: 1024 * 1024 });
    for index in 0..5 {
        h.template_file(&format!("skeleton/file-{index}.txt"), "x");
    }
    let mut ctx = h.context(json!({"url": "./skeleton"}));
    let error = FetchPlainAction.handle(&mut ctx).await.unwrap_err();
    assert!(matches!(error, ActionError::Workspace(WorkspaceError::TooManyFiles { limit: 3 })), "{error}");
    assert_eq!(
        error.to_string(),
        "Workspace limit exceeded: a task may write at most 3 files (scaffolder.workspace.maxFiles)"
    );
    let written = std::fs::read_dir(h.workspace.root()).unwrap().count();
    assert_eq!(written, 3, "writing stops at the limit");
}

#[tokio::test]
async fn portico_workspace_limit_on_bytes_counts_across_steps() {
    let h = Harness::with_limits(WorkspaceLimits { max_files: 100, max_bytes: 100 });
    h.template_file("skeleton/a.txt", "${{ values.text }}");
    let mut ctx = h.context(json!({"url": "./skeleton", "values": {"text": "x".repeat(60)}}));
    FetchTemplateAction::new(Integrations::default()).handle(&mut ctx).await.unwrap();
    // The second step draws on the same budget: 60 + ~70 bytes is over 100.
    let mut ctx =
        h.context(json!({"entity": {"kind": "Component", "metadata": {"description": "y".repeat(50)}}}));
    let error = CatalogWriteAction.handle(&mut ctx).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "Workspace limit exceeded: a task may write at most 100 bytes (scaffolder.workspace.maxBytes)"
    );
    assert!(!h.ws("catalog-info.yaml").exists());
    assert_eq!(h.workspace.usage().files, 1);
}
