//! The actions extension point: what an action is ([`Action`]), what it is given when it runs
//! ([`ActionContext`]), how it fails ([`ActionError`]) and where actions are looked up
//! ([`ActionRegistry`]). Built-in actions and those of other plugins implement the same trait.

mod catalog;
mod log;
mod registry;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use portico_plugin::Access;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

pub use self::catalog::{AddLocationOptions, CatalogClient, CatalogError};
pub use self::log::{ActionLogger, LogLevel, LogLine, LogSink, MemoryLog, SECRET_MASK};
pub use self::registry::{ActionRegistry, RegistryError};
use crate::templating::TemplateError;
use crate::workspace::{Workspace, WorkspaceError};

/// The JSON schemas of an action's input and output (`GET /v2/actions` shows them; the task
/// runner validates rendered input against `input`).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionSchema {
    /// JSON Schema of the input object.
    pub input: Value,
    /// JSON Schema of the output object.
    pub output: Value,
}

/// A usage example shown with the action (`{description, example}`, the example in YAML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionExample {
    /// What the example shows.
    pub description: String,
    /// The template steps, as YAML.
    pub example: String,
}

/// One step's work: fetch a skeleton, publish a repository, register an entity...
#[async_trait]
pub trait Action: Send + Sync {
    /// The id templates name in `action:` (`fetch:template`).
    fn id(&self) -> &str;

    /// One sentence on what the action does.
    fn description(&self) -> &str;

    /// Input and output schemas.
    fn schema(&self) -> ActionSchema;

    /// Usage examples.
    fn examples(&self) -> Vec<ActionExample> {
        Vec::new()
    }

    /// Whether a dry run executes this action. Actions with effects outside the workspace
    /// answer `false`; a dry run then skips them and fakes their output from the output schema
    /// (see [`example_output`]).
    fn supports_dry_run(&self) -> bool {
        false
    }

    /// Runs the action.
    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError>;
}

/// Why an action failed. [`ActionError::name`] gives the error name Backstage reports.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The input is unusable.
    #[error("{0}")]
    Input(String),
    /// Something the input names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The action would clash with existing state.
    #[error("{0}")]
    Conflict(String),
    /// The action is not allowed to do what the input asks.
    #[error("{0}")]
    NotAllowed(String),
    /// The input asks for something Portico does not do (yet).
    #[error("{0}")]
    NotSupported(String),
    /// The task was cancelled while the action ran.
    #[error("The action was cancelled")]
    Cancelled,
    /// A workspace path was refused, a limit was reached or a file operation failed.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// A file or file name of a skeleton could not be rendered.
    #[error("Could not render {path}: {source}")]
    Template {
        /// The skeleton entry, relative to the skeleton folder.
        path: String,
        /// The template error.
        #[source]
        source: TemplateError,
    },
    /// The catalog refused or failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Any other failure, with its message.
    #[error("{0}")]
    Failed(String),
}

impl ActionError {
    /// Backstage's error name (`InputError`, `NotFoundError`, ... or `Error`), for the task's
    /// completion event.
    pub fn name(&self) -> &'static str {
        match self {
            ActionError::Input(_) | ActionError::Catalog(CatalogError::Input(_)) => "InputError",
            ActionError::NotFound(_) | ActionError::Catalog(CatalogError::NotFound(_)) => "NotFoundError",
            ActionError::Conflict(_) | ActionError::Catalog(CatalogError::Conflict(_)) => "ConflictError",
            ActionError::NotAllowed(_)
            | ActionError::Catalog(CatalogError::NotAllowed(_))
            | ActionError::Workspace(WorkspaceError::OutsideParent { .. }) => "NotAllowedError",
            ActionError::NotSupported(_) => "NotImplementedError",
            ActionError::Cancelled
            | ActionError::Workspace(_)
            | ActionError::Template { .. }
            | ActionError::Catalog(CatalogError::Other(_))
            | ActionError::Failed(_) => "Error",
        }
    }
}

