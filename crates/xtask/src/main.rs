//! `cargo xtask <task>` — development automation with no dependencies beyond cargo.
//!
//! * `test`  — formatting check, clippy with warnings denied, then the whole test suite
//!   (cargo-nextest when installed, `cargo test` otherwise). This is the command CI runs.
//! * `bench` — the catalog benchmark against the real Backstage backend (see `bench/README.md`).

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let result = match task {
        "test" => test(&args[1..]),
        "bench" => run(
            "bash",
            &["bench/run.sh"]
                .iter()
                .map(|s| s.to_string())
                .chain(args[1..].iter().cloned())
                .collect::<Vec<_>>(),
        ),
        _ => {
            eprintln!("usage: cargo xtask test [test filters…] | cargo xtask bench [N…]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn test(filters: &[String]) -> Result<(), String> {
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--quiet", "--", "-D", "warnings"])?;
    let nextest =
        Command::new("cargo").args(["nextest", "--version"]).output().is_ok_and(|o| o.status.success());
    let mut args: Vec<&str> = if nextest {
        vec!["nextest", "run", "--workspace", "--no-fail-fast"]
    } else {
        vec!["test", "--workspace", "--no-fail-fast"]
    };
    args.extend(filters.iter().map(String::as_str));
    cargo(&args)
}

fn cargo(args: &[&str]) -> Result<(), String> {
    let owned: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    run("cargo", &owned)
}

fn run(program: &str, args: &[String]) -> Result<(), String> {
    eprintln!("$ {program} {}", args.join(" "));
    let status =
        Command::new(program).args(args).status().map_err(|e| format!("could not run {program}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`{program} {}` failed ({status})", args.join(" "))) }
}
