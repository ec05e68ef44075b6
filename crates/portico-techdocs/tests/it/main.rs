//! Whole builds: the demo site, and the safety limits.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use portico_techdocs::{BuildError, BuildOptions, build_site};
use serde_json::Value;

mod incremental;

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/techdocs/documented-component")
}

fn site(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

fn read(dir: &Path, rel: &str) -> String {
    fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json(dir: &Path, rel: &str) -> Value {
    serde_json::from_str(&read(dir, rel)).unwrap()
}

#[test]
fn builds_the_demo_site() {
    let out = tempfile::tempdir().unwrap();
    let report = build_site(&demo(), out.path(), &BuildOptions::default()).unwrap();
    let locations: Vec<_> = report.pages.iter().map(|p| p.location.as_str()).collect();
    assert_eq!(locations, ["code/code-sample/", "extensions/", "", "sub-page/"]);

    // Nav: titles from mkdocs.yml, in its order.
    let nav: Vec<_> = report.nav.iter().map(|n| (n.title.as_str(), n.location.as_deref())).collect();
    assert_eq!(
        nav,
        [
            ("Home", Some("")),
            ("Subpage", Some("sub-page/")),
            ("Code Sample", Some("code/code-sample/")),
            ("Extensions", Some("extensions/"))
        ]
    );

    // Pages, TOC, links, tables.
    let index = read(out.path(), "index.html");
    assert!(index.contains("<h1 id=\"welcome\">Welcome!</h1>"), "{index}");
    assert!(index.contains("href=\"sub-page/\""), "{index}");
    assert!(index.contains("href=\"code/code-sample/\""), "{index}");
    assert!(index.contains("<table>"), "{index}");
    let home = report.pages.iter().find(|p| p.location.is_empty()).unwrap();
    let toc: Vec<_> = home.toc.iter().map(|t| (t.level, t.id.as_str())).collect();
    assert_eq!(toc, [(1, "welcome"), (2, "basic-markdown"), (2, "image-example"), (2, "table-example")]);

    // The image the example references is not in the folder: a warning, not a failure.
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.starts_with("index.md: broken link 'images/backstage-logo-cncf.svg'")),
        "{:?}",
        report.warnings
    );

    // Admonitions, task lists and code blocks.
    let extensions = read(out.path(), "extensions/index.html");
    assert!(extensions.contains("<div class=\"admonition error\">"), "{extensions}");
    assert!(extensions.contains("<div class=\"admonition success\">"), "{extensions}");
    assert!(extensions.contains("type=\"checkbox\""), "{extensions}");
    let code = read(out.path(), "code/code-sample/index.html");
    assert!(
        code.contains("<pre><code class=\"language-typescript\"><span class=\"hl-keyword\">const</span> DefaultEntityPage"),
        "{code}"
    );
    assert!(code.contains("&lt;EntityPageLayout&gt;"), "{code}");

    // Metadata and search index.
    let metadata = json(out.path(), "techdocs_metadata.json");
    assert_eq!(metadata["site_name"], "Example Documentation");
    assert!(metadata["build_timestamp"].as_u64().unwrap() > 1_600_000_000_000);
    assert_eq!(metadata["etag"].as_str().unwrap().len(), 40);
    let files: Vec<_> = metadata["files"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(files.contains(&"index.html") && files.contains(&"sub-page/index.html"), "{files:?}");
    assert!(files.contains(&"search/search_index.json"), "{files:?}");
    let search = json(out.path(), "search/search_index.json");
    assert_eq!(search["config"]["lang"][0], "en");
    let docs = search["docs"].as_array().unwrap();
    assert_eq!(docs.len(), 4);
    let sub = docs.iter().find(|d| d["location"] == "sub-page/").unwrap();
    assert_eq!(sub["title"], "Subpage");
    assert!(sub["text"].as_str().unwrap().contains("elaborate on a specific part"), "{sub}");
}

#[test]
fn without_nav_the_folder_tree_is_used_index_first() {
    let src = site(&[
        ("mkdocs.yml", "site_name: T\nplugins:\n  - unknown-plugin\n"),
        ("docs/b.md", "# Bee\n"),
        ("docs/index.md", "# Start\n"),
        ("docs/guide/index.md", "# Guide home\n"),
        ("docs/guide/a.md", "x [back](../index.md)"),
    ]);
    let out = tempfile::tempdir().unwrap();
    let report = build_site(src.path(), out.path(), &BuildOptions::default()).unwrap();
    let titles: Vec<_> = report.nav.iter().map(|n| n.title.as_str()).collect();
    assert_eq!(titles, ["Start", "Bee", "Guide"]);
    let guide: Vec<_> = report.nav[2].children.iter().map(|n| n.title.as_str()).collect();
    assert_eq!(guide, ["Guide home", "A"]);
    assert!(read(out.path(), "guide/a/index.html").contains("href=\"../../\""));
    assert!(report.warnings.iter().any(|w| w.contains("unknown-plugin")), "{:?}", report.warnings);
}

#[test]
fn edit_links_per_page() {
    let src = site(&[
        ("mkdocs.yml", "site_name: T\nrepo_url: https://github.com/o/r\nedit_uri: edit/main/docs/\n"),
        ("docs/index.md", "# Start\n"),
    ]);
    let out = tempfile::tempdir().unwrap();
    let report = build_site(src.path(), out.path(), &BuildOptions::default()).unwrap();
    assert_eq!(report.pages[0].edit_url.as_deref(), Some("https://github.com/o/r/edit/main/docs/index.md"));
}

#[test]
fn raw_html_is_sanitised() {
    let page = "# Hi\n\n<script>alert(1)</script>\n\n<img src=x onerror=\"alert(2)\">\n\n<a href=\"javascript:alert(3)\">x</a>\n\n[y](javascript:alert(4))\n\n<iframe src=\"https://evil.example\"></iframe>\n\n<input type=\"text\" value=\"v\">\n\n<p onclick=\"alert(5)\" class=\"ok\">kept</p>\n";
    let src = site(&[("mkdocs.yml", "site_name: T\n"), ("docs/index.md", page)]);
    let out = tempfile::tempdir().unwrap();
    build_site(src.path(), out.path(), &BuildOptions::default()).unwrap();
    let html = read(out.path(), "index.html").to_lowercase();
    for bad in ["<script", "onerror", "onclick", "javascript:", "<iframe", "type=\"text\"", "alert(1)"] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }
    assert!(html.contains("<p class=\"ok\">kept</p>"), "{html}");
}

