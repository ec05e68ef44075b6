//! Scaffolder permissions through the whole app, with real Cedar policies: the shipped
//! `template-groups.cedar` (only members of a group run an annotated template) and
//! `restricted-entities.cedar` (restricted entities are their owners' only), and a policy file
//! of the test's own for template parts, actions and tasks. Users are signed in with
//! user tokens; every refusal is checked in the API, the pages and the audit log.

use std::path::Path;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use portico_testkit::{TestApp, TestDatabase, TestResponse, TokenSigner, write_file};
use serde_json::{Value, json};

const CATALOG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: hidden-team
  labels:
    portico.io/restricted: 'true'
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: jane
spec:
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: joe
spec:
  memberOf: []
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: team-only
  title: Team only
  annotations:
    portico.io/allowed-group: group:default/team-a
spec:
  type: service
  steps:
    - id: greet
      action: debug:log
      input:
        message: hello from the team
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: open
  title: Open to all
spec:
  type: service
  steps:
    - id: greet
      action: debug:log
      input:
        message: hello from anyone
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: restricted-tool
  title: Restricted tool
  labels:
    portico.io/restricted: 'true'
spec:
  type: service
  owner: group:default/team-a
  steps:
    - id: greet
      action: debug:log
      input:
        message: hello from the restricted tool
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: pick-owner
  title: Pick an owner
spec:
  type: service
  parameters:
    - title: Ownership
      properties:
        owner:
          title: Owner
          type: string
          ui:field: OwnerPicker
          ui:options:
            catalogFilter:
              kind: Group
  steps:
    - id: greet
      action: debug:log
      input:
        message: owned by ${{ parameters.owner }}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: tagged
spec:
  type: service
  parameters:
    - title: Public
      required: [name]
      properties:
        name:
          type: string
    - title: Classified
      backstage:permissions:
        tags: [secret]
      required: [code]
      properties:
        code:
          type: string
  steps:
    - id: visible
      action: debug:log
      input:
        message: the visible step ran
    - id: hidden
      backstage:permissions:
        tags: [secret]
      action: debug:log
      input:
        message: the hidden step ran
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: cleanup
  annotations:
    portico.io/allowed-group: group:default/team-a
spec:
  type: service
  steps:
    - id: before
      action: debug:log
      input:
        message: before removing
    - id: remove
      name: Remove files
      action: fs:delete
      input:
        files: [doomed.txt]
    - id: after
      action: debug:log
      input:
        message: after removing
";

/// The test's own policies, beside the shipped ones.
const SCAFFOLDER_POLICIES: &str = r#"// Parameter pages and steps tagged "secret" are nobody's to see or run.
@id("secret-parts-hidden")
forbid (
  principal,
  action in [
    Portico::Action::"scaffolder.template.parameter.read",
    Portico::Action::"scaffolder.template.step.read"
  ],
  resource is Portico::TemplatePart
)
when { resource.tags.contains("secret") };

// No template may delete files.
@id("no-fs-delete")
forbid (
  principal,
  action == Portico::Action::"scaffolder.action.execute",
  resource is Portico::ScaffolderAction
)
when { resource.id == "fs:delete" };

// A task is its creator's: nobody else reads it, follows its log or cancels it.
@id("tasks-are-their-creators")
forbid (
  principal,
  action in [Portico::Action::"scaffolder.task.read", Portico::Action::"scaffolder.task.cancel"],
  resource is Portico::Task
)
unless {
  principal is Portico::User && resource has created_by && resource.created_by == principal.ref
};

// Only members of team-a cancel tasks.
@id("team-a-cancels")
forbid (principal, action == Portico::Action::"scaffolder.task.cancel", resource)
unless { principal is Portico::User && principal in Portico::Group::"group:default/team-a" };
"#;

const JANE: &str = "user:default/jane";
const JOE: &str = "user:default/joe";
const FORBIDDEN_ACTION: &str = "Unauthorized action: fs:delete. The action is not allowed.";

/// The app, and tokens for jane (a member of team-a), for jane signed in without her group,
/// and for joe (in no group).
struct Portal {
    app: TestApp,
    jane: String,
    jane_alone: String,
    joe: String,
}

