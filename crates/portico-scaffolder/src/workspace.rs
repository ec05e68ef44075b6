//! A task's working folder, and safe resolution of the relative paths actions take as input.
//!
//! Every path a template names is untrusted. [`safe_child`] refuses absolute paths, `..` that
//! climbs above the base folder, and symbolic links (anywhere along the path, followed the way
//! the operating system follows them) that lead outside it. A [`Workspace`] also counts what a
//! task writes, so that one task cannot fill the disk.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Backstage's message for a path that leaves its base folder.
pub const OUTSIDE_PARENT_MESSAGE: &str =
    "Relative path is not allowed to refer to a directory outside its parent";

/// Symbolic links followed while resolving one path before giving up (the kernel's own limit).
const MAX_LINK_HOPS: usize = 40;

/// Why a workspace path or write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The path is absolute, climbs above its base or leads outside through a symbolic link.
    #[error("{OUTSIDE_PARENT_MESSAGE}: {path}")]
    OutsideParent {
        /// The path as given.
        path: String,
    },
    /// Writing would exceed the number of files a task may write.
    #[error(
        "Workspace limit exceeded: a task may write at most {limit} files (scaffolder.workspace.maxFiles)"
    )]
    TooManyFiles {
        /// The configured limit.
        limit: u64,
    },
    /// Writing would exceed the number of bytes a task may write.
    #[error(
        "Workspace limit exceeded: a task may write at most {limit} bytes (scaffolder.workspace.maxBytes)"
    )]
    TooManyBytes {
        /// The configured limit.
        limit: u64,
    },
    /// A file system operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. `Could not create directory`.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl WorkspaceError {
    fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        WorkspaceError::Io { action, path: path.to_path_buf(), source }
    }
}

/// How much one task may write into its workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkspaceLimits {
    /// Files (and symbolic links) written, counting rewrites.
    pub max_files: u64,
    /// Bytes written, counting rewrites.
    pub max_bytes: u64,
}

impl Default for WorkspaceLimits {
    /// 10,000 files and 200 MiB.
    fn default() -> Self {
        WorkspaceLimits { max_files: 10_000, max_bytes: 200 * 1024 * 1024 }
    }
}

/// What a task has written so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkspaceUsage {
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// A task's working folder. Clones share the same usage counters, so every step of a task
/// draws on one budget.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    limits: WorkspaceLimits,
    usage: Arc<Mutex<WorkspaceUsage>>,
}

impl Workspace {
    /// Opens (creating it when missing) the folder `root` as a workspace.
    pub fn open(root: &Path, limits: WorkspaceLimits) -> Result<Workspace, WorkspaceError> {
        std::fs::create_dir_all(root)
            .map_err(|error| WorkspaceError::io("Could not create workspace", root, error))?;
        // Canonical, so that containment checks compare real paths (`/tmp` may be a link).
        let root = root
            .canonicalize()
            .map_err(|error| WorkspaceError::io("Could not open workspace", root, error))?;
        Ok(Workspace { root, limits, usage: Arc::default() })
    }

    /// The workspace folder (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The limits this workspace enforces.
    pub fn limits(&self) -> WorkspaceLimits {
        self.limits
    }

    /// What has been written so far.
    pub fn usage(&self) -> WorkspaceUsage {
        *self.usage.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Resolves a path relative to the workspace root; see [`safe_child`].
    pub fn resolve(&self, relative: &str) -> Result<PathBuf, WorkspaceError> {
        safe_child(&self.root, relative)
    }

    /// Resolves `relative` below `base`, a folder inside the workspace (usually one returned by
    /// [`Workspace::resolve`]): `relative` may not climb above `base`, and the real path may not
    /// leave the workspace.
    pub fn resolve_in(&self, base: &Path, relative: &str) -> Result<PathBuf, WorkspaceError> {
        let base_relative = base
            .strip_prefix(&self.root)
            .map_err(|_| WorkspaceError::OutsideParent { path: base.display().to_string() })?;
        let parts = normal_components(relative)?;
        let mut all: Vec<OsString> = base_relative.iter().map(ToOwned::to_owned).collect();
        all.extend(parts);
        contained(&self.root, &all, relative)
    }

    /// The path of `path` relative to the workspace root, for logs.
    pub fn relative<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }

