//! `file:` urls into git repositories on this machine, within `backend.reading.localGit`.
//!
//! The scaffolder's `publish:git` can push to a repository on the portal's own machine (a bare
//! repository such as `/srv/git/svc.git`) and register its descriptor as
//! `file:///srv/git/svc.git/catalog-info.yaml?ref=main`. Such a url names a repository (the
//! deepest folder on its path that is one: bare, or a work tree with a `.git` folder), a path
//! inside it, and in the `ref` query parameter a branch, tag or commit (`HEAD` when absent).
//!
//! Only committed content is read, through `git cat-file`, never the files of a work tree, and
//! only from repositories inside the configured folders: the repository's folder is compared
//! after resolving symlinks, so neither a link nor `..` leads out of them. Git runs without a
//! shell, with a cleared environment and no system or user configuration, within the reader's
//! time limit; the object's size is checked before its content is read.

use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use portico_config::{Config, ConfigError};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use url::Url;

use crate::reader::ReadError;

/// The key listing the folders whose git repositories `file:` urls may read.
const KEY: &str = "backend.reading.localGit";

/// Longest `ref` accepted; real branch and tag names are far shorter.
const MAX_REF_LEN: usize = 256;

/// Parses `backend.reading.localGit`: the folders (relative ones resolved against the folder of
/// the config file that lists them) whose git repositories may be read through `file:` urls.
/// An absent key allows none, so every `file:` url is refused.
pub fn local_git_roots(config: &Config) -> Result<Vec<PathBuf>, ConfigError> {
    let Some(folders) = config.string_list(KEY)? else {
        return Ok(Vec::new());
    };
    let base = config.origin_dir(KEY);
    folders
        .into_iter()
        .enumerate()
        .map(|(index, folder)| {
            if folder.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    key: format!("{KEY}[{index}]"),
                    message: "must be a folder path, not an empty string".into(),
                });
            }
            let path = PathBuf::from(folder);
            let path = match base {
                Some(dir) if path.is_relative() => dir.join(path),
                _ => path,
            };
            Ok(std::path::absolute(&path).unwrap_or(path))
        })
        .collect()
}

/// Resolves `reference` (relative or absolute) against `base`, like [`Url::join`], except that a
/// relative reference from a `file:` url keeps the base's query: there `ref` names the revision
/// of the whole repository, so `./other.yaml` next to
/// `file:///srv/git/svc.git/catalog-info.yaml?ref=main` is read at `main` too.
pub fn join_url(base: &Url, reference: &str) -> Result<Url, url::ParseError> {
    let mut joined = base.join(reference)?;
    let relative = Url::parse(reference).is_err();
    if relative && base.scheme() == "file" && joined.scheme() == "file" && joined.query().is_none() {
        joined.set_query(base.query());
    }
    Ok(joined)
}

/// Reads the file a `file:` url names from a git repository inside one of `roots`.
pub(crate) async fn read(
    roots: &[PathBuf],
    url: &Url,
    max_bytes: u64,
    timeout: Duration,
) -> Result<Vec<u8>, ReadError> {
    let not_allowed = |why: &str| {
        ReadError::NotAllowed(format!(
            "Reading from '{url}' is not allowed. File urls are read only from git repositories inside the folders listed at '{KEY}'{why}"
        ))
    };
    if roots.is_empty() {
        return Err(not_allowed(", and none is configured"));
    }
    let path =
        url.to_file_path().map_err(|()| not_allowed("; this url does not name a path on this machine"))?;
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(not_allowed("; the path may not contain '..'"));
    }
    let revision = revision(url)?;
    let Some(root) = containing_root(roots, &path).await else {
        return Err(not_allowed(""));
    };
    let Some((git_dir, inner)) = find_repository(&path, &root).await else {
        return Err(if tokio::fs::metadata(&path).await.is_ok() {
            not_allowed(&format!("; {} is not in a git repository", path.display()))
        } else {
            ReadError::NotFound(url.to_string())
        });
    };
    // The repository itself, links resolved, must lie inside a root: a link inside a root may
    // point anywhere.
    let git_dir = tokio::fs::canonicalize(&git_dir)
        .await
        .map_err(|e| ReadError::Failed(format!("could not read {url}: {e}")))?;
    if !canonical_roots(roots).await.iter().any(|root| git_dir.starts_with(root)) {
        return Err(not_allowed(""));
    }
    let inner = inner_path(&inner).ok_or_else(|| {
        ReadError::NotAllowed(format!(
            "Reading from '{url}' is not allowed: the path inside the repository is not valid"
        ))
    })?;
    let object = format!("{revision}:{inner}");
    tokio::time::timeout(timeout, read_blob(&git_dir, &object, url, max_bytes))
        .await
        .unwrap_or_else(|_| Err(ReadError::Failed(format!("could not read {url}, the read timed out"))))
}