#[test]
fn docs_dir_outside_the_source_is_rejected() {
    for docs_dir in ["../..", "/etc", "docs/../../x"] {
        let src =
            site(&[("mkdocs.yml", &format!("site_name: T\ndocs_dir: {docs_dir}\n")), ("docs/index.md", "x")]);
        let out = tempfile::tempdir().unwrap();
        let error = build_site(src.path(), out.path(), &BuildOptions::default()).unwrap_err();
        assert!(matches!(error, BuildError::UnsafePath(_)), "{docs_dir}: {error}");
    }
}

#[test]
fn nav_entries_leaving_the_docs_folder_are_rejected() {
    let src = site(&[
        ("mkdocs.yml", "site_name: T\nnav:\n  - Home: index.md\n  - S:\n      - Secret: ../../secret.md\n"),
        ("docs/index.md", "x"),
    ]);
    let out = tempfile::tempdir().unwrap();
    let error = build_site(src.path(), out.path(), &BuildOptions::default()).unwrap_err();
    assert!(matches!(error, BuildError::UnsafePath(_)), "{error}");
    assert!(error.to_string().contains("../../secret.md"));
}

#[cfg(unix)]
#[test]
fn symlinks_pointing_outside_are_skipped() {
    let outside = site(&[("secret.md", "TOP SECRET"), ("secret.png", "PNG")]);
    let src =
        site(&[("mkdocs.yml", "site_name: T\n"), ("docs/index.md", "# Home\n"), ("docs/ok.md", "fine")]);
    let docs = src.path().join("docs");
    std::os::unix::fs::symlink(outside.path().join("secret.md"), docs.join("leak.md")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.png"), docs.join("leak.png")).unwrap();
    std::os::unix::fs::symlink(outside.path(), docs.join("dir")).unwrap();
    std::os::unix::fs::symlink(docs.join("ok.md"), docs.join("alias.md")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let report = build_site(src.path(), out.path(), &BuildOptions::default()).unwrap();
    assert!(!out.path().join("leak").exists());
    assert!(!out.path().join("leak.png").exists());
    assert!(read(out.path(), "alias/index.html").contains("fine"), "links inside are followed");
    let warned = report.warnings.iter().filter(|w| w.contains("outside the source folder")).count();
    assert_eq!(warned, 3, "{:?}", report.warnings);
}

#[test]
fn an_oversized_page_gets_a_placeholder() {
    let big = "word ".repeat(2 * 1024 * 1024 + 1);
    let src = site(&[("mkdocs.yml", "site_name: T\n"), ("docs/index.md", "# Home\n"), ("docs/big.md", &big)]);
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let report = build_site(src.path(), out.path(), &BuildOptions::default()).unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(read(out.path(), "big/index.html").contains("Page too large"));
    assert!(
        report.warnings.iter().any(|w| w.starts_with("big.md: the page is 10485765 bytes")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn deeply_nested_markdown_finishes_quickly() {
    let quotes = format!("{}deep\n", ">".repeat(100_000));
    let lists: String = (0..2_000).map(|i| format!("{}- item\n", "  ".repeat(i))).collect();
    let admonitions: String = (0..50).map(|i| format!("{}!!! note\n", "    ".repeat(i))).collect();
    let src = site(&[
        ("mkdocs.yml", "site_name: T\n"),
        ("docs/quotes.md", &quotes),
        ("docs/lists.md", &lists),
        ("docs/admonitions.md", &admonitions),
        ("docs/html.md", &"<div>".repeat(100_000)),
        ("docs/bold.md", &"<b>".repeat(100_000)),
        ("docs/tables.md", &"<table><tr><td>".repeat(30_000)),
        ("docs/mixed.md", &"> - <div>\n".repeat(20_000)),
    ]);
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let report = build_site(src.path(), out.path(), &BuildOptions::default()).unwrap();
    assert_eq!(report.pages.len(), 7);
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(read(out.path(), "quotes/index.html").contains("deep"));
    assert!(
        report.warnings.iter().any(|w| w.starts_with("html.md: too much or too deeply nested raw HTML")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn a_missing_config_is_an_error() {
    let src = site(&[("docs/index.md", "x")]);
    let out = tempfile::tempdir().unwrap();
    let error = build_site(src.path(), out.path(), &BuildOptions::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Could not read MkDocs YAML config file mkdocs.yml or mkdocs.yaml for validation"
    );
}

#[test]
fn an_unchanged_page_is_reused_by_the_next_build() {
    let src = site(&[
        ("mkdocs.yml", "site_name: T\n"),
        ("docs/index.md", "# Home\n\n[a](a.md) [gone](gone.md)\n"),
        ("docs/a.md", "# A\n\nfirst text\n"),
    ]);
    let out = tempfile::tempdir().unwrap();
    let first = build_site(src.path(), out.path(), &BuildOptions::default()).unwrap();
    assert_eq!((first.rendered, first.reused), (2, 0));

    fs::write(src.path().join("docs/a.md"), "# A\n\nsecond text\n").unwrap();
    let second = build_site(src.path(), out.path(), &BuildOptions::default()).unwrap();
    assert_eq!((second.rendered, second.reused), (1, 1));
    assert_eq!(first.pages[1], second.pages[1], "the reused page keeps its title, TOC and warnings");
    assert!(second.warnings.iter().any(|w| w.contains("broken link 'gone.md'")), "{:?}", second.warnings);
    assert!(read(out.path(), "a/index.html").contains("second text"));
    let search = json(out.path(), "search/search_index.json");
    assert_eq!(search["docs"][1]["text"], "Home a gone", "the reused page keeps its search text");
    assert_eq!(search["docs"][0]["text"], "A second text");

    // A new page changes how links resolve: everything is rendered again.
    fs::write(src.path().join("docs/gone.md"), "back").unwrap();
    let third = build_site(src.path(), out.path(), &BuildOptions::default()).unwrap();
    assert_eq!((third.rendered, third.reused), (3, 0));
    assert!(!third.warnings.iter().any(|w| w.contains("broken link")), "{:?}", third.warnings);

    let full =
        build_site(src.path(), out.path(), &BuildOptions { incremental: false, ..BuildOptions::default() })
            .unwrap();
    assert_eq!((full.rendered, full.reused), (3, 0));
}
