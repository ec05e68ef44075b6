use std::time::{Duration, Instant};

use portico_scaffolder::actions::{DebugLogAction, DebugWaitAction};
use portico_scaffolder::api::{Action, ActionError, Secrets};
use serde_json::json;

use crate::support::Harness;

#[tokio::test]
async fn backstage_debug_log_writes_the_input_the_message_and_the_workspace_listing() {
    let h = Harness::new();
    h.workspace_file("README.md", "# Demo\nsecond line\n");
    h.workspace_file("src/main.rs", "fn main() {}\n");
    let mut ctx = h.context(json!({"message": "Creating demo", "listWorkspace": true, "extra": {"a": 1}}));
    DebugLogAction.handle(&mut ctx).await.unwrap();
    let lines = h.log.lines();
    let input: serde_json::Value = serde_json::from_str(&lines[0].message).unwrap();
    assert_eq!(input["extra"]["a"], 1);
    assert_eq!(lines[1].message, "Creating demo");
    assert_eq!(lines[2].message, "Workspace:\n  - README.md\n  - src/main.rs");
}

#[tokio::test]
async fn backstage_debug_log_lists_contents_on_request() {
    let h = Harness::new();
    h.workspace_file("README.md", "# Demo\nsecond line\n");
    let mut ctx = h.context(json!({"listWorkspace": "with-contents"}));
    DebugLogAction.handle(&mut ctx).await.unwrap();
    assert!(
        h.log.text().contains("Workspace:\n  - README.md\n    # Demo\n    second line"),
        "{}",
        h.log.text()
    );
    let mut ctx = h.context(json!({"listWorkspace": "sideways"}));
    assert!(matches!(DebugLogAction.handle(&mut ctx).await, Err(ActionError::Input(_))));
}

#[tokio::test]
async fn backstage_secrets_are_masked_in_action_logs() {
    let h = Harness::new();
    let secrets = Secrets::from([("NPM_TOKEN".to_owned(), "npm_s3cr3t_value".to_owned())]);
    let mut ctx = h
        .context(json!({"message": "token is npm_s3cr3t_value", "extra": "npm_s3cr3t_value"}))
        .with_secrets(secrets);
    DebugLogAction.handle(&mut ctx).await.unwrap();
    let text = h.log.text();
    assert!(!text.contains("npm_s3cr3t_value"), "{text}");
    assert!(text.contains("token is ***"), "{text}");
    assert_eq!(ctx.secrets()["NPM_TOKEN"], "npm_s3cr3t_value");
}

#[tokio::test]
async fn backstage_debug_wait_sleeps_for_the_given_time() {
    let h = Harness::new();
    let mut ctx = h.context(json!({"milliseconds": 60}));
    let started = Instant::now();
    DebugWaitAction::default().handle(&mut ctx).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(60));
}

#[tokio::test]
async fn backstage_debug_wait_refuses_waits_over_the_maximum() {
    let h = Harness::new();
    let mut ctx = h.context(json!({"minutes": 1}));
    let error = DebugWaitAction::default().handle(&mut ctx).await.unwrap_err();
    assert_eq!(error.to_string(), "Waiting duration is longer than the maximum threshold of 30 seconds");
    let mut ctx = h.context(json!({"seconds": 3}));
    let error = DebugWaitAction::new(Duration::from_secs(2)).handle(&mut ctx).await.unwrap_err();
    assert_eq!(error.to_string(), "Waiting duration is longer than the maximum threshold of 2 seconds");
}

#[tokio::test]
async fn backstage_debug_wait_honours_cancellation() {
    let h = Harness::new();
    let mut ctx = h.context(json!({"seconds": 25}));
    let cancel = ctx.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let result = DebugWaitAction::default().handle(&mut ctx).await;
    assert!(matches!(result, Err(ActionError::Cancelled)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
