//! The task runner end to end: real templates (the demo templates among them), real workspaces,
//! a real bare git repository, and small test actions that record what they were given.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use portico_model::yaml::{YamlLimits, parse_documents};
use portico_scaffolder::api::{
    Action, ActionContext, ActionError, ActionRegistry, ActionSchema, Secrets, TaskUser, TemplateInfo,
};
use portico_scaffolder::config::{ActionsConfig, GitAuthor};
use portico_scaffolder::runner::{
    MemoryEvents, RunOptions, TaskEvent, TaskEventType, TaskResult, TaskSpec, TaskStatus, run_task,
};
use portico_scaffolder::workspace::{Workspace, WorkspaceLimits};
use serde_json::{Value, json};

use crate::git::{bare_repository, clone, git};

const DEMO_TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/templates");

/// Records the input of every run; outputs `value` = `input.foo`. Requires a string `foo`.
struct Echo {
    calls: Arc<Mutex<Vec<Value>>>,
}

#[async_trait]
impl Action for Echo {
    fn id(&self) -> &str {
        "test:echo"
    }

    fn description(&self) -> &str {
        "Echoes foo."
    }

    fn schema(&self) -> ActionSchema {
        ActionSchema {
            input: json!({
                "type": "object",
                "required": ["foo"],
                "properties": {"foo": {"type": "string"}, "count": {"type": "number"}},
            }),
            output: json!({"type": "object", "properties": {"value": {"type": "string"}}}),
        }
    }

    fn supports_dry_run(&self) -> bool {
        true
    }

    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        self.calls.lock().expect("calls").push(Value::Object(ctx.input.clone()));
        ctx.logger.info(format!("echo {}", ctx.input["foo"].as_str().unwrap_or_default()));
        let value = ctx.input["foo"].clone();
        ctx.output("value", value);
        Ok(())
    }
}

/// Always fails with a conflict.
struct Fail;

#[async_trait]
impl Action for Fail {
    fn id(&self) -> &str {
        "test:fail"
    }

    fn description(&self) -> &str {
        "Fails."
    }

    fn schema(&self) -> ActionSchema {
        ActionSchema { input: json!({"type": "object"}), output: json!({"type": "object"}) }
    }

    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        ctx.logger.info("about to fail");
        Err(ActionError::Conflict("The repository already exists".into()))
    }
}

struct Setup {
    dir: tempfile::TempDir,
    registry: ActionRegistry,
    calls: Arc<Mutex<Vec<Value>>>,
    events: Arc<MemoryEvents>,
}

impl Setup {
    fn new() -> Self {
        let config = ActionsConfig {
            default_author: GitAuthor { name: "Portico Bot".into(), email: "bot@portico.example".into() },
            ..ActionsConfig::default()
        };
        let mut registry = ActionRegistry::with_builtins(&config).expect("built-ins");
        let calls = Arc::new(Mutex::new(Vec::new()));
        registry.register(Arc::new(Echo { calls: calls.clone() })).expect("echo");
        registry.register(Arc::new(Fail)).expect("fail");
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
            registry,
            calls,
            events: Arc::new(MemoryEvents::new()),
        }
    }

    fn workspace_root(&self) -> PathBuf {
        self.dir.path().join("workspace")
    }

    fn calls(&self) -> Vec<Value> {
        self.calls.lock().expect("calls").clone()
    }

    async fn run(&self, spec: &TaskSpec, options: RunOptions) -> TaskResult {
        let workspace =
            Workspace::open(&self.workspace_root(), WorkspaceLimits::default()).expect("workspace");
        run_task(spec, &self.registry, workspace, self.events.clone(), options).await
    }

    fn events(&self) -> Vec<TaskEvent> {
        self.events.events()
    }

    /// Every event body as JSON, in order.
    fn bodies(&self) -> Vec<Value> {
        self.events().iter().map(|event| event.body.to_json()).collect()
    }

    fn messages(&self) -> Vec<String> {
        self.events().into_iter().map(|event| event.body.message).collect()
    }

    /// `(stepId, status)` of every state change.
    fn transitions(&self) -> Vec<(String, String)> {
        self.bodies()
            .iter()
            .filter_map(|body| {
                Some((body["stepId"].as_str()?.to_owned(), body.get("status")?.as_str()?.to_owned()))
            })
            .collect()
    }
}

fn template(steps: Value, output: Value) -> Value {
    json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "test"},
        "spec": {"type": "service", "steps": steps, "output": output},
    })
}

fn task(steps: Value, output: Value, parameters: Value) -> TaskSpec {
    TaskSpec::from_template("task-1", &template(steps, output), parameters).expect("spec")
}