/// The app with the catalog above and the policies (enforced unless `enabled` is false).
async fn portal(enabled: bool) -> Portal {
    let dir = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/policies");
    for file in ["default.cedar", "template-groups.cedar", "restricted-entities.cedar"] {
        let text = std::fs::read_to_string(shipped.join(file)).expect("a shipped policy file");
        write_file(dir.path(), &format!("policies/{file}"), &text);
    }
    write_file(dir.path(), "policies/scaffolder.cedar", SCAFFOLDER_POLICIES);
    write_file(dir.path(), "catalog.yaml", CATALOG);
    let config = format!(
        "permission:
  enabled: {enabled}
  policies:
    - ./policies/default.cedar
    - ./policies/template-groups.cedar
    - ./policies/restricted-entities.cedar
    - ./policies/scaffolder.cedar
catalog:
  rules:
    - allow: [Group, User, Template, Location]
  locations:
    - type: file
      target: ./catalog.yaml
"
    );
    let app = TestApp::start_in(dir, &config, TestDatabase::Sqlite).await;
    app.settle().await;
    let signer = TokenSigner::join(&app).await;
    Portal {
        jane: signer.token(JANE, &[JANE, "group:default/team-a"]),
        jane_alone: signer.token(JANE, &[JANE]),
        joe: signer.token(JOE, &[JOE]),
        app,
    }
}

/// A request with `token` as its bearer.
async fn send(app: &TestApp, method: Method, uri: &str, token: &str, body: Option<Value>) -> TestResponse {
    let mut request =
        Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    app.send(request.body(body).expect("request")).await
}

async fn get(app: &TestApp, uri: &str, token: &str) -> TestResponse {
    send(app, Method::GET, uri, token, None).await
}

/// `POST /v2/tasks` for `template` with `values`.
async fn create(app: &TestApp, token: &str, template: &str, values: Value) -> TestResponse {
    let body = json!({"templateRef": format!("template:default/{template}"), "values": values});
    send(app, Method::POST, "/api/scaffolder/v2/tasks", token, Some(body)).await
}

/// Creates a task that must be accepted; returns its id.
async fn created(app: &TestApp, token: &str, template: &str, values: Value) -> String {
    let response = create(app, token, template, values).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["id"].as_str().expect("task id").to_owned()
}

/// The task's events, read by its creator.
async fn events(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let response = get(app, &format!("/api/scaffolder/v2/tasks/{id}/events"), token).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json().as_array().cloned().expect("events")
}

/// The `key` text of each object of the list `items`.
fn texts(items: &Value, key: &str) -> Vec<String> {
    let items = items.as_array().into_iter().flatten();
    items.filter_map(|item| item[key].as_str().map(str::to_owned)).collect()
}

fn messages(events: &[Value]) -> Vec<String> {
    events.iter().filter_map(|event| event["body"]["message"].as_str().map(str::to_owned)).collect()
}

/// The `permission.deny` entries of the audit log.
async fn denials(app: &TestApp) -> Vec<Value> {
    app.get_json("/api/audit/entries?action=permission.deny").await["items"]
        .as_array()
        .cloned()
        .expect("items")
}

fn is_not_allowed(response: &TestResponse) -> bool {
    response.status == StatusCode::FORBIDDEN && response.json()["error"]["name"] == "NotAllowedError"
}

