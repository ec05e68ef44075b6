//! Docs and search under the shipped example policies (demo/policies): the docs of entities
//! labelled restricted, and the search documents standing for them, are their owners' only.
//! Anyone else gets exactly the answer given for docs that do not exist, and search leaves the
//! documents out inside the query: totals, pages, ranks and cursors count only what the caller
//! may read. With permissions off, everyone sees everything.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use portico_testkit::{TestApp, TestDatabase, TestResponse, TokenSigner, write_file};
use serde_json::Value;

const JANE: &str = "user:default/jane";
const JANE_OWNS: &[&str] = &["user:default/jane", "group:default/team-a"];
const BOB: &str = "user:default/bob";
const BOB_OWNS: &[&str] = &["user:default/bob", "group:default/team-b"];

/// Documented components everyone may read (owned by team-b).
const OPEN: [&str; 5] = ["open-0", "open-1", "open-2", "open-3", "open-4"];
/// Documented components labelled restricted, owned by team-a.
const SECRET: [&str; 4] = ["secret-0", "secret-1", "secret-2", "secret-3"];
/// The word every entity's description and every docs page contains.
const TERM: &str = "xylophone";

/// The catalog file and, for each entity, a docs folder (`dir:./<name>`).
fn write_catalog(dir: &Path) -> PathBuf {
    let mut entities = Vec::new();
    for (names, owner, restricted) in [(&OPEN[..], "team-b", false), (&SECRET[..], "team-a", true)] {
        for name in names {
            let labels = if restricted { "\n  labels:\n    portico.io/restricted: \"true\"" } else { "" };
            entities.push(format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  description: Plays the {TERM} for {name}{labels}\n  annotations:\n    backstage.io/techdocs-ref: dir:./{name}\nspec:\n  type: service\n  lifecycle: production\n  owner: group:default/{owner}\n"
            ));
            write_file(dir, &format!("repo/{name}/mkdocs.yml"), &format!("site_name: {name} handbook\n"));
            write_file(
                dir,
                &format!("repo/{name}/docs/index.md"),
                &format!("# {name}\n\nThe {TERM} handbook of {name}.\n"),
            );
        }
    }
    write_file(dir, "repo/catalog-info.yaml", &entities.join("---\n"))
}

/// The app with the catalog's docs built and indexed; with `permissions`, the example
/// policies (copied into the app's folder) are in force.
async fn portal(permissions: bool) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary folder");
    let catalog = write_catalog(dir.path());
    let mut yaml = format!("catalog:\n  locations:\n    - type: file\n      target: {}\n", catalog.display());
    if permissions {
        let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo/policies");
        std::fs::create_dir_all(dir.path().join("policies")).expect("policies folder");
        for file in ["default.cedar", "restricted-entities.cedar"] {
            std::fs::copy(demo.join(file), dir.path().join("policies").join(file)).expect("copy a policy");
        }
        yaml.push_str(
            "permission:\n  enabled: true\n  policies:\n    - policies/default.cedar\n    - policies/restricted-entities.cedar\n",
        );
    }
    let app = TestApp::start_in(dir, &yaml, TestDatabase::Sqlite).await;
    app.settle().await;
    app.settle().await;
    app
}

async fn get(app: &TestApp, uri: &str, token: Option<&str>) -> TestResponse {
    let mut request = Request::builder().uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    app.send(request.body(Body::empty()).expect("request")).await
}

async fn get_json(app: &TestApp, uri: &str, token: Option<&str>) -> Value {
    let response = get(app, uri, token).await;
    assert_eq!(response.status, StatusCode::OK, "GET {uri}: {}", response.text());
    response.json()
}

/// Every docs route and page of an entity, `{name}` standing for its name.
const DOCS_ROUTES: [&str; 9] = [
    "/api/techdocs/metadata/techdocs/default/component/{name}",
    "/api/techdocs/metadata/entity/default/component/{name}",
    "/api/techdocs/sync/default/component/{name}",
    "/api/techdocs/builds/default/component/{name}",
    "/api/techdocs/static/docs/default/component/{name}/",
    "/api/techdocs/static/docs/default/component/{name}/index.html",
    "/api/techdocs/static/docs/default/component/{name}/search/search_index.json",
    "/docs/default/component/{name}/",
    "/catalog/default/component/{name}/docs",
];

