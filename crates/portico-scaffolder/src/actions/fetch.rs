//! `fetch:plain`, `fetch:plain:file`, `fetch:template` and `fetch:template:file`: copy (and
//! render) files from the template's folder into the workspace.
//!
//! Relative urls resolve against the folder of a template read from a `file://` location and
//! may not leave it (symbolic links included). Remote locations are not read yet.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use walkdir::WalkDir;

use super::{blocking, io_failure, is_binary, parse_input, relative_text};
use crate::api::{Action, ActionContext, ActionError, ActionLogger, ActionSchema, TemplateInfo};
use crate::files::{FileOptionsError, FileTemplateOptions, is_skipped_output_path, should_template};
use crate::filters::Integrations;
use crate::templating::{FileRenderOptions, Templater};
use crate::workspace::{Workspace, WorkspaceError, safe_child};

/// The local path a fetch `url` names.
fn fetch_source(info: &TemplateInfo, url: &str) -> Result<PathBuf, ActionError> {
    if let Ok(absolute) = url::Url::parse(url) {
        return Err(match absolute.scheme() {
            "http" | "https" => ActionError::NotSupported(format!(
                "Fetching {url} is not supported yet: only paths relative to a template read from a file location can be fetched"
            )),
            scheme => ActionError::Input(format!(
                "Unsupported fetch URL {url}: the {scheme} scheme is not supported"
            )),
        });
    }
    let Some(base_url) = info.base_url.as_deref() else {
        return Err(ActionError::Input(format!(
            "Failed to fetch, template location could not be determined and the fetch URL is relative, {url}"
        )));
    };
    let Some(template_dir) = info.template_dir() else {
        return Err(ActionError::NotSupported(format!(
            "Fetching {url} relative to {base_url} is not supported for remote templates yet"
        )));
    };
    let template_dir = template_dir.canonicalize().map_err(|error| {
        ActionError::NotFound(format!("Template folder {} cannot be read: {error}", template_dir.display()))
    })?;
    Ok(safe_child(&template_dir, url)?)
}

fn missing_source(url: &str, expected: &str) -> ActionError {
    ActionError::NotFound(format!("Failed to fetch {url}: no {expected} at that path"))
}

/// Every entry below `root` (not `root` itself), parents before children, links not followed.
fn skeleton_entries(root: &Path) -> impl Iterator<Item = Result<walkdir::DirEntry, ActionError>> {
    WalkDir::new(root).follow_links(false).min_depth(1).sort_by_file_name().into_iter().map(|entry| {
        entry.map_err(|error| ActionError::Failed(format!("Could not list the template files: {error}")))
    })
}

/// Copies the tree `source` into `target` (overwriting), links as links.
fn copy_tree(source: &Path, workspace: &Workspace, target: &Path) -> Result<usize, ActionError> {
    workspace.create_dir_all(target)?;
    let mut copied = 0;
    for entry in skeleton_entries(source) {
        let entry = entry?;
        let relative = relative_text(source, entry.path())?;
        let destination = workspace.resolve_in(target, &relative)?;
        let file_type = entry.file_type();
        if file_type.is_dir() {
            workspace.create_dir_all(&destination)?;
        } else if file_type.is_symlink() {
            let link = std::fs::read_link(entry.path())
                .map_err(|error| io_failure("Could not read link", entry.path(), error))?;
            workspace.write_symlink(&destination, &link)?;
            copied += 1;
        } else if file_type.is_file() {
            workspace.copy_file(entry.path(), &destination)?;
            copied += 1;
        }
    }
    Ok(copied)
}

const TOKEN_PROPERTY: &str = "An optional token to use for authentication when reading the resources.";

/// `fetch:plain`: copies a directory tree into the workspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchPlainAction;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlainInput {
    url: String,
    target_path: Option<String>,
}

#[async_trait]
impl Action for FetchPlainAction {
    fn id(&self) -> &str {
        "fetch:plain"
    }

