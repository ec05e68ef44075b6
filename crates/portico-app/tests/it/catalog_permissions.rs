//! Permissions in the catalog with the shipped example policies (demo/policies): entities
//! labelled restricted are visible to their owners only — in every list, count, facet, cursor,
//! by-refs answer, single-entity route, the graph and the pages — and only owners may delete
//! or unregister what they own. Denials answer 403 and are recorded in the audit log.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use portico_testkit::{TestApp, TestDatabase, TestResponse, TokenSigner, write_file};
use serde_json::{Value, json};

const JANE: &str = "user:default/jane";
const JANE_OWNS: &[&str] = &["user:default/jane", "group:default/team-a"];
const BOB: &str = "user:default/bob";
const BOB_OWNS: &[&str] = &["user:default/bob", "group:default/team-b"];

/// 12 open components (6 owned by each team) and 5 restricted ones owned by team-a, in two
/// files registered as two locations.
fn catalog(dir: &std::path::Path) {
    let component = |name: &str, owner: &str, restricted: bool| {
        let labels = if restricted { "\n  labels:\n    portico.io/restricted: \"true\"" } else { "" };
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}{labels}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n  dependsOn: [component:default/secret-0]\n"
        )
    };
    let mut open = Vec::new();
    for i in 0..12 {
        let owner = if i % 2 == 0 { "team-a" } else { "team-b" };
        open.push(component(&format!("open-{i:02}"), owner, false));
    }
    write_file(dir, "open.yaml", &open.join("---\n"));
    let secret: Vec<String> = (0..5).map(|i| component(&format!("secret-{i}"), "team-a", true)).collect();
    write_file(dir, "secret.yaml", &secret.join("---\n"));
}

fn policies() -> Vec<PathBuf> {
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo/policies");
    ["default.cedar", "owners-delete.cedar", "restricted-entities.cedar", "audit-admins.cedar"]
        .iter()
        .map(|file| demo.join(file))
        .collect()
}

struct Portal {
    app: TestApp,
    jane: String,
    bob: String,
}