/// Request secrets by name (`secrets.<name>` in templates).
pub type Secrets = BTreeMap<String, String>;

/// Where the running template came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateInfo {
    /// The template's reference, `template:default/name`.
    pub entity_ref: Option<String>,
    /// The URL relative `fetch:*` urls resolve against: `file://<path of template.yaml>` for
    /// file locations, the location URL for remote ones; `None` when unknown.
    pub base_url: Option<String>,
}

impl TemplateInfo {
    /// The folder holding the template file, when the template was read from a `file://` URL.
    pub fn template_dir(&self) -> Option<PathBuf> {
        let url = url::Url::parse(self.base_url.as_deref()?).ok()?;
        if url.scheme() != "file" {
            return None;
        }
        url.to_file_path().ok()?.parent().map(PathBuf::from)
    }
}

/// The user a task runs for.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskUser {
    /// The user's entity reference, `user:default/jane`.
    pub entity_ref: String,
    /// The user's catalog entity, when it exists.
    pub entity: Option<Value>,
}

/// Services of the application that actions may use. Each is optional: an action needing a
/// missing one fails with a clear message.
#[derive(Clone, Default)]
pub struct ActionServices {
    /// The software catalog.
    pub catalog: Option<Arc<dyn CatalogClient>>,
}

impl std::fmt::Debug for ActionServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionServices").field("catalog", &self.catalog.is_some()).finish()
    }
}

/// Everything one run of an action sees, and where its outputs go.
pub struct ActionContext {
    /// The rendered step input.
    pub input: Map<String, Value>,
    /// The task's workspace; every input path is resolved in it.
    pub workspace: Workspace,
    /// The step's log; secrets are masked.
    pub logger: ActionLogger,
    /// The template's origin, for relative `fetch:*` urls.
    pub template_info: TemplateInfo,
    /// Whether this is a dry run (no effects outside the workspace).
    pub dry_run: bool,
    /// Cancelled when the task is cancelled; long-running actions watch it.
    pub cancel: CancellationToken,
    /// The user the task runs for.
    pub user: Option<TaskUser>,
    /// Whoever the task runs for, as permission checks see them: the catalog is read as this
    /// caller.
    pub access: Access,
    /// Application services (the catalog).
    pub services: ActionServices,
    secrets: Secrets,
    outputs: Map<String, Value>,
}

impl std::fmt::Debug for ActionContext {
    /// Secret values are left out; only their names show.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionContext")
            .field("input", &self.logger.mask(&Value::Object(self.input.clone()).to_string()))
            .field("workspace", &self.workspace.root())
            .field("template_info", &self.template_info)
            .field("dry_run", &self.dry_run)
            .field("cancelled", &self.cancel.is_cancelled())
            .field("user", &self.user)
            .field("access", &self.access)
            .field("services", &self.services)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("outputs", &self.outputs)
            .finish()
    }
}

impl ActionContext {
    /// A context with the given input, workspace and logger; no secrets, no template info, no
    /// user, unrestricted access, no services, not a dry run, not cancelled.
    pub fn new(input: Map<String, Value>, workspace: Workspace, logger: ActionLogger) -> Self {
        ActionContext {
            input,
            workspace,
            logger,
            template_info: TemplateInfo::default(),
            dry_run: false,
            cancel: CancellationToken::new(),
            user: None,
            access: Access::unrestricted(),
            services: ActionServices::default(),
            secrets: Secrets::new(),
            outputs: Map::new(),
        }
    }

    /// Sets the request secrets; their values are masked in the log from now on.
    pub fn with_secrets(mut self, secrets: Secrets) -> Self {
        for value in secrets.values() {
            self.logger.add_secret(value);
        }
        self.secrets = secrets;
        self
    }

    /// The request secrets.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// Sets the output `name` (`steps.<id>.output.<name>` in later steps).
    pub fn output(&mut self, name: impl Into<String>, value: Value) {
        self.outputs.insert(name.into(), value);
    }

