//! TechDocs through the whole app: entities with `backstage.io/techdocs-ref` are built in the
//! background, published in Backstage's layout, served by `/api/techdocs` and the reader, and
//! searchable; failed builds keep the published version.

use std::path::{Path, PathBuf};

use axum::http::{StatusCode, header};
use portico_testkit::{LogCapture, TestApp, TestDatabase, write_file};
use serde_json::{Value, json};

/// A docs-like-code repository: descriptor, mkdocs.yml, two pages and two images.
fn write_repo(dir: &Path, name: &str) -> PathBuf {
    write_file(
        dir,
        "repo/catalog-info.yaml",
        &format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  title: Payments Service\n  description: Moves money\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec:\n  type: service\n  lifecycle: production\n  owner: group:default/team-a\n"
        ),
    );
    write_file(
        dir,
        "repo/mkdocs.yml",
        "site_name: Payments Docs\nrepo_url: https://git.example/payments\nedit_uri: edit/main/docs/\nnav:\n  - Home: index.md\n  - Guide: guide.md\nplugins:\n  - techdocs-core\n",
    );
    write_file(
        dir,
        "repo/docs/index.md",
        "# Payments\n\nWelcome to the zanzibarian ledger.\n\n## Setup\n\nRead the [guide](guide.md).\n\n![logo](img/logo.svg)\n",
    );
    write_file(
        dir,
        "repo/docs/guide.md",
        "# Guide\n\n## Install\n\nRun the quixotic installer.\n\n### Options\n\nNone.\n",
    );
    write_file(
        dir,
        "repo/docs/img/logo.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
    );
    dir.join("repo")
}

const FAST_CHECKS: &str = "techdocs:\n  checkInterval: 0ms\n";

/// An app with the repository registered and its docs built.
async fn app_with_docs(extra_config: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let repo = write_repo(dir.path(), "payments");
    let yaml = format!(
        "catalog:\n  locations:\n    - type: file\n      target: {}\n{extra_config}",
        repo.join("catalog-info.yaml").display()
    );
    let app = TestApp::start_in(dir, &yaml, TestDatabase::Sqlite).await;
    app.settle().await;
    app.settle().await;
    app
}

async fn build_record(app: &TestApp) -> Value {
    app.get_json("/api/techdocs/builds/default/component/payments").await
}

#[tokio::test]
async fn documented_entities_are_published_in_backstages_layout() {
    let app = app_with_docs("").await;
    let metadata = app.get_json("/api/techdocs/metadata/techdocs/default/component/payments").await;
    assert_eq!(metadata["site_name"], "Payments Docs");
    assert!(metadata["build_timestamp"].as_u64().unwrap_or_default() > 1_700_000_000_000, "{metadata}");
    assert!(metadata["etag"].as_str().is_some_and(|etag| !etag.is_empty()));
    let files: Vec<&str> = metadata["files"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for file in ["index.html", "guide/index.html", "img/logo.svg", "search/search_index.json"] {
        assert!(files.contains(&file), "{file} in {files:?}");
    }
    let record = build_record(&app).await;
    assert_eq!(record["state"], "published", "{record}");
    assert_eq!(record["published"], true);
    assert_eq!(record["entityRef"], "Component:default/payments");

    let entity = app.get_json("/api/techdocs/metadata/entity/default/component/payments").await;
    assert_eq!(entity["kind"], "Component");
    assert_eq!(entity["locationMetadata"]["type"], "dir");
    assert!(entity["locationMetadata"]["target"].as_str().unwrap().ends_with("/repo"), "{entity}");
}

#[tokio::test]
async fn static_docs_follow_backstages_content_type_and_redirect_rules() {
    let app = app_with_docs("").await;
    let page = app.get("/api/techdocs/static/docs/default/component/payments/guide/index.html").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.headers[header::CONTENT_TYPE],
        "text/plain; charset=utf-8",
        "HTML is never served as HTML"
    );
    assert!(page.text().contains("quixotic"));
    let svg = app.get("/api/techdocs/static/docs/default/component/payments/img/logo.svg").await;
    assert_eq!(svg.headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    let index =
        app.get("/api/techdocs/static/docs/default/component/payments/search/search_index.json").await;
    assert!(index.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));

    let mixed = app.get("/api/techdocs/static/docs/default/Component/Payments/index.html").await;
    assert_eq!(mixed.status, StatusCode::MOVED_PERMANENTLY, "mixed-case triplets are redirected");
    assert_eq!(
        mixed.headers[header::LOCATION],
        "/api/techdocs/static/docs/default/component/payments/index.html"
    );

    for path in ["../../../../etc/passwd", "..%2F..%2Fportico.db", "portico_build.json", "missing.html"] {
        let response = app.get(&format!("/api/techdocs/static/docs/default/component/payments/{path}")).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
    }
    let unknown = app.get("/api/techdocs/metadata/techdocs/default/component/nope").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json()["error"]["message"], "Unable to get metadata for 'component:default/nope'");
}

