//! The `/search` page and the shell's suggestions.

use axum::http::StatusCode;
use portico_testkit::TestApp;
use serde_json::json;

async fn app_with_hostile_title() -> TestApp {
    let app = TestApp::start("catalog:\n  allowedLocationTypes: [url, file]\n").await;
    let file = app.write(
        "repo/catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: evil\n  title: \"evil <script>alert(1)</script>\"\n  description: \"<img src=x onerror=alert(2)>\"\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    );
    let response =
        app.post("/api/catalog/locations", json!({"type": "file", "target": file.to_string_lossy()})).await;
    assert_eq!(response.status, StatusCode::CREATED);
    app.settle().await;
    app
}

#[tokio::test]
async fn the_search_page_shows_escaped_highlighted_results() {
    let app = app_with_hostile_title().await;
    let page = app.get("/search?q=evil&kind=Component").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("1 result"), "{html}");
    assert!(html.contains("<mark>evil</mark> &lt;script&gt;"), "{html}");
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(html.contains(r#"href="/catalog/default/component/evil""#));
    assert!(html.contains("Software Catalog"), "type tabs");
    // The header box searches here and asks for suggestions.
    assert!(html.contains(r#"action="/search""#));
    assert!(html.contains(r#"hx-get="/search/suggest""#));

    let none = app.get("/search?q=evil&kind=Group").await.text();
    assert!(none.contains("0 results"), "{none}");
}

#[tokio::test]
async fn suggestions_are_an_escaped_fragment() {
    let app = app_with_hostile_title().await;
    let response = app.get("/search/suggest?q=evi").await;
    assert_eq!(response.status, StatusCode::OK);
    let html = response.text();
    assert!(!html.contains("<html"), "a fragment, not a page");
    assert!(html.contains("<mark>evil</mark> &lt;script&gt;"), "{html}");
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("See all 1 results"));
    assert_eq!(app.get("/search/suggest?q=").await.text(), "");
}
