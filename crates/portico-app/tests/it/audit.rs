//! The audit log through the whole app: every write through the catalog and scaffolder APIs and
//! pages leaves one entry with the caller, the action, the target and the outcome;
//! `/admin/audit` and `GET /api/audit/entries` list and filter them; nothing changes or removes
//! an entry.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use portico_testkit::{TestApp, TestDatabase, TestResponse, write_file};
use serde_json::{Value, json};

use crate::support::{component, config_with_locations};

/// Who every request acts as until sign-in exists.
const GUEST: &str = "user:default/guest";

/// The entries of the audit log, newest first, for `filters` (a query string).
async fn entries(app: &TestApp, filters: &str) -> Vec<Value> {
    let body = app.get_json(&format!("/api/audit/entries?{filters}")).await;
    body["items"].as_array().cloned().expect("items")
}

/// `(action, target, outcome)` of each entry.
fn summary(entries: &[Value]) -> Vec<(String, String, String)> {
    entries
        .iter()
        .map(|e| {
            let text = |key: &str| e[key].as_str().unwrap_or_default().to_owned();
            (text("action"), text("target"), text("outcome"))
        })
        .collect()
}

fn row(action: &str, target: &str, outcome: &str) -> (String, String, String) {
    (action.to_owned(), target.to_owned(), outcome.to_owned())
}

async fn post_form(app: &TestApp, uri: &str, pairs: &[(&str, &str)]) -> TestResponse {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .expect("request");
    app.send(request).await
}

#[tokio::test]
async fn catalog_writes_through_the_api_leave_one_entry_each() {
    for database in TestDatabase::all() {
        let app = TestApp::start_on(&config_with_locations(&[]), database.clone()).await;
        let file = app.write("svc/catalog-info.yaml", &component("audited"));
        let location = format!("file:{}", file.display());
        assert!(entries(&app, "").await.is_empty(), "{database:?}: the log starts empty");

        let body = json!({"type": "file", "target": file.to_string_lossy()});
        let dry_run = app.post("/api/catalog/locations?dryRun=true", body.clone()).await;
        assert_eq!(dry_run.status, StatusCode::CREATED, "{}", dry_run.text());
        assert!(
            entries(&app, "").await.is_empty(),
            "{database:?}: a dry run changes nothing and is not recorded"
        );

        let created = app.post("/api/catalog/locations", body.clone()).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let id = created.json()["location"]["id"].as_str().expect("location id").to_owned();
        let again = app.post("/api/catalog/locations", body).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());
        app.settle().await;

        let refreshed =
            app.post("/api/catalog/refresh", json!({"entityRef": "component:default/audited"})).await;
        assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text());
        let missing = app.post("/api/catalog/refresh", json!({"entityRef": "component:default/nope"})).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);

        let deleted = app.delete(&format!("/api/catalog/locations/{id}")).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text());

        let log = entries(&app, "").await;
        assert_eq!(
            summary(&log),
            [
                row("catalog.location.delete", &location, "succeeded"),
                row("catalog.entity.refresh", "component:default/nope", "failed"),
                row("catalog.entity.refresh", "component:default/audited", "succeeded"),
                row("catalog.location.create", &location, "failed"),
                row("catalog.location.create", &location, "succeeded"),
            ],
            "{database:?}: one entry per write, newest first"
        );
        assert!(log.iter().all(|e| e["actor"] == GUEST), "{database:?}: {log:?}");
        assert_eq!(log[0]["details"], json!({"id": id}), "the unregistered location's id is kept");
        let conflict = log[3]["details"]["error"].as_str().unwrap_or_default();
        assert!(conflict.contains("already exists"), "a failure keeps its error: {conflict}");
        assert!(log[4]["details"].as_object().is_some_and(|d| d.is_empty()), "{:?}", log[4]);
        let at = log[0]["at"].as_str().unwrap_or_default();
        assert!(at.len() == 24 && at.ends_with('Z'), "times are ISO 8601 in UTC: {at}");
    }
}

#[tokio::test]
async fn a_program_with_a_static_token_is_recorded_as_a_service() {
    let config = format!(
        "backend:\n  auth:\n    externalAccess:\n      - type: static\n        options:\n          token: ci-token-0123456789abcdef\n          subject: ci-bot\n{}",
        config_with_locations(&[])
    );
    let app = TestApp::start(&config).await;
    let request = Request::post("/api/catalog/refresh")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, "Bearer ci-token-0123456789abcdef")
        .body(Body::from(json!({"entityRef": "component:default/missing"}).to_string()))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::NOT_FOUND);
    let log = entries(&app, "").await;
    assert_eq!(summary(&log), [row("catalog.entity.refresh", "component:default/missing", "failed")]);
    assert_eq!(log[0]["actor"], "service:ci-bot", "{log:?}");
}

