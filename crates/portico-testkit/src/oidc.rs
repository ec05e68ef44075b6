//! A real OpenID Connect provider for sign-in tests: the `oidc-provider` package run by node
//! (`compat/oidc-provider/server.mjs`). Needs `npm ci --prefix compat/oidc-provider --no-audit
//! --no-fund` (CI runs it).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// `server.mjs` running in a node process, ended when dropped.
pub struct OidcProvider {
    /// The provider's issuer URL (`http://localhost:<port>`).
    pub issuer: String,
    _process: tokio::process::Child,
}

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../compat/oidc-provider")
}

fn installed() -> bool {
    provider_dir().join("node_modules/oidc-provider/package.json").is_file()
}

fn node_runs() -> bool {
    std::process::Command::new("node").arg("--version").output().is_ok_and(|output| output.status.success())
}

impl OidcProvider {
    /// Whether the provider cannot run here (no `node`, or its package not installed); says so,
    /// for tests that then pass like the other npm-backed checks.
    pub fn missing() -> bool {
        let missing = !installed() || !node_runs();
        if missing {
            eprintln!(
                "skipped: the OpenID Connect provider these tests sign in with cannot run here; install \
                 Node.js 20+ and run `npm ci --prefix compat/oidc-provider --no-audit --no-fund`"
            );
        }
        missing
    }

    /// The provider with one client (`client_id`, `client_secret`) sending browsers back to
    /// `redirect_uri`; `args` are further options of server.mjs. Fails saying what to install
    /// when the provider cannot run.
    pub async fn start(
        redirect_uri: &str,
        client_id: &str,
        client_secret: &str,
        args: &[&str],
    ) -> OidcProvider {
        assert!(
            installed(),
            "the OpenID Connect provider these tests sign in with is not installed: run \
             `npm ci --prefix compat/oidc-provider --no-audit --no-fund` in the repository root"
        );
        assert!(
            node_runs(),
            "`node` (20 or later) runs the OpenID Connect provider of these tests; install Node.js"
        );
        // node can stall at start-up on a loaded machine: a provider that prints nothing in
        // time is replaced once before the test gives up, and both attempts are reported.
        let mut failures = Vec::new();
        for _ in 0..2 {
            match spawn(redirect_uri, client_id, client_secret, args).await {
                Ok(provider) => return provider,
                Err(failure) => failures.push(failure),
            }
        }
        panic!("the OpenID Connect provider did not start:\n{}", failures.join("\n"));
    }
}

/// Starts server.mjs and waits (at most 30 s) for its `listening <issuer>` line; `Err` says
/// what went wrong, with what the process wrote to stderr.
async fn spawn(
    redirect_uri: &str,
    client_id: &str,
    client_secret: &str,
    args: &[&str],
) -> Result<OidcProvider, String> {
    let dir = provider_dir();
    let mut process = tokio::process::Command::new("node")
        .arg(dir.join("server.mjs"))
        .args(["--redirect-uri", redirect_uri, "--client-id", client_id, "--client-secret", client_secret])
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("node could not be started: {error}"))?;
    let mut stdout = BufReader::new(process.stdout.take().expect("stdout")).lines();
    let mut stderr = process.stderr.take().expect("stderr");
    let first = tokio::time::timeout(Duration::from_secs(30), stdout.next_line()).await;
    let issuer = match &first {
        Ok(Ok(Some(line))) => line.strip_prefix("listening ").map(str::to_owned),
        _ => None,
    };
    let Some(issuer) = issuer else {
        let _ = process.start_kill();
        let mut errors = String::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stderr.read_to_string(&mut errors)).await;
        let what = match first {
            Err(_) => "no output within 30 seconds".to_owned(),
            Ok(line) => format!("first output {line:?}"),
        };
        return Err(format!("{what}; stderr: {errors}"));
    };
    // Keep reading, so that the provider never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
    tokio::spawn(async move { tokio::io::copy(&mut stderr, &mut tokio::io::sink()).await });
    Ok(OidcProvider { issuer, _process: process })
}