/// The `ref` query parameter (`HEAD` when absent), refused when git could read it as an option
/// or as a revision range, or when it could break the line protocol of `cat-file --batch-check`.
fn revision(url: &Url) -> Result<String, ReadError> {
    let Some(revision) = url.query_pairs().find(|(key, _)| key == "ref").map(|(_, value)| value) else {
        return Ok("HEAD".to_owned());
    };
    let hostile = revision.is_empty()
        || revision.len() > MAX_REF_LEN
        || revision.starts_with('-')
        || revision.contains("..")
        || revision.contains(':')
        || revision.chars().any(|c| c.is_whitespace() || c.is_control());
    if hostile {
        return Err(ReadError::NotAllowed(format!(
            "Reading from '{url}' is not allowed: {revision:?} is not a valid ref; name a branch, tag or commit"
        )));
    }
    Ok(revision.into_owned())
}

/// The root `path` lies in, in the form `path` uses (as configured, or with links resolved).
async fn containing_root(roots: &[PathBuf], path: &Path) -> Option<PathBuf> {
    for root in roots {
        if path.starts_with(root) {
            return Some(root.clone());
        }
        if let Ok(canonical) = tokio::fs::canonicalize(root).await
            && path.starts_with(&canonical)
        {
            return Some(canonical);
        }
    }
    None
}

async fn canonical_roots(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::with_capacity(roots.len());
    for root in roots {
        if let Ok(canonical) = tokio::fs::canonicalize(root).await {
            out.push(canonical);
        }
    }
    out
}

/// The deepest folder on `path`, not above `root`, that is a repository: its git folder and
/// the rest of `path` inside it. Nothing above `root` is looked at.
async fn find_repository(path: &Path, root: &Path) -> Option<(PathBuf, PathBuf)> {
    for folder in path.ancestors().take_while(|folder| folder.starts_with(root)) {
        let inner = path.strip_prefix(folder).ok()?.to_path_buf();
        if is_git_dir(folder).await {
            return Some((folder.to_path_buf(), inner));
        }
        let dot_git = folder.join(".git");
        if is_git_dir(&dot_git).await {
            return Some((dot_git, inner));
        }
    }
    None
}

/// Whether `dir` looks like a git folder: `HEAD`, `objects/` and `refs/`.
async fn is_git_dir(dir: &Path) -> bool {
    let is_folder = |name: &'static str| async move {
        tokio::fs::metadata(dir.join(name)).await.ok().map(|m| m.is_dir())
    };
    is_folder("HEAD").await == Some(false)
        && is_folder("objects").await == Some(true)
        && is_folder("refs").await == Some(true)
}

/// `inner` as git names it (`/`-separated), if every part is a plain UTF-8 name without control
/// characters (a newline would end the `cat-file --batch-check` request early).
fn inner_path(inner: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for component in inner.components() {
        let Component::Normal(part) = component else { return None };
        let part = part.to_str()?;
        if part.chars().any(char::is_control) {
            return None;
        }
        parts.push(part);
    }
    Some(parts.join("/"))
}

/// `git cat-file` on `object` (`<ref>:<path>`): its type and size first, then its content.
async fn read_blob(git_dir: &Path, object: &str, url: &Url, max_bytes: u64) -> Result<Vec<u8>, ReadError> {
    let described = run_git(
        git_dir,
        &["cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"],
        Some(format!("{object}\n")),
        url,
    )
    .await?;
    let line = String::from_utf8_lossy(&described);
    let mut fields = line.trim_end().rsplitn(3, ' ');
    let (size, kind, id) = (fields.next(), fields.next(), fields.next());
    let (Some(size), Some(kind), Some(id)) = (size, kind, id) else {
        return Err(ReadError::NotFound(url.to_string()));
    };
    if size == "missing" || size == "ambiguous" || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ReadError::NotFound(url.to_string()));
    }
    match kind {
        "blob" => {}
        "tree" => return Err(ReadError::Failed(format!("{url} is a directory, not a file"))),
        other => return Err(ReadError::Failed(format!("{url} is a git {other}, not a file"))),
    }
    let size: u64 =
        size.parse().map_err(|_| ReadError::Failed(format!("could not read {url}: git reported no size")))?;
    if size > max_bytes {
        return Err(ReadError::TooLarge { what: url.to_string(), limit: max_bytes });
    }
    let content = run_git(git_dir, &["cat-file", "blob", id], None, url).await?;
    if content.len() as u64 > max_bytes {
        return Err(ReadError::TooLarge { what: url.to_string(), limit: max_bytes });
    }
    Ok(content)
}

/// Runs `git --git-dir <git_dir> <args>` with `input` on its standard input; its output, or
/// git's complaint as a read error. Dropping the future kills git.
async fn run_git(
    git_dir: &Path,
    args: &[&str],
    input: Option<String>,
    url: &Url,
) -> Result<Vec<u8>, ReadError> {
    let mut command = Command::new("git");
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .current_dir(git_dir)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| {
        ReadError::Failed(format!(
            "could not read {url}: reading git repositories needs the git command line: {e}"
        ))
    })?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(input.as_bytes())
            .await
            .map_err(|e| ReadError::Failed(format!("could not read {url}: {e}")))?;
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| ReadError::Failed(format!("could not read {url}: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr.lines().find(|line| !line.trim().is_empty()).unwrap_or("git failed");
        return Err(ReadError::Failed(format!("could not read {url}: {}", reason.trim())));
    }
    Ok(output.stdout)
}