    fn description(&self) -> &str {
        "Downloads content and places it in the workspace, or optionally in a subdirectory specified by the `targetPath` input option."
    }

    fn schema(&self) -> ActionSchema {
        ActionSchema {
            input: json!({
                "type": "object",
                "required": ["url"],
                "properties": {
                    "url": {"title": "Fetch URL", "type": "string",
                        "description": "Relative path or absolute URL pointing to the directory tree to fetch"},
                    "targetPath": {"title": "Target Path", "type": "string",
                        "description": "Target path within the working directory to download the contents to."},
                    "token": {"title": "Token", "type": "string", "description": TOKEN_PROPERTY},
                },
            }),
            output: json!({"type": "object", "properties": {}}),
        }
    }

    fn supports_dry_run(&self) -> bool {
        true
    }

    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let input: PlainInput = parse_input(self.id(), &ctx.input)?;
        ctx.logger.info("Fetching plain content from remote URL");
        let source = fetch_source(&ctx.template_info, &input.url)?;
        if !source.is_dir() {
            return Err(missing_source(&input.url, "directory"));
        }
        let target = ctx.workspace.resolve(input.target_path.as_deref().unwrap_or("./"))?;
        let workspace = ctx.workspace.clone();
        let copied = blocking(move || copy_tree(&source, &workspace, &target)).await?;
        ctx.logger.info(format!("Fetched {copied} files from {}", input.url));
        Ok(())
    }
}

/// `fetch:plain:file`: copies one file into the workspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchPlainFileAction;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlainFileInput {
    url: String,
    target_path: String,
}

#[async_trait]
impl Action for FetchPlainFileAction {
    fn id(&self) -> &str {
        "fetch:plain:file"
    }

    fn description(&self) -> &str {
        "Downloads single file and places it in the workspace."
    }

    fn schema(&self) -> ActionSchema {
        ActionSchema {
            input: json!({
                "type": "object",
                "required": ["url", "targetPath"],
                "properties": {
                    "url": {"title": "Fetch URL", "type": "string",
                        "description": "Relative path or absolute URL pointing to the single file to fetch."},
                    "targetPath": {"title": "Target Path", "type": "string",
                        "description": "Target path within the working directory to download the file as."},
                    "token": {"title": "Token", "type": "string", "description": TOKEN_PROPERTY},
                },
            }),
            output: json!({"type": "object", "properties": {}}),
        }
    }

    fn supports_dry_run(&self) -> bool {
        true
    }

    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let input: PlainFileInput = parse_input(self.id(), &ctx.input)?;
        ctx.logger.info("Fetching plain content from remote URL");
        let source = fetch_source(&ctx.template_info, &input.url)?;
        if !source.is_file() {
            return Err(missing_source(&input.url, "file"));
        }
        let target = ctx.workspace.resolve(&input.target_path)?;
        let workspace = ctx.workspace.clone();
        blocking(move || Ok(workspace.copy_file(&source, &target)?)).await
    }
}

/// The nunjucks options shared by `fetch:template` and `fetch:template:file`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RenderInput {
    #[serde(default)]
    values: Map<String, Value>,
    #[serde(default)]
    cookiecutter_compat: bool,
    #[serde(default)]
    replace: bool,
    #[serde(default)]
    trim_blocks: bool,
    #[serde(default)]
    lstrip_blocks: bool,
}

impl RenderInput {
    fn templater(&self, integrations: &Integrations) -> Templater {
        let options = FileRenderOptions {
            cookiecutter_compat: self.cookiecutter_compat,
            trim_blocks: self.trim_blocks,
            lstrip_blocks: self.lstrip_blocks,
        };
        Templater::with_file_options(integrations.clone(), options)
    }

    /// `{values}`, or `{cookiecutter}` in cookiecutter mode.
    fn context(&self) -> Value {
        let key = if self.cookiecutter_compat { "cookiecutter" } else { "values" };
        json!({ key: self.values })
    }
}

