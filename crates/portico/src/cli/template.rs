//! `portico template …`

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use portico_model::yaml::{YamlLimits, parse_documents};
use portico_scaffolder::api::ActionRegistry;
use portico_scaffolder::runner::{TaskEvent, TaskEventSink, TaskEventType};
use portico_scaffolder::{ActionsConfig, RunOptions, TaskSpec, TaskStatus, Templater, Workspace, run_task};
use serde_json::{Value, json};

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Run a software template locally as a dry run: its files are rendered into OUTPUT;
    /// steps with effects elsewhere (publishing, registering) are skipped and reported.
    Run {
        /// The template file (template.yaml, kind Template, scaffolder.backstage.io/v1beta3).
        #[arg(value_name = "TEMPLATE")]
        template: PathBuf,
        /// The parameter values, a YAML or JSON object. Defaults of the template fill gaps.
        #[arg(long, value_name = "VALUES")]
        values: Option<PathBuf>,
        /// An empty or new folder for the rendered files.
        #[arg(short, long, value_name = "OUTPUT")]
        output: PathBuf,
    },
}

pub async fn run(command: TemplateCommand) -> anyhow::Result<ExitCode> {
    match command {
        TemplateCommand::Run { template, values, output } => {
            run_template(&template, values.as_deref(), &output).await
        }
    }
}

/// The first document of a YAML (or JSON) file.
fn read_yaml(path: &Path, what: &str) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the {what} {}", path.display()))?;
    match parse_documents(&text, &YamlLimits::default()).into_iter().next() {
        Some(Ok(document)) => Ok(document.value),
        Some(Err(problem)) => anyhow::bail!("{}: {}", path.display(), problem.message),
        None => anyhow::bail!("{} is empty", path.display()),
    }
}

async fn run_template(
    template_path: &Path,
    values_path: Option<&Path>,
    output: &Path,
) -> anyhow::Result<ExitCode> {
    let template = read_yaml(template_path, "template")?;
    if template.get("kind").and_then(Value::as_str) != Some("Template") {
        eprintln!("error: {} is not a Template (kind: Template)", template_path.display());
        return Ok(ExitCode::FAILURE);
    }
    let values = match values_path {
        Some(path) => read_yaml(path, "values file")?,
        None => json!({}),
    };
    if !values.is_object() {
        eprintln!("error: the values file must hold an object of parameter values");
        return Ok(ExitCode::FAILURE);
    }
    let pages = portico_scaffolder::template::parameter_pages(&template);
    let values = portico_scaffolder::parameters::values_with_defaults(&pages, &values);
    if let Err(errors) = portico_scaffolder::parameters::validate_values(&pages, &values) {
        eprintln!("error: the values do not fit the template's parameters:");
        for error in errors {
            eprintln!("  {}", error.stack);
        }
        return Ok(ExitCode::FAILURE);
    }
    if output.exists()
        && std::fs::read_dir(output).map(|mut entries| entries.next().is_some()).unwrap_or(true)
    {
        eprintln!("error: {} is not an empty folder; choose a new or empty one", output.display());
        return Ok(ExitCode::FAILURE);
    }
    std::fs::create_dir_all(output).with_context(|| format!("could not create {}", output.display()))?;
    let output = output.canonicalize()?;
    let template_file = template_path.canonicalize()?;

    let mut spec = match TaskSpec::from_template("local-run", &template, values) {
        Ok(spec) => spec,
        Err(error) => {
            eprintln!("error: {}: {error}", template_path.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    spec.template_info.base_url = url::Url::from_file_path(&template_file).ok().map(|url| url.to_string());
    let config = ActionsConfig::default();
    let registry = ActionRegistry::with_builtins(&config)?;
    let workspace = Workspace::open(&output, config.workspace_limits)?;
    let options = RunOptions {
        dry_run: true,
        templater: Arc::new(Templater::new(config.integrations.clone())),
        ..RunOptions::default()
    };
    let progress =
        Arc::new(Progress { steps: spec.steps.iter().map(|s| (s.id.clone(), s.name.clone())).collect() });
    let result = run_task(&spec, &registry, workspace, progress, options).await;

    let files = result.files.as_ref().map_or(0, Vec::len);
    match result.status {
        TaskStatus::Completed => {
            eprintln!("✓ {files} files written to {}", output.display());
            if let Some(output) = result.output.filter(|o| o.as_object().is_some_and(|o| !o.is_empty())) {
                println!("{}", serde_json::to_string_pretty(&output)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            let message = result.error.map(|e| format!("{}: {}", e.name, e.message)).unwrap_or_default();
            eprintln!("✗ the template failed: {message}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Prints a task's progress as it runs: one line per step state, action logs indented.
struct Progress {
    steps: Vec<(String, String)>,
}

impl TaskEventSink for Progress {
    fn emit(&self, event: TaskEvent) {
        if event.event_type != TaskEventType::Log {
            return;
        }
        let body = &event.body;
        let mut err = std::io::stderr().lock();
        let position = body
            .step_id
            .as_ref()
            .and_then(|id| self.steps.iter().position(|(step, _)| step == id))
            .map(|index| format!("[{}/{}]", index + 1, self.steps.len()))
            .unwrap_or_default();
        let line = match (body.step_id.as_ref(), body.status.map(|s| s.as_str())) {
            (None, _) => format!("{}\n", body.message),
            (Some(_), Some("processing")) => format!("{position} {}\n", body.message),
            (Some(_), Some("completed")) => format!("{position} ✓ {}\n", body.message),
            (Some(_), Some("skipped")) => format!("{position} – {}\n", body.message),
            (Some(_), Some(_)) => format!("{position} ✗ {}\n", body.message),
            (Some(_), None) => body.message.lines().map(|line| format!("      {line}\n")).collect(),
        };
        let _ = err.write_all(line.as_bytes());
    }
}