/// Asserts that every docs route answers for `name` exactly as for an entity that does not
/// exist: same status, same body but for the name.
async fn assert_like_missing(app: &TestApp, token: Option<&str>, name: &str) {
    for route in DOCS_ROUTES {
        let hidden = get(app, &route.replace("{name}", name), token).await;
        let missing = get(app, &route.replace("{name}", "absent-9"), token).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{route} for {name}: {}", hidden.text());
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{route} for a missing entity");
        assert_eq!(
            hidden.text(),
            missing.text().replace("absent-9", name),
            "{route}: {name} answers like an entity that does not exist"
        );
        assert!(!hidden.text().contains(TERM), "{route}: nothing of the docs leaks");
    }
}

/// Asserts that every docs route serves `name`.
async fn assert_served(app: &TestApp, token: Option<&str>, name: &str) {
    for route in DOCS_ROUTES {
        let uri = route.replace("{name}", name);
        let response = get(app, &uri, token).await;
        assert_eq!(response.status, StatusCode::OK, "GET {uri}: {}", response.text());
    }
    let page = get(app, &format!("/docs/default/component/{name}/"), token).await.text();
    assert!(page.contains(&format!("The {TERM} handbook of {name}")), "{page}");
}

/// One page of `/api/search/query`.
struct SearchPage {
    /// The name part of each result's location (`/catalog/default/component/<name>`,
    /// `/docs/default/component/<name>/`), with its type.
    results: Vec<(String, String)>,
    ranks: Vec<u64>,
    total: u64,
    next: Option<String>,
    previous: Option<String>,
}

async fn search_page(app: &TestApp, token: Option<&str>, query: &str) -> SearchPage {
    let body = get_json(app, &format!("/api/search/query?{query}"), token).await;
    let results = body["results"].as_array().expect("results");
    SearchPage {
        results: results
            .iter()
            .map(|result| {
                let location = result["document"]["location"].as_str().expect("location");
                let name = location.split('/').nth(4).expect("a location naming an entity");
                (result["type"].as_str().expect("type").to_owned(), name.to_owned())
            })
            .collect(),
        ranks: results.iter().map(|result| result["rank"].as_u64().expect("rank")).collect(),
        total: body["numberOfResults"].as_u64().expect("numberOfResults"),
        next: body["nextPageCursor"].as_str().map(str::to_owned),
        previous: body["previousPageCursor"].as_str().map(str::to_owned),
    }
}

/// Pages through the results for `TERM` with `limit` per page, checking that every page but
/// the last is full, ranks run on without gaps, the total never changes and the cursors lead
/// both ways; returns every (type, name) found. A page past the last is empty.
async fn search_everything(app: &TestApp, token: Option<&str>, limit: usize) -> Vec<(String, String)> {
    let first = format!("term={TERM}&pageLimit={limit}");
    let mut page = search_page(app, token, &first).await;
    let total = page.total;
    let mut found = Vec::new();
    for number in 0usize.. {
        let rank = found.len() as u64;
        assert_eq!(page.total, total, "the total is the same on every page");
        assert_eq!(page.ranks, (rank + 1..=rank + page.results.len() as u64).collect::<Vec<_>>());
        assert_eq!(page.previous, number.checked_sub(1).map(cursor));
        found.extend(page.results);
        let Some(next) = page.next else { break };
        assert_eq!(next, cursor(number + 1));
        assert_eq!(found.len(), (number + 1) * limit, "a page before the last is full");
        page = search_page(app, token, &format!("{first}&pageCursor={next}")).await;
    }
    assert_eq!(found.len() as u64, total, "the total counts exactly the results");
    let pages = found.len().div_ceil(limit);
    let beyond = search_page(app, token, &format!("{first}&pageCursor={}", cursor(pages))).await;
    assert!(beyond.results.is_empty(), "nothing past the readable results: {:?}", beyond.results);
    assert_eq!(beyond.total, total);
    found
}

/// Backstage's cursor of page `page`.
fn cursor(page: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(page.to_string())
}

/// Both documents (entity and docs page) of each name.
fn documents_of(names: &[&str]) -> BTreeSet<(String, String)> {
    names
        .iter()
        .flat_map(|name| {
            [("software-catalog".to_owned(), (*name).to_owned()), ("techdocs".to_owned(), (*name).to_owned())]
        })
        .collect()
}