fn load_template(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("template file");
    let mut documents = parse_documents(&text, &YamlLimits::default());
    documents.remove(0).expect("valid YAML").value
}

fn file_url(path: &Path) -> String {
    url::Url::from_file_path(path).expect("file url").to_string()
}

fn transition(step: &str, status: &str) -> (String, String) {
    (step.to_owned(), status.to_owned())
}

#[tokio::test]
async fn backstage_demo_template_with_conditional_output_runs_end_to_end() {
    let s = Setup::new();
    let path = Path::new(DEMO_TEMPLATES).join("conditional-output-demo/template.yaml");
    let spec = TaskSpec::from_template(
        "task-1",
        &load_template(&path),
        json!({"name": "payments", "enableCI": "No", "showDetails": true}),
    )
    .expect("spec");
    let result = s.run(&spec, RunOptions::default()).await;

    assert_eq!(result.status, TaskStatus::Completed, "{:?}", result.error);
    assert_eq!(
        result.output,
        Some(json!({
            "links": [{"title": "Backstage Homepage", "url": "https://backstage.io"}],
            "text": [
                {"title": "Summary", "content": "**Component:** `payments`\n"},
                {"title": "CI Details", "content": "**CI enabled:** No\n"},
            ],
        }))
    );
    let messages = s.messages();
    assert_eq!(messages.first().map(String::as_str), Some("Starting up task with 1 steps"));
    assert!(messages.contains(&"Creating payments".to_owned()), "{messages:?}");
    assert_eq!(s.transitions(), vec![transition("log", "processing"), transition("log", "completed")]);
    let completion = s.events().pop().expect("completion");
    assert_eq!(completion.event_type, TaskEventType::Completion);
    assert_eq!(completion.body.message, "Run completed with status: completed");
    assert_eq!(completion.body.output, result.output);
    // Each action log line is tagged with its step.
    let line = s.bodies().into_iter().find(|body| body["message"] == "Creating payments").expect("log line");
    assert_eq!(line, json!({"message": "Creating payments", "stepId": "log"}));
}

#[tokio::test]
async fn backstage_demo_skeleton_is_fetched_and_published_to_a_bare_repository() {
    let s = Setup::new();
    let path = Path::new(DEMO_TEMPLATES).join("gin-golan-template/template.yaml");
    let mut entity = load_template(&path);
    let remote = bare_repository(s.dir.path(), "orders.git");
    // The demo publishes to GitHub; here the fetched skeleton goes to a local repository.
    let mut fetch = entity["spec"]["steps"][0].clone();
    // The skeleton's catalog-info.yaml reads `values.destination`, which the demo never passes
    // (Backstage's engine renders it as `undefined/undefined`); give it a real one.
    fetch["input"]["values"]["destination"] = json!({"owner": "acme", "repo": "orders"});
    entity["spec"]["steps"] = json!([
        fetch,
        {"id": "publish", "name": "Publish", "action": "publish:git",
         "input": {"remoteUrl": "${{ parameters.remote }}", "defaultBranch": "main",
                   "gitCommitMessage": "Create ${{ parameters.component_id }}"}},
    ]);
    let mut spec = TaskSpec::from_template(
        "task-7",
        &entity,
        json!({
            "component_id": "orders",
            "module": "github.com/acme/orders",
            "go_version": 1.23,
            "description": "Order service",
            "owner": "group:default/team-a",
            "port": ":8080",
            "remote": remote.to_str().expect("utf-8 path"),
        }),
    )
    .expect("spec");
    spec.template_info.base_url = Some(file_url(&path));
    let result = s.run(&spec, RunOptions::default()).await;

    assert_eq!(result.status, TaskStatus::Completed, "{:?} {:?}", result.error, s.messages());
    let checkout = clone(&remote, "main");
    let catalog_info = std::fs::read_to_string(checkout.join("catalog-info.yaml")).expect("catalog-info");
    assert!(catalog_info.contains("name: \"orders\""), "{catalog_info}");
    assert!(catalog_info.contains("description: \"Order service\""), "{catalog_info}");
    assert!(catalog_info.contains("owner: \"group:default/team-a\""), "{catalog_info}");
    assert!(catalog_info.contains("github.com/project-slug: acme/orders"), "{catalog_info}");
    let go_mod = std::fs::read_to_string(checkout.join("go.mod")).expect("go.mod");
    assert!(go_mod.contains("github.com/acme/orders"), "{go_mod}");
    assert_eq!(git(&checkout, &["log", "-1", "--format=%s"]), "Create orders");
    assert_eq!(result.step_outputs["publish"]["commitHash"], git(&checkout, &["rev-parse", "HEAD"]).as_str());
    // The demo's output links the published repository; the register step did not run here, so
    // its entity reference is dropped.
    let remote_url = file_url(&remote);
    assert_eq!(
        result.output,
        Some(
            json!({"links": [{"title": "Repository", "url": remote_url}, {"title": "Open in catalog", "icon": "catalog"}]})
        )
    );
    assert_eq!(
        s.transitions(),
        vec![
            transition("template", "processing"),
            transition("template", "completed"),
            transition("publish", "processing"),
            transition("publish", "completed"),
        ]
    );
}