#[tokio::test]
async fn the_import_and_unregister_pages_record_what_they_change() {
    let app = TestApp::start(&config_with_locations(&[])).await;
    let file = app.write("page/catalog-info.yaml", &component("paged"));
    let target = file.to_string_lossy().into_owned();

    let analyzed = post_form(&app, "/catalog-import", &[("step", "analyze"), ("target", &target)]).await;
    assert_eq!(analyzed.status, StatusCode::OK);
    assert!(entries(&app, "").await.is_empty(), "analyzing is not a write");
    let registered = post_form(&app, "/catalog-import", &[("step", "register"), ("target", &target)]).await;
    assert!(registered.text().contains("Registered"), "{}", registered.text());
    let twice = post_form(&app, "/catalog-import", &[("step", "register"), ("target", &target)]).await;
    assert!(twice.text().contains("registered already"), "{}", twice.text());
    app.settle().await;
    let done = post_form(&app, "/catalog/default/component/paged/unregister", &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());

    let location = format!("file:{target}");
    let log = entries(&app, "").await;
    assert_eq!(
        summary(&log),
        [
            row("catalog.location.delete", &location, "succeeded"),
            row("catalog.location.create", &location, "failed"),
            row("catalog.location.create", &location, "succeeded"),
        ]
    );
    assert!(log.iter().all(|e| e["actor"] == GUEST), "{log:?}");
}

const SCAFFOLDER_CONFIG: &str = "catalog:
  rules:
    - allow: [Template, Location]
  locations:
    - type: file
      target: ./templates.yaml
";

const SLOW_TEMPLATE: &str = "apiVersion: scaffolder.backstage.io/v1beta3
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
";

async fn scaffolder_app(database: TestDatabase) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "templates.yaml", SLOW_TEMPLATE);
    let app = TestApp::start_in(dir, SCAFFOLDER_CONFIG, database).await;
    app.settle().await;
    app
}

#[tokio::test]
async fn creating_cancelling_and_retrying_tasks_are_recorded() {
    for database in TestDatabase::all() {
        let app = scaffolder_app(database.clone()).await;
        let created = app
            .post("/api/scaffolder/v2/tasks", json!({"templateRef": "template:default/slow", "values": {}}))
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let id = created.json()["id"].as_str().expect("task id").to_owned();
        let cancelled =
            app.request(Method::POST, &format!("/api/scaffolder/v2/tasks/{id}/cancel"), None).await;
        assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text());
        let unknown = app.request(Method::POST, "/api/scaffolder/v2/tasks/no-such-task/cancel", None).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        let retried = app.request(Method::POST, &format!("/api/scaffolder/v2/tasks/{id}/retry"), None).await;
        assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.text());
        let page_cancel = post_form(&app, &format!("/create/tasks/{id}/cancel"), &[]).await;
        assert_eq!(page_cancel.status, StatusCode::SEE_OTHER, "{}", page_cancel.text());

        let log = entries(&app, "action=scaffolder.*").await;
        assert_eq!(
            summary(&log),
            [
                row("scaffolder.task.cancel", &id, "succeeded"),
                row("scaffolder.task.retry", &id, "succeeded"),
                row("scaffolder.task.cancel", "no-such-task", "failed"),
                row("scaffolder.task.cancel", &id, "succeeded"),
                row("scaffolder.task.create", &id, "succeeded"),
            ],
            "{database:?}"
        );
        assert!(log.iter().all(|e| e["actor"] == GUEST), "{database:?}: {log:?}");
        assert_eq!(log[4]["details"], json!({"template": "template:default/slow"}));
        assert!(
            log[2]["details"]["error"].as_str().is_some_and(|e| e.contains("no-such-task")),
            "{:?}",
            log[2]
        );
    }
}

