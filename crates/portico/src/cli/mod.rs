//! Command definitions and dispatch.

mod audit;
mod catalog;
mod docs;
mod migrate;
mod search;
mod serve;
mod template;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use portico_config::Config;

/// Portico — a developer portal: software catalog, templates, docs and search in one binary.
#[derive(Debug, Parser)]
#[command(name = "portico", version, about)]
pub struct Cli {
    /// More log output (-v debug, -vv trace). `RUST_LOG` overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the portal: API and UI on backend.listen (default http://127.0.0.1:7007).
    Serve(ConfigArgs),
    /// Apply database migrations and exit.
    Migrate(ConfigArgs),
    /// Work with catalog descriptor files.
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
    /// Manage the search index.
    #[command(subcommand)]
    Search(search::SearchCommand),
    /// Build and preview TechDocs sites.
    #[command(subcommand)]
    Docs(docs::DocsCommand),
    /// Run software templates locally.
    #[command(subcommand)]
    Template(template::TemplateCommand),
    /// List the audit log: who changed what, when, and how it ended; newest first.
    Audit(audit::AuditArgs),
}

/// `--config FILE`, repeatable; later files override earlier ones.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Configuration file(s) in Backstage's app-config.yaml shape. Default: ./app-config.yaml.
    #[arg(short, long = "config", value_name = "FILE")]
    pub configs: Vec<PathBuf>,
}

impl ConfigArgs {
    /// Loads the given files, or `app-config.yaml` in the current folder.
    pub fn load(&self) -> anyhow::Result<Config> {
        let paths = if self.configs.is_empty() {
            vec![PathBuf::from("app-config.yaml")]
        } else {
            self.configs.clone()
        };
        if self.configs.is_empty() && !paths[0].exists() {
            anyhow::bail!(
                "no configuration: ./app-config.yaml does not exist. Run from the folder that has it, or pass --config FILE"
            );
        }
        Config::load(&paths).with_context(|| "could not load the configuration")
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Migrate(args) => migrate::run(args).await,
        Command::Catalog(command) => catalog::run(command).await,
        Command::Search(command) => search::run(command).await,
        Command::Docs(command) => docs::run(command).await,
        Command::Template(command) => template::run(command).await,
        Command::Audit(args) => audit::run(args).await,
    }
}

pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "info,sqlx=warn",
        1 => "debug,sqlx=warn,hyper=info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
