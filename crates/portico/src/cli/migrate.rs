//! `portico migrate`

use std::process::ExitCode;

use portico_config::backend::BackendConfig;

use super::ConfigArgs;

pub async fn run(args: ConfigArgs) -> anyhow::Result<ExitCode> {
    let config = args.load()?;
    let backend = BackendConfig::from_config(&config)?;
    portico_app::migrate(&backend.database).await?;
    tracing::info!("migrations applied");
    Ok(ExitCode::SUCCESS)
}