    /// The outputs set so far.
    pub fn outputs(&self) -> &Map<String, Value> {
        &self.outputs
    }

    /// Takes the outputs, leaving none.
    pub fn take_outputs(&mut self) -> Map<String, Value> {
        std::mem::take(&mut self.outputs)
    }

    /// The user's entity reference, when known.
    pub fn user_ref(&self) -> Option<&str> {
        self.user.as_ref().map(|user| user.entity_ref.as_str())
    }
}

/// A plausible output for an action a dry run skips, made from its output schema as Backstage
/// does: the first of `examples` when given; objects from their properties, arrays from their
/// item schema, `"<example>"` for strings, `0` for numbers, `false` for booleans, `"<unknown>"`
/// otherwise.
pub fn example_output(schema: &Value) -> Value {
    if let Some(first) = schema.get("examples").and_then(Value::as_array).and_then(|items| items.first()) {
        return first.clone();
    }
    let items = || match schema.get("items") {
        Some(Value::Array(list)) => list.first(),
        other => other,
    };
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => Value::Object(
            schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|properties| {
                    properties.iter().map(|(key, property)| (key.clone(), example_output(property))).collect()
                })
                .unwrap_or_default(),
        ),
        Some("array") => Value::Array(items().map(example_output).into_iter().collect()),
        Some("string") => Value::String("<example>".to_owned()),
        Some("number" | "integer") => Value::from(0),
        Some("boolean") => Value::Bool(false),
        _ => Value::String("<unknown>".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn example_output_prefers_examples_then_types() {
        let schema = json!({
            "type": "object",
            "properties": {
                "remoteUrl": {"type": "string", "examples": ["https://git.example.com/acme/demo.git"]},
                "name": {"type": "string"},
                "count": {"type": "number"},
                "flag": {"type": "boolean"},
                "list": {"type": "array", "items": {"type": "string"}},
                "any": {},
            }
        });
        assert_eq!(
            example_output(&schema),
            json!({
                "remoteUrl": "https://git.example.com/acme/demo.git",
                "name": "<example>",
                "count": 0,
                "flag": false,
                "list": ["<example>"],
                "any": "<unknown>",
            })
        );
    }

    #[test]
    fn template_dir_is_the_folder_of_a_file_template() {
        let info = TemplateInfo {
            entity_ref: None,
            base_url: Some("file:///srv/templates/demo/template.yaml".into()),
        };
        assert_eq!(info.template_dir(), Some(PathBuf::from("/srv/templates/demo")));
        let remote = TemplateInfo { entity_ref: None, base_url: Some("https://example.com/t.yaml".into()) };
        assert_eq!(remote.template_dir(), None);
    }

    #[test]
    fn debug_output_never_shows_secret_values() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::open(dir.path(), crate::workspace::WorkspaceLimits::default()).unwrap();
        let logger = ActionLogger::new(Arc::new(MemoryLog::new()));
        let mut input = Map::new();
        input.insert("token".into(), Value::String("s3cr3t-value".into()));
        let ctx = ActionContext::new(input, workspace, logger)
            .with_secrets(Secrets::from([("TOKEN".to_owned(), "s3cr3t-value".to_owned())]));
        let shown = format!("{ctx:?}");
        assert!(shown.contains("TOKEN") && !shown.contains("s3cr3t-value"), "{shown}");
    }

    #[test]
    fn error_names_follow_backstage() {
        assert_eq!(ActionError::Input("x".into()).name(), "InputError");
        assert_eq!(
            ActionError::Workspace(WorkspaceError::OutsideParent { path: "../x".into() }).name(),
            "NotAllowedError"
        );
        assert_eq!(ActionError::Catalog(CatalogError::Conflict("x".into())).name(), "ConflictError");
        assert_eq!(ActionError::Failed("x".into()).name(), "Error");
    }
}