#[tokio::test]
async fn sync_streams_log_lines_then_finish() {
    let app = app_with_docs(FAST_CHECKS).await;
    write_file(app.dir(), "repo/docs/guide.md", "# Guide\n\nRun the updated installer.\n");
    let response = app.get("/api/techdocs/sync/default/component/payments").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.headers[header::CONTENT_TYPE], "text/event-stream");
    let text = response.text();
    assert!(text.starts_with("event: log\ndata: \""), "{text}");
    assert!(text.ends_with("event: finish\ndata: {\"updated\":true}\n\n"), "{text}");

    let again = app.get("/api/techdocs/sync/default/component/payments").await.text();
    assert!(again.ends_with("event: finish\ndata: {\"updated\":false}\n\n"), "unchanged sources: {again}");
    let missing = app.get("/api/techdocs/sync/default/component/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sync_of_a_recently_checked_entity_reports_no_update() {
    // Backstage checks an entity at most once per 60 s; a sync right after a build is a no-op.
    let app = app_with_docs("").await;
    let text = app.get("/api/techdocs/sync/default/component/payments").await.text();
    assert_eq!(text, "event: finish\ndata: {\"updated\":false}\n\n");
}

#[tokio::test]
async fn an_edit_rebuilds_only_the_changed_page() {
    let app = app_with_docs(FAST_CHECKS).await;
    write_file(app.dir(), "repo/docs/guide.md", "# Guide\n\nRun the rebuilt installer.\n");
    app.settle().await;
    let record = build_record(&app).await;
    assert_eq!(record["pagesRendered"], 1, "{record}");
    assert_eq!(record["pagesReused"], 1, "{record}");
    let page = app.get("/api/techdocs/static/docs/default/component/payments/guide/index.html").await;
    assert!(page.text().contains("rebuilt installer"));
}

#[tokio::test]
async fn unchanged_sources_are_not_rebuilt() {
    let app = app_with_docs(FAST_CHECKS).await;
    let before = build_record(&app).await;
    app.settle().await;
    app.settle().await;
    let after = build_record(&app).await;
    assert_eq!(before["finishedAt"], after["finishedAt"], "no new build: {after}");
}

#[tokio::test]
async fn the_same_build_failure_is_warned_about_once() {
    let app = app_with_docs(FAST_CHECKS).await;
    write_file(app.dir(), "repo/mkdocs.yml", "site_name: Broken\ndocs_dir: ../../etc\n");
    let (logs, _guard) = LogCapture::install();
    for _ in 0..3 {
        app.settle().await;
    }
    let warned = |text: &str| {
        text.lines().filter(|line| line.contains("WARN") && line.contains("docs build failed")).count()
    };
    assert_eq!(warned(&logs.text()), 1, "{}", logs.text());
    assert!(logs.text().contains("docs build failed again"), "repeats are still logged, quietly");

    write_file(app.dir(), "repo/mkdocs.yml", "site_name: [unclosed\n");
    app.settle().await;
    assert_eq!(warned(&logs.text()), 2, "a different failure is news again: {}", logs.text());
}

