//! Software templates (Backstage scaffolder `scaffolder.backstage.io/v1beta3`).
//!
//! This crate holds the templating core — rendering `${{ }}` expressions in step inputs, `if`
//! conditions and outputs ([`templating`]), the scaffolder's filters ([`filters`]) and the file
//! rules of `fetch:template` ([`files`]) — and the actions layer: the extension point other
//! plugins implement ([`api`]), task workspaces with safe path resolution and write limits
//! ([`workspace`]), the built-in actions ([`actions`]) and their settings ([`config`]); and the
//! task runner that executes a template's steps with them ([`runner`]). As a plugin it keeps
//! durable tasks ([`tasks`]), serves `/api/scaffolder` ([`routes`]) and the `/create` pages
//! ([`pages`]), each caller limited to what the portal's permissions allow them ([`access`]).

pub mod access;
pub mod actions;
pub mod api;
pub mod config;
pub mod files;
pub mod filters;
pub mod pages;
pub mod parameters;
mod plugin;
pub mod routes;
pub mod runner;
pub mod tasks;
pub mod template;
pub mod templating;
pub mod workspace;

pub use actions::builtin_actions;
pub use api::{Action, ActionContext, ActionError, ActionRegistry, ActionSchema};
pub use config::{ActionsConfig, GitAuthor, GitCredential};
pub use files::{FileOptionsError, FilePlan, FileTemplateOptions, is_skipped_output_path, should_template};
pub use filters::{FilterError, Integrations, RepoUrl, ScmKind};
pub use plugin::ScaffolderPlugin;
pub use runner::{
    RunOptions, TaskEvent, TaskEventSink, TaskResult, TaskSpec, TaskStatus, TaskStep, run_task,
};
pub use templating::{
    FileRenderOptions, TemplateError, Templater, evaluate_condition, is_truthy, render_file,
    render_file_name, render_value,
};
pub use workspace::{Workspace, WorkspaceError, WorkspaceLimits};