#[tokio::test]
async fn only_members_of_the_allowed_group_run_the_template_and_refusals_are_audited() {
    let portal = portal(true).await;
    let app = &portal.app;
    assert!(denials(app).await.is_empty(), "the log starts without denials");

    created(app, &portal.jane, "team-only", json!({})).await;
    let refused = create(app, &portal.joe, "team-only", json!({})).await;
    assert!(is_not_allowed(&refused), "{}: {}", refused.status, refused.text());
    let message = refused.json()["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("template-allowed-group"), "the reason names the policy: {message}");
    created(app, &portal.joe, "open", json!({})).await;

    let template = app.entity("template:default/team-only").await.expect("the template");
    let dry_run = json!({"template": template, "values": {}, "directoryContents": []});
    let refused_dry_run =
        send(app, Method::POST, "/api/scaffolder/v2/dry-run", &portal.joe, Some(dry_run.clone())).await;
    assert!(is_not_allowed(&refused_dry_run), "{}", refused_dry_run.text());
    let dry_run = send(app, Method::POST, "/api/scaffolder/v2/dry-run", &portal.jane, Some(dry_run)).await;
    assert_eq!(dry_run.status, StatusCode::OK, "{}", dry_run.text());

    let denied = denials(app).await;
    assert_eq!(denied.len(), 2, "the refused create and dry run, nothing else: {denied:#?}");
    for entry in &denied {
        assert_eq!(entry["actor"], JOE);
        assert_eq!(entry["target"], "template:default/team-only");
        assert_eq!(entry["outcome"], "denied");
        assert_eq!(entry["details"]["permission"], "scaffolder.task.create");
    }
}

#[tokio::test]
async fn templates_and_entities_the_caller_may_not_read_do_not_exist_for_them() {
    let portal = portal(true).await;
    let app = &portal.app;
    let schema = "/api/scaffolder/v2/templates/default/template/restricted-tool/parameter-schema";
    assert_eq!(get(app, schema, &portal.jane).await.status, StatusCode::OK, "team-a owns it");
    let missing = get(app, schema, &portal.joe).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text());
    let missing = create(app, &portal.joe, "restricted-tool", json!({})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text());
    assert_eq!(missing.json()["error"]["message"], "Template template:default/restricted-tool not found");
    assert!(get(app, "/create", &portal.jane).await.text().contains("Restricted tool"));
    assert!(!get(app, "/create", &portal.joe).await.text().contains("Restricted tool"));
    let form = get(app, "/create/templates/default/restricted-tool", &portal.joe).await;
    assert_eq!(form.status, StatusCode::NOT_FOUND);

    let form = get(app, "/create/templates/default/pick-owner", &portal.jane).await;
    assert_eq!(form.status, StatusCode::OK);
    let form = form.text();
    assert!(form.contains("<option value=\"team-a\">"), "the picker offers team-a: {form}");
    assert!(!form.contains("hidden-team"), "nobody may read hidden-team: {form}");
}

#[tokio::test]
async fn pages_and_steps_the_caller_may_not_read_are_neither_asked_nor_run() {
    let portal = portal(true).await;
    let app = &portal.app;
    let schema =
        get(app, "/api/scaffolder/v2/templates/default/template/tagged/parameter-schema", &portal.jane).await;
    assert_eq!(schema.status, StatusCode::OK, "{}", schema.text());
    assert_eq!(texts(&schema.json()["steps"], "title"), ["Public"]);

    // The hidden page requires `code`; values are checked against the readable page only.
    let invalid = create(app, &portal.jane, "tagged", json!({})).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "the readable page is still checked");
    let id = created(app, &portal.jane, "tagged", json!({"name": "svc"})).await;
    let task = get(app, &format!("/api/scaffolder/v2/tasks/{id}"), &portal.jane).await.json();
    assert_eq!(texts(&task["spec"]["steps"], "id"), ["visible"], "the hidden step is removed from the task");
    assert!(task["spec"].get("__runAs").is_none(), "who the task runs for is never served: {task}");

    app.settle().await;
    let log = messages(&events(app, &portal.jane, &id).await);
    assert!(log.contains(&"Starting up task with 1 steps".to_owned()), "{log:?}");
    assert!(log.contains(&"the visible step ran".to_owned()), "{log:?}");
    assert!(!log.iter().any(|line| line.contains("hidden")), "the hidden step never ran: {log:?}");
    assert!(log.contains(&"Run completed with status: completed".to_owned()), "{log:?}");

    let form = get(app, "/create/templates/default/tagged", &portal.jane).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains("Public") && !form.text().contains("Classified"), "{}", form.text());
}