#[tokio::test]
async fn a_round_of_failures_names_the_first_ten_and_counts_the_rest_in_one_line() {
    // Thirteen documented entities, none with an mkdocs.yml: a catalog's first start, in small.
    let dir = tempfile::tempdir().unwrap();
    let descriptors: String = (0..13)
        .map(|i| {
            format!(
                "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: undocumented-{i}\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
            )
        })
        .collect();
    write_file(dir.path(), "repo/catalog-info.yaml", &descriptors);
    let yaml = format!(
        "catalog:\n  locations:\n    - type: file\n      target: {}\n{FAST_CHECKS}",
        dir.path().join("repo/catalog-info.yaml").display()
    );
    let (logs, _guard) = LogCapture::install();
    let app = TestApp::start_in(dir, &yaml, TestDatabase::Sqlite).await;
    app.settle().await;
    app.settle().await;

    let text = logs.text();
    let warnings: Vec<&str> = text.lines().filter(|line| line.contains("WARN")).collect();
    let named = warnings.iter().filter(|line| line.contains("docs build failed")).count();
    assert_eq!(named, 10, "{text}");
    let summary: Vec<&&str> = warnings.iter().filter(|line| line.contains("could not be built")).collect();
    assert_eq!(summary.len(), 1, "{text}");
    assert!(summary[0].contains("for 3 more entities"), "{text}");
    let first_failures =
        text.lines().filter(|line| line.contains("docs build failed") && !line.contains("again"));
    assert_eq!(first_failures.count(), 13, "the rest are logged at debug: {text}");
}

#[tokio::test]
async fn periodic_checks_do_not_rebuild_unchanged_sources_that_failed() {
    let app = app_with_docs(FAST_CHECKS).await;
    write_file(app.dir(), "repo/mkdocs.yml", "site_name: Broken\ndocs_dir: ../../etc\n");
    let (logs, _guard) = LogCapture::install();
    app.settle().await;
    let failed = build_record(&app).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(failed.get("failedFingerprint").is_some(), "{failed}");

    app.settle().await;
    app.settle().await;
    assert_eq!(build_record(&app).await, failed, "the same sources are not built again");
    assert!(logs.text().contains("have not changed since; not building them again"), "{}", logs.text());

    // A reader asking for a sync builds again: the failure may have been a passing one.
    let sync = app.get("/api/techdocs/sync/default/component/payments").await.text();
    assert!(sync.contains("Build failed"), "{sync}");
    let retried = build_record(&app).await;
    assert_ne!(retried["finishedAt"], failed["finishedAt"], "{retried}");

    // Changed sources are built at the next periodic check.
    write_file(app.dir(), "repo/mkdocs.yml", "site_name: Payments\n");
    app.settle().await;
    let fixed = build_record(&app).await;
    assert_eq!(fixed["state"], "published", "{fixed}");
    assert!(fixed.get("failedFingerprint").is_none(), "{fixed}");
}

#[tokio::test]
async fn a_failed_build_keeps_the_published_version() {
    let app = app_with_docs(FAST_CHECKS).await;
    write_file(app.dir(), "repo/mkdocs.yml", "site_name: Broken\ndocs_dir: ../../etc\n");
    app.settle().await;
    let record = build_record(&app).await;
    assert_eq!(record["state"], "failed", "{record}");
    assert_eq!(record["published"], true);
    assert!(record["error"].as_str().unwrap().contains("docs_dir"), "{record}");
    let page = app.get("/api/techdocs/static/docs/default/component/payments/guide/index.html").await;
    assert!(page.text().contains("quixotic"), "the previous version is still served");
    let reader = app.get("/docs/default/component/payments/guide/").await;
    assert_eq!(reader.status, StatusCode::OK);
    let html = reader.text();
    assert!(html.contains("The last build failed") && html.contains("quixotic"), "{html}");
}

