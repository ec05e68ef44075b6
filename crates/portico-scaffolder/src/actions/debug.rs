//! `debug:log` and `debug:wait`: tools for writing and testing templates.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use walkdir::WalkDir;

use super::{blocking, is_binary, relative_text};
use crate::api::{Action, ActionContext, ActionError, ActionSchema};
use crate::workspace::Workspace;

/// Contents longer than this are cut in a `with-contents` listing.
const LISTED_CONTENTS_LIMIT: usize = 64 * 1024;

/// `debug:log`: writes a message, and optionally the workspace listing, into the log.
#[derive(Debug, Clone, Copy, Default)]
pub struct DebugLogAction;

/// What `listWorkspace` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    None,
    Names,
    Contents,
}

fn listing(value: Option<&Value>) -> Result<Listing, ActionError> {
    match value {
        None | Some(Value::Null | Value::Bool(false)) => Ok(Listing::None),
        Some(Value::Bool(true)) => Ok(Listing::Names),
        Some(Value::String(mode)) if mode == "with-filenames" => Ok(Listing::Names),
        Some(Value::String(mode)) if mode == "with-contents" => Ok(Listing::Contents),
        Some(other) => Err(ActionError::Input(format!(
            "Invalid input passed to action debug:log, listWorkspace must be a boolean, \"with-filenames\" or \"with-contents\", got {other}"
        ))),
    }
}

/// `Workspace:` followed by one `  - path` line per file (links listed, never followed); with
/// contents, each text file's lines follow its name, indented.
fn list_workspace(workspace: &Workspace, listing: Listing) -> Result<String, ActionError> {
    let mut text = String::from("Workspace:");
    for entry in WalkDir::new(workspace.root()).follow_links(false).min_depth(1).sort_by_file_name() {
        let entry =
            entry.map_err(|error| ActionError::Failed(format!("Could not list the workspace: {error}")))?;
        if entry.file_type().is_dir() {
            continue;
        }
        let path = relative_text(workspace.root(), entry.path())?;
        text.push_str(&format!("\n  - {path}"));
        if listing != Listing::Contents || !entry.file_type().is_file() {
            continue;
        }
        let contents = std::fs::read(entry.path())
            .map_err(|error| ActionError::Failed(format!("Could not read {path}: {error}")))?;
        if is_binary(&contents) {
            text.push_str(&format!("\n    (binary, {} bytes)", contents.len()));
            continue;
        }
        let shown = &contents[..contents.len().min(LISTED_CONTENTS_LIMIT)];
        for line in String::from_utf8_lossy(shown).lines() {
            text.push_str("\n    ");
            text.push_str(line);
        }
        if contents.len() > LISTED_CONTENTS_LIMIT {
            text.push_str(&format!("\n    (cut after {LISTED_CONTENTS_LIMIT} of {} bytes)", contents.len()));
        }
    }
    Ok(text)
}

#[async_trait]
impl Action for DebugLogAction {
    fn id(&self) -> &str {
        "debug:log"
    }

    fn description(&self) -> &str {
        "Writes a message into the log or lists all files in the workspace."
    }

    fn schema(&self) -> ActionSchema {
        ActionSchema {
            input: json!({
                "type": "object",
                "properties": {
                    "message": {"title": "Message to output.", "type": "string"},
                    "listWorkspace": {
                        "title": "List all files in the workspace, if true.",
                        "description": "`true` or `with-filenames` lists the files, `with-contents` also shows what they hold.",
                        "type": ["boolean", "string"],
                        "enum": [true, false, "with-filenames", "with-contents"],
                    },
                    "extra": {"title": "Extra info"},
                },
            }),
            output: json!({"type": "object", "properties": {}}),
        }
    }

    fn supports_dry_run(&self) -> bool {
        true
    }

    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let listing = listing(ctx.input.get("listWorkspace"))?;
        let input = serde_json::to_string_pretty(&ctx.input).unwrap_or_default();
        ctx.logger.info(input);
        match ctx.input.get("message") {
            None | Some(Value::Null) => {}
            Some(Value::String(message)) => ctx.logger.info(message),
            Some(other) => ctx.logger.info(other.to_string()),
        }
        if listing != Listing::None {
            let workspace = ctx.workspace.clone();
            let text = blocking(move || list_workspace(&workspace, listing)).await?;
            ctx.logger.info(text);
        }
        Ok(())
    }
}