    /// Counts `files` files of `bytes` bytes against the limits before they are written.
    pub fn reserve(&self, files: u64, bytes: u64) -> Result<(), WorkspaceError> {
        let mut usage = self.usage.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let next_files = usage.files.saturating_add(files);
        let next_bytes = usage.bytes.saturating_add(bytes);
        if next_files > self.limits.max_files {
            return Err(WorkspaceError::TooManyFiles { limit: self.limits.max_files });
        }
        if next_bytes > self.limits.max_bytes {
            return Err(WorkspaceError::TooManyBytes { limit: self.limits.max_bytes });
        }
        *usage = WorkspaceUsage { files: next_files, bytes: next_bytes };
        Ok(())
    }

    /// Creates the folder `path` (a resolved path) and its missing parents.
    pub fn create_dir_all(&self, path: &Path) -> Result<(), WorkspaceError> {
        self.check_inside(path)?;
        std::fs::create_dir_all(path)
            .map_err(|error| WorkspaceError::io("Could not create directory", path, error))
    }

    /// Writes a file at `path` (a resolved path), creating its parents, after counting it
    /// against the limits. `mode` sets the Unix permission bits when given.
    pub fn write_file(&self, path: &Path, contents: &[u8], mode: Option<u32>) -> Result<(), WorkspaceError> {
        self.check_inside(path)?;
        self.reserve(1, contents.len() as u64)?;
        if let Some(parent) = path.parent() {
            self.create_dir_all(parent)?;
        }
        // A link at the target would be written through; replace it with a plain file instead.
        if std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink()) {
            std::fs::remove_file(path)
                .map_err(|error| WorkspaceError::io("Could not replace link", path, error))?;
        }
        std::fs::write(path, contents).map_err(|error| WorkspaceError::io("Could not write", path, error))?;
        if let Some(mode) = mode {
            set_mode(path, mode)?;
        }
        Ok(())
    }

    /// Copies the regular file `source` to `path` (a resolved path), keeping its permission
    /// bits, after counting it against the limits.
    pub fn copy_file(&self, source: &Path, path: &Path) -> Result<(), WorkspaceError> {
        self.check_inside(path)?;
        let size = std::fs::metadata(source)
            .map_err(|error| WorkspaceError::io("Could not read", source, error))?
            .len();
        self.reserve(1, size)?;
        if let Some(parent) = path.parent() {
            self.create_dir_all(parent)?;
        }
        if std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink()) {
            std::fs::remove_file(path)
                .map_err(|error| WorkspaceError::io("Could not replace link", path, error))?;
        }
        std::fs::copy(source, path).map_err(|error| WorkspaceError::io("Could not copy to", path, error))?;
        Ok(())
    }

    /// Creates a symbolic link at `path` (a resolved path) pointing to `target`, as copied from a
    /// template. The link's target is not followed; resolving through it later is checked like
    /// any other path.
    pub fn write_symlink(&self, path: &Path, target: &Path) -> Result<(), WorkspaceError> {
        self.check_inside(path)?;
        self.reserve(1, target.as_os_str().len() as u64)?;
        if let Some(parent) = path.parent() {
            self.create_dir_all(parent)?;
        }
        if std::fs::symlink_metadata(path).is_ok() {
            remove_path(path)?;
        }
        make_symlink(target, path)
    }

    /// Re-checks a resolved path just before it is used (links may have changed since).
    fn check_inside(&self, path: &Path) -> Result<(), WorkspaceError> {
        let relative = path
            .strip_prefix(&self.root)
            .map_err(|_| WorkspaceError::OutsideParent { path: path.display().to_string() })?;
        let parts: Vec<OsString> = relative.iter().map(ToOwned::to_owned).collect();
        contained(&self.root, &parts, &relative.to_string_lossy()).map(drop)
    }
}

