//! A task's surroundings for one test: a template folder, a workspace, a log, a folder outside
//! both (for escape attempts).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use portico_scaffolder::api::{ActionContext, ActionError, ActionLogger, MemoryLog, TemplateInfo};
use portico_scaffolder::workspace::{OUTSIDE_PARENT_MESSAGE, Workspace, WorkspaceError, WorkspaceLimits};
use serde_json::Value;

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub workspace: Workspace,
    pub log: Arc<MemoryLog>,
}

impl Harness {
    pub fn new() -> Self {
        Harness::with_limits(WorkspaceLimits::default())
    }

    pub fn with_limits(limits: WorkspaceLimits) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("template")).expect("template dir");
        std::fs::write(dir.path().join("template/template.yaml"), "kind: Template\n").expect("template file");
        std::fs::create_dir_all(dir.path().join("outside")).expect("outside dir");
        let workspace = Workspace::open(&dir.path().join("workspace"), limits).expect("workspace");
        Harness { dir, workspace, log: Arc::new(MemoryLog::new()) }
    }

    /// The folder holding `template.yaml`.
    pub fn template_dir(&self) -> PathBuf {
        self.dir.path().join("template").canonicalize().expect("template dir")
    }

    /// A folder outside the workspace and the template folder.
    pub fn outside(&self) -> PathBuf {
        self.dir.path().join("outside").canonicalize().expect("outside dir")
    }

    /// Writes a file into the template folder.
    pub fn template_file(&self, relative: &str, contents: impl AsRef<[u8]>) {
        let path = self.template_dir().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("parent dir");
        std::fs::write(path, contents).expect("template file");
    }

    /// Writes a file into the workspace.
    pub fn workspace_file(&self, relative: &str, contents: impl AsRef<[u8]>) {
        let path = self.workspace.root().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("parent dir");
        std::fs::write(path, contents).expect("workspace file");
    }

    pub fn ws(&self, relative: &str) -> PathBuf {
        self.workspace.root().join(relative)
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.ws(relative)).unwrap_or_else(|error| panic!("read {relative}: {error}"))
    }

    /// A context for a template read from `file://<template dir>/template.yaml`.
    pub fn context(&self, input: Value) -> ActionContext {
        let Value::Object(input) = input else { panic!("input must be an object") };
        let mut ctx = ActionContext::new(input, self.workspace.clone(), ActionLogger::new(self.log.clone()));
        let base_url = url::Url::from_file_path(self.template_dir().join("template.yaml")).expect("file url");
        ctx.template_info = TemplateInfo {
            entity_ref: Some("template:default/demo".into()),
            base_url: Some(base_url.into()),
        };
        ctx
    }
}

/// Asserts a refusal with Backstage's "outside its parent" message.
pub fn assert_outside<T: std::fmt::Debug>(result: Result<T, ActionError>) {
    match result {
        Err(ActionError::Workspace(error @ WorkspaceError::OutsideParent { .. })) => {
            assert!(error.to_string().contains(OUTSIDE_PARENT_MESSAGE), "{error}");
        }
        other => panic!("expected an outside-parent refusal, got {other:?}"),
    }
}

#[cfg(unix)]
pub fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}
