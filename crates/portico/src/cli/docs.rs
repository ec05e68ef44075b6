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
    /// Preview the docs of a folder with mkdocs.yml in the portal's reader on localhost; pages
    /// rebuild and reload in the browser when a file is saved.
    Serve {
        /// The folder holding mkdocs.yml (or mkdocs.yaml).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The port to listen on (127.0.0.1).
        #[arg(short, long, default_value_t = 7008)]
        port: u16,
    },
}

pub async fn run(command: DocsCommand) -> anyhow::Result<ExitCode> {
    match command {
        DocsCommand::Build { dir, output, max_page_bytes, full } => build(dir, output, max_page_bytes, full),
        DocsCommand::Serve { dir, port } => serve(dir, port).await,
    }
}

/// Runs the portal with one catalog entity whose docs are `dir`, on an in-memory database,
/// checking the sources every half second.
async fn serve(dir: PathBuf, port: u16) -> anyhow::Result<ExitCode> {
    let dir = match dir.canonicalize() {
        Ok(dir) if dir.is_dir() => dir,
        _ => {
            eprintln!("error: {} is not a folder; give the folder that holds mkdocs.yml", dir.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    if !["mkdocs.yml", "mkdocs.yaml"].iter().any(|name| dir.join(name).is_file()) {
        eprintln!("error: {} has no mkdocs.yml (or mkdocs.yaml)", dir.display());
        return Ok(ExitCode::FAILURE);
    }
    let name = preview_name(&dir);
    let scratch = tempfile::Builder::new().prefix("portico-docs-preview").tempdir()?;
    // The descriptor lives outside the docs folder; its source-location points at the folder,
    // which is what `dir:.` resolves against.
    let descriptor = serde_json::json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": name,
            "annotations": {
                "backstage.io/techdocs-ref": "dir:.",
                "backstage.io/source-location": format!("file:{}/", dir.display()),
            },
        },
        "spec": { "type": "documentation", "lifecycle": "preview", "owner": "guest" },
    });
    std::fs::write(scratch.path().join("catalog-info.yaml"), descriptor.to_string())?;
    let base_url = format!("http://127.0.0.1:{port}");
    let config_json = serde_json::json!({
        "app": { "title": "Docs preview", "baseUrl": base_url },
        "backend": {
            "baseUrl": base_url,
            "listen": { "host": "127.0.0.1", "port": port },
            "database": { "client": "better-sqlite3", "connection": ":memory:" },
        },
        "catalog": {
            "rules": [{ "allow": ["Component", "Location"] }],
            "locations": [{ "type": "file", "target": scratch.path().join("catalog-info.yaml").display().to_string() }],
        },
        "techdocs": { "checkInterval": "500ms", "liveReload": true },
    });
    let config = portico_config::Config::from_yaml_str(&config_json.to_string(), scratch.path(), &|_| None)?;
    let app = portico_app::Portico::default().build(config).await?;
    app.settle().await;
    println!("previewing {} at {base_url}/docs/default/component/{name}/ (Ctrl-C to stop)", dir.display());
    app.serve().await?;
    Ok(ExitCode::SUCCESS)
}

/// An entity name from the folder's name (letters, digits, `-`, `_`, `.`).
fn preview_name(dir: &std::path::Path) -> String {
    let raw = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let cleaned: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let trimmed =
        cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric()).chars().take(63).collect::<String>();
    if trimmed.is_empty() { "docs".to_owned() } else { trimmed }
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