async fn portal() -> Portal {
    let dir = tempfile::tempdir().expect("temporary folder");
    catalog(dir.path());
    let policies: Vec<String> = policies().iter().map(|p| format!("    - {}", p.display())).collect();
    let config = format!(
        "catalog:\n  allowedLocationTypes: [file, url]\n  locations:\n    - type: file\n      target: open.yaml\npermission:\n  enabled: true\n  policies:\n{}\n",
        policies.join("\n")
    );
    let app = TestApp::start_in(dir, &config, TestDatabase::Sqlite).await;
    app.settle().await;
    let signer = TokenSigner::join(&app).await;
    let jane = signer.token(JANE, JANE_OWNS);
    let bob = signer.token(BOB, BOB_OWNS);
    // The restricted entities come from a registered location, so it can be unregistered.
    let target = app.path("secret.yaml").display().to_string();
    let created = send(
        &app,
        Method::POST,
        "/api/catalog/locations",
        Some(&jane),
        Some(json!({"type": "file", "target": target})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    app.settle().await;
    Portal { app, jane, bob }
}

async fn send(
    app: &TestApp,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> TestResponse {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    app.send(request.body(body).expect("request")).await
}

async fn get_json(app: &TestApp, uri: &str, token: Option<&str>) -> Value {
    let response = send(app, Method::GET, uri, token, None).await;
    assert_eq!(response.status, StatusCode::OK, "GET {uri}: {}", response.text());
    response.json()
}

fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Pages through `/entities/by-query` with `limit` and returns every name seen and the total
/// each page reported.
async fn page_through(app: &TestApp, token: Option<&str>, limit: usize) -> (Vec<String>, Vec<u64>) {
    let mut uri = format!(
        "/api/catalog/entities/by-query?filter=kind=component&limit={limit}&orderField=metadata.name,asc"
    );
    let mut seen = Vec::new();
    let mut totals = Vec::new();
    loop {
        let page = get_json(app, &uri, token).await;
        let items = names(&page["items"]);
        assert!(items.len() <= limit);
        totals.push(page["totalItems"].as_u64().expect("totalItems"));
        seen.extend(items);
        match page["pageInfo"]["nextCursor"].as_str() {
            Some(cursor) => uri = format!("/api/catalog/entities/by-query?limit={limit}&cursor={cursor}"),
            None => return (seen, totals),
        }
    }
}

#[tokio::test]
async fn restricted_entities_are_left_out_of_every_list_inside_the_query() {
    let Portal { app, jane, bob } = portal().await;
    let everyone_sees: Vec<String> = (0..12).map(|i| format!("open-{i:02}")).collect();
    let mut jane_sees = everyone_sees.clone();
    jane_sees.extend((0..5).map(|i| format!("secret-{i}")));

    for (who, token, expected) in [
        ("owner", Some(jane.as_str()), &jane_sees),
        ("other user", Some(bob.as_str()), &everyone_sees),
        ("anonymous", None, &everyone_sees),
    ] {
        let listed = get_json(&app, "/api/catalog/entities?filter=kind=component", token).await;
        assert_eq!(&names(&listed), expected, "{who}: GET /entities");
        // Offset paging has no holes: every page is full until the last.
        let first = get_json(&app, "/api/catalog/entities?filter=kind=component&limit=5", token).await;
        assert_eq!(names(&first), expected[..5], "{who}: first page of 5");

        // Keyset paging: pages of 4, totals of the readable entities only, nothing twice.
        let (seen, totals) = page_through(&app, token, 4).await;
        assert_eq!(&seen, expected, "{who}: by-query pages");
        assert!(totals.iter().all(|t| *t == expected.len() as u64), "{who}: totals {totals:?}");

        let posted = send(
            &app,
            Method::POST,
            "/api/catalog/entities/by-query",
            token,
            Some(json!({"query": {"kind": "component"}, "limit": 100})),
        )
        .await;
        assert_eq!(posted.json()["totalItems"], expected.len(), "{who}: POST by-query");

        let facets =
            get_json(&app, "/api/catalog/entity-facets?facet=spec.owner&filter=kind=component", token).await;
        let count = |owner: &str| {
            facets["facets"]["spec.owner"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["value"] == owner)
                .map(|f| f["count"].as_u64().unwrap())
        };
        let team_a = expected
            .iter()
            .filter(|n| n.starts_with("secret") || n[5..].parse::<u32>().unwrap() % 2 == 0)
            .count();
        assert_eq!(count("team-a"), Some(team_a as u64), "{who}: facet counts");

        let refs = send(
            &app,
            Method::POST,
            "/api/catalog/entities/by-refs",
            token,
            Some(json!({"entityRefs": ["component:default/open-00", "component:default/secret-0"]})),
        )
        .await
        .json();
        assert_eq!(refs["items"][0]["metadata"]["name"], "open-00");
        assert_eq!(refs["items"][1].is_null(), token != Some(jane.as_str()), "{who}: by-refs");

        let by_name =
            send(&app, Method::GET, "/api/catalog/entities/by-name/component/default/secret-0", token, None)
                .await;
        let missing =
            send(&app, Method::GET, "/api/catalog/entities/by-name/component/default/no-such", token, None)
                .await;
        if token == Some(jane.as_str()) {
            assert_eq!(by_name.status, StatusCode::OK);
            let uid = by_name.json()["metadata"]["uid"].as_str().unwrap().to_owned();
            let by_uid =
                send(&app, Method::GET, &format!("/api/catalog/entities/by-uid/{uid}"), token, None).await;
            assert_eq!(by_uid.status, StatusCode::OK);
        } else {
            // Exactly like an entity that does not exist.
            assert_eq!(by_name.status, StatusCode::NOT_FOUND, "{who}: by-name");
            assert_eq!(missing.status, StatusCode::NOT_FOUND);
            let ancestry = send(
                &app,
                Method::GET,
                "/api/catalog/entities/by-name/component/default/secret-0/ancestry",
                token,
                None,
            )
            .await;
            assert_eq!(ancestry.status, StatusCode::NOT_FOUND, "{who}: ancestry");
        }
    }
}

#[tokio::test]
async fn the_pages_and_the_graph_hide_what_cannot_be_read() {
    let Portal { app, jane, bob } = portal().await;
    let page = |token: String, uri: &'static str| {
        let app = &app;
        async move { send(app, Method::GET, uri, Some(&token), None).await }
    };
    let list = page(bob.clone(), "/catalog?kind=component").await.text();
    assert!(
        list.contains("open-00") && !list.contains("secret-0"),
        "the list leaves restricted entities out"
    );
    let list = page(jane.clone(), "/catalog?kind=component").await.text();
    assert!(list.contains("secret-0"), "owners see theirs");

    let denied = page(bob.clone(), "/catalog/default/component/secret-0").await;
    assert_eq!(denied.status, StatusCode::NOT_FOUND, "the entity page is not found");
    // The graph of an open entity depending on a restricted one draws its ref, never its data,
    // and never walks past it.
    let graph = page(bob.clone(), "/catalog/default/component/open-01/dependencies").await.text();
    assert!(graph.contains("secret-0"), "the ref itself is the open entity's own data");
    let home = page(bob.clone(), "/").await.text();
    assert!(!home.contains("secret-"), "recently changed and counts leave them out");

    // Bob sees the Unregister button of Jane's entity disabled, with the reason.
    let entity = page(bob.clone(), "/catalog/default/component/open-00").await.text();
    assert!(
        entity.contains("aria-disabled=\"true\"") && entity.contains("You may not unregister"),
        "{entity}"
    );
    let entity = page(jane.clone(), "/catalog/default/component/open-00").await.text();
    assert!(entity.contains("/unregister\">Unregister</a>"), "the owner gets the button");
}

#[tokio::test]
async fn only_owners_delete_and_unregister_and_denials_are_audited() {
    let Portal { app, jane, bob } = portal().await;
    let open = get_json(&app, "/api/catalog/entities/by-name/component/default/open-00", Some(&jane)).await;
    let uid = open["metadata"]["uid"].as_str().unwrap().to_owned();

    let refused =
        send(&app, Method::DELETE, &format!("/api/catalog/entities/by-uid/{uid}"), Some(&bob), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert_eq!(refused.json()["error"]["name"], "NotAllowedError");
    assert!(refused.text().contains("only-owners-delete"), "the reason names the policy: {}", refused.text());
    let anonymous =
        send(&app, Method::DELETE, &format!("/api/catalog/entities/by-uid/{uid}"), None, None).await;
    assert_eq!(anonymous.status, StatusCode::FORBIDDEN);

    // Unregistering the location of restricted entities: Bob cannot even see them, and may not.
    let locations = get_json(&app, "/api/catalog/locations", Some(&jane)).await;
    let secret = locations
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["data"]["target"].as_str().unwrap().ends_with("secret.yaml"))
        .expect("registered location");
    let id = secret["data"]["id"].as_str().unwrap();
    let refused = send(&app, Method::DELETE, &format!("/api/catalog/locations/{id}"), Some(&bob), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());

    // The denials are in the audit log — which only administrators may read.
    let forbidden =
        send(&app, Method::GET, "/api/audit/entries?action=permission.deny", Some(&jane), None).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN, "the audit log is for administrators");
    let admin = TokenSigner::join(&app)
        .await
        .token("user:default/ada", &["user:default/ada", "group:default/infrastructure"]);
    let entries = get_json(&app, "/api/audit/entries?action=permission.deny", Some(&admin)).await;
    let denied: Vec<(&str, &str)> = entries["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["details"]["permission"].as_str().unwrap()))
        .collect();
    assert!(denied.contains(&(BOB, "catalog.entity.delete")), "{denied:?}");
    assert!(denied.contains(&(BOB, "catalog.location.delete")), "{denied:?}");
    assert!(denied.contains(&(JANE, "audit.entry.read")), "{denied:?}");
    assert!(entries["items"].as_array().unwrap().iter().all(|e| e["outcome"] == "denied"));

    // The owners may.
    let deleted =
        send(&app, Method::DELETE, &format!("/api/catalog/entities/by-uid/{uid}"), Some(&jane), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text());
    let unregistered =
        send(&app, Method::DELETE, &format!("/api/catalog/locations/{id}"), Some(&jane), None).await;
    assert_eq!(unregistered.status, StatusCode::NO_CONTENT, "{}", unregistered.text());
}

#[tokio::test]
async fn authorize_answers_allow_and_deny_for_resources_and_rejects_services() {
    let Portal { app, jane, bob } = portal().await;
    let read = json!({"type": "resource", "name": "catalog.entity.read", "attributes": {"action": "read"}, "resourceType": "catalog-entity"});
    let body = json!({"items": [
        {"id": "a", "permission": read, "resourceRef": "component:default/secret-0"},
        {"id": "b", "permission": read, "resourceRef": ["component:default/open-01", "component:default/secret-1", "component:default/none"]},
        {"id": "c", "permission": {"type": "basic", "name": "catalog.location.create", "attributes": {"action": "create"}}},
    ]});
    let answer = |token: String| {
        let app = &app;
        let body = body.clone();
        async move { send(app, Method::POST, "/api/permission/authorize", Some(&token), Some(body)).await.json() }
    };
    let jane_answer = answer(jane).await;
    assert_eq!(jane_answer["items"][0], json!({"id": "a", "result": "ALLOW"}));
    assert_eq!(jane_answer["items"][1]["result"], json!(["ALLOW", "ALLOW", "DENY"]));
    let bob_answer = answer(bob).await;
    assert_eq!(bob_answer["items"][0]["result"], "DENY");
    assert_eq!(bob_answer["items"][1]["result"], json!(["ALLOW", "DENY", "DENY"]));
    assert_eq!(bob_answer["items"][2]["result"], "ALLOW");

    let invalid = send(
        &app,
        Method::POST,
        "/api/permission/authorize",
        None,
        Some(json!({"items": [{"permission": read}]})),
    )
    .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    let health = get_json(&app, "/api/permission/health", None).await;
    assert_eq!(health, json!({"status": "ok"}));
}

#[tokio::test]
async fn a_static_token_is_limited_to_its_permissions() {
    let dir = tempfile::tempdir().expect("temporary folder");
    catalog(dir.path());
    let config = "catalog:\n  locations:\n    - type: file\n      target: open.yaml\nbackend:\n  auth:\n    externalAccess:\n      - type: static\n        options:\n          token: read-only-token-123456\n          subject: reporting\n        accessRestrictions:\n          - plugin: catalog\n            permission: catalog.entity.read\npermission:\n  enabled: true\n";
    let app = TestApp::start_in(dir, config, TestDatabase::Sqlite).await;
    app.settle().await;
    let listed =
        get_json(&app, "/api/catalog/entities?filter=kind=component", Some("read-only-token-123456")).await;
    assert_eq!(listed.as_array().unwrap().len(), 12);
    let refused =
        send(&app, Method::GET, "/api/catalog/locations", Some("read-only-token-123456"), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert!(refused.text().contains("access restrictions"), "{}", refused.text());
}

#[tokio::test]
async fn an_invalid_policy_stops_start_up_naming_file_line_and_column() {
    let dir = tempfile::tempdir().expect("temporary folder");
    write_file(
        dir.path(),
        "bad.cedar",
        "permit (principal, action, resource)\nwhen { resource.colour == \"red\" };\n",
    );
    let config = format!(
        "permission:\n  enabled: true\n  policies:\n    - {}\n",
        dir.path().join("bad.cedar").display()
    );
    let config = portico_config::Config::from_yaml_str(&config, dir.path(), &|_| None).expect("config");
    let error = portico_app::Portico::default().build(config).await.err().expect("refused");
    let message = error.to_string();
    assert!(message.contains("bad.cedar:2:"), "{message}");
    assert!(message.starts_with("permission error: permission.policies"), "{message}");
}
