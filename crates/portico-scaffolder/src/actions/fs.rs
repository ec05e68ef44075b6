//! `fs:delete` and `fs:rename`: file housekeeping inside the workspace.

use std::path::PathBuf;

use async_trait::async_trait;
use globset::GlobBuilder;
use serde_json::{Value, json};
use walkdir::WalkDir;

use super::{blocking, relative_text};
use crate::api::{Action, ActionContext, ActionError, ActionLogger, ActionSchema};
use crate::workspace::{Workspace, remove_path};

/// `fs:delete`: deletes files and folders (globs allowed) from the workspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsDeleteAction;

/// Whether a path uses glob syntax.
fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

/// The workspace entries a glob matches, parents before children. As with globby's defaults,
/// `*` stays within one folder and entries whose name starts with a dot only match a pattern
/// that names dot entries.
fn glob_matches(workspace: &Workspace, pattern: &str) -> Result<Vec<PathBuf>, ActionError> {
    // Checked as a path first: a glob may not reach outside the workspace either.
    let anchored = workspace.resolve(pattern)?;
    let relative = relative_text(workspace.root(), &anchored)?;
    let glob = GlobBuilder::new(&relative)
        .literal_separator(true)
        .build()
        .map_err(|error| ActionError::Input(format!("Invalid glob pattern {pattern}: {error}")))?
        .compile_matcher();
    let matches_dots = relative.starts_with('.') || relative.contains("/.");
    let mut matches = Vec::new();
    for entry in WalkDir::new(workspace.root()).follow_links(false).min_depth(1).sort_by_file_name() {
        let entry =
            entry.map_err(|error| ActionError::Failed(format!("Could not list the workspace: {error}")))?;
        let path = relative_text(workspace.root(), entry.path())?;
        let hidden = path.split('/').any(|part| part.starts_with('.'));
        if glob.is_match(&path) && (matches_dots || !hidden) {
            matches.push(entry.into_path());
        }
    }
    Ok(matches)
}

fn delete_files(workspace: &Workspace, logger: &ActionLogger, files: &[String]) -> Result<(), ActionError> {
    for file in files {
        // Backslash separators (`.\\file`) are read as slashes.
        let pattern = file.replace('\\', "/");
        let targets = if is_glob(&pattern) {
            glob_matches(workspace, &pattern)?
        } else {
            vec![workspace.resolve(&pattern)?]
        };
        let mut deleted: Vec<PathBuf> = Vec::new();
        for target in targets {
            if deleted.iter().any(|parent| target.starts_with(parent)) {
                continue;
            }
            if let Err(error) = remove_path(&target) {
                logger.error(format!("Failed to delete file {}: {error}", target.display()));
                return Err(error.into());
            }
            logger.info(format!("File {} deleted successfully", target.display()));
            deleted.push(target);
        }
    }
    Ok(())
}

#[async_trait]
impl Action for FsDeleteAction {
    fn id(&self) -> &str {
        "fs:delete"
    }

    fn description(&self) -> &str {
        "Deletes files and directories from the workspace"
    }

    fn schema(&self) -> ActionSchema {
        ActionSchema {
            input: json!({
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {"title": "Files", "type": "array", "items": {"type": "string"},
                        "description": "A list of files and directories that will be deleted"},
                },
            }),
            output: json!({"type": "object", "properties": {}}),
        }
    }

    fn supports_dry_run(&self) -> bool {
        true
    }

    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let not_array = || ActionError::Input("files must be an Array".to_owned());
        let Some(Value::Array(items)) = ctx.input.get("files") else {
            return Err(not_array());
        };
        let files: Vec<String> = items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(not_array))
            .collect::<Result<_, _>>()?;
        let workspace = ctx.workspace.clone();
        let logger = ctx.logger.clone();
        blocking(move || delete_files(&workspace, &logger, &files)).await
    }
}

/// `fs:rename`: moves files and folders within the workspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsRenameAction;

/// One requested move.
struct Rename {
    from: String,
    to: String,
    overwrite: bool,
}

fn rename_files(workspace: &Workspace, logger: &ActionLogger, renames: &[Rename]) -> Result<(), ActionError> {
    for rename in renames {
        let source = workspace.resolve(&rename.from)?;
        let destination = workspace.resolve(&rename.to)?;
        let failed = |reason: String| {
            let message =
                format!("Failed to rename file {} to {}: {reason}", source.display(), destination.display());
            logger.error(&message);
            message
        };
        if std::fs::symlink_metadata(&source).is_err() {
            return Err(ActionError::NotFound(failed(format!("{} does not exist", rename.from))));
        }
        if std::fs::symlink_metadata(&destination).is_ok() {
            if !rename.overwrite {
                return Err(ActionError::Conflict(failed("dest already exists.".to_owned())));
            }
            remove_path(&destination)?;
        }
        if let Some(parent) = destination.parent() {
            workspace.create_dir_all(parent)?;
        }
        std::fs::rename(&source, &destination)
            .map_err(|error| ActionError::Failed(failed(error.to_string())))?;
        logger.info(format!("File {} renamed to {} successfully", source.display(), destination.display()));
    }
    Ok(())
}

fn read_renames(input: Option<&Value>) -> Result<Vec<Rename>, ActionError> {
    let Some(Value::Array(items)) = input else {
        return Err(ActionError::Input("files must be an Array".to_owned()));
    };
    items
        .iter()
        .map(|item| {
            let text = |key: &str| item.get(key).and_then(Value::as_str).filter(|value| !value.is_empty());
            match (text("from"), text("to")) {
                (Some(from), Some(to)) => Ok(Rename {
                    from: from.to_owned(),
                    to: to.to_owned(),
                    overwrite: item.get("overwrite").and_then(Value::as_bool).unwrap_or(false),
                }),
                _ => Err(ActionError::Input("each file must have a from and to property".to_owned())),
            }
        })
        .collect()
}

#[async_trait]
impl Action for FsRenameAction {
    fn id(&self) -> &str {
        "fs:rename"
    }

    fn description(&self) -> &str {
        "Renames files and directories within the workspace"
    }

    fn schema(&self) -> ActionSchema {
        ActionSchema {
            input: json!({
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {
                        "title": "Files",
                        "description": "A list of file and directory names that will be renamed",
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["from", "to"],
                            "properties": {
                                "from": {"type": "string", "title": "The source location of the file to be renamed"},
                                "to": {"type": "string", "title": "The destination of the new file"},
                                "overwrite": {"type": "boolean",
                                    "title": "Overwrite existing file or directory, default is false"},
                            },
                        },
                    },
                },
            }),
            output: json!({"type": "object", "properties": {}}),
        }
    }

    fn supports_dry_run(&self) -> bool {
        true
    }

    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let renames = read_renames(ctx.input.get("files"))?;
        let workspace = ctx.workspace.clone();
        let logger = ctx.logger.clone();
        blocking(move || rename_files(&workspace, &logger, &renames)).await
    }
}
