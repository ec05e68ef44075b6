//! Software templates (Backstage scaffolder `scaffolder.backstage.io/v1beta3`).
//!
//! This crate holds the templating core: rendering `${{ }}` expressions in step inputs, `if`
//! conditions and outputs ([`templating`]), the scaffolder's filters ([`filters`]) and the
//! file rules of `fetch:template` ([`files`]).

pub mod files;
pub mod filters;
pub mod templating;

pub use files::{FileOptionsError, FilePlan, FileTemplateOptions, is_skipped_output_path, should_template};
pub use filters::{FilterError, Integrations, RepoUrl, ScmKind};
pub use templating::{
    FileRenderOptions, TemplateError, Templater, evaluate_condition, is_truthy, render_file,
    render_file_name, render_value,
};
