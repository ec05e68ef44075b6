//! The `portico` command line. Module layout mirrors the command tree.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// jemalloc keeps the process's memory close to what it uses (glibc's per-thread arenas held
/// twice the catalog's peak); its settings are in `.cargo/config.toml`. It also replaces the C
/// library's `malloc` (the crate's `unprefixed_malloc_on_supported_platforms` feature), so
/// SQLite's page caches and statements, which would otherwise sit in one glibc arena per
/// connection thread, share its arenas too: 6–10 MiB less at 10,000 entities.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(args.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