#[tokio::test]
async fn a_step_whose_action_is_forbidden_fails_and_later_steps_do_not_run() {
    let portal = portal(true).await;
    let app = &portal.app;
    let id = created(app, &portal.jane, "cleanup", json!({})).await;
    app.settle().await;

    let task = get(app, &format!("/api/scaffolder/v2/tasks/{id}"), &portal.jane).await.json();
    assert_eq!(task["status"], "failed");
    let log = events(app, &portal.jane, &id).await;
    let failed = log
        .iter()
        .find(|event| event["body"]["stepId"] == "remove" && event["body"]["status"] == "failed")
        .expect("the remove step failed");
    assert_eq!(failed["body"]["message"], format!("NotAllowedError: {FORBIDDEN_ACTION}"));
    let completion = log.iter().find(|event| event["type"] == "completion").expect("completion");
    assert_eq!(completion["body"]["error"], json!({"name": "NotAllowedError", "message": FORBIDDEN_ACTION}));
    let messages = messages(&log);
    assert!(messages.contains(&"before removing".to_owned()), "{messages:?}");
    assert!(!messages.iter().any(|line| line.contains("after removing")), "{messages:?}");

    let denied = denials(app).await;
    assert_eq!(denied.len(), 1, "{denied:#?}");
    assert_eq!(denied[0]["actor"], JANE, "the run is checked for whoever created the task");
    assert_eq!(denied[0]["target"], "fs:delete");
    assert_eq!(denied[0]["details"]["permission"], "scaffolder.action.execute");
}

#[tokio::test]
async fn tasks_are_read_listed_and_cancelled_by_their_creators_only() {
    let portal = portal(true).await;
    let app = &portal.app;
    let first = created(app, &portal.jane, "open", json!({})).await;
    let second = created(app, &portal.jane, "open", json!({})).await;
    let theirs = created(app, &portal.joe, "open", json!({})).await;

    for uri in [
        format!("/api/scaffolder/v2/tasks/{first}"),
        format!("/api/scaffolder/v2/tasks/{first}/events"),
        format!("/api/scaffolder/v2/tasks/{first}/eventstream"),
    ] {
        let refused = get(app, &uri, &portal.joe).await;
        assert!(is_not_allowed(&refused), "GET {uri}: {}", refused.status);
    }
    let cancel = format!("/api/scaffolder/v2/tasks/{first}/cancel");
    let refused = send(app, Method::POST, &cancel, &portal.joe, None).await;
    assert!(is_not_allowed(&refused), "{}", refused.text());
    let own_cancel = format!("/api/scaffolder/v2/tasks/{theirs}/cancel");
    let refused = send(app, Method::POST, &own_cancel, &portal.joe, None).await;
    assert!(is_not_allowed(&refused), "joe is not in team-a: {}", refused.text());
    let cancelled = send(app, Method::POST, &cancel, &portal.jane, None).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text());
    let page = get(app, &format!("/create/tasks/{first}"), &portal.joe).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    let list = |token: &str, query: &str| {
        let uri = format!("/api/scaffolder/v2/tasks?{query}");
        let token = token.to_owned();
        async move {
            let response = get(app, &uri, &token).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            let body = response.json();
            let ids = texts(&body["tasks"], "id");
            (ids, body["totalTasks"].as_u64().unwrap())
        }
    };
    assert_eq!(list(&portal.joe, "").await, (vec![theirs.clone()], 1));
    let (mut pages, total) = list(&portal.jane, "limit=1").await;
    assert_eq!((pages.len(), total), (1, 2), "the total counts jane's tasks only");
    let (next, total) = list(&portal.jane, "limit=1&offset=1").await;
    assert_eq!((next.len(), total), (1, 2));
    pages.extend(next);
    pages.sort();
    let mut own = vec![first.clone(), second.clone()];
    own.sort();
    assert_eq!(pages, own, "the two pages hold jane's two tasks");
    assert_eq!(list(&portal.jane, "limit=1&offset=2").await, (Vec::new(), 2));

    let history = get(app, "/create/tasks?owner=all", &portal.joe).await.text();
    assert!(
        history.contains(&theirs) && !history.contains(&first) && !history.contains(&second),
        "{history}"
    );
}

