//! `file:` urls into real git repositories made with the git command line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use portico_config::Config;
use portico_reading::{ReadError, ReadLimits, Reader, join_url, local_git_roots};
use url::Url;

const LIMITS: ReadLimits = ReadLimits { max_bytes: 64, timeout: Duration::from_secs(10) };

/// Runs git in `dir` with no system or user configuration, failing the test if git fails.
fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgSign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn write(dir: &Path, relative: &str, content: &str) {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// A bare repository `<parent>/<name>` whose `main` (its HEAD) holds `catalog-info.yaml`,
/// `docs/index.md` and a file over the test limit, and whose `dev` branch changes
/// `catalog-info.yaml`; pushed from a work tree `<parent>/<name>.work` that is left behind.
fn bare_repository(parent: &Path, name: &str) -> PathBuf {
    let bare = parent.join(name);
    std::fs::create_dir_all(&bare).unwrap();
    git(&bare, &["init", "--quiet", "--bare", "--initial-branch=main"]);
    let work = parent.join(format!("{name}.work"));
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "--quiet", "--initial-branch=main"]);
    write(&work, "catalog-info.yaml", "kind: Component # main\n");
    write(&work, "docs/index.md", "# Docs\n");
    write(&work, "big.txt", &"x".repeat(65));
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "first"]);
    git(&work, &["tag", "v1"]);
    git(&work, &["checkout", "--quiet", "-b", "dev"]);
    write(&work, "catalog-info.yaml", "kind: Component # dev\n");
    git(&work, &["commit", "--quiet", "-am", "second"]);
    git(&work, &["push", "--quiet", bare.to_str().unwrap(), "main", "dev", "v1"]);
    bare
}

fn file_url(path: &Path, rest: &str) -> Url {
    Url::parse(&format!("{}{rest}", Url::from_file_path(path).unwrap())).unwrap()
}

fn reader(roots: &[&Path]) -> Reader {
    Reader::new(Vec::new(), LIMITS).with_local_git(roots.iter().map(|root| root.to_path_buf()).collect())
}

async fn read_text(reader: &Reader, url: &Url) -> String {
    String::from_utf8(reader.read_url(url).await.unwrap_or_else(|e| panic!("{url}: {e}"))).unwrap()
}

fn refusal(url: &Url, why: &str) -> ReadError {
    ReadError::NotAllowed(format!(
        "Reading from '{url}' is not allowed. File urls are read only from git repositories inside the folders listed at 'backend.reading.localGit'{why}"
    ))
}

#[tokio::test]
async fn files_are_read_at_the_ref_or_at_head() {
    let root = tempfile::tempdir().unwrap();
    let repo = bare_repository(root.path(), "svc.git");
    let reader = reader(&[root.path()]);
    let at = |rest: &str| file_url(&repo, rest);

    assert_eq!(read_text(&reader, &at("/catalog-info.yaml")).await, "kind: Component # main\n");
    assert_eq!(read_text(&reader, &at("/catalog-info.yaml?ref=main")).await, "kind: Component # main\n");
    assert_eq!(read_text(&reader, &at("/catalog-info.yaml?ref=dev")).await, "kind: Component # dev\n");
    assert_eq!(read_text(&reader, &at("/catalog-info.yaml?ref=v1")).await, "kind: Component # main\n");
    assert_eq!(read_text(&reader, &at("/docs/index.md?ref=dev")).await, "# Docs\n");
    let localhost = Url::parse(&format!("file://localhost{}/docs/index.md", repo.display())).unwrap();
    assert_eq!(read_text(&reader, &localhost).await, "# Docs\n");
}

#[tokio::test]
async fn a_work_tree_is_read_from_its_commits_not_its_files() {
    let root = tempfile::tempdir().unwrap();
    bare_repository(root.path(), "svc.git");
    let work = root.path().join("svc.git.work");
    write(&work, "catalog-info.yaml", "kind: Component # not committed\n");
    write(&work, "untracked.yaml", "kind: API\n");
    let reader = reader(&[root.path()]);

    assert_eq!(read_text(&reader, &file_url(&work, "/catalog-info.yaml")).await, "kind: Component # dev\n");
    assert_eq!(
        read_text(&reader, &file_url(&work, "/catalog-info.yaml?ref=main")).await,
        "kind: Component # main\n"
    );
    let untracked = file_url(&work, "/untracked.yaml");
    assert_eq!(reader.read_url(&untracked).await.unwrap_err(), ReadError::NotFound(untracked.to_string()));
}