/// Removes a file, a link (not its target) or a folder with everything below it. A missing path
/// is not an error.
pub fn remove_path(path: &Path) -> Result<(), WorkspaceError> {
    match std::fs::symlink_metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(WorkspaceError::io("Could not read", path, error)),
        Ok(meta) if meta.is_dir() => {
            std::fs::remove_dir_all(path).map_err(|error| WorkspaceError::io("Could not delete", path, error))
        }
        Ok(_) => {
            std::fs::remove_file(path).map_err(|error| WorkspaceError::io("Could not delete", path, error))
        }
    }
}

/// Resolves `relative` below the folder `base`, which must be canonical.
///
/// Refused, with Backstage's message: absolute paths, `..` climbing above `base`, and paths
/// whose real location (following every existing symbolic link, including dangling ones and
/// links inside link targets) is outside `base`. Parts that do not exist yet are taken as
/// written. The result is `base` joined with the normalised path (no `.` or `..`), so that the
/// operating system resolves it exactly as checked.
pub fn safe_child(base: &Path, relative: &str) -> Result<PathBuf, WorkspaceError> {
    let parts = normal_components(relative)?;
    contained(base, &parts, relative)
}

/// The normal components of a relative path, `.` dropped and `..` applied; an absolute path or
/// one climbing above its start is refused.
fn normal_components(relative: &str) -> Result<Vec<OsString>, WorkspaceError> {
    let outside = || WorkspaceError::OutsideParent { path: relative.to_owned() };
    let mut parts = Vec::new();
    for component in Path::new(relative).components() {
        match component {
            Component::Prefix(_) | Component::RootDir => return Err(outside()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop().ok_or_else(outside)?;
            }
            Component::Normal(part) => parts.push(part.to_owned()),
        }
    }
    Ok(parts)
}

/// `base` joined with `parts`, after checking that its real path stays inside `base`.
fn contained(base: &Path, parts: &[OsString], shown: &str) -> Result<PathBuf, WorkspaceError> {
    let real = real_path(base, parts).map_err(|error| match error.kind() {
        // A link loop: treat like any other path that cannot be shown to stay inside.
        io::ErrorKind::InvalidInput => WorkspaceError::OutsideParent { path: shown.to_owned() },
        _ => WorkspaceError::io("Could not resolve", &base.join(shown), error),
    })?;
    if !real.starts_with(base) {
        return Err(WorkspaceError::OutsideParent { path: shown.to_owned() });
    }
    Ok(parts.iter().fold(base.to_path_buf(), |path, part| path.join(part)))
}

/// Where `base/parts...` really leads: like `realpath`, but parts that do not exist are kept as
/// written (so a file about to be created can be checked) and dangling links are followed
/// textually.
fn real_path(base: &Path, parts: &[OsString]) -> io::Result<PathBuf> {
    let mut current = base.to_path_buf();
    let mut pending: VecDeque<OsString> = parts.iter().cloned().collect();
    let mut hops = 0;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            current.pop();
            continue;
        }
        if part == "." || part.is_empty() {
            continue;
        }
        let candidate = current.join(&part);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(io::Error::new(io::ErrorKind::InvalidInput, "too many levels of links"));
                }
                let target = std::fs::read_link(&candidate)?;
                if target.is_absolute() {
                    current = PathBuf::from("/");
                }
                let mut expanded: VecDeque<OsString> = target
                    .components()
                    .filter_map(|component| match component {
                        Component::Normal(part) => Some(part.to_owned()),
                        Component::ParentDir => Some(OsString::from("..")),
                        Component::Prefix(_) | Component::RootDir | Component::CurDir => None,
                    })
                    .collect();
                expanded.extend(pending);
                pending = expanded;
            }
            Ok(_) => current = candidate,
            Err(error) if matches!(error.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
                current = candidate;
            }
            Err(error) => return Err(error),
        }
    }
    Ok(current)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), WorkspaceError> {
    use std::os::unix::fs::PermissionsExt;
    // Only permission bits: never set-id or sticky bits from a template.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o777))
        .map_err(|error| WorkspaceError::io("Could not set mode of", path, error))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), WorkspaceError> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(target: &Path, path: &Path) -> Result<(), WorkspaceError> {
    std::os::unix::fs::symlink(target, path)
        .map_err(|error| WorkspaceError::io("Could not create link", path, error))
}

