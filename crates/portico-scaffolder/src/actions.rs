//! The built-in actions, with Backstage's ids, inputs, outputs and behaviours (and Portico's
//! generic `publish:git`).

mod catalog;
mod debug;
mod fetch;
mod fs;
mod git;

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use self::catalog::{CatalogFetchAction, CatalogRegisterAction, CatalogWriteAction};
pub use self::debug::{DebugLogAction, DebugWaitAction};
pub use self::fetch::{FetchPlainAction, FetchPlainFileAction, FetchTemplateAction, FetchTemplateFileAction};
pub use self::fs::{FsDeleteAction, FsRenameAction};
pub use self::git::PublishGitAction;
use crate::api::{Action, ActionError, ActionRegistry, RegistryError};
use crate::config::ActionsConfig;

/// Every built-in action, configured by `config`.
pub fn builtin_actions(config: &ActionsConfig) -> Vec<Arc<dyn Action>> {
    vec![
        Arc::new(FetchPlainAction),
        Arc::new(FetchPlainFileAction),
        Arc::new(FetchTemplateAction::new(config.integrations.clone())),
        Arc::new(FetchTemplateFileAction::new(config.integrations.clone())),
        Arc::new(FsDeleteAction),
        Arc::new(FsRenameAction),
        Arc::new(DebugLogAction),
        Arc::new(DebugWaitAction::new(config.max_wait)),
        Arc::new(CatalogRegisterAction),
        Arc::new(CatalogWriteAction),
        Arc::new(CatalogFetchAction),
        Arc::new(PublishGitAction::new(config.clone())),
    ]
}

impl ActionRegistry {
    /// A registry holding the built-in actions.
    pub fn with_builtins(config: &ActionsConfig) -> Result<Self, RegistryError> {
        let mut registry = ActionRegistry::new();
        for action in builtin_actions(config) {
            registry.register(action)?;
        }
        Ok(registry)
    }
}

/// Reads the input into `T`; a mismatch is an `InputError` naming the action.
fn parse_input<T: DeserializeOwned>(id: &str, input: &Map<String, Value>) -> Result<T, ActionError> {
    T::deserialize(Value::Object(input.clone()))
        .map_err(|error| ActionError::Input(format!("Invalid input passed to action {id}, {error}")))
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ActionError> + Send + 'static,
) -> Result<T, ActionError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ActionError::Failed(format!("File work of the action stopped: {error}")))?
}

/// A path relative to `base` with `/` separators; names that are not UTF-8 are refused, since
/// templates address files by text.
fn relative_text(base: &Path, path: &Path) -> Result<String, ActionError> {
    let relative = path.strip_prefix(base).unwrap_or(path);
    let parts = relative
        .iter()
        .map(|part| {
            part.to_str().ok_or_else(|| {
                ActionError::Input(format!("File name {} is not valid UTF-8", relative.display()))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join("/"))
}

/// Whether contents look binary: a NUL byte near the start, or not UTF-8 at all.
fn is_binary(contents: &[u8]) -> bool {
    let head = &contents[..contents.len().min(8000)];
    head.contains(&0) || std::str::from_utf8(contents).is_err()
}

/// An `std::io::Error` as an action failure naming what was done to which path.
fn io_failure(action: &str, path: &Path, error: std::io::Error) -> ActionError {
    ActionError::Failed(format!("{action} {}: {error}", path.display()))
}