#[tokio::test]
async fn missing_files_refs_and_repositories_are_not_found() {
    let root = tempfile::tempdir().unwrap();
    let repo = bare_repository(root.path(), "svc.git");
    let reader = reader(&[root.path()]);
    for url in [
        file_url(&repo, "/missing.yaml"),
        file_url(&repo, "/catalog-info.yaml?ref=no-such-branch"),
        file_url(&repo, "/catalog-info.yaml/deeper.yaml"),
        file_url(&root.path().join("gone.git"), "/catalog-info.yaml"),
    ] {
        let error = reader.read_url(&url).await.unwrap_err();
        assert!(error.is_not_found(), "{url}: {error:?}");
        assert_eq!(error.to_string(), format!("{url} does not exist"));
    }

    let empty = root.path().join("empty.git");
    std::fs::create_dir(&empty).unwrap();
    git(&empty, &["init", "--quiet", "--bare"]);
    assert!(reader.read_url(&file_url(&empty, "/catalog-info.yaml")).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn folders_and_files_outside_repositories_are_not_read() {
    let root = tempfile::tempdir().unwrap();
    let repo = bare_repository(root.path(), "svc.git");
    let reader = reader(&[root.path()]);

    let folder = file_url(&repo, "/docs?ref=main");
    assert_eq!(
        reader.read_url(&folder).await.unwrap_err(),
        ReadError::Failed(format!("{folder} is a directory, not a file"))
    );
    let whole = file_url(&repo, "?ref=main");
    assert!(reader.read_url(&whole).await.unwrap_err().to_string().contains("is a directory"));

    let plain = root.path().join("plain");
    write(&plain, "catalog-info.yaml", "kind: Component\n");
    let url = file_url(&plain, "/catalog-info.yaml");
    let expected = format!("; {} is not in a git repository", plain.join("catalog-info.yaml").display());
    assert_eq!(reader.read_url(&url).await.unwrap_err(), refusal(&url, &expected));
}

#[tokio::test]
async fn repositories_outside_the_roots_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = bare_repository(elsewhere.path(), "secret.git");
    let url = file_url(&outside, "/catalog-info.yaml");

    assert_eq!(reader(&[root.path()]).read_url(&url).await.unwrap_err(), refusal(&url, ""));
    assert_eq!(reader(&[]).read_url(&url).await.unwrap_err(), refusal(&url, ", and none is configured"));
    assert_eq!(
        Reader::new(Vec::new(), LIMITS).read_url(&url).await.unwrap_err(),
        refusal(&url, ", and none is configured")
    );
    // The root may be the repository itself.
    assert_eq!(read_text(&reader(&[&outside]), &url).await, "kind: Component # main\n");

    let remote =
        Url::parse(&format!("file://git.example.com{}/catalog-info.yaml", outside.display())).unwrap();
    assert_eq!(
        reader(&[elsewhere.path()]).read_url(&remote).await.unwrap_err(),
        refusal(&remote, "; this url does not name a path on this machine")
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlink_cannot_lead_out_of_the_roots() {
    let root = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = bare_repository(elsewhere.path(), "secret.git");
    let link = root.path().join("link.git");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let url = file_url(&link, "/catalog-info.yaml");
    assert_eq!(reader(&[root.path()]).read_url(&url).await.unwrap_err(), refusal(&url, ""));

    // A root given through a link still reads what is really inside it.
    let linked_root = elsewhere.path().join("linked-root");
    std::os::unix::fs::symlink(root.path(), &linked_root).unwrap();
    bare_repository(root.path(), "svc.git");
    let through_link = file_url(&linked_root.join("svc.git"), "/catalog-info.yaml");
    assert_eq!(read_text(&reader(&[&linked_root]), &through_link).await, "kind: Component # main\n");
    let real = file_url(&root.path().join("svc.git"), "/catalog-info.yaml");
    assert_eq!(read_text(&reader(&[&linked_root]), &real).await, "kind: Component # main\n");
}

#[tokio::test]
async fn parent_folders_cannot_be_named() {
    let root = tempfile::tempdir().unwrap();
    let allowed = root.path().join("allowed");
    std::fs::create_dir(&allowed).unwrap();
    let repo = bare_repository(&allowed, "svc.git");
    bare_repository(root.path(), "secret.git");
    let reader = reader(&[&allowed]);

    // Escaped slashes survive url parsing and decode into `..` components.
    let escaped = file_url(&repo, "/docs%2F..%2F..%2F..%2Fsecret.git%2Fcatalog-info.yaml");
    assert_eq!(
        reader.read_url(&escaped).await.unwrap_err(),
        refusal(&escaped, "; the path may not contain '..'")
    );
    // Plain `..` segments are resolved by url parsing, and then lead outside the root.
    let plain = Url::parse(&format!("{}/../../secret.git/catalog-info.yaml", file_url(&repo, ""))).unwrap();
    assert_eq!(reader.read_url(&plain).await.unwrap_err(), refusal(&plain, ""));
}

#[tokio::test]
async fn hostile_refs_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let repo = bare_repository(root.path(), "svc.git");
    let reader = reader(&[root.path()]);
    for (query, revision) in [
        ("ref=--output=%2Ftmp%2Fx", "--output=/tmp/x"),
        ("ref=main..dev", "main..dev"),
        ("ref=main%20dev", "main dev"),
        ("ref=main%0Adev:catalog-info.yaml", "main\ndev:catalog-info.yaml"),
        ("ref=dev:docs", "dev:docs"),
        ("ref=", ""),
    ] {
        let url = file_url(&repo, &format!("/catalog-info.yaml?{query}"));
        assert_eq!(
            reader.read_url(&url).await.unwrap_err(),
            ReadError::NotAllowed(format!(
                "Reading from '{url}' is not allowed: {revision:?} is not a valid ref; name a branch, tag or commit"
            )),
        );
    }
}

#[tokio::test]
async fn files_over_the_size_limit_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let repo = bare_repository(root.path(), "svc.git");
    let url = file_url(&repo, "/big.txt?ref=main");
    assert_eq!(
        reader(&[root.path()]).read_url(&url).await.unwrap_err(),
        ReadError::TooLarge { what: url.to_string(), limit: 64 }
    );
}

#[tokio::test]
async fn a_read_over_the_time_limit_fails() {
    let root = tempfile::tempdir().unwrap();
    let repo = bare_repository(root.path(), "svc.git");
    let limits = ReadLimits { max_bytes: 64, timeout: Duration::ZERO };
    let reader = Reader::new(Vec::new(), limits).with_local_git(vec![root.path().to_path_buf()]);
    let url = file_url(&repo, "/catalog-info.yaml");
    assert_eq!(
        reader.read_url(&url).await.unwrap_err(),
        ReadError::Failed(format!("could not read {url}, the read timed out"))
    );
}

#[test]
fn relative_references_from_a_file_url_keep_its_ref() {
    let base = Url::parse("file:///srv/git/svc.git/catalog-info.yaml?ref=main").unwrap();
    let join = |reference: &str| join_url(&base, reference).unwrap().to_string();
    assert_eq!(join("./other.yaml"), "file:///srv/git/svc.git/other.yaml?ref=main");
    assert_eq!(join("docs/"), "file:///srv/git/svc.git/docs/?ref=main");
    assert_eq!(join("other.yaml?ref=dev"), "file:///srv/git/svc.git/other.yaml?ref=dev");
    assert_eq!(join("file:///srv/git/api.git/api.yaml"), "file:///srv/git/api.git/api.yaml");
    assert_eq!(join("https://example.com/a.yaml"), "https://example.com/a.yaml");

    let http = Url::parse("https://example.com/repo/catalog-info.yaml?ref=main").unwrap();
    assert_eq!(join_url(&http, "./other.yaml").unwrap().as_str(), "https://example.com/repo/other.yaml");
}

#[test]
fn local_git_roots_are_read_from_config_relative_to_its_file() {
    let parse = |yaml: &str| {
        let config = Config::from_yaml_str(yaml, Path::new("/etc/portico"), &|_| None).unwrap();
        local_git_roots(&config)
    };
    assert_eq!(parse("backend: {}").unwrap(), Vec::<PathBuf>::new());
    assert_eq!(
        parse("backend:\n  reading:\n    localGit: [/srv/git, repos]\n").unwrap(),
        vec![PathBuf::from("/srv/git"), PathBuf::from("/etc/portico/repos")]
    );
    let error = parse("backend: {reading: {localGit: /srv/git}}").unwrap_err();
    assert!(error.to_string().contains("backend.reading.localGit"), "{error}");
    let error = parse("backend: {reading: {localGit: ['']}}").unwrap_err();
    assert!(error.to_string().contains("backend.reading.localGit[0]"), "{error}");
}
