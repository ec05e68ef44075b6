//! `portico search …`

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use portico_config::backend::BackendConfig;
use portico_plugin::{PluginContext, Shutdown};
use portico_search::{IndexLocation, Indexer, SearchConfig, SearchPlugin};

use super::ConfigArgs;

#[derive(Debug, Subcommand)]
pub enum SearchCommand {
    /// Rebuild the search index from the store. A running server keeps answering from the old
    /// index until the new one is complete, then switches to it.
    Reindex(ConfigArgs),
}

pub async fn run(command: SearchCommand) -> anyhow::Result<ExitCode> {
    match command {
        SearchCommand::Reindex(args) => reindex(args).await,
    }
}

async fn reindex(args: ConfigArgs) -> anyhow::Result<ExitCode> {
    let config = args.load()?;
    let backend = BackendConfig::from_config(&config)?;
    let search = SearchConfig::from_config(&config)?;
    if search.location == IndexLocation::Memory {
        anyhow::bail!(
            "the search index lives in memory with an in-memory database; there is nothing on disk to rebuild"
        );
    }
    let stores = portico_app::open_stores(&backend.database).await?;
    let (_stop, shutdown) = Shutdown::new();
    let cx = PluginContext {
        config: Arc::new(config),
        catalog_store: stores.catalog,
        user_data: stores.user_data,
        task_store: stores.tasks,
        audit: stores.audit,
        signing_keys: stores.signing_keys,
        permissions: portico_plugin::Permissions::allow_all(),
        backlog: portico_plugin::Backlog::default(),
        shutdown,
    };
    let collators = SearchPlugin::default().collators(&cx).map_err(anyhow::Error::msg)?;
    let mut indexer =
        Indexer::open(search.location.clone(), collators).await.context("could not open the search index")?;
    let started = Instant::now();
    let progress = |done: u64, total: u64| {
        let percent = (done * 100).checked_div(total).unwrap_or(100).min(100);
        let filled = (percent / 5) as usize;
        let mut err = std::io::stderr();
        let _ = write!(err, "\r[{}{}] {done}/{total} documents", "#".repeat(filled), " ".repeat(20 - filled));
        let _ = err.flush();
    };
    let count = indexer.reindex(Some(&progress)).await.context("rebuilding the search index failed")?;
    eprintln!();
    eprintln!("indexed {count} documents in {:.1} s", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}
