//! Browser tests: the whole app on a real localhost port with the demo catalog, driven in
//! headless Chromium through chromedriver.
//!
//! They run when `PORTICO_BROWSER_TESTS=1` (CI sets it and installs `chromium` and
//! `chromium-driver`); otherwise each test says it was skipped. Every test fails on any error
//! in the browser console. Screenshots of the main pages in both themes are written to
//! `$PORTICO_TEST_ARTIFACTS/screenshots` (default `target/test-artifacts/screenshots`).
//!
//! One kind of console entry is told apart rather than counted: a network failure of a
//! profile picture hosted elsewhere (the demo users' pictures are on a public avatar service,
//! and test machines have no outbound network). Pages never depend on those pictures — the
//! initials are drawn beneath them — and the tests check that the initials show. Every other
//! entry, including any failed request to the app itself, fails the test.

mod oidc;

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use portico_app::Portico;
use portico_config::Config;
use serde_json::{Value, json};

/// Components added to the demo catalog so the list has several pages.
const EXTRA_COMPONENTS: usize = 40;

fn enabled(test: &str) -> bool {
    let on = std::env::var("PORTICO_BROWSER_TESTS").is_ok_and(|v| v == "1");
    if !on {
        println!("skipped {test}: set PORTICO_BROWSER_TESTS=1 to run the browser tests");
    }
    on
}

fn artifacts() -> PathBuf {
    let base = std::env::var_os("PORTICO_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts"));
    let dir = base.join("screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");
    dir
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// chromedriver's browser log (drained on each read).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (axum::http::Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}

/// The app, chromedriver and a browser session.
struct Harness {
    client: Client,
    driver: Child,
    base: String,
    _dir: tempfile::TempDir,
    _profile: tempfile::TempDir,
}

impl Harness {
    /// Serves the demo catalog (plus generated components) and opens a browser.
    async fn start(javascript: bool) -> Harness {
        Harness::start_in(tempfile::tempdir().expect("temporary folder"), javascript).await
    }

    /// Like [`Harness::start`], serving from `dir` (which may hold files to register).
    async fn start_in(dir: tempfile::TempDir, javascript: bool) -> Harness {
        let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo/catalog");
        let mut extra = String::new();
        for i in 0..EXTRA_COMPONENTS {
            extra.push_str(&format!(
                "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: load-{i:02}\n  description: Generated component {i}\nspec:\n  type: service\n  owner: team-d\n  lifecycle: experimental\n"
            ));
        }
        let extra_path = dir.path().join("extra.yaml");
        std::fs::write(&extra_path, extra).expect("write the generated components");
        let diagrams = write_diagram_docs(dir.path());
        let documented = demo.join("../techdocs/documented-component/catalog-info.yaml");
        let yaml = format!(
            "backend:\n  database:\n    client: better-sqlite3\n    connection: {db}\ncatalog:\n  rules:\n    - allow: [Component, System, API, Resource, Location, Domain, Group, User, Template]\n  allowedLocationTypes: [url, file]\n  locations:\n    - type: file\n      target: {all}\n    - type: file\n      target: {acme}\n    - type: file\n      target: {extra}\n    - type: file\n      target: {documented}\n    - type: file\n      target: {diagrams}\n",
            db = dir.path().join("portico.db").display(),
            all = demo.join("all.yaml").display(),
            acme = demo.join("acme-corp.yaml").display(),
            extra = extra_path.display(),
            documented = documented.display(),
            diagrams = diagrams.display(),
        );
        let config = Config::from_yaml_str(&yaml, dir.path(), &|_| None).expect("config");
        let app = Portico::default().build(config).await.expect("app builds");
        app.settle().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(app.serve_on(listener));
        Harness::open_browser(dir, base, javascript).await
    }