#[tokio::test]
async fn backstage_if_false_skips_the_step_and_its_outputs_are_undefined() {
    let s = Setup::new();
    let spec = task(
        json!([
            {"id": "maybe", "action": "test:echo", "if": "${{ parameters.enabled }}", "input": {"foo": "x"}},
            {"id": "never", "action": "test:echo", "if": false, "input": {"foo": "y"}},
            {"id": "always", "action": "test:echo", "if": "${{ parameters.name }}", "input": {"foo": "z"}},
        ]),
        json!({"skipped": "${{ steps.maybe.output.value }}", "ran": "${{ steps.always.output.value }}"}),
        json!({"enabled": false, "name": "false"}),
    );
    let result = s.run(&spec, RunOptions::default()).await;

    assert_eq!(result.status, TaskStatus::Completed);
    assert_eq!(result.output, Some(json!({"ran": "z"})));
    assert_eq!(s.calls(), vec![json!({"foo": "z"})]);
    assert_eq!(
        s.transitions(),
        vec![
            transition("maybe", "skipped"),
            transition("never", "skipped"),
            transition("always", "processing"),
            transition("always", "completed"),
        ]
    );
    assert!(s.messages().contains(&"Skipping step maybe because its if condition was false".to_owned()));
    assert!(!result.step_outputs.contains_key("maybe"));
}