#[tokio::test]
async fn docs_pages_are_search_documents() {
    let app = app_with_docs(FAST_CHECKS).await;
    let body = app.get_json("/api/search/query?term=quixotic&types[0]=techdocs").await;
    assert_eq!(body["numberOfResults"], 1, "{body}");
    let document = &body["results"][0]["document"];
    assert_eq!(document["title"], "Guide");
    assert_eq!(document["location"], "/docs/default/component/payments/guide/");
    assert_eq!(document["path"], "guide/");
    assert_eq!(document["kind"], "Component");
    assert_eq!(document["namespace"], "default");
    assert_eq!(document["name"], "payments");
    assert_eq!(document["entityTitle"], "Payments Service");
    assert_eq!(document["owner"], "team-a", "the name part of the owner");
    assert_eq!(document["lifecycle"], "production");
    assert_eq!(document["componentType"], "service");

    write_file(app.dir(), "repo/docs/guide.md", "# Guide\n\nRun the serendipitous installer.\n");
    app.settle().await;
    let old = app.get_json("/api/search/query?term=quixotic&types[0]=techdocs").await;
    assert_eq!(old["numberOfResults"], 0, "{old}");
    let new = app.get_json("/api/search/query?term=serendipitous&types[0]=techdocs").await;
    assert_eq!(new["numberOfResults"], 1, "{new}");
}

