//! `portico serve`

use std::process::ExitCode;

use portico_app::Portico;

use super::ConfigArgs;

pub async fn run(args: ConfigArgs) -> anyhow::Result<ExitCode> {
    let config = args.load()?;
    let app = Portico::default().build(config).await?;
    app.serve().await?;
    Ok(ExitCode::SUCCESS)
}
