//! Incremental builds: in place and from a previous build in another folder (a staging build
//! beside the published site), removal of stale files, and the source fingerprint.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use portico_techdocs::build::source_fingerprint;
use portico_techdocs::{BuildError, BuildOptions, BuildReport, build_site, build_site_with_progress};
use serde_json::Value;

use super::{json, read, site};

const PNG: &str = "\u{89}PNG fake image bytes";

/// A site with a nav, sub-folders, links between pages and images.
fn sources() -> tempfile::TempDir {
    site(&[
        (
            "mkdocs.yml",
            "site_name: Handbook\nrepo_url: https://github.com/o/r\nedit_uri: edit/main/docs/\nnav:\n  - Home: index.md\n  - Guide:\n      - guide/index.md\n      - Setup: guide/setup.md\n  - old.md\n",
        ),
        (
            "docs/index.md",
            "# Handbook\n\nSee [setup](guide/setup.md) and [old](old.md).\n\n![logo](img/logo.png)\n",
        ),
        ("docs/guide/index.md", "# Guide\n\n- [Setup](setup.md)\n- [Home](../index.md)\n"),
        (
            "docs/guide/setup.md",
            "# Setup\n\n## Install\n\n```sh\nmake install\n```\n\n!!! note\n    Read [the guide](index.md).\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        ),
        ("docs/old.md", "# Old name\n\n![diagram](img/diagram.png)\n"),
        ("docs/img/logo.png", PNG),
        ("docs/img/diagram.png", "diagram bytes"),
        ("README.md", "Not part of the docs.\n"),
    ])
}

/// Every file under `dir` by relative path, with the build timestamp taken out of the metadata
/// (the one thing two builds of the same sources differ in).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn collect(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let rel = format!("{prefix}{}", entry.file_name().to_str().unwrap());
            if entry.file_type().unwrap().is_dir() {
                collect(&entry.path(), &format!("{rel}/"), out);
            } else {
                out.insert(rel, fs::read(entry.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    collect(dir, "", &mut out);
    if let Some(metadata) = out.get_mut("techdocs_metadata.json") {
        let mut value: Value = serde_json::from_slice(metadata).unwrap();
        value.as_object_mut().unwrap().remove("build_timestamp").expect("a build timestamp");
        *metadata = serde_json::to_vec_pretty(&value).unwrap();
    }
    out
}

/// Every file and folder under `dir` with its bytes and modification time: what "untouched"
/// means for a published site.
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, SystemTime)> {
    fn collect(dir: &Path, prefix: &str, out: &mut BTreeMap<String, (Vec<u8>, SystemTime)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let rel = format!("{prefix}{}", entry.file_name().to_str().unwrap());
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                out.insert(format!("{rel}/"), (Vec::new(), meta.modified().unwrap()));
                collect(&entry.path(), &format!("{rel}/"), out);
            } else {
                out.insert(rel, (fs::read(entry.path()).unwrap(), meta.modified().unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    collect(dir, "", &mut out);
    out
}

fn cold(source: &Path, out: &Path) -> BuildReport {
    build_site(source, out, &BuildOptions { incremental: false, ..BuildOptions::default() }).unwrap()
}

fn from_previous(previous: &Path) -> BuildOptions {
    BuildOptions { previous_dir: Some(previous.to_path_buf()), ..BuildOptions::default() }
}

fn assert_same_tree(built: &Path, expected: &Path) {
    let (built, expected) = (tree(built), tree(expected));
    assert_eq!(built.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (rel, bytes) in &expected {
        assert!(built[rel] == *bytes, "{rel} differs:\n{}", String::from_utf8_lossy(&built[rel]));
    }
}

#[cfg(unix)]
fn inode(path: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&fs::metadata(path).unwrap())
}

#[test]
fn a_build_from_a_previous_folder_reuses_every_unchanged_page_and_matches_a_cold_build() {
    let src = sources();
    let work = tempfile::tempdir().unwrap();
    let (published, staging, reference) =
        (work.path().join("published"), work.path().join("staging"), work.path().join("cold"));
    let first = cold(src.path(), &published);
    assert_eq!((first.rendered, first.reused), (4, 0));
    let before = snapshot(&published);

    let report = build_site(src.path(), &staging, &from_previous(&published)).unwrap();
    assert_eq!((report.rendered, report.reused), (0, 4));
    assert_eq!(report.pages, first.pages);
    assert_eq!(report.warnings, first.warnings);
    cold(src.path(), &reference);
    assert_same_tree(&staging, &reference);
    assert_eq!(snapshot(&published), before, "the previous build is only read");

    // Reused fragments and unchanged files are links to the previous build's, not copies.
    #[cfg(unix)]
    for rel in ["guide/setup/index.html", "index.html", "img/logo.png"] {
        assert_eq!(inode(&staging.join(rel)), inode(&published.join(rel)), "{rel}");
    }

    // Without `incremental` the previous folder is ignored.
    let full = work.path().join("full");
    let options = BuildOptions { incremental: false, ..from_previous(&published) };
    let report = build_site(src.path(), &full, &options).unwrap();
    assert_eq!((report.rendered, report.reused), (4, 0));
    assert_same_tree(&full, &reference);

    // A previous folder that does not exist yet (a first publication) means a cold build.
    let first_time = work.path().join("first-time");
    let report = build_site(src.path(), &first_time, &from_previous(&work.path().join("nothing"))).unwrap();
    assert_eq!((report.rendered, report.reused), (4, 0));
    assert_same_tree(&first_time, &reference);
}

#[test]
fn one_changed_page_is_the_only_page_rendered() {
    let src = sources();
    let work = tempfile::tempdir().unwrap();
    let (published, staging, reference) =
        (work.path().join("published"), work.path().join("staging"), work.path().join("cold"));
    build_site(src.path(), &published, &BuildOptions::default()).unwrap();
    let before = snapshot(&published);

    fs::write(src.path().join("docs/guide/setup.md"), "# Setup\n\nNow with [a link home](../index.md).\n")
        .unwrap();
    let mut calls = Vec::new();
    let report =
        build_site_with_progress(src.path(), &staging, &from_previous(&published), &mut |done, total| {
            calls.push((done, total))
        })
        .unwrap();
    assert_eq!((report.rendered, report.reused), (1, 3));
    assert_eq!(calls, [(1, 4), (2, 4), (3, 4), (4, 4)]);
    assert!(read(&staging, "guide/setup/index.html").contains("a link home"));
    cold(src.path(), &reference);
    assert_same_tree(&staging, &reference);
    assert_eq!(snapshot(&published), before);

    // The same change built in place.
    let report = build_site(src.path(), &published, &BuildOptions::default()).unwrap();
    assert_eq!((report.rendered, report.reused), (1, 3));
    assert_same_tree(&published, &reference);
    let search = json(&published, "search/search_index.json");
    let setup = search["docs"].as_array().unwrap().iter().find(|d| d["location"] == "guide/setup/").unwrap();
    assert!(setup["text"].as_str().unwrap().starts_with("Setup Now with a link home"), "{setup}");
}

#[test]
fn an_in_place_build_leaves_unchanged_files_alone() {
    let src = sources();
    let out = tempfile::tempdir().unwrap();
    build_site(src.path(), out.path(), &BuildOptions::default()).unwrap();
    let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    for rel in ["img/logo.png", "img/diagram.png", "index.html"] {
        fs::File::options().write(true).open(out.path().join(rel)).unwrap().set_modified(long_ago).unwrap();
    }

    fs::write(src.path().join("docs/img/diagram.png"), "new diagram bytes").unwrap();
    let report = build_site(src.path(), out.path(), &BuildOptions::default()).unwrap();
    assert_eq!((report.rendered, report.reused), (0, 4));
    let modified = |rel: &str| fs::metadata(out.path().join(rel)).unwrap().modified().unwrap();
    assert_eq!(modified("img/logo.png"), long_ago, "an unchanged file is not written again");
    assert_eq!(modified("index.html"), long_ago, "a reused page is not written again");
    assert_ne!(modified("img/diagram.png"), long_ago);
    assert_eq!(read(out.path(), "img/diagram.png"), "new diagram bytes");
}

#[test]
fn a_failed_build_into_staging_leaves_the_previous_build_untouched() {
    let src = sources();
    let work = tempfile::tempdir().unwrap();
    let (published, staging) = (work.path().join("published"), work.path().join("staging"));
    build_site(src.path(), &published, &BuildOptions::default()).unwrap();
    let before = snapshot(&published);

    // Fails before anything is built.
    let config = read(src.path(), "mkdocs.yml");
    fs::write(src.path().join("mkdocs.yml"), "site_name: [unclosed\n").unwrap();
    let error = build_site(src.path(), &staging, &from_previous(&published)).unwrap_err();
    assert!(matches!(error, BuildError::InvalidConfig(_)), "{error}");
    assert_eq!(snapshot(&published), before);
    fs::write(src.path().join("mkdocs.yml"), config).unwrap();

    // Fails after the pages were built (linked and rendered): the search index cannot be
    // written because a file stands where its folder should be.
    fs::write(src.path().join("docs/index.md"), "# Handbook\n\nChanged.\n").unwrap();
    fs::create_dir_all(&staging).unwrap();
    fs::write(staging.join("search"), "in the way").unwrap();
    let error = build_site(src.path(), &staging, &from_previous(&published)).unwrap_err();
    assert!(matches!(error, BuildError::Io { .. }), "{error}");
    assert!(read(&staging, "index.html").contains("Changed."), "the pages were built");
    assert_eq!(snapshot(&published), before);

    // A staging folder left over from an earlier build holds links into the published site:
    // building into it again replaces those files instead of writing through the links.
    fs::remove_file(staging.join("search")).unwrap();
    build_site(src.path(), &staging, &from_previous(&published)).unwrap();
    fs::write(src.path().join("docs/old.md"), "# Old name\n\nEdited again.\n").unwrap();
    fs::write(src.path().join("docs/img/logo.png"), "a new logo").unwrap();
    let report = build_site(src.path(), &staging, &from_previous(&published)).unwrap();
    assert_eq!((report.rendered, report.reused), (2, 2));
    assert!(read(&staging, "old/index.html").contains("Edited again."));
    assert_eq!(read(&staging, "img/logo.png"), "a new logo");
    assert_eq!(snapshot(&published), before);
}

#[test]
fn a_renamed_page_is_not_served_under_its_old_name() {
    for in_place in [true, false] {
        let src = sources();
        let work = tempfile::tempdir().unwrap();
        let published = work.path().join("published");
        build_site(src.path(), &published, &BuildOptions::default()).unwrap();
        assert!(published.join("old/index.html").is_file());

        fs::rename(src.path().join("docs/old.md"), src.path().join("docs/renamed.md")).unwrap();
        let config = read(src.path(), "mkdocs.yml").replace("old.md", "renamed.md");
        fs::write(src.path().join("mkdocs.yml"), config).unwrap();
        fs::write(src.path().join("docs/index.md"), "# Handbook\n\n[moved](renamed.md)\n").unwrap();
        let out = if in_place { published.clone() } else { work.path().join("staging") };
        let options = if in_place { BuildOptions::default() } else { from_previous(&published) };
        let report = build_site(src.path(), &out, &options).unwrap();

        assert!(!out.join("old").exists(), "in place: {in_place}");
        assert!(read(&out, "renamed/index.html").contains("Old name"));
        assert!(report.pages.iter().all(|page| page.location != "old/"));
        let metadata = json(&out, "techdocs_metadata.json");
        let files: Vec<_> = metadata["files"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert!(!files.contains(&"old/index.html") && files.contains(&"renamed/index.html"), "{files:?}");
        let search = json(&out, "search/search_index.json");
        assert!(search["docs"].as_array().unwrap().iter().all(|doc| doc["location"] != "old/"));
        let reference = work.path().join("cold");
        cold(src.path(), &reference);
        assert_same_tree(&out, &reference);
    }
}

#[test]
fn a_full_in_place_build_removes_stale_files_too() {
    let src = sources();
    let out = tempfile::tempdir().unwrap();
    build_site(src.path(), out.path(), &BuildOptions::default()).unwrap();
    fs::remove_file(src.path().join("docs/img/diagram.png")).unwrap();
    fs::write(out.path().join("kept.txt"), "not written by a build").unwrap();
    cold(src.path(), out.path());
    assert!(!out.path().join("img/diagram.png").exists());
    assert!(out.path().join("img/logo.png").exists());
    assert_eq!(read(out.path(), "kept.txt"), "not written by a build", "only files a build listed go");
}

#[test]
fn the_fingerprint_follows_what_the_build_reads() {
    let src = sources();
    let root = src.path();
    let fingerprint = || source_fingerprint(root).unwrap();
    let start = fingerprint();
    assert_eq!(start.len(), 40);

    // Not changes: asking again, building (also into a folder inside the source folder),
    // files outside docs_dir, hidden files, files only read.
    assert_eq!(fingerprint(), start);
    build_site(root, &root.join("site"), &BuildOptions::default()).unwrap();
    fs::write(root.join("README.md"), "Edited, but not part of the docs.\n").unwrap();
    fs::write(root.join("docs/.notes.md"), "hidden").unwrap();
    fs::read(root.join("docs/index.md")).unwrap();
    assert_eq!(fingerprint(), start);

    // An edited page, even one of the same size: its modification time changes.
    let page = root.join("docs/guide/setup.md");
    let text = read(root, "docs/guide/setup.md");
    fs::write(&page, text.replace("Install", "Instal!")).unwrap();
    let later = fs::metadata(&page).unwrap().modified().unwrap() + Duration::from_millis(1);
    fs::File::options().write(true).open(&page).unwrap().set_modified(later).unwrap();
    let edited = fingerprint();
    assert_ne!(edited, start);
    assert_eq!(fingerprint(), edited);

    // An added page, then removed again.
    fs::write(root.join("docs/guide/new.md"), "# New\n").unwrap();
    let added = fingerprint();
    assert_ne!(added, edited);
    fs::remove_file(root.join("docs/guide/new.md")).unwrap();
    assert_eq!(fingerprint(), edited, "the same files as before");
    fs::remove_file(root.join("docs/old.md")).unwrap();
    assert_ne!(fingerprint(), edited);

    // An edited image and an edited mkdocs.yml.
    let removed = fingerprint();
    fs::write(root.join("docs/img/logo.png"), "another logo").unwrap();
    let image = fingerprint();
    assert_ne!(image, removed);
    fs::write(root.join("mkdocs.yml"), "site_name: Renamed\n").unwrap();
    assert_ne!(fingerprint(), image);
}

#[cfg(unix)]
#[test]
fn the_fingerprint_sees_symlink_targets_and_broken_configurations() {
    let src = sources();
    let root = src.path();
    std::os::unix::fs::symlink(root.join("README.md"), root.join("docs/readme.md")).unwrap();
    let outside = site(&[("secret.md", "outside")]);
    std::os::unix::fs::symlink(outside.path().join("secret.md"), root.join("docs/leak.md")).unwrap();
    let start = source_fingerprint(root).unwrap();

    // A file outside the source folder is never looked at.
    fs::write(outside.path().join("secret.md"), "changed outside the folder").unwrap();
    assert_eq!(source_fingerprint(root).unwrap(), start);
    // A file the build reads through a symlink is.
    fs::write(root.join("README.md"), "Now part of the docs, through the link.\n").unwrap();
    let linked = source_fingerprint(root).unwrap();
    assert_ne!(linked, start);

    // Folders the build rejects still get a fingerprint, which changes once they are fixed.
    let config = read(root, "mkdocs.yml");
    fs::write(root.join("mkdocs.yml"), "site_name: [unclosed\n").unwrap();
    let invalid = source_fingerprint(root).unwrap();
    assert_eq!(source_fingerprint(root).unwrap(), invalid);
    assert!(build_site(root, &root.join("site"), &BuildOptions::default()).is_err());
    fs::write(root.join("mkdocs.yml"), format!("{config}docs_dir: missing\n")).unwrap();
    let missing = source_fingerprint(root).unwrap();
    fs::create_dir(root.join("missing")).unwrap();
    assert_ne!(source_fingerprint(root).unwrap(), missing, "the docs folder appeared");
    fs::write(root.join("mkdocs.yml"), config).unwrap();
    assert_eq!(source_fingerprint(root).unwrap(), linked);
    fs::remove_file(root.join("mkdocs.yml")).unwrap();
    assert_ne!(source_fingerprint(root).unwrap(), linked);
    assert!(source_fingerprint(&root.join("not-there")).is_err());
}