#[tokio::test]
async fn the_create_page_disables_templates_the_viewer_may_not_run_with_the_reason() {
    let portal = portal(true).await;
    let app = &portal.app;
    let form_link = "href=\"/create/templates/default/team-only\"";

    let page = get(app, "/create", &portal.jane).await.text();
    assert!(page.contains(form_link), "jane may choose the template: {page}");
    assert!(!page.contains("You may not run this template."), "{page}");

    let page = get(app, "/create", &portal.joe).await.text();
    let card = card_of(&page, "Team only");
    assert!(card.contains("create-card-blocked"), "{card}");
    assert!(
        card.contains("You may not run this template.") && card.contains("template-allowed-group"),
        "{card}"
    );
    assert!(card.contains("disabled") && !card.contains(form_link), "no way to choose it: {card}");
    assert!(!card_of(&page, "Open to all").contains("disabled"), "other templates stay open: {page}");

    let form = get(app, "/create/templates/default/team-only", &portal.joe).await;
    assert_eq!(form.status, StatusCode::OK);
    let form = form.text();
    assert!(
        form.contains("You may not run this template.") && !form.contains("<form class=\"card create-form\""),
        "{form}"
    );
}

/// The card of the template titled `title` on `/create`.
fn card_of<'a>(page: &'a str, title: &str) -> &'a str {
    let heading =
        page.find(&format!(">{title}</h3>")).unwrap_or_else(|| panic!("no card for {title}: {page}"));
    let start = page[..heading].rfind("<li class=\"create-card").expect("card start");
    let end = page[heading..].find("</li>").map_or(page.len(), |end| heading + end);
    &page[start..end]
}

#[tokio::test]
async fn the_task_page_offers_only_what_the_viewer_may_do() {
    let portal = portal(true).await;
    let app = &portal.app;
    let cancel_button = ">Cancel</button>";

    let open_jane = created(app, &portal.jane, "open", json!({})).await;
    let open_joe = created(app, &portal.joe, "open", json!({})).await;
    let page = get(app, &format!("/create/tasks/{open_jane}"), &portal.jane).await.text();
    assert!(page.contains(cancel_button), "jane may cancel her queued task: {page}");
    let page = get(app, &format!("/create/tasks/{open_joe}"), &portal.joe).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text().contains(cancel_button), "joe may read his task but not cancel it");

    let failed = created(app, &portal.jane, "cleanup", json!({})).await;
    app.settle().await;
    let page = get(app, &format!("/create/tasks/{failed}"), &portal.jane).await.text();
    assert!(page.contains(">Retry</button>") && page.contains(">Start over</a>"), "{page}");
    let page = get(app, &format!("/create/tasks/{failed}"), &portal.jane_alone).await.text();
    assert!(page.contains("This task failed."), "jane still reads her task: {page}");
    assert!(!page.contains(">Retry</button>") && !page.contains(">Start over</a>"), "outside team-a: {page}");
    let retry = format!("/api/scaffolder/v2/tasks/{failed}/retry");
    let refused = send(app, Method::POST, &retry, &portal.jane_alone, None).await;
    assert!(is_not_allowed(&refused), "{}", refused.text());
    let retried = send(app, Method::POST, &retry, &portal.jane, None).await;
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.text());
}

#[tokio::test]
async fn with_permissions_disabled_the_same_policies_change_nothing() {
    let portal = portal(false).await;
    let app = &portal.app;
    let id = created(app, &portal.joe, "team-only", json!({})).await;
    let read = get(app, &format!("/api/scaffolder/v2/tasks/{id}"), &portal.jane).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    let schema = app.get_json("/api/scaffolder/v2/templates/default/template/tagged/parameter-schema").await;
    assert_eq!(schema["steps"].as_array().map(Vec::len), Some(2));
    let cleanup = created(app, &portal.jane, "cleanup", json!({})).await;
    app.settle().await;
    let log = messages(&events(app, &portal.jane, &cleanup).await);
    assert!(log.contains(&"after removing".to_owned()), "every step runs: {log:?}");
    assert!(!get(app, "/create", &portal.joe).await.text().contains("You may not run this template."));
    let form = get(app, "/create/templates/default/pick-owner", &portal.joe).await.text();
    assert!(form.contains("<option value=\"hidden-team\">"), "every group is offered: {form}");
    assert!(denials(app).await.is_empty());
}