#[tokio::test]
async fn the_reader_shows_nav_toc_pager_and_edit_link() {
    let app = app_with_docs("").await;
    let home = app.get("/docs/default/component/payments/").await;
    assert_eq!(home.status, StatusCode::OK);
    let html = home.text();
    assert!(html.contains(r#"class="docs-nav""#) && html.contains(r#"aria-current="page""#), "{html}");
    assert!(html.contains(r##"href="#setup""##), "the page's table of contents");
    assert!(html.contains(r#"class="docs-next" href="/docs/default/component/payments/guide/""#), "{html}");
    assert!(html.contains("https://git.example/payments/edit/main/docs/index.md"), "edit this page");
    assert!(html.contains("zanzibarian"));

    let guide = app.get("/docs/default/component/payments/guide/").await.text();
    assert!(guide.contains(r#"class="docs-prev" href="/docs/default/component/payments/""#), "{guide}");

    let without_slash = app.get("/docs/default/component/payments/guide").await;
    assert_eq!(without_slash.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(without_slash.headers[header::LOCATION], "/docs/default/component/payments/guide/");
    let mixed = app.get("/docs/default/Component/payments/guide/").await;
    assert_eq!(mixed.headers[header::LOCATION], "/docs/default/component/payments/guide/");

    let svg = app.get("/docs/default/component/payments/img/logo.svg").await;
    assert_eq!(svg.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(svg.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("sandbox"));

    let missing = app.get("/docs/default/component/payments/nope/").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let unknown = app.get("/docs/default/component/nobody/").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_docs_index_lists_and_filters_documented_entities() {
    let app = app_with_docs("").await;
    let all = app.get("/docs").await.text();
    assert!(all.contains("Payments Service") && all.contains("1 of 1 documented entities"), "{all}");
    let by_owner = app.get("/docs?owner=group:default/team-a").await.text();
    assert!(by_owner.contains("Payments Service"));
    let other_owner = app.get("/docs?owner=someone-else").await.text();
    assert!(other_owner.contains("0 of 1 documented entities"));
    let by_text = app.get("/docs?q=money").await.text();
    assert!(by_text.contains("Payments Service") && by_text.contains("type=techdocs"));
    let by_kind = app.get("/docs?kind=API").await.text();
    assert!(by_kind.contains("0 of 1"));
}

#[tokio::test]
async fn the_entity_page_has_a_docs_tab() {
    let app = app_with_docs("").await;
    let overview = app.get("/catalog/default/component/payments").await.text();
    assert!(overview.contains(r#"href="/catalog/default/component/payments/docs""#), "tab link");
    let tab = app.get("/catalog/default/component/payments/docs").await;
    assert_eq!(tab.status, StatusCode::OK);
    let html = tab.text();
    assert!(html.contains("zanzibarian") && html.contains("Open in the docs reader"), "{html}");
}

#[tokio::test]
async fn raw_html_in_markdown_never_reaches_the_reader() {
    let app = app_with_docs(FAST_CHECKS).await;
    write_file(
        app.dir(),
        "repo/docs/guide.md",
        "# Guide\n\n<script>alert('x')</script>\n<img src=x onerror=\"alert(1)\">\n<a href=\"javascript:alert(1)\">click</a>\n<iframe src=\"https://evil.example\"></iframe>\n",
    );
    app.settle().await;
    let html = app.get("/docs/default/component/payments/guide/").await.text();
    let article =
        html.split(r#"<article class="techdocs">"#).nth(1).unwrap().split("</article>").next().unwrap();
    for needle in ["<script", "onerror", "javascript:", "<iframe"] {
        assert!(!article.contains(needle), "{needle} in {article}");
    }
}

#[tokio::test]
async fn removing_the_annotation_unpublishes_the_docs() {
    let app = app_with_docs(FAST_CHECKS).await;
    let site = app.get_json("/api/techdocs/metadata/techdocs/default/component/payments").await;
    assert_eq!(site["site_name"], "Payments Docs");
    write_file(
        app.dir(),
        "repo/catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: payments\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    );
    let refresh = app.post("/api/catalog/refresh", json!({"entityRef": "component:default/payments"})).await;
    assert!(refresh.status.is_success(), "{}", refresh.text());
    app.settle().await;
    app.settle().await;
    let gone = app.get("/api/techdocs/metadata/techdocs/default/component/payments").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let entity = app.get("/api/techdocs/metadata/entity/default/component/payments").await;
    assert_eq!(entity.status, StatusCode::BAD_REQUEST, "a known entity without docs");
    assert_eq!(entity.json()["error"]["message"], "No location annotation provided in entity: payments");
    let unknown = app.get("/api/techdocs/metadata/entity/default/component/nobody").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let search = app.get_json("/api/search/query?term=quixotic&types[0]=techdocs").await;
    assert_eq!(search["numberOfResults"], 0);
    assert!(app.get("/docs").await.text().contains("No documentation yet"));
}

#[tokio::test]
async fn a_restart_serves_published_docs_without_rebuilding() {
    let dir = tempfile::tempdir().unwrap();
    let repo = write_repo(dir.path(), "payments");
    let yaml = format!(
        "catalog:\n  locations:\n    - type: file\n      target: {}\n",
        repo.join("catalog-info.yaml").display()
    );
    let database = format!(
        "backend:\n  database:\n    client: better-sqlite3\n    connection: {0}/portico.db\ntechdocs:\n  publisher:\n    local:\n      publishDirectory: {0}/published\n",
        dir.path().display()
    );
    let first = TestApp::start_on(&format!("{yaml}{database}"), TestDatabase::Sqlite).await;
    first.settle().await;
    first.settle().await;
    let before = build_record(&first).await;
    assert_eq!(before["state"], "published");
    drop(first);

    let second = TestApp::start_on(&format!("{yaml}{database}"), TestDatabase::Sqlite).await;
    second.settle().await;
    second.settle().await;
    let after = build_record(&second).await;
    assert_eq!(after["state"], "published", "{after}");
    assert_eq!(before["finishedAt"], after["finishedAt"], "not rebuilt: {after}");
    let search = second.get_json("/api/search/query?term=quixotic&types[0]=techdocs").await;
    assert_eq!(search["numberOfResults"], 1, "search documents are restored: {search}");
}

#[tokio::test]
async fn url_sources_are_read_through_the_allow_list() {
    let served = tempfile::tempdir().unwrap();
    write_repo(served.path(), "remote-docs");
    let root = served.path().to_path_buf();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = axum::Router::new().route(
        "/{*path}",
        axum::routing::get(move |axum::extract::Path(path): axum::extract::Path<String>| {
            let file = root.join(&path);
            async move {
                match std::fs::read(&file) {
                    Ok(bytes) if !path.contains("..") => (StatusCode::OK, bytes),
                    _ => (StatusCode::NOT_FOUND, Vec::new()),
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, server).await.unwrap() });
    let target = format!("http://127.0.0.1:{port}/repo/catalog-info.yaml");
    let yaml = format!(
        "backend:\n  reading:\n    allow:\n      - host: 127.0.0.1:{port}\ncatalog:\n  locations:\n    - type: url\n      target: {target}\n"
    );
    let app = TestApp::start(&yaml).await;
    app.settle().await;
    app.settle().await;
    let entity = app.get_json("/api/techdocs/metadata/entity/default/component/remote-docs").await;
    assert_eq!(
        entity["locationMetadata"],
        json!({"type": "url", "target": format!("http://127.0.0.1:{port}/repo/")})
    );
    let record = app.get_json("/api/techdocs/builds/default/component/remote-docs").await;
    assert_eq!(record["state"], "published", "{record}");
    let page = app.get("/api/techdocs/static/docs/default/component/remote-docs/guide/index.html").await;
    assert!(page.text().contains("quixotic"), "pages linked from the nav are read");
    let image = app.get("/api/techdocs/static/docs/default/component/remote-docs/img/logo.svg").await;
    assert_eq!(image.status, StatusCode::OK, "images linked from pages are read");
}

#[tokio::test]
async fn url_sources_on_hosts_not_allowed_fail_with_the_readers_message() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: elsewhere\n  annotations:\n    backstage.io/techdocs-ref: url:https://docs.not-allowed.example/site\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    );
    let yaml = format!(
        "catalog:\n  locations:\n    - type: file\n      target: {}/catalog-info.yaml\n",
        dir.path().display()
    );
    let app = TestApp::start_in(dir, &yaml, TestDatabase::Sqlite).await;
    app.settle().await;
    app.settle().await;
    let record = app.get_json("/api/techdocs/builds/default/component/elsewhere").await;
    assert_eq!(record["state"], "failed", "{record}");
    assert!(record["error"].as_str().unwrap().contains("backend.reading.allow"), "{record}");
    let reader = app.get("/docs/default/component/elsewhere/").await.text();
    assert!(reader.contains("could not be built"), "{reader}");
}

#[tokio::test]
async fn an_external_builder_never_builds_and_sync_says_not_updated() {
    // Backstage: when the build strategy says not to build, /sync answers exactly one
    // `finish {"updated":false}` frame.
    let app = app_with_docs("techdocs:\n  builder: external\n").await;
    let text = app.get("/api/techdocs/sync/default/component/payments").await.text();
    assert_eq!(text, "event: finish\ndata: {\"updated\":false}\n\n");
    let metadata = app.get("/api/techdocs/metadata/techdocs/default/component/payments").await;
    assert_eq!(metadata.status, StatusCode::NOT_FOUND, "nothing was built");
    let record = build_record(&app).await;
    assert_eq!(record["state"], "pending", "{record}");
}

#[tokio::test]
async fn live_reload_marks_reader_pages_only_when_enabled() {
    let plain = app_with_docs("").await;
    assert!(!plain.get("/docs/default/component/payments/").await.text().contains("data-live-reload"));
    let live = app_with_docs("techdocs:\n  liveReload: true\n").await;
    let html = live.get("/docs/default/component/payments/").await.text();
    assert!(html.contains(r#"data-live-reload="/api/techdocs/builds/default/component/payments""#), "{html}");
}