#[cfg(not(unix))]
fn make_symlink(_target: &Path, path: &Path) -> Result<(), WorkspaceError> {
    Err(WorkspaceError::io(
        "Could not create link",
        path,
        io::Error::new(io::ErrorKind::Unsupported, "symbolic links are not supported on this system"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::open(&dir.path().join("ws"), WorkspaceLimits::default()).unwrap();
        (dir, workspace)
    }

    fn refused(result: Result<PathBuf, WorkspaceError>) -> bool {
        matches!(result, Err(WorkspaceError::OutsideParent { .. }))
    }

    #[test]
    fn plain_relative_paths_resolve_below_the_root() {
        let (_dir, ws) = workspace();
        assert_eq!(ws.resolve("a/./b/../c.txt").unwrap(), ws.root().join("a/c.txt"));
        assert_eq!(ws.resolve("./").unwrap(), ws.root());
        assert_eq!(ws.resolve("").unwrap(), ws.root());
    }

    #[test]
    fn absolute_and_climbing_paths_are_refused() {
        let (_dir, ws) = workspace();
        assert!(refused(ws.resolve("/etc/passwd")));
        assert!(refused(ws.resolve("../x")));
        assert!(refused(ws.resolve("a/../../x")));
        assert!(refused(ws.resolve("/foo/../../../index.js")));
        let message = ws.resolve("../../../index.js").unwrap_err().to_string();
        assert!(message.starts_with(OUTSIDE_PARENT_MESSAGE), "{message}");
    }

    #[cfg(unix)]
    #[test]
    fn links_leading_outside_are_refused_even_for_new_files() {
        let (dir, ws) = workspace();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, ws.root().join("out")).unwrap();
        std::os::unix::fs::symlink("../outside/missing", ws.root().join("dangling")).unwrap();
        std::os::unix::fs::symlink("sub/../..", ws.root().join("sneaky")).unwrap();
        std::fs::create_dir(ws.root().join("sub")).unwrap();
        std::os::unix::fs::symlink("sub", ws.root().join("inside")).unwrap();
        assert!(refused(ws.resolve("out")));
        assert!(refused(ws.resolve("out/new-file.txt")));
        assert!(refused(ws.resolve("dangling")));
        assert!(refused(ws.resolve("sneaky/outside")));
        assert_eq!(ws.resolve("inside/x").unwrap(), ws.root().join("inside/x"));
    }

    #[cfg(unix)]
    #[test]
    fn link_loops_are_refused() {
        let (_dir, ws) = workspace();
        std::os::unix::fs::symlink("b", ws.root().join("a")).unwrap();
        std::os::unix::fs::symlink("a", ws.root().join("b")).unwrap();
        assert!(refused(ws.resolve("a/x")));
    }

    #[test]
    fn resolve_in_keeps_paths_below_the_base() {
        let (_dir, ws) = workspace();
        let base = ws.resolve("target").unwrap();
        assert_eq!(ws.resolve_in(&base, "x/y").unwrap(), ws.root().join("target/x/y"));
        assert!(refused(ws.resolve_in(&base, "../elsewhere")));
    }

    #[test]
    fn limits_count_files_and_bytes_across_clones() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path(), WorkspaceLimits { max_files: 2, max_bytes: 10 }).unwrap();
        let clone = ws.clone();
        ws.reserve(1, 4).unwrap();
        clone.reserve(1, 4).unwrap();
        assert!(matches!(ws.reserve(1, 0), Err(WorkspaceError::TooManyFiles { limit: 2 })));
        assert!(matches!(ws.reserve(0, 3), Err(WorkspaceError::TooManyBytes { limit: 10 })));
        assert_eq!(ws.usage(), WorkspaceUsage { files: 2, bytes: 8 });
    }
}