/// `debug:wait`: sleeps for a while (bounded), returning early with an error when the task is
/// cancelled.
#[derive(Debug, Clone, Copy)]
pub struct DebugWaitAction {
    max_wait: Duration,
}

impl DebugWaitAction {
    /// The action, refusing waits longer than `max_wait`.
    pub fn new(max_wait: Duration) -> Self {
        DebugWaitAction { max_wait }
    }
}

impl Default for DebugWaitAction {
    /// At most 30 seconds, as in Backstage.
    fn default() -> Self {
        DebugWaitAction::new(Duration::from_secs(30))
    }
}

/// A duration in words, in its largest whole unit (`30 seconds`, `2 minutes`).
fn human_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    let (amount, unit) = if millis.is_multiple_of(60_000) && millis > 0 {
        (millis / 60_000, "minute")
    } else if millis.is_multiple_of(1000) && millis > 0 {
        (millis / 1000, "second")
    } else {
        (millis, "millisecond")
    };
    format!("{amount} {unit}{}", if amount == 1 { "" } else { "s" })
}

/// The wait asked for: the sum of `minutes`, `seconds` and `milliseconds`.
fn requested_wait(input: &serde_json::Map<String, Value>) -> Result<Duration, ActionError> {
    let mut millis = 0.0;
    for (key, factor) in [("minutes", 60_000.0), ("seconds", 1000.0), ("milliseconds", 1.0)] {
        match input.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Number(number)) => match number.as_f64() {
                Some(amount) if amount >= 0.0 && amount.is_finite() => millis += amount * factor,
                _ => {
                    return Err(ActionError::Input(format!(
                        "Invalid input passed to action debug:wait, {key} must be a non-negative number"
                    )));
                }
            },
            Some(_) => {
                return Err(ActionError::Input(format!(
                    "Invalid input passed to action debug:wait, {key} is not of a type(s) number"
                )));
            }
        }
    }
    Duration::try_from_secs_f64(millis / 1000.0)
        .map_err(|error| ActionError::Input(format!("Invalid input passed to action debug:wait, {error}")))
}

#[async_trait]
impl Action for DebugWaitAction {
    fn id(&self) -> &str {
        "debug:wait"
    }

    fn description(&self) -> &str {
        "Waits for a certain period of time."
    }

    fn schema(&self) -> ActionSchema {
        ActionSchema {
            input: json!({
                "type": "object",
                "properties": {
                    "minutes": {"title": "Waiting period in minutes.", "type": "number"},
                    "seconds": {"title": "Waiting period in seconds.", "type": "number"},
                    "milliseconds": {"title": "Waiting period in milliseconds.", "type": "number"},
                },
            }),
            output: json!({"type": "object", "properties": {}}),
        }
    }

    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let wait = requested_wait(&ctx.input)?;
        if wait > self.max_wait {
            return Err(ActionError::Failed(format!(
                "Waiting duration is longer than the maximum threshold of {}",
                human_duration(self.max_wait)
            )));
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => Ok(()),
            () = ctx.cancel.cancelled() => Err(ActionError::Cancelled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_largest_unit() {
        assert_eq!(human_duration(Duration::from_secs(30)), "30 seconds");
        assert_eq!(human_duration(Duration::from_secs(120)), "2 minutes");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1500 milliseconds");
        assert_eq!(human_duration(Duration::from_secs(1)), "1 second");
    }

    #[test]
    fn wait_sums_units_and_refuses_negative_values() {
        let input = json!({"minutes": 1, "seconds": 2.5, "milliseconds": 10});
        let Value::Object(input) = input else { unreachable!() };
        assert_eq!(requested_wait(&input).unwrap(), Duration::from_millis(62_510));
        let Value::Object(negative) = json!({"seconds": -1}) else { unreachable!() };
        assert!(requested_wait(&negative).is_err());
    }
}