fn render_schema_properties() -> Map<String, Value> {
    let properties = json!({
        "values": {"title": "Template Values", "type": "object",
            "description": "Values to pass on to the templating engine"},
        "cookiecutterCompat": {"title": "Cookiecutter compatibility mode", "type": "boolean",
            "description": "Enable features to maximise compatibility with templates built for fetch:cookiecutter"},
        "replace": {"title": "Replace files", "type": "boolean",
            "description": "If set, replace files in targetPath instead of skipping existing ones."},
        "trimBlocks": {"title": "Trim Blocks", "type": "boolean",
            "description": "If set, the first newline after a block is removed (block, not variable tag!)."},
        "lstripBlocks": {"title": "Lstrip Blocks", "type": "boolean",
            "description": "If set, leading spaces and tabs are stripped from the start of a line to a block."},
        "token": {"title": "Token", "type": "string", "description": TOKEN_PROPERTY},
    });
    match properties {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `fetch:template`: renders a skeleton folder (names and contents) into the workspace.
#[derive(Debug, Clone)]
pub struct FetchTemplateAction {
    integrations: Integrations,
}

impl FetchTemplateAction {
    /// The action, with the integrations `parseRepoUrl` knows.
    pub fn new(integrations: Integrations) -> Self {
        FetchTemplateAction { integrations }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TemplateInput {
    url: String,
    target_path: Option<String>,
    copy_without_render: Option<Value>,
    copy_without_templating: Option<Value>,
    template_file_extension: Option<Value>,
    #[serde(flatten)]
    render: RenderInput,
}

/// A glob list input: absent is empty, anything but an array of strings is refused.
fn glob_list(value: Option<&Value>) -> Result<Vec<String>, ActionError> {
    let not_array = || {
        ActionError::Input(
            "Fetch action input copyWithoutRender/copyWithoutTemplating must be an Array".to_owned(),
        )
    };
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            items.iter().map(|item| item.as_str().map(str::to_owned).ok_or_else(not_array)).collect()
        }
        Some(_) => Err(not_array()),
    }
}

/// What one `fetch:template` run needs on the blocking thread.
struct SkeletonJob {
    source: PathBuf,
    output_dir: PathBuf,
    options: FileTemplateOptions,
    templater: Templater,
    context: Value,
    replace: bool,
    workspace: Workspace,
    logger: ActionLogger,
}

impl SkeletonJob {
    fn run(self) -> Result<(), ActionError> {
        self.workspace.create_dir_all(&self.output_dir)?;
        for entry in skeleton_entries(&self.source) {
            let entry = entry?;
            let location = relative_text(&self.source, entry.path())?;
            let plan = should_template(&location, &self.options);
            let output = if plan.render_path {
                self.templater
                    .render_file_name(&plan.path, &self.context)
                    .map_err(|source| ActionError::Template { path: location.clone(), source })?
            } else {
                plan.path.clone()
            };
            if is_skipped_output_path(&output) {
                continue;
            }
            let destination = self.workspace.resolve_in(&self.output_dir, &output)?;
            if std::fs::symlink_metadata(&destination).is_ok() && !self.replace {
                continue;
            }
            let file_type = entry.file_type();
            if file_type.is_dir() {
                self.logger.info(format!("Writing directory {location}/ to template output path."));
                self.workspace.create_dir_all(&destination)?;
            } else if file_type.is_symlink() {
                self.logger.info(format!(
                    "Copying file binary or symbolic link at {location}, to template output path."
                ));
                let link = std::fs::read_link(entry.path())
                    .map_err(|error| io_failure("Could not read link", entry.path(), error))?;
                self.workspace.write_symlink(&destination, &link)?;
            } else if file_type.is_file() {
                self.write_file(entry.path(), &location, &destination, plan.render_contents)?;
            }
        }
        self.logger.info(format!("Template result written to {}", self.output_dir.display()));
        Ok(())
    }

    fn write_file(
        &self,
        source: &Path,
        location: &str,
        destination: &Path,
        render_contents: bool,
    ) -> Result<(), ActionError> {
        let metadata =
            std::fs::metadata(source).map_err(|error| io_failure("Could not read", source, error))?;
        // A file larger than the whole budget could never be written; fail before reading it.
        let max_bytes = self.workspace.limits().max_bytes;
        if metadata.len() > max_bytes {
            return Err(WorkspaceError::TooManyBytes { limit: max_bytes }.into());
        }
        let contents = std::fs::read(source).map_err(|error| io_failure("Could not read", source, error))?;
        if is_binary(&contents) {
            self.logger.info(format!(
                "Copying file binary or symbolic link at {location}, to template output path."
            ));
            self.workspace.copy_file(source, destination)?;
            return Ok(());
        }
        let mode = file_mode(&metadata);
        if !render_contents {
            self.logger.info(format!("Copying file/directory {location} without processing."));
            self.workspace.write_file(destination, &contents, mode)?;
            return Ok(());
        }
        self.logger.info(format!(
            "Writing file {location} to template output path with mode {}.",
            mode.map_or_else(|| "unknown".to_owned(), |mode| mode.to_string())
        ));
        let text = String::from_utf8_lossy(&contents);
        let rendered = self
            .templater
            .render_file(&text, &self.context)
            .map_err(|source| ActionError::Template { path: location.to_owned(), source })?;
        self.workspace.write_file(destination, rendered.as_bytes(), mode)?;
        Ok(())
    }
}

#[cfg(unix)]
fn file_mode(metadata: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(metadata.permissions().mode())
}

#[cfg(not(unix))]
fn file_mode(_metadata: &std::fs::Metadata) -> Option<u32> {
    None
}

#[async_trait]
impl Action for FetchTemplateAction {
    fn id(&self) -> &str {
        "fetch:template"
    }

    fn description(&self) -> &str {
        "Downloads a skeleton, templates variables into file and directory names and content, and places the result in the workspace, or optionally in a subdirectory specified by the `targetPath` input option."
    }

    fn schema(&self) -> ActionSchema {
        let mut properties = render_schema_properties();
        let own = json!({
            "url": {"title": "Fetch URL", "type": "string",
                "description": "Relative path or absolute URL pointing to the directory tree to fetch"},
            "targetPath": {"title": "Target Path", "type": "string",
                "description": "Target path within the working directory to download the contents to. Defaults to the working directory root."},
            "copyWithoutRender": {"title": "[Deprecated] Copy Without Render", "type": "array",
                "items": {"type": "string"},
                "description": "An array of glob patterns. Any files or directories which match are copied without being processed as templates."},
            "copyWithoutTemplating": {"title": "Copy Without Templating", "type": "array",
                "items": {"type": "string"},
                "description": "An array of glob patterns. Contents of matched files or directories are copied without being processed, but paths are subject to rendering."},
            "templateFileExtension": {"title": "Template File Extension", "type": ["string", "boolean"],
                "description": "If set, only files with the given extension will be templated. If set to `true`, the default extension `.njk` is used."},
        });
        if let Value::Object(own) = own {
            properties.extend(own);
        }
        ActionSchema {
            input: json!({"type": "object", "required": ["url"], "properties": properties}),
            output: json!({"type": "object", "properties": {}}),
        }
    }

    fn supports_dry_run(&self) -> bool {
        true
    }

    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let input: TemplateInput = parse_input(self.id(), &ctx.input)?;
        ctx.logger.info("Fetching template content from remote URL");
        let copy_without_render = glob_list(input.copy_without_render.as_ref())?;
        let copy_without_templating = glob_list(input.copy_without_templating.as_ref())?;
        if !copy_without_render.is_empty() {
            ctx.logger.warn(
                "[Deprecated] copyWithoutRender is deprecated Please use copyWithoutTemplating instead.",
            );
        }
        let options = FileTemplateOptions::new(
            input.template_file_extension.as_ref(),
            &copy_without_render,
            &copy_without_templating,
            input.render.cookiecutter_compat,
        )
        .map_err(|error| match error {
            FileOptionsError::BothCopyLists => ActionError::Input(format!("Fetch action input {error}")),
            other => ActionError::Input(other.to_string()),
        })?;
        let source = fetch_source(&ctx.template_info, &input.url)?;
        if !source.is_dir() {
            return Err(missing_source(&input.url, "directory"));
        }
        let output_dir = ctx.workspace.resolve(input.target_path.as_deref().unwrap_or("./"))?;
        ctx.logger.info("Processing template files/directories with input values");
        let job = SkeletonJob {
            source,
            output_dir,
            options,
            templater: input.render.templater(&self.integrations),
            context: input.render.context(),
            replace: input.render.replace,
            workspace: ctx.workspace.clone(),
            logger: ctx.logger.clone(),
        };
        blocking(move || job.run()).await
    }
}

/// `fetch:template:file`: renders one file into the workspace.
#[derive(Debug, Clone)]
pub struct FetchTemplateFileAction {
    integrations: Integrations,
}

impl FetchTemplateFileAction {
    /// The action, with the integrations `parseRepoUrl` knows.
    pub fn new(integrations: Integrations) -> Self {
        FetchTemplateFileAction { integrations }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TemplateFileInput {
    url: String,
    target_path: String,
    #[serde(flatten)]
    render: RenderInput,
}

#[async_trait]
impl Action for FetchTemplateFileAction {
    fn id(&self) -> &str {
        "fetch:template:file"
    }

    fn description(&self) -> &str {
        "Downloads single file and places it in the workspace."
    }

    fn schema(&self) -> ActionSchema {
        let mut properties = render_schema_properties();
        let own = json!({
            "url": {"title": "Fetch URL", "type": "string",
                "description": "Relative path or absolute URL pointing to the single file to fetch."},
            "targetPath": {"title": "Target Path", "type": "string",
                "description": "Target path within the working directory to download the file as."},
        });
        if let Value::Object(own) = own {
            properties.extend(own);
        }
        ActionSchema {
            input: json!({"type": "object", "required": ["url", "targetPath"], "properties": properties}),
            output: json!({"type": "object", "properties": {}}),
        }
    }

    fn supports_dry_run(&self) -> bool {
        true
    }

    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let input: TemplateFileInput = parse_input(self.id(), &ctx.input)?;
        ctx.logger.info("Fetching template file content from remote URL");
        let source = fetch_source(&ctx.template_info, &input.url)?;
        if !source.is_file() {
            return Err(missing_source(&input.url, "file"));
        }
        let destination = ctx.workspace.resolve(&input.target_path)?;
        if std::fs::symlink_metadata(&destination).is_ok() && !input.render.replace {
            ctx.logger
                .info(format!("File {} already exists in workspace, not replacing.", input.target_path));
            return Ok(());
        }
        let templater = input.render.templater(&self.integrations);
        let context = input.render.context();
        let workspace = ctx.workspace.clone();
        let logger = ctx.logger.clone();
        blocking(move || {
            let metadata =
                std::fs::metadata(&source).map_err(|error| io_failure("Could not read", &source, error))?;
            let contents =
                std::fs::read(&source).map_err(|error| io_failure("Could not read", &source, error))?;
            if is_binary(&contents) {
                workspace.copy_file(&source, &destination)?;
                return Ok(());
            }
            let rendered = templater
                .render_file(&String::from_utf8_lossy(&contents), &context)
                .map_err(|source| ActionError::Template { path: input.url.clone(), source })?;
            logger.info(format!("Writing file {} to template output path.", input.target_path));
            workspace.write_file(&destination, rendered.as_bytes(), file_mode(&metadata))?;
            Ok(())
        })
        .await
    }
}
