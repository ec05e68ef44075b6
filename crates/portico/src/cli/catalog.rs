//! `portico catalog …`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use portico_catalog::config::CatalogConfig;
use portico_catalog::engine::process::validate_file;
use portico_config::Config;
use portico_reading::Reader;

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Validate descriptor files offline, exactly as ingestion would; prints every problem as
    /// `file:line:column: message` and exits non-zero if there is any.
    Validate {
        /// Descriptor files (catalog-info.yaml and the like).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Configuration for the url allow-list and read limits (optional).
        #[arg(short, long = "config", value_name = "FILE")]
        configs: Vec<PathBuf>,
    },
}

pub async fn run(command: CatalogCommand) -> anyhow::Result<ExitCode> {
    match command {
        CatalogCommand::Validate { paths, configs } => {
            let config = if configs.is_empty() { Config::empty() } else { Config::load(&configs)? };
            let catalog = CatalogConfig::from_config(&config)?;
            let reader = Reader::new(catalog.reading_allow.clone(), catalog.read_limits());
            let mut problems = 0usize;
            for path in &paths {
                for problem in validate_file(path, &reader).await {
                    println!("{}", problem.display());
                    problems += 1;
                }
            }
            if problems == 0 {
                eprintln!("{} file(s) valid", paths.len());
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{problems} problem(s) in {} file(s)", paths.len());
                Ok(ExitCode::FAILURE)
            }
        }
    }
}