#[tokio::test]
async fn backstage_each_runs_once_per_item_and_collects_outputs() {
    let s = Setup::new();
    let spec = task(
        json!([
            {"id": "colors", "action": "test:echo", "each": "${{ parameters.colors }}",
             "input": {"foo": "${{ each.key }}:${{ each.value }}"}},
            {"id": "owners", "action": "test:echo", "each": {"alpha": {"team": "a"}, "beta": {"team": "b"}},
             "input": {"foo": "${{ each.key }}=${{ each.value.team }}"}},
        ]),
        json!({"colors": "${{ steps.colors.output.value }}", "owners": "${{ steps.owners.output.value }}"}),
        json!({"colors": ["blue", "green"]}),
    );
    let result = s.run(&spec, RunOptions::default()).await;

    assert_eq!(result.status, TaskStatus::Completed, "{:?}", result.error);
    assert_eq!(
        result.output,
        Some(json!({"colors": ["0:blue", "1:green"], "owners": ["alpha=a", "beta=b"]}))
    );
    assert_eq!(s.calls().len(), 4);
    let messages = s.messages();
    assert!(
        messages.contains(&r#"Running step each: {"key":"0","value":"blue"}"#.to_owned()),
        "{messages:?}"
    );
    assert!(
        messages.contains(&r#"Running step each: {"key":"alpha","value":"[object Object]"}"#.to_owned()),
        "{messages:?}"
    );
}

#[tokio::test]
async fn backstage_step_outputs_and_context_feed_later_steps() {
    let s = Setup::new();
    let mut spec = task(
        json!([
            {"id": "first-step", "action": "test:echo", "input": {"foo": "${{ parameters.name | lower }}"}},
            {"id": "second", "action": "test:echo",
             "input": {"foo": "${{ steps['first-step'].output.value }}-${{ context.task.id }}-${{ user.ref }}",
                       "count": "${{ parameters.count }}"}},
        ]),
        json!({"final": "${{ steps.second.output.value | upper }}", "count": "${{ parameters.count }}"}),
        json!({"name": "Payments", "count": 0}),
    );
    spec.user = Some(TaskUser { entity_ref: "user:default/jane".into(), entity: None });
    let result = s.run(&spec, RunOptions::default()).await;

    assert_eq!(result.status, TaskStatus::Completed, "{:?}", result.error);
    assert_eq!(s.calls()[1], json!({"foo": "payments-task-1-user:default/jane", "count": 0}));
    assert_eq!(result.output, Some(json!({"final": "PAYMENTS-TASK-1-USER:DEFAULT/JANE", "count": 0})));
}

#[tokio::test]
async fn backstage_a_failing_step_stops_the_task() {
    let s = Setup::new();
    let spec = task(
        json!([
            {"id": "before", "action": "test:echo", "input": {"foo": "a"}},
            {"id": "boom", "name": "Create repository", "action": "test:fail"},
            {"id": "after", "action": "test:echo", "input": {"foo": "b"}},
        ]),
        json!({"text": "never rendered"}),
        json!({}),
    );
    let result = s.run(&spec, RunOptions::default()).await;

    assert_eq!(result.status, TaskStatus::Failed);
    assert_eq!(result.output, None);
    let error = result.error.expect("error");
    assert_eq!(
        (error.name.as_str(), error.message.as_str()),
        ("ConflictError", "The repository already exists")
    );
    assert_eq!(s.calls(), vec![json!({"foo": "a"})]);
    assert_eq!(
        s.transitions(),
        vec![
            transition("before", "processing"),
            transition("before", "completed"),
            transition("boom", "processing"),
            transition("boom", "failed"),
        ]
    );
    let completion = s.bodies().pop().expect("completion");
    assert_eq!(
        completion,
        json!({"message": "Run completed with status: failed",
               "error": {"name": "ConflictError", "message": "The repository already exists"}})
    );
}

#[tokio::test]
async fn backstage_invalid_input_is_refused_before_the_action_runs() {
    let s = Setup::new();
    let spec =
        task(json!([{"id": "echo", "action": "test:echo", "input": {"count": 1}}]), json!({}), json!({}));
    let result = s.run(&spec, RunOptions::default()).await;
    let error = result.error.expect("error");
    assert_eq!(error.name, "InputError");
    assert_eq!(
        error.message,
        r#"Invalid input passed to action test:echo, instance requires property "foo""#
    );
    assert!(s.calls().is_empty());

    // With `each`, every iteration is checked before any runs; the message names the iteration.
    let s = Setup::new();
    let spec = task(
        json!([{"id": "echo", "action": "test:echo", "each": [{"foo": "x"}, {"bar": "y"}],
                "input": {"foo": "${{ each.value.foo }}"}}]),
        json!({}),
        json!({}),
    );
    let result = s.run(&spec, RunOptions::default()).await;
    assert_eq!(
        result.error.expect("error").message,
        r#"Invalid input passed to action test:echo[1], instance requires property "foo""#
    );
    assert!(s.calls().is_empty());

    let s = Setup::new();
    let spec = task(
        json!([{"id": "echo", "action": "test:echo", "input": {"foo": "x", "count": "${{ parameters.count }}"}}]),
        json!({}),
        json!({"count": "many"}),
    );
    let result = s.run(&spec, RunOptions::default()).await;
    assert_eq!(
        result.error.expect("error").message,
        "Invalid input passed to action test:echo, instance.count is not of a type(s) number"
    );
}

#[tokio::test]
async fn backstage_unknown_action_fails_the_step() {
    let s = Setup::new();
    let spec = task(json!([{"id": "x", "action": "publish:nowhere"}]), json!({}), json!({}));
    let error = s.run(&spec, RunOptions::default()).await.error.expect("error");
    assert_eq!(error.name, "NotFoundError");
    assert_eq!(error.message, "Template action with ID 'publish:nowhere' is not registered.");
}

#[tokio::test]
async fn backstage_secrets_reach_inputs_but_are_masked_and_kept_out_of_outputs() {
    let s = Setup::new();
    let spec = task(
        json!([
            {"id": "log", "action": "debug:log", "input": {"message": "token ${{ secrets.TOKEN }} in use"}},
            {"id": "echo", "action": "test:echo", "input": {"foo": "${{ secrets.TOKEN }}"}},
        ]),
        json!({"leak": "${{ secrets.TOKEN }}", "echoed": "${{ steps.echo.output.value | length }}"}),
        json!({}),
    )
    .with_secrets(Secrets::from([("TOKEN".to_owned(), "s3cr3t-t0ken".to_owned())]));
    let result = s.run(&spec, RunOptions::default()).await;

    assert_eq!(result.status, TaskStatus::Completed, "{:?}", result.error);
    assert_eq!(s.calls(), vec![json!({"foo": "s3cr3t-t0ken"})]);
    assert_eq!(result.output, Some(json!({"echoed": 12})));
    let messages = s.messages();
    assert!(messages.contains(&"token *** in use".to_owned()), "{messages:?}");
    assert!(messages.contains(&"echo ***".to_owned()), "{messages:?}");
    let all = serde_json::to_string(&s.bodies()).expect("json");
    assert!(!all.contains("s3cr3t-t0ken"), "{all}");
}

#[tokio::test]
async fn backstage_dry_run_skips_publish_and_returns_fake_outputs_and_the_files() {
    let s = Setup::new();
    let template_dir = s.dir.path().join("template");
    std::fs::create_dir_all(template_dir.join("skeleton/bin")).expect("skeleton");
    std::fs::write(template_dir.join("template.yaml"), "kind: Template\n").expect("template");
    std::fs::write(template_dir.join("skeleton/README.md"), "# ${{ values.name }}\n").expect("readme");
    std::fs::write(template_dir.join("skeleton/bin/run.sh"), "#!/bin/sh\n").expect("script");
    set_executable(&template_dir.join("skeleton/bin/run.sh"));
    let remote = s.dir.path().join("never.git");
    let mut spec = task(
        json!([
            {"id": "fetch", "action": "fetch:template",
             "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}}},
            {"id": "publish", "action": "publish:git",
             "input": {"remoteUrl": "${{ parameters.remote }}", "gitAuthorName": "${{ secrets.AUTHOR }}"}},
            {"id": "log", "action": "debug:log", "input": {"message": "pushed ${{ steps.publish.output.remoteUrl }}"}},
        ]),
        json!({"links": [{"title": "Repository", "url": "${{ steps.publish.output.remoteUrl }}"}]}),
        json!({"name": "demo", "remote": remote.to_str().expect("utf-8 path")}),
    )
    .with_secrets(Secrets::from([("AUTHOR".to_owned(), "Secret Author".to_owned())]));
    spec.template_info = TemplateInfo {
        entity_ref: Some("template:default/dry-run".into()),
        base_url: Some(file_url(&template_dir.join("template.yaml"))),
    };
    let result = s.run(&spec, RunOptions { dry_run: true, ..RunOptions::default() }).await;

    assert_eq!(result.status, TaskStatus::Completed, "{:?} {:?}", result.error, s.messages());
    assert!(!remote.exists(), "nothing was pushed");
    let faked = &result.step_outputs["publish"];
    let remote_url = faked["remoteUrl"].as_str().expect("faked remoteUrl").to_owned();
    assert!(!remote_url.is_empty());
    assert_eq!(result.output, Some(json!({"links": [{"title": "Repository", "url": remote_url}]})));
    let messages = s.messages();
    assert!(messages.contains(&format!("pushed {remote_url}")), "{messages:?}");
    let skip = s
        .bodies()
        .into_iter()
        .find(|body| body["message"] == "Skipping because publish:git does not support dry-run")
        .expect("skip line");
    assert_eq!(skip["stepId"], "publish");
    assert_eq!(skip["status"], "skipped");
    let shown = messages
        .iter()
        .find(|message| {
            message.starts_with("Running publish:git in dry-run mode with inputs (secrets redacted): ")
        })
        .expect("input line");
    assert!(shown.contains(r#""gitAuthorName": "***""#), "{shown}");

    let files = result.files.expect("files");
    let listed: Vec<(&str, bool)> = files.iter().map(|file| (file.path.as_str(), file.executable)).collect();
    assert_eq!(listed, vec![("README.md", false), ("bin/run.sh", true)]);
    let readme = base64::engine::general_purpose::STANDARD.decode(&files[0].base64_content).expect("base64");
    assert_eq!(readme, b"# demo\n");
}

#[tokio::test]
async fn portico_cancelling_stops_the_running_action_and_later_steps() {
    let s = Setup::new();
    let spec = task(
        json!([
            {"id": "wait", "name": "Wait", "action": "debug:wait", "input": {"seconds": 25}},
            {"id": "after", "action": "test:echo", "input": {"foo": "b"}},
        ]),
        json!({}),
        json!({}),
    );
    let options = RunOptions::default();
    let cancel = options.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let result = s.run(&spec, options).await;

    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(result.status, TaskStatus::Cancelled);
    assert_eq!(result.error.expect("error").message, "Step wait (Wait) of task task-1 has been cancelled.");
    assert!(s.calls().is_empty());
    let cancelled = s
        .events()
        .into_iter()
        .find(|event| event.event_type == TaskEventType::Cancelled)
        .expect("cancelled event");
    assert_eq!(
        cancelled.body.to_json(),
        json!({"message": "Step wait has been cancelled.", "stepId": "wait", "status": "cancelled"})
    );

    // A task cancelled before it starts runs nothing.
    let s = Setup::new();
    let options = RunOptions::default();
    options.cancel.cancel();
    let result = s.run(&spec, options).await;
    assert_eq!(result.status, TaskStatus::Cancelled);
    assert!(s.transitions().iter().all(|(_, status)| status == "cancelled"));
}

#[cfg(unix)]
fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
