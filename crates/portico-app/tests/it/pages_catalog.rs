//! The catalog's HTML pages through the whole app: filters, facets, paging, sorting, htmx
//! fragments, escaping of user-provided text, error pages, settings and assets.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use portico_testkit::{TestApp, TestResponse};

use crate::support::config_with_locations;

/// 30 components (even ones owned by team-a, odd ones by team-b; every third a website), two
/// APIs, two groups, and one component whose text fields try to inject markup.
fn fixture() -> String {
    let mut yaml = String::new();
    for i in 0..30 {
        let owner = if i % 2 == 0 { "team-a" } else { "team-b" };
        let kind = if i % 3 == 0 { "website" } else { "service" };
        yaml.push_str(&format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc-{i:02}\n  description: Service number {i}\n  tags: [t{}]\nspec:\n  type: {kind}\n  owner: {owner}\n  lifecycle: production\n",
            i % 4
        ));
    }
    for name in ["orders-api", "billing-api"] {
        yaml.push_str(&format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: {name}\nspec:\n  type: openapi\n  owner: team-a\n  lifecycle: production\n  definition: openapi\n"
        ));
    }
    for name in ["team-a", "team-b"] {
        yaml.push_str(&format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: {name}\nspec:\n  type: team\n  children: []\n"
        ));
    }
    yaml.push_str(
        "---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: jane\nspec:\n  memberOf: [team-b]\n",
    );
    yaml.push_str(concat!(
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: zz-hostile\n",
        "  title: \"<script>alert('title')</script>\"\n",
        "  description: \"<img src=x onerror=alert(1)>\"\n",
        "  links:\n    - url: \"javascript:alert(document.cookie)\"\n      title: Evil link\n",
        "    - url: \"data:text/html,<b>x</b>\"\n      title: Data link\n",
        "    - url: https://good.example/docs\n      title: Good link\n",
        "spec:\n  type: library\n  owner: team-c\n  lifecycle: experimental\n",
    ));
    yaml
}

async fn app() -> TestApp {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = portico_testkit::write_file(dir.path(), "catalog.yaml", &fixture());
    let config = config_with_locations(&[("file", &path.to_string_lossy())]);
    let app = TestApp::start_in(dir, &config, portico_testkit::TestDatabase::Sqlite).await;
    app.settle().await;
    app
}

async fn page(app: &TestApp, uri: &str) -> String {
    let response = app.get(uri).await;
    assert_eq!(response.status, StatusCode::OK, "GET {uri}: {}", response.text());
    assert!(
        response.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"),
        "GET {uri} is HTML"
    );
    response.text()
}

/// Names of the entities listed in the results table, in order.
fn listed(html: &str) -> Vec<String> {
    html.split("<a class=\"cell-title\" href=\"")
        .skip(1)
        .filter_map(|rest| {
            rest.split_once('>').and_then(|(_, after)| after.split_once('<')).map(|(name, _)| name.to_owned())
        })
        .collect()
}

/// The count shown next to the facet option `value` of parameter `name`.
fn facet_count(html: &str, name: &str, value: &str) -> Option<u64> {
    let needle = format!("name=\"{name}\" value=\"{value}\"");
    let at = html.find(&needle)?;
    let rest = &html[at..];
    let count = rest.split_once("<span class=\"count\">")?.1.split_once('<')?.0;
    count.parse().ok()
}

async fn htmx_get(app: &TestApp, uri: &str) -> TestResponse {
    let request = Request::get(uri).header("HX-Request", "true").body(Body::empty()).expect("request");
    app.send(request).await
}

#[tokio::test]
async fn catalog_lists_components_inside_the_shell_with_facet_counts() {
    let app = app().await;
    let response = app.get("/catalog").await;
    assert_eq!(response.status, StatusCode::OK);
    let csp = response.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = response.text();
    assert!(html.starts_with("<!doctype html>"), "a whole page");
    for nav in
        ["href=\"/\"", "href=\"/catalog\" aria-current=\"page\"", "href=\"/api-docs\"", "href=\"/settings\""]
    {
        assert!(html.contains(nav), "navigation has {nav}");
    }
    assert!(html.contains("id=\"results-total\">31<"), "31 components");
    assert_eq!(listed(&html).len(), 25, "first page of 25");
    assert_eq!(facet_count(&html, "type", "service"), Some(20));
    assert_eq!(facet_count(&html, "type", "website"), Some(10));
    assert_eq!(facet_count(&html, "owner", "group:default/team-a"), Some(15));
    assert_eq!(facet_count(&html, "user", "all"), Some(31));
    assert!(!html.contains("orders-api"), "APIs are another kind");
}