fn all_names() -> Vec<&'static str> {
    OPEN.iter().chain(SECRET.iter()).copied().collect()
}

#[tokio::test]
async fn owners_read_and_find_their_restricted_docs() {
    let app = portal(true).await;
    let jane = TokenSigner::join(&app).await.token(JANE, JANE_OWNS);
    for name in all_names() {
        assert_served(&app, Some(&jane), name).await;
    }
    let found = search_everything(&app, Some(&jane), 4).await;
    assert_eq!(found.len(), 18, "{found:?}");
    assert_eq!(found.into_iter().collect::<BTreeSet<_>>(), documents_of(&all_names()));

    let list = get(&app, "/docs", Some(&jane)).await.text();
    assert!(list.contains("9 of 9 documented entities"), "{list}");
    assert!(SECRET.iter().all(|name| list.contains(&format!("/docs/default/component/{name}/"))));
    let search = get(&app, &format!("/search?q={TERM}"), Some(&jane)).await.text();
    assert!(search.contains("18 results") && search.contains(r#"rel="next""#), "{search}");
    let second = get(&app, &format!("/search?q={TERM}&page=2"), Some(&jane)).await.text();
    assert_eq!(second.matches(r#"class="card search-result""#).count(), 8, "{second}");
}

#[tokio::test]
async fn others_get_the_answer_for_docs_that_do_not_exist() {
    let app = portal(true).await;
    let bob = TokenSigner::join(&app).await.token(BOB, BOB_OWNS);
    for token in [Some(bob.as_str()), None] {
        for name in SECRET {
            assert_like_missing(&app, token, name).await;
        }
        for name in OPEN {
            assert_served(&app, token, name).await;
        }
        let list = get(&app, "/docs", token).await.text();
        assert!(list.contains("5 of 5 documented entities"), "{list}");
        assert!(!list.contains("secret-") && !list.contains("group:default/team-a"), "{list}");
        let by_owner = get(&app, "/docs?owner=group:default/team-a", token).await.text();
        assert!(by_owner.contains("0 of 5 documented entities"), "{by_owner}");
    }
}

#[tokio::test]
async fn search_leaves_out_what_the_caller_may_not_read_inside_the_query() {
    let app = portal(true).await;
    let bob = TokenSigner::join(&app).await.token(BOB, BOB_OWNS);
    for token in [Some(bob.as_str()), None] {
        for limit in [1, 3, 4, 25] {
            let found = search_everything(&app, token, limit).await;
            assert_eq!(found.len(), 10, "limit {limit}: {found:?}");
            assert_eq!(found.into_iter().collect::<BTreeSet<_>>(), documents_of(&OPEN), "limit {limit}");
        }
        let docs_only = search_page(&app, token, &format!("term={TERM}&types[0]=techdocs&pageLimit=2")).await;
        assert_eq!(docs_only.total, 5);
        let by_name = search_page(&app, token, "term=secret-0").await;
        assert!(by_name.results.iter().all(|(_, name)| !name.starts_with("secret")), "{:?}", by_name.results);

        let page = get(&app, &format!("/search?q={TERM}"), token).await.text();
        assert!(page.contains("10 results") && !page.contains(r#"rel="next""#), "{page}");
        assert!(!page.contains("secret-"), "{page}");
        let beyond = get(&app, &format!("/search?q={TERM}&page=2"), token).await.text();
        assert!(
            beyond.contains("10 results") && !beyond.contains(r#"class="card search-result""#),
            "{beyond}"
        );
        let suggestions = get(&app, &format!("/search/suggest?q={TERM}"), token).await.text();
        assert!(
            suggestions.contains("See all 10 results") && !suggestions.contains("secret-"),
            "{suggestions}"
        );
    }
}

#[tokio::test]
async fn without_permissions_everyone_sees_every_doc_and_result() {
    let app = portal(false).await;
    for name in all_names() {
        assert_served(&app, None, name).await;
    }
    let found = search_everything(&app, None, 4).await;
    assert_eq!(found.into_iter().collect::<BTreeSet<_>>(), documents_of(&all_names()));
    assert!(get(&app, "/docs", None).await.text().contains("9 of 9 documented entities"));
}
