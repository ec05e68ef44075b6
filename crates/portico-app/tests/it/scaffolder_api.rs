//! `/api/scaffolder` through the whole app: templates from the catalog, validated values,
//! durable tasks run by the workers, their event log and stream, cancel, retry, recovery
//! after a restart, and dry runs.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use base64::Engine;
use portico_testkit::{TestApp, TestDatabase, write_file};
use serde_json::{Value, json};

const CONFIG: &str = "catalog:
  rules:
    - allow: [Component, Template, Location, Group, User]
  locations:
    - type: file
      target: ./templates.yaml
";

const TEMPLATES: &str = "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: hello
  title: Hello template
  description: Says hello
spec:
  type: service
  parameters:
    - title: Name
      required: [name]
      properties:
        name:
          type: string
          pattern: '^[a-z-]+$'
    - title: Extra
      properties:
        shout:
          type: boolean
  steps:
    - id: greet
      name: Greet
      action: debug:log
      input:
        message: 'Hello ${{ parameters.name }}'
    - action: fetch:template
      input:
        url: ./skeleton
        values:
          name: ${{ parameters.name }}
  output:
    text:
      - title: Greeting
        content: 'Hello ${{ parameters.name }}'
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: secretive
spec:
  type: service
  secrets:
    schema:
      type: object
      required: [TOKEN]
  steps:
    - id: show
      action: debug:log
      input:
        message: 'token is ${{ secrets.TOKEN }}'
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: slow
spec:
  type: service
  steps:
    - id: wait
      name: Wait
      action: debug:wait
      input:
        seconds: 20
---
apiVersion: scaffolder.backstage.io/v1beta2
kind: Template
metadata:
  name: old
spec:
  type: service
  steps: []
";

/// An app whose catalog holds the test templates (and a skeleton beside them).
async fn app_on(database: TestDatabase, extra_config: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "templates.yaml", TEMPLATES);
    write_file(dir.path(), "skeleton/README.md", "# ${{ values.name }}\n");
    let app = TestApp::start_in(dir, &format!("{CONFIG}{extra_config}"), database).await;
    app.settle().await;
    app
}

async fn app() -> TestApp {
    app_on(TestDatabase::Sqlite, "").await
}

async fn create(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let response = app.post("/api/scaffolder/v2/tasks", body).await;
    (response.status, response.json())
}

async fn events(app: &TestApp, id: &str, after: Option<i64>) -> Vec<Value> {
    let uri = match after {
        Some(after) => format!("/api/scaffolder/v2/tasks/{id}/events?after={after}"),
        None => format!("/api/scaffolder/v2/tasks/{id}/events"),
    };
    app.get_json(&uri).await.as_array().cloned().unwrap_or_default()
}

fn messages(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["body"]["message"].as_str().unwrap_or_default().to_owned()).collect()
}

async fn wait_for_status(app: &TestApp, id: &str, status: &str) -> Value {
    for _ in 0..200 {
        let task = app.get_json(&format!("/api/scaffolder/v2/tasks/{id}")).await;
        if task["status"] == status {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {id} never became {status}");
}

#[tokio::test]
async fn parameter_schema_is_backstages_body_and_unknown_templates_are_404() {
    let app = app().await;
    let schema = app.get_json("/api/scaffolder/v2/templates/default/template/hello/parameter-schema").await;
    assert_eq!(schema["title"], "Hello template");
    assert_eq!(schema["description"], "Says hello");
    let steps = schema["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["title"], "Name");
    assert_eq!(steps[0]["schema"]["required"], json!(["name"]));

    let missing = app.get("/api/scaffolder/v2/templates/default/template/nope/parameter-schema").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["message"], "Template template:default/nope not found");
    // The catalog refuses templates of other versions, so they are not found either; a dry
    // run shows the scaffolder's own refusal.
    let old = app.get("/api/scaffolder/v2/templates/default/template/old/parameter-schema").await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);
    let old_template = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta2",
        "kind": "Template",
        "metadata": {"name": "old"},
        "spec": {"type": "service", "steps": []},
    });
    let refused =
        app.post("/api/scaffolder/v2/dry-run", json!({"template": old_template, "values": {}})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.json()["error"]["message"],
        "Unsupported apiVersion field in schema entity, scaffolder.backstage.io/v1beta2"
    );
}