#[tokio::test]
async fn filters_are_applied_on_the_server_and_counts_follow_the_other_filters() {
    let app = app().await;
    let html = page(&app, "/catalog?kind=component&owner=group%3Adefault%2Fteam-a&type=website").await;
    let names = listed(&html);
    assert_eq!(names, ["svc-00", "svc-06", "svc-12", "svc-18", "svc-24"]);
    // Type counts ignore the type filter but honour the owner filter, and vice versa.
    assert_eq!(facet_count(&html, "type", "service"), Some(10));
    assert_eq!(facet_count(&html, "owner", "group:default/team-b"), Some(5));
    assert!(html.contains("value=\"website\" checked"), "the chosen type stays ticked");

    let html = page(&app, "/catalog?q=number%2029").await;
    assert_eq!(listed(&html), ["svc-29"]);

    let html = page(&app, "/catalog?tag=t1&lifecycle=production").await;
    assert_eq!(listed(&html).len(), 8);

    let html = page(&app, "/catalog?kind=component&type=nothing-like-this").await;
    assert!(html.contains("No matches") && html.contains("Clear all filters"), "an empty state");
}

#[tokio::test]
async fn owned_by_me_uses_the_identity_cookie_and_group_membership() {
    let app = app().await;
    let request = Request::get("/catalog?user=owned")
        .header(header::COOKIE, "portico-user=user%3Adefault%2Fjane")
        .body(Body::empty())
        .unwrap();
    let html = app.send(request).await.text();
    assert!(html.contains("id=\"results-total\">15<"), "team-b owns 15 components");
    assert!(listed(&html).iter().all(|n| n.trim_start_matches("svc-").parse::<u32>().unwrap() % 2 == 1));

    for name in ["svc-03", "svc-04"] {
        let request = Request::post(format!("/catalog/default/component/{name}/star"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("starred=true"))
            .unwrap();
        assert_eq!(app.send(request).await.status, StatusCode::SEE_OTHER);
    }
    assert_eq!(listed(&page(&app, "/catalog?user=starred").await), ["svc-03", "svc-04"]);
}

#[tokio::test]
async fn pages_and_sorting_keep_the_filter_state_in_links() {
    let app = app().await;
    let html = page(&app, "/catalog?kind=component&page=2").await;
    let names = listed(&html);
    assert_eq!(names.len(), 6);
    assert_eq!(names.first().map(String::as_str), Some("svc-25"));
    assert!(html.contains("href=\"/catalog?kind=component\""), "a link back to page 1");

    let html = page(&app, "/catalog?kind=component&sort=name&dir=desc").await;
    assert_eq!(listed(&html)[..2], ["&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;", "svc-29"]);
    assert!(html.contains("aria-sort=\"descending\""));
    assert!(html.contains("name=\"sort\" value=\"name\""), "the sort survives filter changes");

    let html = page(&app, "/catalog?kind=component&sort=owner&size=50").await;
    let names = listed(&html);
    assert_eq!(names.len(), 31);
    assert!(
        names[..15].iter().all(|n| n.trim_start_matches("svc-").parse::<u32>().unwrap() % 2 == 0),
        "{names:?}"
    );
}

#[tokio::test]
async fn htmx_requests_get_only_the_results_fragment() {
    let app = app().await;
    let response = htmx_get(&app, "/catalog?type=website").await;
    assert_eq!(response.status, StatusCode::OK);
    let html = response.text();
    assert!(html.trim_start().starts_with("<div id=\"catalog-body\""), "{}", &html[..80.min(html.len())]);
    assert!(!html.contains("<html") && !html.contains("class=\"sidebar\""));
    assert_eq!(listed(&html).len(), 10);
    assert!(response.headers[header::VARY].to_str().unwrap().contains("HX-Request"));

    // htmx's history restore needs the whole page.
    let request = Request::get("/catalog")
        .header("HX-Request", "true")
        .header("HX-History-Restore-Request", "true")
        .body(Body::empty())
        .unwrap();
    assert!(app.send(request).await.text().starts_with("<!doctype html>"));
}

#[tokio::test]
async fn user_text_is_escaped_and_unsafe_links_are_not_links() {
    let app = app().await;
    let html = page(&app, "/catalog?q=hostile").await;
    assert!(!html.contains("<script>alert"), "the title is escaped");
    assert!(!html.contains("<img src=x"), "the description is escaped");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));

    let html = page(&app, "/catalog/default/component/zz-hostile").await;
    assert!(!html.contains("<script>alert") && !html.contains("<img src=x"));
    assert!(!html.to_lowercase().contains("href=\"javascript:"), "javascript: is not a link");
    assert!(!html.contains("href=\"data:"), "data: is not a link");
    assert!(html.contains("Evil link") && html.contains("Data link"), "unsafe links still show as text");
    assert!(html.contains("href=\"https://good.example/docs\""), "web links are links");
}