/// An app with a few entries: two registrations (one of a hostile path), a failed one, and a
/// refresh of an entity that does not exist.
async fn app_with_entries() -> TestApp {
    let app = TestApp::start(&config_with_locations(&[])).await;
    for target in ["/srv/payments/catalog-info.yaml", "/srv/<script>alert(1)</script>/\"x\".yaml"] {
        let created = app.post("/api/catalog/locations", json!({"type": "file", "target": target})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    }
    let again = app
        .post("/api/catalog/locations", json!({"type": "file", "target": "/srv/payments/catalog-info.yaml"}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let missing = app.post("/api/catalog/refresh", json!({"entityRef": "component:default/ghost"})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    app
}

/// The `<tbody>` of the page's table, or "" when it shows no table.
fn table_rows(html: &str) -> usize {
    html.split_once("<tbody>")
        .map_or(0, |(_, rest)| rest.split("</tbody>").next().unwrap_or("").matches("<tr>").count())
}

#[tokio::test]
async fn the_admin_page_lists_filters_and_escapes_entries() {
    let app = app_with_entries().await;
    let page = app.get("/admin/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("<h1>Audit log</h1>") && html.contains("href=\"/admin/audit\""),
        "in the shell, in the nav"
    );
    assert_eq!(table_rows(&html), 4, "{html}");
    assert!(html.contains("user:default/guest") && html.contains("catalog.location.create"));
    assert!(
        html.contains("/srv/&lt;script&gt;alert(1)&lt;/script&gt;/&quot;x&quot;.yaml"),
        "hostile targets are escaped: {html}"
    );
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(html.contains("already exists"), "a failure shows its error");
    assert!(html.contains("task-badge-failed") && html.contains("task-badge-completed"));

    let failed = app.get("/admin/audit?outcome=failed").await.text();
    assert_eq!(table_rows(&failed), 2, "{failed}");
    assert!(failed.contains("<option value=\"failed\" selected>"), "the form shows the filter");
    let refreshes = app.get("/admin/audit?action=catalog.entity.*").await.text();
    assert_eq!(table_rows(&refreshes), 1);
    assert!(refreshes.contains("component:default/ghost"));
    let by_text = app.get("/admin/audit?target=PAYMENTS&outcome=succeeded").await.text();
    assert_eq!(table_rows(&by_text), 1, "{by_text}");
    assert!(by_text.contains("value=\"PAYMENTS\""));
    let nobody = app.get("/admin/audit?actor=user%3Adefault%2Fnobody").await.text();
    assert_eq!(table_rows(&nobody), 0);
    assert!(nobody.contains("No entries here"), "{nobody}");

    let hostile_filter =
        app.get("/admin/audit?target=%22%3E%3Cscript%3Ealert(2)%3C%2Fscript%3E").await.text();
    assert!(!hostile_filter.contains("<script>alert(2)"), "filters are escaped in the form too");

    let wrong = app.get("/admin/audit?since=tomorrow").await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.text().contains("Invalid since"), "{}", wrong.text());

    let fragment = app
        .send(
            Request::get("/admin/audit?outcome=failed")
                .header("hx-request", "true")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .text();
    assert!(fragment.starts_with("<section id=\"audit-body\""), "htmx gets the results only: {fragment}");
    assert_eq!(table_rows(&fragment), 2);
}

#[tokio::test]
async fn the_admin_page_pages_through_many_entries() {
    let app = TestApp::start(&config_with_locations(&[])).await;
    for n in 0..55 {
        let response =
            app.post("/api/catalog/refresh", json!({"entityRef": format!("component:default/c{n}")})).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND);
    }
    let first = app.get("/admin/audit").await.text();
    assert_eq!(table_rows(&first), 50);
    assert!(
        first.contains("component:default/c54") && !first.contains("component:default/c4<"),
        "newest first"
    );
    assert!(first.contains("href=\"/admin/audit?page=2\""), "{first}");
    let second = app.get("/admin/audit?page=2").await.text();
    assert_eq!(table_rows(&second), 5);
    assert!(second.contains("component:default/c0<"));

    let api = app.get_json("/api/audit/entries?limit=10&offset=50").await;
    assert_eq!(api["totalItems"], 55);
    assert_eq!(api["items"].as_array().map(Vec::len), Some(5));
    assert_eq!(api["items"][4]["target"], "component:default/c0");
}

#[tokio::test]
async fn nothing_changes_or_removes_entries() {
    let app = app_with_entries().await;
    let before = app.get_json("/api/audit/entries").await;
    assert_eq!(before["totalItems"], 4);
    let id = before["items"][0]["id"].as_i64().expect("id");

    for method in [Method::PUT, Method::DELETE, Method::PATCH, Method::POST] {
        let response =
            app.request(method.clone(), "/api/audit/entries", Some(json!({"outcome": "succeeded"}))).await;
        assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED, "{method} /api/audit/entries");
        let one = app.request(method.clone(), &format!("/api/audit/entries/{id}"), None).await;
        assert_eq!(one.status, StatusCode::NOT_FOUND, "{method} /api/audit/entries/{id}");
        let page = app.request(method.clone(), "/admin/audit", None).await;
        assert_eq!(page.status, StatusCode::METHOD_NOT_ALLOWED, "{method} /admin/audit");
    }
    assert_eq!(app.get_json("/api/audit/entries").await, before, "every entry is unchanged");
}

#[tokio::test]
async fn the_api_checks_its_parameters() {
    let app = app_with_entries().await;
    let filtered = app.get_json("/api/audit/entries?outcome=failed&since=1h&limit=1").await;
    assert_eq!(
        (filtered["totalItems"].as_u64(), filtered["items"].as_array().map(Vec::len)),
        (Some(2), Some(1))
    );
    let future = app.get_json("/api/audit/entries?since=2999-01-01").await;
    assert_eq!(future["totalItems"], 0);
    for (query, message) in [
        ("outcome=ok", "Invalid outcome"),
        ("since=soon", "Invalid since"),
        ("limit=0", "Invalid limit"),
        ("limit=5000", "Invalid limit"),
        ("offset=-1", "Invalid offset"),
        ("actr=user%3Adefault%2Fjane", "Unknown query parameter 'actr'"),
    ] {
        let response = app.get(&format!("/api/audit/entries?{query}")).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        let body = response.json();
        assert_eq!(body["error"]["name"], "InputError", "{query}: {body}");
        assert!(body["error"]["message"].as_str().unwrap_or_default().contains(message), "{query}: {body}");
    }
}
