//! `portico docs …`

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use portico_techdocs::{BuildOptions, build_site_with_progress};

#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Build the TechDocs site of a folder with mkdocs.yml into HTML fragments, metadata and a
    /// search index, without MkDocs.
    Build {
        /// The folder holding mkdocs.yml (or mkdocs.yaml).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Where the site is written.
        #[arg(short, long, value_name = "OUT")]
        output: PathBuf,
        /// Pages larger than this many bytes get a placeholder instead of being rendered.
        #[arg(long, value_name = "BYTES", default_value_t = portico_techdocs::build::DEFAULT_MAX_PAGE_BYTES)]
        max_page_bytes: u64,
        /// Render every page, even those unchanged since the previous build in OUT.
        #[arg(long)]
        full: bool,
    },
}

pub fn run(command: DocsCommand) -> anyhow::Result<ExitCode> {
    match command {
        DocsCommand::Build { dir, output, max_page_bytes, full } => build(dir, output, max_page_bytes, full),
    }
}

fn build(dir: PathBuf, output: PathBuf, max_page_bytes: u64, full: bool) -> anyhow::Result<ExitCode> {
    let options = BuildOptions { max_page_bytes, incremental: !full, ..BuildOptions::default() };
    let mut stderr = std::io::stderr();
    let mut progress = |done: usize, total: usize| {
        // Progress is best effort: a closed stderr must not fail the build.
        let _ = write!(stderr, "\rbuilding pages: {done}/{total}");
        if done == total {
            let _ = writeln!(stderr);
        }
    };
    let report = match build_site_with_progress(&dir, &output, &options, &mut progress) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {}: {error}", dir.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    println!(
        "built {} pages of '{}' into {} in {} ms ({} rendered, {} unchanged, {} warnings)",
        report.pages.len(),
        report.site_name,
        output.display(),
        report.took.as_millis(),
        report.rendered,
        report.reused,
        report.warnings.len()
    );
    Ok(ExitCode::SUCCESS)
}
