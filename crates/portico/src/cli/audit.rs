//! `portico audit`: the audit log of the configured database, newest first.

use std::io::Write;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use portico_app::audit::{AuditFilters, entry_json, iso_time};
use portico_config::backend::BackendConfig;

use super::ConfigArgs;

/// What to list.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Only entries of this actor, e.g. user:default/jane.
    #[arg(long, value_name = "REF")]
    pub actor: Option<String>,
    /// Only this action (catalog.location.create), or every action under a prefix ending in
    /// `*` (catalog.*).
    #[arg(long)]
    pub action: Option<String>,
    /// Only entries whose target contains this text.
    #[arg(long, value_name = "TEXT")]
    pub target: Option<String>,
    /// Only entries that ended this way: succeeded, failed or denied.
    #[arg(long)]
    pub outcome: Option<String>,
    /// Only entries since then: an age (30m, 1h, 7d), a date (2026-11-01) or a UTC time
    /// (2026-11-01T09:30:00Z).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only entries before then, written like --since.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// At most this many entries (the newest).
    #[arg(long, default_value_t = 100)]
    pub limit: u64,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let backend = BackendConfig::from_config(&config)?;
    let filters = AuditFilters {
        actor: args.actor.unwrap_or_default(),
        action: args.action.unwrap_or_default(),
        target: args.target.unwrap_or_default(),
        outcome: args.outcome.unwrap_or_default(),
        since: args.since.unwrap_or_default(),
        until: args.until.unwrap_or_default(),
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let mut query = filters.to_query(now).map_err(anyhow::Error::msg)?;
    query.limit = Some(args.limit);
    let stores = portico_app::open_stores(&backend.database).await?;
    let (entries, total) = stores.audit.list(&query).await.context("could not read the audit log")?;

    let mut out = std::io::stdout().lock();
    if args.json {
        for entry in &entries {
            writeln!(out, "{}", entry_json(entry))?;
        }
    } else {
        let rows: Vec<[String; 5]> = entries
            .iter()
            .map(|entry| {
                [
                    iso_time(entry.at),
                    printable(&entry.actor),
                    printable(&entry.action),
                    printable(&entry.target),
                    entry.outcome.as_str().to_owned(),
                ]
            })
            .collect();
        if !rows.is_empty() {
            write_table(&mut out, ["TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME"], &rows)?;
        }
    }
    out.flush()?;
    if entries.is_empty() {
        eprintln!("no audit entries match");
    } else if total > entries.len() as u64 {
        eprintln!("showing the newest {} of {total} entries (--limit)", entries.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// Text safe to print on a terminal: control characters (escape sequences a hostile target
/// could carry) are shown escaped instead of acted upon.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() })
        .collect()
}

/// Left-aligned columns, two spaces apart, the last one not padded.
fn write_table(out: &mut impl Write, header: [&str; 5], rows: &[[String; 5]]) -> std::io::Result<()> {
    let mut widths = header.map(|title| title.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: [&str; 5]| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, header)?;
    for row in rows {
        line(out, row.each_ref().map(String::as_str))?;
    }
    Ok(())
}