#[tokio::test]
async fn actions_are_listed_by_id_with_their_schemas() {
    let app = app().await;
    let actions = app.get_json("/api/scaffolder/v2/actions").await;
    let ids: Vec<&str> = actions.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    for id in ["catalog:register", "debug:log", "fetch:template", "fs:delete", "publish:git"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let publish = actions.as_array().unwrap().iter().find(|a| a["id"] == "publish:git").unwrap();
    assert_eq!(publish["schema"]["input"]["required"], json!(["remoteUrl"]));
    assert!(publish["schema"]["output"]["properties"]["commitHash"].is_object());
}

#[tokio::test]
async fn invalid_values_never_start_a_task() {
    let app = app().await;
    let (status, body) = create(&app, json!({"templateRef": "template:default/hello", "values": {}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let error = &body["errors"][0];
    assert_eq!(error["property"], "instance");
    assert_eq!(error["message"], "requires property \"name\"");
    assert_eq!(error["name"], "required");
    assert_eq!(error["stack"], "instance requires property \"name\"");

    let (status, body) =
        create(&app, json!({"templateRef": "template:default/hello", "values": {"name": "Not Valid!"}}))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["property"], "instance.name");

    let (status, _) = create(&app, json!({"templateRef": "component:default/hello", "values": {}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = create(&app, json!({"templateRef": "template:default/missing", "values": {}})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let malformed = app
        .send(
            axum::http::Request::post("/api/scaffolder/v2/tasks")
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);

    let listed = app.get_json("/api/scaffolder/v2/tasks").await;
    assert_eq!(listed["totalTasks"], 0, "no task was stored: {listed}");
}

#[tokio::test]
async fn a_task_runs_to_completion_with_backstages_events_on_sqlite_and_postgres() {
    for database in TestDatabase::all() {
        let app = app_on(database, "backend:\n  workingDirectory: ./work\n").await;
        let (status, body) =
            create(&app, json!({"templateRef": "template:default/hello", "values": {"name": "payments"}}))
                .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();

        let open = app.get_json(&format!("/api/scaffolder/v2/tasks/{id}")).await;
        assert_eq!(open["status"], "open");
        assert_eq!(open["createdBy"], "user:default/guest");
        assert_eq!(open["spec"]["steps"][1]["id"], "step-2", "step ids are defaulted");
        assert_eq!(open["spec"]["steps"][1]["name"], "fetch:template", "step names are defaulted");
        assert_eq!(open["spec"]["templateInfo"]["entityRef"], "template:default/hello");
        assert!(open["spec"]["templateInfo"]["baseUrl"].as_str().unwrap().starts_with("file:///"));
        assert_eq!(open["spec"]["user"]["ref"], "user:default/guest");
        assert!(open.get("secrets").is_none());

        app.settle().await;
        let done = app.get_json(&format!("/api/scaffolder/v2/tasks/{id}")).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert!(done["lastHeartbeatAt"].as_str().unwrap().ends_with('Z'));

        let all = events(&app, &id, None).await;
        let texts = messages(&all);
        assert_eq!(texts[0], "Starting up task with 2 steps");
        assert!(texts.contains(&"Beginning step Greet".to_owned()), "{texts:?}");
        assert!(texts.iter().any(|t| t.contains("Hello payments")), "{texts:?}");
        assert!(texts.contains(&"Finished step fetch:template".to_owned()), "{texts:?}");
        let completion = all.last().unwrap();
        assert_eq!(completion["type"], "completion");
        assert_eq!(completion["body"]["message"], "Run completed with status: completed");
        assert_eq!(completion["body"]["output"]["text"][0]["content"], "Hello payments");
        let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert_eq!(all[0]["taskId"], id);

        // After the second event: the later ones, the completion included.
        let later = events(&app, &id, Some(ids[1])).await;
        assert_eq!(later.len(), all.len() - 2);
        // After the last event: only the completion, whatever its id.
        let last = events(&app, &id, Some(*ids.last().unwrap() + 100)).await;
        assert_eq!(messages(&last), ["Run completed with status: completed"]);

        // The task's workspace was removed after the run.
        let workspaces = app.path("work/scaffolder");
        assert!(workspaces.is_dir(), "tasks run under backend.workingDirectory");
        assert!(!workspaces.join(&id).exists(), "the workspace is removed after completion");
    }
}

#[tokio::test]
async fn secrets_are_required_by_schema_masked_in_logs_and_never_returned() {
    let app = app().await;
    let (status, body) =
        create(&app, json!({"templateRef": "template:default/secretive", "values": {}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["message"], "secrets.TOKEN is required");
    assert_eq!(body["errors"][0]["property"], "secrets");

    let (status, body) = create(
        &app,
        json!({"templateRef": "template:default/secretive", "values": {}, "secrets": {"TOKEN": "hunter2-secret"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = body["id"].as_str().unwrap();
    let task = app.get(&format!("/api/scaffolder/v2/tasks/{id}")).await;
    assert!(!task.text().contains("hunter2-secret"));
    app.settle().await;
    let all = app.get(&format!("/api/scaffolder/v2/tasks/{id}/events")).await.text();
    assert!(!all.contains("hunter2-secret"), "{all}");
    assert!(all.contains("token is ***"), "{all}");
    let list = app.get("/api/scaffolder/v2/tasks").await.text();
    assert!(!list.contains("hunter2-secret"));
}

#[tokio::test]
async fn tasks_are_listed_filtered_and_ordered() {
    let app = app().await;
    for name in ["a", "b", "c"] {
        let (status, _) =
            create(&app, json!({"templateRef": "template:default/hello", "values": {"name": name}})).await;
        assert_eq!(status, StatusCode::CREATED);
        // Creation times are milliseconds; tasks of the same millisecond have no order.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let listed = app.get_json("/api/scaffolder/v2/tasks?limit=2").await;
    assert_eq!(listed["totalTasks"], 3);
    assert_eq!(listed["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(listed["tasks"][0]["spec"]["parameters"]["name"], "c", "newest first");
    let oldest = app.get_json("/api/scaffolder/v2/tasks?order=asc:created_at&limit=1").await;
    assert_eq!(oldest["tasks"][0]["spec"]["parameters"]["name"], "a");
    let mine = app.get_json("/api/scaffolder/v2/tasks?createdBy=user:default/guest&status=open").await;
    assert_eq!(mine["totalTasks"], 3);
    let others = app.get_json("/api/scaffolder/v2/tasks?createdBy=user:default/someone").await;
    assert_eq!(others["totalTasks"], 0);

    let bad = app.get("/api/scaffolder/v2/tasks?order=sideways").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json()["error"]["message"],
        "Invalid order parameter \"sideways\", expected \"<asc or desc>:<field name>\""
    );
    let field = app.get("/api/scaffolder/v2/tasks?order=asc:colour").await;
    assert_eq!(field.json()["error"]["message"], "Invalid order field \"colour\"");
    let limit = app.get("/api/scaffolder/v2/tasks?limit=many").await;
    assert_eq!(limit.status, StatusCode::BAD_REQUEST);
    let missing = app.get("/api/scaffolder/v2/tasks/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

/// Reads the whole event stream of a task from a served app.
async fn read_stream(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut raw))
        .await
        .expect("the stream ends after the completion event")
        .unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), body.to_owned())
}

#[tokio::test]
async fn the_event_stream_sends_every_event_and_ends_after_completion_and_resumes_with_after() {
    let mut app = app().await;
    let addr = app.serve().await;
    let (_, body) =
        create(&app, json!({"templateRef": "template:default/hello", "values": {"name": "streamed"}})).await;
    let id = body["id"].as_str().unwrap().to_owned();
    let (head, stream) = read_stream(addr, &format!("/api/scaffolder/v2/tasks/{id}/eventstream")).await;
    assert!(head.to_lowercase().contains("content-type: text/event-stream"), "{head}");
    assert!(stream.contains("event: log\ndata: {\"id\":"), "{stream}");
    assert!(stream.contains("\"type\":\"log\""));
    assert!(stream.contains("event: completion\ndata: "), "{stream}");
    assert!(stream.contains("Hello streamed"));

    let all = events(&app, &id, None).await;
    let second = all[1]["id"].as_i64().unwrap();
    let (_, resumed) =
        read_stream(addr, &format!("/api/scaffolder/v2/tasks/{id}/eventstream?after={second}")).await;
    assert!(!resumed.contains("Starting up task"), "events up to `after` are not repeated: {resumed}");
    assert!(resumed.contains("event: completion"));
}

#[tokio::test]
async fn cancelling_a_running_task_stops_it_and_it_ends_failed_with_a_cancelled_event() {
    let mut app = app().await;
    app.serve().await;
    let (_, body) = create(&app, json!({"templateRef": "template:default/slow", "values": {}})).await;
    let id = body["id"].as_str().unwrap().to_owned();
    wait_for_status(&app, &id, "processing").await;
    // Let the wait step begin.
    for _ in 0..100 {
        if messages(&events(&app, &id, None).await).iter().any(|m| m == "Beginning step Wait") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = std::time::Instant::now();
    let response = app.request(Method::POST, &format!("/api/scaffolder/v2/tasks/{id}/cancel"), None).await;
    assert_eq!(response.json(), json!({"status": "cancelled"}));
    wait_for_status(&app, &id, "failed").await;
    assert!(started.elapsed() < Duration::from_secs(10), "the 20 s wait was interrupted");
    let all = events(&app, &id, None).await;
    let cancelled = all.iter().find(|e| e["type"] == "cancelled").expect("a cancelled event");
    assert_eq!(cancelled["body"]["message"], "Step wait has been cancelled.");
    assert_eq!(cancelled["body"]["status"], "cancelled");
    let completion = all.last().unwrap();
    assert_eq!(completion["type"], "completion");
    assert_eq!(completion["body"]["message"], "Run completed with status: failed");
}

#[tokio::test]
async fn retry_reruns_a_failed_task_under_the_same_id() {
    let app = app().await;
    let (_, body) = create(
        &app,
        json!({"templateRef": "template:default/secretive", "values": {}, "secrets": {"TOKEN": "t"}}),
    )
    .await;
    let id = body["id"].as_str().unwrap().to_owned();
    app.settle().await;
    let retried = app
        .post(&format!("/api/scaffolder/v2/tasks/{id}/retry"), json!({"secrets": {"TOKEN": "again"}}))
        .await;
    assert_eq!(retried.status, StatusCode::CREATED);
    assert_eq!(retried.json(), json!({"id": id}));
    assert_eq!(app.get_json(&format!("/api/scaffolder/v2/tasks/{id}")).await["status"], "open");
    app.settle().await;
    assert_eq!(app.get_json(&format!("/api/scaffolder/v2/tasks/{id}")).await["status"], "completed");
    let all = events(&app, &id, None).await;
    assert!(all.iter().any(|e| e["type"] == "recovered"));
    assert_eq!(all.iter().filter(|e| e["type"] == "completion").count(), 2);
}

#[tokio::test]
async fn a_task_left_running_by_a_stopped_portal_is_failed_with_the_reason_or_started_over() {
    // A first portal claims the slow task and stops heartbeating (its workers are never run:
    // the app is not served, the claim is made by hand through the janitor's own store).
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "templates.yaml", TEMPLATES);
    write_file(dir.path(), "skeleton/README.md", "x");
    let config = format!("{CONFIG}scaffolder:\n  EXPERIMENTAL_recoverTasksTimeout: 200ms\n");
    let app = TestApp::start_in(dir, &config, TestDatabase::Sqlite).await;
    app.settle().await;
    let (_, body) = create(&app, json!({"templateRef": "template:default/slow", "values": {}})).await;
    let id = body["id"].as_str().unwrap().to_owned();
    let store = portico_store_sqlite::SqliteStore::open(&app.path("portico.db")).await.unwrap();
    use portico_store::TaskStore;
    let claimed = store.claim_task().await.unwrap().expect("the open task");
    assert_eq!(claimed.id, id);
    store
        .append_task_event(
            &id,
            portico_store::TaskEventType::Log,
            json!({"message": "Beginning step Wait", "stepId": "wait", "status": "processing"}),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    app.settle().await;
    let task = app.get_json(&format!("/api/scaffolder/v2/tasks/{id}")).await;
    assert_eq!(task["status"], "failed");
    let all = events(&app, &id, None).await;
    let step_failed =
        all.iter().find(|e| e["body"]["stepId"] == "wait" && e["body"]["status"] == "failed").unwrap();
    assert!(step_failed["body"]["message"].as_str().unwrap().contains("marked as stale"));
    let completion = all.last().unwrap();
    assert_eq!(completion["type"], "completion");
    assert!(completion["body"]["error"]["message"].as_str().unwrap().contains("run the template again"));
}

#[tokio::test]
async fn a_dry_run_renders_uploaded_files_and_skips_effects() {
    let app = app().await;
    let template = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "dry"},
        "spec": {
            "type": "service",
            "parameters": [{"required": ["name"], "properties": {"name": {"type": "string"}}}],
            "steps": [
                {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}}},
                {"id": "publish", "action": "publish:git", "input": {"remoteUrl": "/nowhere/repo.git"}},
            ],
            "output": {"links": [{"title": "Repo", "url": "${{ steps.publish.output.remoteUrl }}"}]},
        },
    });
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let body = json!({
        "template": template,
        "values": {"name": "orders"},
        "directoryContents": [
            {"path": "template.yaml", "base64Content": encode("ignored")},
            {"path": "skeleton/${{ values.name }}.md", "base64Content": encode("# ${{ values.name }}\n")},
        ],
    });
    let response = app.post("/api/scaffolder/v2/dry-run", body.clone()).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let result = response.json();
    let files = result["directoryContents"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0]["path"], "orders.md");
    assert_eq!(files[0]["base64Content"], encode("# orders\n"));
    assert_eq!(files[0]["executable"], false);
    let log = messages(
        &result["log"].as_array().unwrap().iter().map(|e| json!({"body": e["body"]})).collect::<Vec<_>>(),
    );
    assert!(log.contains(&"Skipping because publish:git does not support dry-run".to_owned()), "{log:?}");
    assert_eq!(result["steps"][1]["id"], "publish");
    assert!(!std::path::Path::new("/nowhere/repo.git").exists());

    let mut invalid = body.clone();
    invalid["values"] = json!({});
    assert_eq!(app.post("/api/scaffolder/v2/dry-run", invalid).await.status, StatusCode::BAD_REQUEST);
    let mut escaping = body.clone();
    escaping["directoryContents"] = json!([{"path": "../../escape.txt", "base64Content": encode("x")}]);
    let refused = app.post("/api/scaffolder/v2/dry-run", escaping).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text());
    let mut not_template = body;
    not_template["template"]["kind"] = json!("Component");
    let refused = app.post("/api/scaffolder/v2/dry-run", not_template).await;
    assert_eq!(refused.json()["error"]["message"], "Input template is not a template");
}

#[tokio::test]
async fn autocomplete_has_no_providers_and_templating_extensions_list_the_filters() {
    let app = app().await;
    let response =
        app.post("/api/scaffolder/v2/autocomplete/unknown-provider/repos", json!({"token": "t"})).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.json()["error"]["name"], "InputError");
    assert_eq!(response.json()["error"]["message"], "Unsupported provider: unknown-provider");
    let extensions = app.get_json("/api/scaffolder/v2/templating-extensions").await;
    for filter in ["parseRepoUrl", "parseEntityRef", "pick", "projectSlug"] {
        assert!(extensions["filters"][filter].is_object(), "{filter}");
    }
}