    /// Starts chromedriver and a browser session for an app already served at `base`; `dir`
    /// (the app's files) lives as long as the harness.
    async fn open_browser(dir: tempfile::TempDir, base: String, javascript: bool) -> Harness {
        let port = free_port();
        let driver =
            Command::new(std::env::var("PORTICO_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver (install chromium-driver)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let profile = tempfile::tempdir().expect("browser profile folder");
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--window-size=1440,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if !javascript {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
        }
        let binary = std::env::var("PORTICO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": binary, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(capabilities) = capabilities else { unreachable!("an object literal") };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("open a browser session");
        Harness { client, driver, base, _dir: dir, _profile: profile }
    }

    async fn open(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.expect("navigate");
    }

    /// Severe entries of the browser log since the last call, less failed loads of profile
    /// pictures from other hosts (see the module documentation).
    async fn console_errors(&self) -> Vec<String> {
        let log = self.client.issue_cmd(BrowserLog).await.expect("read the browser log");
        let pictures = self.external_pictures().await;
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .filter(|message| !is_unreachable_picture(message, &pictures))
            .collect()
    }

    /// The `src` of every profile picture on the page that lives on another host.
    async fn external_pictures(&self) -> Vec<String> {
        let value = self
            .js(&format!(
                "return Array.from(document.querySelectorAll('img.avatar-picture')).map(i => i.src).filter(s => !s.startsWith({:?}));",
                self.base
            ))
            .await;
        serde_json::from_value(value).unwrap_or_default()
    }

    /// Checks every avatar shows its initials, so a picture that cannot load leaves no hole.
    async fn assert_avatars_have_initials(&self, step: &str) {
        let blank = self
            .js("return Array.from(document.querySelectorAll('.avatar.initials')).filter(a => a.textContent.trim() === '' || a.getBoundingClientRect().width === 0).length;")
            .await;
        assert_eq!(blank, json!(0), "avatars without initials on {step}");
        let broken = self
            .js("return Array.from(document.querySelectorAll('img.avatar-picture')).filter(i => i.complete && i.naturalWidth === 0 && !i.hidden).length;")
            .await;
        assert_eq!(broken, json!(0), "pictures that failed but still show on {step}");
    }

    /// Opens the settings page and picks a theme.
    async fn set_theme(&self, theme: &str) {
        self.open("/settings").await;
        self.click(&format!("input[name='theme'][value='{theme}']")).await;
        self.wait_for(
            "the theme",
            &format!("document.documentElement.getAttribute('data-theme') === '{theme}'"),
        )
        .await;
    }

    /// Waits until the browser shows `path` (and finished loading it).
    async fn wait_for_path(&self, path: &str) {
        self.wait_for(
            &format!("the page {path}"),
            &format!("location.pathname === {path:?} && document.readyState === 'complete'"),
        )
        .await;
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    async fn assert_no_console_errors(&self, step: &str) {
        let errors = self.console_errors().await;
        assert!(errors.is_empty(), "browser console errors after {step}: {errors:#?}");
    }

    async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.expect("run a script")
    }

    /// Polls a JavaScript expression until it is true (10 s at most).
    async fn wait_for(&self, what: &str, expression: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.js(&format!("return !!({expression});")).await == Value::Bool(true) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what} ({expression})");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Names in the results table.
    async fn listed(&self) -> Vec<String> {
        let value = self
            .js("return Array.from(document.querySelectorAll('#catalog-body .cell-title')).map(a => a.textContent);")
            .await;
        serde_json::from_value(value).expect("a list of names")
    }

    async fn url(&self) -> String {
        self.client.current_url().await.expect("current url").to_string()
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(artifacts().join(format!("{name}.png")), png).expect("write the screenshot");
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    async fn finish(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Whether a console entry is a network failure (not an HTTP error status) of one of
/// `pictures`: Chromium logs those as `<url> - Failed to load resource: net::ERR_…`.
fn is_unreachable_picture(message: &str, pictures: &[String]) -> bool {
    message.contains("Failed to load resource: net::ERR_")
        && pictures.iter().any(|src| message.starts_with(&format!("{src} ")))
}

/// A small docs site with a Mermaid diagram and code, for the reader tests; returns its
/// descriptor.
fn write_diagram_docs(dir: &std::path::Path) -> PathBuf {
    let root = dir.join("diagrams");
    std::fs::create_dir_all(root.join("docs")).expect("create the docs folder");
    std::fs::write(
        root.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: diagrammed\n  title: Diagrammed Service\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec:\n  type: service\n  lifecycle: production\n  owner: team-c\n",
    )
    .expect("write the descriptor");
    std::fs::write(
        root.join("mkdocs.yml"),
        "site_name: Diagrams\nnav:\n  - Overview: index.md\n  - Flow: flow.md\nmarkdown_extensions:\n  - pymdownx.superfences\n",
    )
    .expect("write mkdocs.yml");
    std::fs::write(
        root.join("docs/index.md"),
        "# Overview\n\n```mermaid\ngraph LR\n  Client --> Gateway --> Service\n```\n\n## Run it\n\n```rust\nfn main() {\n    println!(\"hello\");\n}\n```\n\n!!! tip \"Good to know\"\n    Admonitions render as call-outs.\n",
    )
    .expect("write the home page");
    std::fs::write(root.join("docs/flow.md"), "# Flow\n\nRequests go through the gateway.\n")
        .expect("write a page");
    root.join("catalog-info.yaml")
}

/// A marker that survives in-place updates and disappears on a full page load.
const MARK: &str = "window.__porticoMark = true;";
const MARKED: &str = "window.__porticoMark === true";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_filters_sort_page_and_text_update_the_table_in_place() {
    if !enabled("catalog_filters_sort_page_and_text_update_the_table_in_place") {
        return;
    }
    let h = Harness::start(true).await;
    h.open("/catalog").await;
    h.wait_for("htmx to load", "window.htmx !== undefined").await;
    assert_eq!(h.listed().await.len(), 25, "the first page of components");
    h.js(MARK).await;

    // Kind picker.
    h.client
        .find(Locator::Css("#catalog-kind"))
        .await
        .expect("kind picker")
        .select_by_value("api")
        .await
        .expect("pick");
    h.wait_for("the API list", "document.querySelector('#results-title').textContent.startsWith('APIs')")
        .await;
    assert!(h.url().await.contains("kind=api"), "the URL holds the kind");
    assert!(h.js(&format!("return {MARKED}")).await == Value::Bool(true), "no full reload");

    // Owner facet.
    h.open("/catalog?kind=component").await;
    h.wait_for("htmx to load", "window.htmx !== undefined").await;
    h.js(MARK).await;
    h.click("input[name='owner'][value='group:default/team-d']").await;
    h.wait_for("the owner filter", "location.search.includes('owner=')").await;
    h.wait_for("team-d's components", "document.querySelector('#results-total').textContent === '41'").await;
    assert!(h.js(&format!("return {MARKED}")).await == Value::Bool(true), "no full reload");
    assert!(
        h.js("return document.activeElement && document.activeElement.value === 'group:default/team-d'")
            .await
            == Value::Bool(true),
        "focus stays on the checkbox"
    );

    // Sort by name, descending.
    h.click("th.col-name a.sort").await;
    h.wait_for("descending order", "location.search.includes('dir=desc')").await;
    h.wait_for(
        "the table to re-render",
        "document.querySelector('th.col-name').getAttribute('aria-sort') === 'descending'",
    )
    .await;
    let names = h.listed().await;
    assert_eq!(names[..2], ["wayback-archive-ingestion", "load-39"], "{names:?}");

    // Next page keeps filter and order.
    h.click("a.page-link[rel='next']").await;
    h.wait_for("page 2", "location.search.includes('page=2')").await;
    h.wait_for("the second page", "document.querySelector('.page-link.current').textContent === '2'").await;
    let names = h.listed().await;
    assert_eq!(names.len(), 16, "41 components: 25 then 16");
    assert!(h.url().await.contains("owner=group"), "the filter is kept");
    assert!(h.js(&format!("return {MARKED}")).await == Value::Bool(true), "no full reload");

    // Text filter.
    h.open("/catalog").await;
    h.wait_for("htmx to load", "window.htmx !== undefined").await;
    h.client
        .find(Locator::Css("#catalog-q"))
        .await
        .expect("text filter")
        .send_keys("playback")
        .await
        .expect("type");
    h.wait_for("the text filter", "location.search.includes('q=playback')").await;
    h.wait_for("filtered rows", "document.querySelectorAll('#catalog-body .cell-title').length === 2").await;
    let names = h.listed().await;
    assert!(names.iter().all(|n| n.contains("playback")), "{names:?}");

    // A shared URL shows the same view.
    h.open("/catalog?kind=component&q=playback&sort=name&dir=desc").await;
    assert_eq!(h.listed().await, ["playback-sdk", "playback-order"]);
    h.assert_no_console_errors("filtering, sorting and paging").await;
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn theme_switch_follows_the_system_until_chosen_and_is_remembered() {
    if !enabled("theme_switch_follows_the_system_until_chosen_and_is_remembered") {
        return;
    }
    let h = Harness::start(true).await;
    h.open("/catalog").await;
    assert_eq!(
        h.js("return document.documentElement.getAttribute('data-theme')").await,
        Value::Null,
        "follows the system"
    );
    h.wait_for(
        "the script",
        "document.querySelector('[data-theme-toggle]').getAttribute('aria-label').startsWith('Switch to')",
    )
    .await;
    h.click("[data-theme-toggle]").await;
    h.wait_for("dark theme", "document.documentElement.getAttribute('data-theme') === 'dark'").await;
    h.client.refresh().await.expect("reload");
    assert_eq!(
        h.js("return document.documentElement.getAttribute('data-theme')").await,
        json!("dark"),
        "remembered"
    );
    let background = h.js("return getComputedStyle(document.body).backgroundColor").await;
    assert_eq!(background, json!("rgb(13, 17, 23)"), "dark colours apply");

    // The settings page shows and changes the same choice.
    h.open("/settings").await;
    assert_eq!(h.js("return document.querySelector('input[name=theme]:checked').value").await, json!("dark"));
    h.click("input[name='theme'][value='light']").await;
    h.wait_for("light theme", "document.documentElement.getAttribute('data-theme') === 'light'").await;
    h.open("/").await;
    assert_eq!(h.js("return document.documentElement.getAttribute('data-theme')").await, json!("light"));

    // Screenshots of every main page in both themes.
    let pages = [
        ("home", "/"),
        ("catalog", "/catalog"),
        ("catalog-filtered", "/catalog?kind=component&owner=group%3Adefault%2Fteam-a&sort=name"),
        ("apis", "/api-docs"),
        ("entity", "/catalog/default/component/artist-lookup"),
        ("settings", "/settings"),
        ("not-found", "/catalog/default/component/no-such-entity"),
    ];
    for theme in ["light", "dark"] {
        h.open("/settings").await;
        h.click(&format!("input[name='theme'][value='{theme}']")).await;
        for (name, path) in pages {
            h.open(path).await;
            h.screenshot(&format!("{name}-{theme}")).await;
            let errors = h.console_errors().await;
            // The 404 page's own status is the one error the browser reports there.
            let errors: Vec<&String> =
                errors.iter().filter(|e| !(name == "not-found" && e.contains("404 (Not Found)"))).collect();
            assert!(errors.is_empty(), "console errors on {path} ({theme}): {errors:#?}");
        }
        h.client.set_window_size(390, 844).await.expect("phone size");
        h.open("/catalog").await;
        h.screenshot(&format!("catalog-phone-{theme}")).await;
        h.client.set_window_size(1440, 900).await.expect("desktop size");
    }
    h.assert_no_console_errors("the theme switch").await;
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_work_with_javascript_off() {
    if !enabled("filters_work_with_javascript_off") {
        return;
    }
    let h = Harness::start(false).await;
    h.open("/catalog").await;
    h.click("input[name='owner'][value='group:default/team-a']").await;
    // Without JavaScript the <noscript> button is shown; submitting is a plain GET.
    h.click("#catalog-form button[type='submit']").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !h.url().await.contains("owner=group") {
        assert!(Instant::now() < deadline, "the form was not submitted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = h.client.find_all(Locator::Css("#catalog-body .cell-title")).await.expect("rows");
    let mut names = Vec::new();
    for row in rows {
        names.push(row.text().await.expect("row text"));
    }
    assert!(!names.is_empty() && names.len() < 13, "{names:?}");
    assert!(names.contains(&"artist-lookup".to_owned()), "{names:?}");
    let checked =
        h.client.find(Locator::Css("input[name='owner'][value='group:default/team-a']")).await.expect("box");
    assert_eq!(checked.prop("checked").await.expect("checked"), Some("true".to_owned()));
    h.assert_no_console_errors("the form submit without JavaScript").await;
    h.finish().await;
}

/// Waits until every profile picture in view has loaded or failed, so its console entry (if
/// any) is logged while the page that holds it is still open.
const PICTURES_SETTLED: &str = "Array.from(document.querySelectorAll('img.avatar-picture')).every(i => i.complete || i.getBoundingClientRect().top > innerHeight)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entity_pages_tabs_graph_star_and_profiles() {
    if !enabled("entity_pages_tabs_graph_star_and_profiles") {
        return;
    }
    let h = Harness::start(true).await;

    // From the catalog to an entity.
    h.open("/catalog?q=petstore").await;
    h.wait_for("htmx to load", "window.htmx !== undefined").await;
    h.click("#catalog-body a.cell-title[href='/catalog/default/component/petstore']").await;
    h.wait_for_path("/catalog/default/component/petstore").await;
    assert!(h.text(".entity-title h1").await.starts_with("petstore"));
    assert_eq!(h.text(".tabs a[aria-current='page']").await, "Overview");
    assert_eq!(h.text("#about-title").await, "About");
    h.assert_no_console_errors("opening an entity from the catalog").await;

    // Dependencies: the graph, then a node leads to that entity's page.
    h.click(".tabs a[href='/catalog/default/component/petstore/dependencies']").await;
    h.wait_for_path("/catalog/default/component/petstore/dependencies").await;
    assert_eq!(h.text(".tabs a[aria-current='page']").await, "Dependencies");
    let nodes = h.js("return document.querySelectorAll('svg.graph a.node').length").await;
    assert!(nodes.as_u64().is_some_and(|n| n >= 4), "petstore and its three APIs at least: {nodes}");
    h.click("svg.graph a.node[data-ref='api:default/streetlights']").await;
    h.wait_for_path("/catalog/default/api/streetlights").await;
    assert!(h.text(".entity-title h1").await.starts_with("streetlights"));
    h.assert_no_console_errors("following a graph node").await;

    // An API's tabs: Definition (AsyncAPI here), then OpenAPI on another API.
    let tabs = h.js("return Array.from(document.querySelectorAll('.tabs a')).map(a => a.textContent)").await;
    assert_eq!(tabs, json!(["Overview", "Definition", "Dependencies"]));
    h.click(".tabs a[href='/catalog/default/api/streetlights/definition']").await;
    h.wait_for_path("/catalog/default/api/streetlights/definition").await;
    assert!(h.text(".def-info h2").await.starts_with("Streetlights API"));
    h.open("/catalog/default/api/petstore/definition").await;
    let operations = h.js("return document.querySelectorAll('details.operation').length").await;
    assert!(operations.as_u64().is_some_and(|n| n >= 3), "petstore operations: {operations}");
    h.click("details.operation summary").await;
    h.wait_for("the operation to open", "document.querySelector('details.operation').open").await;
    h.assert_no_console_errors("the definition tabs").await;

    // Star, see it under "Starred", unstar.
    h.open("/catalog/default/api/petstore").await;
    h.wait_for("htmx to load", "window.htmx !== undefined").await;
    h.js(MARK).await;
    h.click(".star-form button").await;
    h.wait_for(
        "starred",
        "document.querySelector('.star-form button').getAttribute('aria-pressed') === 'true'",
    )
    .await;
    assert!(h.js(&format!("return {MARKED}")).await == Value::Bool(true), "starred in place");
    h.open("/catalog?kind=api&user=starred").await;
    assert_eq!(h.listed().await, ["petstore"]);
    h.open("/catalog/default/api/petstore").await;
    h.wait_for("htmx to load", "window.htmx !== undefined").await;
    assert_eq!(h.text(".star-form button").await, "Starred");
    h.click(".star-form button").await;
    h.wait_for(
        "unstarred",
        "document.querySelector('.star-form button').getAttribute('aria-pressed') === 'false'",
    )
    .await;
    h.open("/catalog?kind=api&user=starred").await;
    assert!(h.listed().await.is_empty(), "nothing starred any more");
    h.assert_no_console_errors("starring").await;

    // A group and a user: profile, members, ownership; avatars fall back to initials.
    h.open("/catalog/default/group/team-c").await;
    h.wait_for("pictures", PICTURES_SETTLED).await;
    assert_eq!(h.text("#profile-title").await, "Team C");
    h.assert_avatars_have_initials("the group page").await;
    h.assert_no_console_errors("the group page").await;
    h.click(".member-grid a.member-name[href='/catalog/default/user/calum.leavy']").await;
    h.wait_for_path("/catalog/default/user/calum.leavy").await;
    h.wait_for("pictures", PICTURES_SETTLED).await;
    assert_eq!(h.text("#profile-title").await, "Calum Leavy");
    h.assert_avatars_have_initials("the user page").await;
    h.assert_no_console_errors("the user page").await;

    // Screenshots of the entity pages in both themes.
    let pages = [
        ("entity-overview", "/catalog/default/component/petstore"),
        ("entity-dependencies", "/catalog/default/component/petstore/dependencies"),
        ("entity-dependencies-deep", "/catalog/default/system/audio-playback/dependencies?depth=2"),
        ("api-definition-openapi", "/catalog/default/api/petstore/definition"),
        ("api-definition-asyncapi", "/catalog/default/api/streetlights/definition"),
        ("group", "/catalog/default/group/team-c"),
        ("user", "/catalog/default/user/calum.leavy"),
    ];
    for theme in ["light", "dark"] {
        h.set_theme(theme).await;
        for (name, path) in pages {
            h.open(path).await;
            h.wait_for("pictures", PICTURES_SETTLED).await;
            h.screenshot(&format!("{name}-{theme}")).await;
            h.assert_no_console_errors(&format!("{path} ({theme})")).await;
        }
    }
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_a_location_then_unregister_it() {
    if !enabled("register_a_location_then_unregister_it") {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary folder");
    let file = dir.path().join("new").join("catalog-info.yaml");
    std::fs::create_dir_all(file.parent().expect("a parent")).expect("create a folder");
    std::fs::write(
        &file,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: fresh-service\n  description: Registered from the browser\nspec:\n  type: service\n  owner: team-a\n  lifecycle: production\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: fresh-worker\nspec:\n  type: service\n  owner: team-a\n  lifecycle: production\n",
    )
    .expect("write the file to register");
    let target = file.to_string_lossy().into_owned();
    let h = Harness::start_in(dir, true).await;

    // Analyze shows what the file holds (in both themes, for the screenshots), then register.
    for theme in ["dark", "light"] {
        h.set_theme(theme).await;
        h.open("/catalog-import").await;
        h.wait_for("htmx to load", "window.htmx !== undefined").await;
        h.js(MARK).await;
        h.client
            .find(Locator::Css("#import-target"))
            .await
            .expect("the location field")
            .send_keys(&target)
            .await
            .expect("type");
        h.click(".import-form button[type='submit']").await;
        h.wait_for("the analysis", "document.querySelector('.import-register') !== null").await;
        assert!(h.js(&format!("return {MARKED}")).await == Value::Bool(true), "analysed in place");
        let result = h.text("#import-result").await;
        assert!(result.contains("fresh-service") && result.contains("fresh-worker"), "{result}");
        h.screenshot(&format!("catalog-import-analysed-{theme}")).await;
    }
    h.click(".import-register button[type='submit']").await;
    h.wait_for("the registration", "document.querySelector(\"#import-result a[href='/catalog/default/component/fresh-service']\") !== null").await;
    h.assert_no_console_errors("registering").await;

    // The new entity is in the catalog.
    h.click("#import-result a[href='/catalog/default/component/fresh-service']").await;
    h.wait_for_path("/catalog/default/component/fresh-service").await;
    assert!(h.text(".entity-title h1").await.starts_with("fresh-service"));
    assert_eq!(h.text(".subtitle").await, "Registered from the browser");

    // Unregister: the confirmation lists both entities of the location.
    h.click(".entity-actions a[href='/catalog/default/component/fresh-service/unregister']").await;
    h.wait_for_path("/catalog/default/component/fresh-service/unregister").await;
    let confirmation = h.text("main").await;
    assert!(
        confirmation.contains("fresh-worker") && confirmation.contains(&target),
        "the confirmation names the location and all its entities: {confirmation}"
    );
    for theme in ["dark", "light"] {
        h.set_theme(theme).await;
        h.open("/catalog/default/component/fresh-service/unregister").await;
        h.screenshot(&format!("unregister-confirmation-{theme}")).await;
    }
    h.click("button.danger").await;
    h.wait_for_path("/catalog").await;
    assert!(h.url().await.ends_with("/catalog?kind=component"));
    h.open("/catalog?kind=component&q=fresh").await;
    assert!(h.listed().await.is_empty(), "both entities are gone");
    h.assert_no_console_errors("unregistering").await;
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_focuses_the_search_box_and_suggestions_follow_typing() {
    if !enabled("slash_focuses_the_search_box_and_suggestions_follow_typing") {
        return;
    }
    let h = Harness::start(true).await;
    h.open("/catalog").await;
    h.wait_for("htmx to load", "window.htmx !== undefined").await;
    // `/` from anywhere on the page focuses the box (and is not typed into it).
    h.client.find(Locator::Css("h1")).await.expect("heading").click().await.expect("click the heading");
    h.client.find(Locator::Css("body")).await.expect("body").send_keys("/").await.expect("press /");
    h.wait_for(
        "the box to be focused",
        "document.activeElement && document.activeElement.id === 'global-search'",
    )
    .await;
    assert_eq!(h.js("return document.activeElement.value").await, Value::String(String::new()));

    // Typing shows suggestions without a page load; a one-letter typo still finds the entity.
    h.js(MARK).await;
    h.client
        .find(Locator::Css("#global-search"))
        .await
        .expect("search box")
        .send_keys("petstor")
        .await
        .expect("type");
    h.wait_for(
        "suggestions",
        "document.querySelectorAll('#global-search-suggestions a[href*=\"petstore\"]').length > 0",
    )
    .await;
    assert!(h.js(&format!("return {MARKED}")).await == Value::Bool(true), "no full reload");
    h.screenshot("search-suggestions-light").await;
    h.click("#global-search-suggestions a[href*='petstore']").await;
    h.wait_for("the entity page", "location.pathname.includes('petstore')").await;
    h.assert_no_console_errors("search suggestions").await;

    // The results page, in both themes.
    for theme in ["light", "dark"] {
        h.set_theme(theme).await;
        h.open("/search?q=artist").await;
        h.wait_for("results", "document.querySelectorAll('main a[href*=\"artist\"]').length > 0").await;
        h.screenshot(&format!("search-{theme}")).await;
    }
    h.assert_no_console_errors("search page").await;
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_reader_renders_diagrams_copies_code_and_pages_through_the_nav() {
    if !enabled("docs_reader_renders_diagrams_copies_code_and_pages_through_the_nav") {
        return;
    }
    let h = Harness::start(true).await;
    h.open("/docs").await;
    assert!(h.text("#docs-body").await.contains("Diagrammed Service"));
    h.click("#docs-body a[href='/docs/default/component/diagrammed/']").await;
    h.wait_for_path("/docs/default/component/diagrammed/").await;
    h.wait_for("the diagram to render", "document.querySelector('.techdocs pre.mermaid svg') !== null").await;
    assert!(
        h.js("return document.querySelector('.techdocs pre.mermaid svg').textContent.includes('Gateway')")
            .await
            == Value::Bool(true),
        "the diagram shows its nodes"
    );

    // Copy on click: the button hands the block's text to the clipboard.
    h.js("window.__copied = null; navigator.clipboard.writeText = t => { window.__copied = t; return Promise.resolve(); };")
        .await;
    h.click(".techdocs .code-block .copy-button").await;
    h.wait_for("the copied text", "window.__copied !== null").await;
    let copied = h.js("return window.__copied").await;
    assert!(copied.as_str().unwrap_or_default().contains("println!(\"hello\");"), "{copied}");
    h.wait_for(
        "the copied label",
        "document.querySelector('.techdocs .code-block .copy-button').textContent.includes('Copied')",
    )
    .await;

    h.screenshot("docs-light").await;
    h.click(".docs-pager a.docs-next").await;
    h.wait_for_path("/docs/default/component/diagrammed/flow/").await;
    assert!(h.text(".techdocs h1").await.contains("Flow"));
    assert!(h.text(".docs-nav a[aria-current='page']").await.contains("Flow"));
    h.assert_no_console_errors("reading the docs").await;

    h.set_theme("dark").await;
    h.open("/docs/default/component/diagrammed/").await;
    h.wait_for("the diagram to render", "document.querySelector('.techdocs pre.mermaid svg') !== null").await;
    h.screenshot("docs-dark").await;
    h.open("/catalog/default/component/diagrammed/docs").await;
    assert!(h.text(".docs-nav").await.contains("Flow"));
    h.click(".docs-tab a[href='/docs/default/component/diagrammed/flow/']").await;
    h.wait_for_path("/docs/default/component/diagrammed/flow/").await;
    h.open("/catalog/default/component/diagrammed/docs").await;
    h.screenshot("docs-tab-dark").await;
    h.assert_no_console_errors("the docs in the dark theme").await;
    h.finish().await;
}

/// A template the software-templates test registers (beside the demo's), with a picker, a
/// password, a skipped step and a short wait so the task page can be watched going live.
const BROWSER_TEMPLATE: &str = r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: browser-service
  title: Browser service
  description: A small service made from the browser, with its owner, language and docs, and a short pause to watch it run.
  tags: [demo, recommended]
spec:
  owner: group:default/team-a
  type: service
  parameters:
    - title: Service
      description: What the new service is called and who looks after it.
      required: [name, owner]
      properties:
        name:
          title: Name
          type: string
          description: Lower-case words joined by dashes
          ui:field: EntityNamePicker
          ui:autofocus: true
        description:
          title: Description
          type: string
          ui:widget: textarea
          ui:options:
            rows: 3
        owner:
          title: Owner
          type: string
          description: The team that owns the service
          ui:field: OwnerPicker
          ui:options:
            catalogFilter:
              kind: Group
    - title: Settings
      properties:
        language:
          title: Language
          type: string
          enum: [rust, go]
          enumNames: [Rust, Go]
          default: rust
          ui:widget: radio
        apiKey:
          title: API key
          type: string
          ui:widget: password
          ui:help: Stored with the task, never shown again.
        includeDocs:
          title: Include docs
          type: boolean
          default: true
  steps:
    - id: announce
      name: Announce
      action: debug:log
      input:
        message: Creating ${{ parameters.name }} for ${{ parameters.owner }} in ${{ parameters.language }}
    - id: prepare
      name: Prepare the workspace
      action: debug:wait
      input:
        seconds: 2
    - id: no-docs
      name: Leave out docs
      if: ${{ not parameters.includeDocs }}
      action: debug:log
      input:
        message: No docs
    - id: summarize
      name: Summarize
      action: debug:log
      input:
        message: ${{ parameters.name }} is ready
  output:
    links:
      - title: Owner's page
        entityRef: ${{ parameters.owner }}
      - title: Repository
        url: https://git.example.com/acme/${{ parameters.name }}
    text:
      - title: Next steps
        content: "Clone https://git.example.com/acme/${{ parameters.name }} and run the tests:\n\n  cargo test\n"
"#;

/// Types into the element `css`.
async fn type_into(h: &Harness, css: &str, text: &str) {
    h.client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("find {css}: {e}"))
        .send_keys(text)
        .await
        .expect("type");
}

/// Writes the browser template (and, with `demo`, a reference to the demo's templates) into
/// `dir` under a Location file; returns that file's path.
fn write_templates(dir: &std::path::Path, demo: bool) -> String {
    let templates = dir.join("templates");
    std::fs::create_dir_all(templates.join("browser-service")).expect("create the template folder");
    std::fs::write(templates.join("browser-service/template.yaml"), BROWSER_TEMPLATE)
        .expect("write the template");
    let mut targets = String::from("    - ./browser-service/template.yaml\n");
    if demo {
        let all = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo/templates/all.yaml");
        let all = all.canonicalize().expect("the demo templates");
        targets.push_str(&format!("    - {}\n", all.display()));
    }
    std::fs::write(
        templates.join("catalog-info.yaml"),
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: browser-templates\nspec:\n  targets:\n{targets}"
        ),
    )
    .expect("write the location");
    templates.join("catalog-info.yaml").to_string_lossy().into_owned()
}

/// Reloads `/create` until the browser template is listed.
async fn wait_for_templates(h: &Harness, also: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        h.open("/create").await;
        let mut ready = true;
        for name in ["browser-service"].iter().chain(also) {
            let found = h
                .js(&format!(
                    "return !!document.querySelector(\"a[href='/create/templates/default/{name}']\")"
                ))
                .await;
            ready &= found == Value::Bool(true);
        }
        if ready {
            return;
        }
        assert!(Instant::now() < deadline, "the templates were not read");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Registers `target` through `/catalog-import` (with or without JavaScript).
async fn register_location(h: &Harness, target: &str) {
    h.open("/catalog-import").await;
    type_into(h, "#import-target", target).await;
    h.click(".import-form button[type='submit']").await;
    h.wait_for("the analysis", "document.querySelector('.import-register') !== null").await;
    h.click(".import-register button[type='submit']").await;
    h.wait_for("the registration", "document.querySelector('#import-result h2#done-title') !== null").await;
}

/// Fills in and submits the browser template's two pages, ending on the review. The first
/// try has a name the server refuses (the browser's own checks switched off), which comes
/// back with its error beside the field, focused.
async fn fill_browser_template(h: &Harness) {
    h.wait_for("the first page", "document.activeElement && document.activeElement.id === 'field-name'")
        .await;
    type_into(h, "#field-name", "Bad Name").await;
    type_into(h, "#field-description", "Made by the browser tests").await;
    type_into(h, "#field-owner", "team-a").await;
    h.js("document.querySelectorAll('.create-form [required], .create-form [pattern]').forEach(e => { e.removeAttribute('required'); e.removeAttribute('pattern'); });")
        .await;
    h.click(".create-actions button[value='next']").await;
    h.wait_for("the refusal", "document.querySelector('.form-field-invalid') !== null").await;
    assert!(
        h.text(".form-field-invalid .form-error").await.contains("Must start and end with an alphanumeric")
    );
    assert_eq!(
        h.js("return document.activeElement.id").await,
        json!("field-name"),
        "the field in error is focused"
    );
    assert_eq!(
        h.js("return document.querySelector('#field-owner').value").await,
        json!("team-a"),
        "answers are kept"
    );
    h.screenshot("create-form-errors-light").await;
    let name = h.client.find(Locator::Css("#field-name")).await.expect("the name field");
    name.clear().await.expect("clear the name");
    name.send_keys("browser-made").await.expect("type the name");
    h.click(".create-actions button[value='next']").await;
    h.wait_for(
        "the settings page",
        "document.querySelector('#create-page-title').textContent === 'Settings'",
    )
    .await;
    h.click("#field-language-1").await;
    type_into(h, "#field-apiKey", "k3y-that-stays-hidden").await;
    h.click(".create-actions button[value='next']").await;
    h.wait_for("the review", "document.querySelector('#create-review-title') !== null").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn software_templates_from_the_list_through_the_form_to_a_live_task() {
    if !enabled("software_templates_from_the_list_through_the_form_to_a_live_task") {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary folder");
    let location = write_templates(dir.path(), true);
    let h = Harness::start_in(dir, true).await;

    // No templates yet: the page says how to add one, and that is how they arrive.
    h.open("/create").await;
    assert!(h.text(".empty-state").await.contains("No templates yet"));
    h.screenshot("create-empty-light").await;
    h.click(".empty-state a[href='/catalog-import']").await;
    h.wait_for_path("/catalog-import").await;
    register_location(&h, &location).await;
    h.assert_no_console_errors("registering the templates").await;
    wait_for_templates(&h, &["rust-service"]).await;

    // The demo's Backstage examples need actions this portal lacks: they say so and are disabled.
    let blocked = h
        .js("return document.querySelectorAll('.create-card-blocked button.primary[disabled]').length")
        .await;
    assert!(blocked.as_u64().is_some_and(|n| n >= 1), "blocked templates: {blocked}");
    assert!(h.text(".create-card-blocked .create-card-blocked-note").await.contains("does not have"));
    for theme in ["light", "dark"] {
        h.set_theme(theme).await;
        h.open("/create").await;
        h.screenshot(&format!("create-templates-{theme}")).await;
        h.js("document.querySelector('.create-card-blocked').scrollIntoView({block: 'center'});").await;
        h.screenshot(&format!("create-templates-blocked-{theme}")).await;
        h.assert_no_console_errors(&format!("the template list ({theme})")).await;
    }
    h.set_theme("light").await;

    // The text filter narrows the cards in place.
    h.open("/create").await;
    h.wait_for("htmx to load", "window.htmx !== undefined").await;
    h.js(MARK).await;
    type_into(&h, "#create-q", "browser").await;
    h.wait_for("one card", "document.querySelectorAll('.create-card').length === 1").await;
    assert!(h.url().await.contains("q=browser"), "the URL holds the filter");
    assert!(h.js(&format!("return {MARKED}")).await == Value::Bool(true), "no full reload");

    // Choose, fill in both pages (the owner through its picker), review.
    h.click("a[href='/create/templates/default/browser-service']").await;
    h.wait_for_path("/create/templates/default/browser-service").await;
    assert_eq!(h.text(".create-step-current .create-step-title").await, "Service");
    h.screenshot("create-form-light").await;
    fill_browser_template(&h).await;
    let review = h.text(".create-form").await;
    assert!(review.contains("browser-made") && review.contains("group:default/team-a"), "{review}");
    assert!(review.contains("******") && !review.contains("k3y-that-stays-hidden"), "{review}");
    assert!(review.contains("Go"), "the chosen language by its label: {review}");
    h.js("document.querySelector('.create-actions').scrollIntoView({block: 'end'});").await;
    h.screenshot("create-review-light").await;
    h.assert_no_console_errors("the form").await;

    // Create: the task page turns completed without a reload.
    h.click(".create-actions button[value='create']").await;
    h.wait_for(
        "the task page",
        "location.pathname.startsWith('/create/tasks/') && document.readyState === 'complete'",
    )
    .await;
    let task_path = h.js("return location.pathname").await.as_str().unwrap_or_default().to_owned();
    h.wait_for("htmx to load", "window.htmx !== undefined").await;
    h.js(MARK).await;
    h.wait_for("the task to run", "document.querySelector('.task-badge').textContent.trim() === 'Running'")
        .await;
    h.screenshot("create-task-running-light").await;
    h.wait_for(
        "the task to complete",
        "document.querySelector('.task-badge').textContent.trim() === 'Completed'",
    )
    .await;
    assert!(h.js(&format!("return {MARKED}")).await == Value::Bool(true), "completed without a reload");
    let steps = h
        .js("return Array.from(document.querySelectorAll('.task-step')).map(s => s.querySelector('.task-step-status').textContent)")
        .await;
    assert_eq!(steps, json!(["Completed", "Completed", "Skipped", "Completed"]));
    assert!(h.text("#task-log").await.contains("browser-made is ready"));
    assert!(h.text(".task-text-content").await.contains("cargo test"));
    assert_eq!(
        h.js("return document.querySelector('#task-live').hasAttribute('hx-trigger')").await,
        json!(false)
    );
    h.screenshot("create-task-light").await;
    h.js("document.querySelector('#task-log').scrollIntoView({block: 'start'});").await;
    h.screenshot("create-task-log-light").await;
    h.js("window.scrollTo(0, 0);").await;
    h.assert_no_console_errors("watching the task").await;

    // An output link leads to the owner's page.
    h.click(".task-links a[href='/catalog/default/group/team-a']").await;
    h.wait_for_path("/catalog/default/group/team-a").await;
    h.wait_for("pictures", PICTURES_SETTLED).await;
    h.assert_no_console_errors("following an output link").await;

    // The history lists the task; the dark theme, through "Start over" with the values kept.
    h.open("/create/tasks").await;
    assert!(
        h.js(&format!("return !!document.querySelector(\"a[href='{task_path}']\")")).await
            == Value::Bool(true)
    );
    h.screenshot("create-history-light").await;
    h.set_theme("dark").await;
    h.open("/create/tasks").await;
    h.screenshot("create-history-dark").await;
    h.open(&task_path).await;
    h.screenshot("create-task-dark").await;
    h.click(".task-actions a.button[href*='from=']").await;
    h.wait_for_path("/create/templates/default/browser-service").await;
    h.wait_for("the values", "document.querySelector('#field-name').value === 'browser-made'").await;
    h.screenshot("create-form-dark").await;
    h.click(".create-actions button[value='next']").await;
    h.wait_for(
        "the settings page",
        "document.querySelector('#create-page-title').textContent === 'Settings'",
    )
    .await;
    h.click(".create-actions button[value='next']").await;
    h.wait_for("the review", "document.querySelector('#create-review-title') !== null").await;
    h.js("document.querySelector('.create-actions').scrollIntoView({block: 'end'});").await;
    h.screenshot("create-review-dark").await;
    h.assert_no_console_errors("the dark theme").await;
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn software_templates_work_without_javascript() {
    if !enabled("software_templates_work_without_javascript") {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary folder");
    let location = write_templates(dir.path(), false);
    let h = Harness::start_in(dir, false).await;
    register_location(&h, &location).await;
    wait_for_templates(&h, &[]).await;

    // The filter form's own button submits it as a plain GET.
    type_into(&h, "#create-q", "browser").await;
    h.click("#create-form button[type='submit']").await;
    h.wait_for("the filtered list", "location.search.includes('q=browser')").await;
    h.click("a[href='/create/templates/default/browser-service']").await;
    h.wait_for_path("/create/templates/default/browser-service").await;
    type_into(&h, "#field-name", "no-script").await;
    type_into(&h, "#field-owner", "team-a").await;
    h.click(".create-actions button[value='next']").await;
    h.wait_for(
        "the settings page",
        "document.querySelector('#create-page-title').textContent === 'Settings'",
    )
    .await;
    h.click(".create-actions button[value='back']").await;
    h.wait_for(
        "the first page again",
        "document.querySelector('#create-page-title').textContent === 'Service'",
    )
    .await;
    assert_eq!(h.js("return document.querySelector('#field-name').value").await, json!("no-script"));
    h.click(".create-actions button[value='next']").await;
    h.wait_for(
        "the settings page",
        "document.querySelector('#create-page-title').textContent === 'Settings'",
    )
    .await;
    h.click(".create-actions button[value='next']").await;
    h.wait_for("the review", "document.querySelector('#create-review-title') !== null").await;
    h.click(".create-actions button[value='create']").await;
    h.wait_for("the task page", "location.pathname.startsWith('/create/tasks/')").await;

    // No polling without JavaScript: the Refresh link shows the progress.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let badge = h.text(".task-badge").await;
        if badge == "Completed" {
            break;
        }
        assert!(Instant::now() < deadline, "the task did not complete: {badge}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        h.click(".task-actions a.button[href^='/create/tasks/']").await;
        h.wait_for("the page", "document.readyState === 'complete'").await;
    }
    assert!(h.text("#task-log").await.contains("no-script is ready"));
    h.assert_no_console_errors("the task page without JavaScript").await;
    h.finish().await;
}
