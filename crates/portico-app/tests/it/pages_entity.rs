//! The entity page and its neighbours through the whole app: tabs, relation cards, the
//! dependency graph, API definitions, group and user profiles, registering and unregistering,
//! stars kept across restarts, and escaping of hostile content.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use portico_testkit::{TestApp, TestDatabase};

use crate::support::{config_with_locations, demo_catalog};

async fn demo_app() -> TestApp {
    let all = demo_catalog().join("all.yaml");
    let org = demo_catalog().join("acme-corp.yaml");
    let app = TestApp::start(&config_with_locations(&[
        ("file", &all.to_string_lossy()),
        ("file", &org.to_string_lossy()),
    ]))
    .await;
    app.settle().await;
    app
}

async fn page(app: &TestApp, uri: &str) -> String {
    let response = app.get(uri).await;
    assert_eq!(response.status, StatusCode::OK, "GET {uri}: {}", response.text());
    response.text()
}

async fn post_form(app: &TestApp, uri: &str, body: &str) -> portico_testkit::TestResponse {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn overview_shows_tabs_about_and_relation_links() {
    let app = demo_app().await;
    let html = page(&app, "/catalog/default/component/petstore").await;
    for tab in ["Overview", "Dependencies"] {
        assert!(html.contains(&format!(">{tab}</a>")), "tab {tab}");
    }
    assert!(!html.contains(">Definition</a>"), "only APIs have a definition tab");
    assert!(html.contains("Provided APIs"), "{html}");
    assert!(html.contains("href=\"/catalog/default/api/petstore\""), "provided API linked");
    assert!(html.contains("href=\"/catalog/default/group/team-c\""), "owner linked");
    assert!(html.contains("class=\"star-form\""), "star button");

    let api = page(&app, "/catalog/default/api/petstore").await;
    assert!(api.contains(">Definition</a>"));
    assert!(api.contains("href=\"/catalog/default/component/petstore\""), "provider linked back");

    let missing = app.get("/catalog/default/component/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains("Entity not found"));
    assert_eq!(app.get("/catalog/default/component/petstore/bogus").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn dependency_graph_links_every_related_entity_and_respects_depth() {
    let app = demo_app().await;
    let html = page(&app, "/catalog/default/component/petstore/dependencies").await;
    assert!(html.contains("<svg class=\"graph\""));
    for target in [
        "/catalog/default/api/petstore",
        "/catalog/default/api/streetlights",
        "/catalog/default/group/team-c",
    ] {
        assert!(html.contains(&format!("href=\"{target}\"")), "node link {target}");
    }
    let depth1 = html.matches("<a class=\"node").count();
    let depth2 = page(&app, "/catalog/default/component/petstore/dependencies?depth=2").await;
    assert!(depth2.matches("<a class=\"node").count() > depth1, "depth 2 reaches further");
    let only_apis =
        page(&app, "/catalog/default/component/petstore/dependencies?relations=providesApi").await;
    assert!(!only_apis.contains("data-ref=\"group:default/team-c\""), "ownership not followed");
    assert!(only_apis.contains("data-ref=\"api:default/petstore\""));
}

#[tokio::test]
async fn api_definitions_render_and_download() {
    let app = demo_app().await;
    let openapi = page(&app, "/catalog/default/api/petstore/definition").await;
    assert!(openapi.contains("Swagger Petstore"), "info title");
    assert!(
        openapi.contains("<span class=\"method\">GET</span><code class=\"op-path\">/pets</code>"),
        "operations"
    );
    assert!(openapi.contains("http://petstore.swagger.io/v1"), "servers");
    assert!(openapi.contains("<details class=\"schema\">"), "schemas");

    let asyncapi = page(&app, "/catalog/default/api/streetlights/definition").await;
    assert!(asyncapi.contains("Streetlights API") && asyncapi.contains("Channels"), "channels");
    assert!(asyncapi.contains("PUBLISH") || asyncapi.contains("SUBSCRIBE"));

    let graphql = page(&app, "/catalog/default/api/starwars-graphql/definition").await;
    assert!(graphql.contains("<span class=\"hl-keyword\">type</span>"), "highlighted SDL");

    let raw = app.get("/catalog/default/api/petstore/definition/raw").await;
    assert_eq!(raw.status, StatusCode::OK);
    assert!(raw.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/yaml"));
    assert!(raw.text().starts_with("openapi: \"3.0.0\""));
}

#[tokio::test]
async fn group_and_user_pages_show_members_ownership_and_memberships() {
    let app = demo_app().await;
    let group = page(&app, "/catalog/default/group/team-c").await;
    assert!(group.contains("Team C") && group.contains("mailto:team-c@example.com"));
    assert!(group.contains("href=\"/catalog/default/user/calum.leavy\""), "members linked");
    assert!(group.contains("href=\"/catalog/default/group/boxoffice\""), "parent linked");
    let owned = app
        .get_json("/api/catalog/entities/by-query?filter=relations.ownedBy=group:default/team-c&limit=1")
        .await;
    let total = owned["totalItems"].as_u64().unwrap();
    assert!(total > 0);
    assert!(group.contains(&format!("Ownership <span class=\"count\">{total}</span>")), "{group}");

    let user = page(&app, "/catalog/default/user/calum.leavy").await;
    assert!(user.contains("Calum Leavy") && user.contains("Memberships"));
    assert!(user.contains("href=\"/catalog/default/group/team-c\""), "membership linked");
    assert!(
        user.contains("<span class=\"avatar large initials\" aria-hidden=\"true\">C<img class=\"avatar-picture\" src=\"https://"),
        "the https picture is layered over the initials: {user}"
    );
}

#[tokio::test]
async fn import_analyzes_registers_and_unregisters() {
    let app = TestApp::start(&config_with_locations(&[])).await;
    let file = app.write(
        "new/catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: fresh\nspec:\n  type: service\n  owner: team-a\n  lifecycle: production\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: fresh-two\nspec:\n  type: service\n  owner: team-a\n  lifecycle: production\n",
    );
    let target = file.to_string_lossy().into_owned();
    let form = page(&app, "/catalog-import").await;
    assert!(form.contains("name=\"target\""));

    let analyzed =
        post_form(&app, "/catalog-import", &format!("step=analyze&target={}", urlencode(&target))).await;
    let html = analyzed.text();
    assert!(html.contains("Review") && html.contains("fresh-two"), "{html}");
    assert!(app.get_json("/api/catalog/locations").await.as_array().unwrap().is_empty(), "nothing stored");

    let bad = app.write("bad.yaml", "kind: Component\nmetadata: [\n");
    let error = post_form(&app, "/catalog-import", &format!("target={}", urlencode(&bad.to_string_lossy())))
        .await
        .text();
    assert!(error.contains("Could not import") && error.contains("line"), "{error}");

    let registered =
        post_form(&app, "/catalog-import", &format!("step=register&target={}", urlencode(&target)))
            .await
            .text();
    assert!(
        registered.contains("Registered") && registered.contains("href=\"/catalog/default/component/fresh\"")
    );
    app.settle().await;
    assert!(app.entity("component:default/fresh").await.is_some());

    let confirm = page(&app, "/catalog/default/component/fresh/unregister").await;
    assert!(confirm.contains("fresh-two") && confirm.contains("Unregister location"), "{confirm}");
    let cross_site = Request::post("/catalog/default/component/fresh/unregister")
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(cross_site).await.status, StatusCode::FORBIDDEN);
    let done = post_form(&app, "/catalog/default/component/fresh/unregister", "").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    app.settle().await;
    assert!(app.entity("component:default/fresh").await.is_none());
    assert!(app.entity("component:default/fresh-two").await.is_none());
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn stars_survive_a_restart_on_the_same_database() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let catalog = portico_testkit::write_file(
        dir.path(),
        "c.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: shiny\nspec:\n  type: service\n  owner: team-a\n  lifecycle: production\n",
    );
    let config = format!(
        "{}backend:\n  database:\n    client: better-sqlite3\n    connection: {}/stars.db\n",
        config_with_locations(&[("file", &catalog.to_string_lossy())]),
        dir.path().display()
    );
    {
        let app = TestApp::start_in(tempfile::tempdir().unwrap(), &config, TestDatabase::Sqlite).await;
        app.settle().await;
        let response = post_form(&app, "/catalog/default/component/shiny/star", "starred=true").await;
        assert_eq!(response.status, StatusCode::SEE_OTHER);
        app.app.shutdown();
    }
    let app = TestApp::start_in(tempfile::tempdir().unwrap(), &config, TestDatabase::Sqlite).await;
    app.settle().await;
    let home = page(&app, "/").await;
    assert!(home.contains("href=\"/catalog/default/component/shiny\""), "starred on home");
    assert!(page(&app, "/catalog/default/component/shiny").await.contains("aria-pressed=\"true\""));
    let request = Request::post("/catalog/default/component/shiny/star")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("hx-request", "true")
        .body(Body::from("starred=false"))
        .unwrap();
    let fragment = app.send(request).await.text();
    assert!(fragment.contains("aria-pressed=\"false\"") && !fragment.contains("<html"), "{fragment}");
    assert!(page(&app, "/catalog?user=starred").await.contains("id=\"results-total\">0<"));
}

#[tokio::test]
async fn hostile_content_is_escaped_and_unsafe_links_are_not_links() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let file = portico_testkit::write_file(
        dir.path(),
        "evil.yaml",
        concat!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: evil\n",
            "  title: \"<script>alert('t')</script>\"\n",
            "  description: \"<img src=x onerror=alert(1)>\"\n",
            "  annotations:\n    backstage.io/view-url: \"javascript:alert(2)\"\n",
            "  links:\n    - url: \"javascript:alert(3)\"\n      title: Evil link\n",
            "spec:\n  type: service\n  owner: \"team-a\"\n  lifecycle: production\n",
        ),
    );
    let config = config_with_locations(&[("file", &file.to_string_lossy())]);
    let app = TestApp::start_in(dir, &config, TestDatabase::Sqlite).await;
    app.settle().await;
    for uri in ["/catalog/default/component/evil", "/catalog/default/component/evil/dependencies"] {
        let html = page(&app, uri).await;
        assert!(
            html.contains("&lt;script&gt;alert") || html.contains("&#60;script&#62;alert"),
            "{uri}: title shown escaped"
        );
        assert!(!html.contains("<script>alert"), "{uri}");
        assert!(!html.contains("<img src=x"), "{uri}");
        assert!(!html.contains("href=\"javascript:"), "{uri}");
    }
    let overview = page(&app, "/catalog/default/component/evil").await;
    assert!(overview.contains("<span class=\"unsafe-link\""), "unsafe links shown as text");
}