#[tokio::test]
async fn api_docs_lists_only_apis() {
    let app = app().await;
    let html = page(&app, "/api-docs").await;
    assert_eq!(listed(&html), ["billing-api", "orders-api"]);
    assert!(html.contains("href=\"/api-docs\" aria-current=\"page\""));
    assert!(!html.contains("id=\"catalog-kind\""), "no kind picker on the APIs page");
}

#[tokio::test]
async fn entity_pages_summarize_and_unknown_ones_are_a_helpful_404() {
    let app = app().await;
    let html = page(&app, "/catalog/default/component/svc-03").await;
    assert!(html.contains("Service number 3"));
    assert!(html.contains("href=\"/catalog/default/group/team-b\""), "the owner links to its page");
    // Kind and namespace are matched case-insensitively, like the API.
    page(&app, "/catalog/DEFAULT/Component/svc-03").await;

    let response = app.get("/catalog/default/component/no-such-thing").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    let html = response.text();
    assert!(html.starts_with("<!doctype html>"), "inside the shell");
    assert!(html.contains("Entity not found"));
    assert!(html.contains("q=no-such-thing\">Search the catalog for"), "offers a search");

    let response = app.get("/catalog/default/component/svc-03/no-such-tab").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);

    let response = app.get("/no/such/page").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(response.text().contains("Page not found"));

    let response = app.get("/api/no-such-plugin").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(!response.text().contains("<html"), "the API keeps a bare 404");
}

#[tokio::test]
async fn home_counts_the_catalog_by_kind() {
    let app = app().await;
    let html = page(&app, "/").await;
    assert!(html.contains("href=\"/\" aria-current=\"page\""));
    assert!(html.contains("href=\"/catalog?kind=component\"><svg"));
    assert!(
        html.contains("<span class=\"stat-value\">31</span><span class=\"stat-label\">Components</span>")
    );
    assert!(html.contains("<span class=\"stat-value\">2</span><span class=\"stat-label\">APIs</span>"));
}

#[tokio::test]
async fn settings_remember_the_theme_and_show_about_facts() {
    let app = app().await;
    let html = page(&app, "/settings").await;
    assert!(html.contains("value=\"system\" data-theme-choice checked"));
    assert!(html.contains(env!("CARGO_PKG_VERSION")) && html.contains("SQLite"));
    assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"), "no theme chosen: follow the system");

    let request = Request::post("/settings")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("theme=dark&user="))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let cookie = response.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("portico-theme=dark;"), "{cookie}");

    let request =
        Request::get("/catalog").header(header::COOKIE, "portico-theme=dark").body(Body::empty()).unwrap();
    assert!(
        app.send(request).await.text().starts_with("<!doctype html>\n<html lang=\"en\" data-theme=\"dark\">")
    );
}

#[tokio::test]
async fn assets_are_served_under_hashed_names_with_long_caching() {
    let app = app().await;
    let html = page(&app, "/").await;
    let css =
        html.split("href=\"/assets/portico.").nth(1).and_then(|s| s.split_once('"')).map(|(s, _)| s).unwrap();
    let response = app.get(&format!("/assets/portico.{css}")).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.headers[header::CACHE_CONTROL].to_str().unwrap().contains("immutable"));
    assert!(response.text().contains("--accent"));
    assert!(html.contains("src=\"/assets/htmx."), "htmx is served locally");
    assert!(!html.contains("https://"), "nothing is loaded from the internet");
}

#[tokio::test]
async fn the_processing_status_filter_finds_locations_with_problems() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let good = portico_testkit::write_file(dir.path(), "catalog.yaml", &fixture());
    let broken = portico_testkit::write_file(
        dir.path(),
        "broken.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: [not, a, map\n",
    );
    let config =
        config_with_locations(&[("file", &good.to_string_lossy()), ("file", &broken.to_string_lossy())]);
    let app = TestApp::start_in(dir, &config, portico_testkit::TestDatabase::Sqlite).await;
    app.settle().await;

    let html = page(&app, "/catalog?kind=location").await;
    assert_eq!(listed(&html).len(), 2, "both locations are listed");
    assert_eq!(facet_count(&html, "status", "error"), Some(1), "one of them has a problem");
    let html = page(&app, "/catalog?kind=location&status=error").await;
    assert_eq!(listed(&html).len(), 1);
    let html = page(&app, "/catalog?kind=component&status=error").await;
    assert!(listed(&html).is_empty(), "the components themselves have none");
}
