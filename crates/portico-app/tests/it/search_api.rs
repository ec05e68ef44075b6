//! `/api/search/query` through the whole app: Backstage's shape and 400s, and the index
//! following catalog changes.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use portico_testkit::TestApp;
use serde_json::{Value, json};

fn component(name: &str, title: &str, description: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  title: {title:?}\n  description: {description:?}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
    )
}

/// An app with a registered file location; returns the app and the location id.
async fn app_with(entities: &[String]) -> (TestApp, String) {
    let app = TestApp::start("catalog:\n  allowedLocationTypes: [url, file]\n").await;
    let file = app.write("repo/catalog-info.yaml", &entities.join("---\n"));
    let response =
        app.post("/api/catalog/locations", json!({"type": "file", "target": file.to_string_lossy()})).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let id = response.json()["location"]["id"].as_str().unwrap_or_default().to_owned();
    app.settle().await;
    (app, id)
}

fn titles(body: &Value) -> Vec<&str> {
    body["results"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["document"]["title"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn results_have_backstages_shape() {
    let (app, _) = app_with(&[component("payments", "Payments", "Moves money")]).await;
    let body = app.get_json("/api/search/query?term=payments&types[0]=software-catalog").await;
    assert_eq!(body["numberOfResults"], 1);
    let result = &body["results"][0];
    assert_eq!(result["type"], "software-catalog");
    assert_eq!(result["rank"], 1);
    let document = &result["document"];
    assert_eq!(document["title"], "Payments");
    assert_eq!(document["text"], "Moves money");
    assert_eq!(document["kind"], "Component");
    assert_eq!(document["type"], "service");
    assert_eq!(document["lifecycle"], "production");
    assert_eq!(document["owner"], "team-a");
    assert_eq!(document["namespace"], "default");
    assert_eq!(document["location"], "/catalog/default/component/payments");
    assert!(document.get("authorization").is_none(), "authorization is stripped");
    let highlight = &result["highlight"];
    let (pre, post) =
        (highlight["preTag"].as_str().unwrap_or_default(), highlight["postTag"].as_str().unwrap_or_default());
    assert!(!pre.is_empty());
    assert_eq!(highlight["fields"]["title"], format!("{pre}Payments{post}"));
    assert!(body.get("nextPageCursor").is_none() && body.get("previousPageCursor").is_none());
}

#[tokio::test]
async fn invalid_queries_are_backstages_400s() {
    let (app, _) = app_with(&[]).await;
    let long = "a".repeat(101);
    for (uri, message) in [
        (
            format!("/api/search/query?term={long}"),
            "The term length \"101\" is greater than \"100\"".to_owned(),
        ),
        (
            "/api/search/query?pageLimit=101".to_owned(),
            "The page limit \"101\" is greater than \"100\"".to_owned(),
        ),
        ("/api/search/query?types[0]=nope".to_owned(), "Invalid query string: types.0".to_owned()),
        ("/api/search/query?pageLimit=ten".to_owned(), "Invalid query string: pageLimit".to_owned()),
    ] {
        let response = app.get(&uri).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{uri}");
        let body = response.json();
        assert_eq!(body["error"]["name"], "InputError");
        assert!(body["error"]["message"].as_str().unwrap_or_default().starts_with(&message), "{body}");
    }
    let ok = app.get(&format!("/api/search/query?term={}", "a".repeat(100))).await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn syntax_looking_terms_are_plain_text() {
    let (app, _) = app_with(&[component("foo", "foo", "")]).await;
    for term in ["%22foo%20AND%20(", "title:%5B", "foo~2^3", "(((", "%5C"] {
        let response = app.get(&format!("/api/search/query?term={term}")).await;
        assert_eq!(response.status, StatusCode::OK, "{term}: {}", response.text());
    }
    let body = app.get_json("/api/search/query?term=%22foo%20AND%20(").await;
    assert_eq!(titles(&body), ["foo"]);
}

#[tokio::test]
async fn ranking_filters_and_paging_through_the_api() {
    let mut entities = vec![
        component("payments", "payments", "Moves money"),
        component("billing", "billing", "Sends payments"),
        component("payments-gateway", "payments-gateway", "Card processing"),
    ];
    entities.extend((0..4).map(|i| component(&format!("ledger-{i}"), &format!("ledger {i}"), "")));
    let (app, _) = app_with(&entities).await;
    let body = app.get_json("/api/search/query?term=payments").await;
    assert_eq!(titles(&body), ["payments", "payments-gateway", "billing"]);
    assert_eq!(titles(&app.get_json("/api/search/query?term=paymnets").await)[0], "payments");
    assert_eq!(titles(&app.get_json("/api/search/query?term=paym").await).len(), 3);

    let filtered = app.get_json("/api/search/query?term=payments&filters[kind]=Group").await;
    assert_eq!(filtered["numberOfResults"], 0);
    let filtered = app.get_json("/api/search/query?term=payments&filters[lifecycle][0]=production").await;
    assert_eq!(filtered["numberOfResults"], 3);

    let first = app.get_json("/api/search/query?term=ledger&pageLimit=3").await;
    assert_eq!(first["numberOfResults"], 4);
    assert_eq!(first["nextPageCursor"], "MQ==");
    let second = app.get_json("/api/search/query?term=ledger&pageLimit=3&pageCursor=MQ==").await;
    assert_eq!(second["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["results"][0]["rank"], 4);
    assert_eq!(second["previousPageCursor"], "MA==");
    assert!(second.get("nextPageCursor").is_none());
}

/// Polls the search API until `check` holds or the deadline passes.
async fn eventually(app: &TestApp, uri: &str, within: Duration, check: impl Fn(&Value) -> bool) -> Duration {
    let start = Instant::now();
    loop {
        let body = app.get_json(uri).await;
        if check(&body) {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "not reflected within {within:?}: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn catalog_changes_reach_search_without_a_rebuild() {
    let mut app = TestApp::start("catalog:\n  allowedLocationTypes: [url, file]\n").await;
    app.serve().await;
    let file = app.write("repo/catalog-info.yaml", &component("zephyr", "Zephyr", "Wind service"));
    let response =
        app.post("/api/catalog/locations", json!({"type": "file", "target": file.to_string_lossy()})).await;
    assert_eq!(response.status, StatusCode::CREATED);
    let id = response.json()["location"]["id"].as_str().unwrap_or_default().to_owned();
    // The catalog ingests on its own loop; search follows its feed on another.
    eventually(&app, "/api/search/query?term=zephyr", Duration::from_secs(10), |b| b["numberOfResults"] == 1)
        .await;

    let deleted = app.delete(&format!("/api/catalog/locations/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    eventually(&app, "/api/search/query?term=zephyr", Duration::from_secs(5), |b| b["numberOfResults"] == 0)
        .await;
}

#[tokio::test]
async fn settle_reflects_an_edit_and_a_deletion() {
    let (app, id) = app_with(&[component("alpha", "Alpha", "first")]).await;
    assert_eq!(titles(&app.get_json("/api/search/query?term=alpha").await), ["Alpha"]);
    let deleted = app.delete(&format!("/api/catalog/locations/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    app.settle().await;
    assert_eq!(app.get_json("/api/search/query?term=alpha").await["numberOfResults"], 0);
}

#[tokio::test]
async fn a_corrupt_index_is_rebuilt_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index_dir = dir.path().join("index");
    let yaml = format!(
        "catalog:\n  allowedLocationTypes: [url, file]\nsearch:\n  indexDir: {}\n",
        index_dir.display()
    );
    let app = TestApp::start(&yaml).await;
    app.settle().await;
    let generations: Vec<_> =
        std::fs::read_dir(&index_dir).expect("index folder").filter_map(Result::ok).collect();
    assert_eq!(generations.len(), 1);
    for file in std::fs::read_dir(generations[0].path()).expect("files").filter_map(Result::ok) {
        if file.file_name() != "READY" {
            std::fs::write(file.path(), b"garbage").expect("overwrite");
        }
    }
    drop(app);
    let again = TestApp::start(&yaml).await;
    let response = again.get("/api/search/query?term=x").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
}
