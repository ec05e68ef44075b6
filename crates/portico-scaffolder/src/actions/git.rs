//! `publish:git`: commits the workspace (or a folder of it) and pushes it to any git remote,
//! with the `git` command line.
//!
//! Git runs with a cleared environment, no system or user configuration, no hooks, no
//! credential helpers, no prompts, no redirects and only the `file`, `http` and `https`
//! transports. Its repository lives in a temporary folder outside the workspace, so files a
//! template put under `.git` are never read as configuration. Credentials come from the
//! `integrations` configuration and travel in an `Authorization` header set through the
//! environment: never in the URL, never on the command line, never in the log.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::parse_input;
use crate::api::{Action, ActionContext, ActionError, ActionLogger, ActionSchema};
use crate::config::ActionsConfig;

/// `publish:git`: initialises a repository from the workspace, commits and pushes it.
#[derive(Debug, Clone)]
pub struct PublishGitAction {
    config: ActionsConfig,
}

impl PublishGitAction {
    /// The action, with the default author, commit message, credentials and limits of `config`.
    pub fn new(config: ActionsConfig) -> Self {
        PublishGitAction { config }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublishInput {
    remote_url: String,
    default_branch: Option<String>,
    source_path: Option<String>,
    git_commit_message: Option<String>,
    git_author_name: Option<String>,
    git_author_email: Option<String>,
}

/// Where to push.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Remote {
    /// A repository served over HTTP(S).
    Http(Url),
    /// A repository on this machine.
    Local(PathBuf),
}

impl Remote {
    fn parse(text: &str) -> Result<Remote, ActionError> {
        let unsupported = |why: &str| {
            ActionError::Input(format!(
                "Unsupported remoteUrl {text}: {why}; use an http(s) URL, a file:// URL or an absolute path"
            ))
        };
        if text.starts_with('/') {
            return Ok(Remote::Local(PathBuf::from(text)));
        }
        let url = Url::parse(text).map_err(|error| unsupported(&error.to_string()))?;
        match url.scheme() {
            "http" | "https" => {
                if !url.username().is_empty() || url.password().is_some() {
                    return Err(ActionError::Input(format!(
                        "remoteUrl must not contain credentials; configure them for {} under integrations",
                        url.host_str().unwrap_or_default()
                    )));
                }
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(unsupported("it has no host"));
                }
                Ok(Remote::Http(url))
            }
            "file" => url
                .to_file_path()
                .map(Remote::Local)
                .map_err(|()| unsupported("it is not a local absolute path")),
            scheme => Err(unsupported(&format!("the {scheme} transport is not supported"))),
        }
    }

    /// What git is given as the repository to push to.
    fn git_argument(&self) -> OsString {
        match self {
            Remote::Http(url) => OsString::from(url.as_str()),
            Remote::Local(path) => path.clone().into_os_string(),
        }
    }

    /// `host[:port]` of an HTTP remote, for the credential lookup.
    fn host(&self) -> Option<String> {
        let Remote::Http(url) = self else {
            return None;
        };
        let host = url.host_str()?;
        Some(match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        })
    }

    /// The `remoteUrl` output: the URL as given for HTTP, a `file://` URL for local paths.
    fn remote_url(&self, given: &str) -> String {
        match self {
            Remote::Http(_) => given.to_owned(),
            Remote::Local(path) => Url::from_file_path(path).map_or_else(|()| given.to_owned(), String::from),
        }
    }

    /// The `repoContentsUrl` output: `<remote without .git>/tree/<branch>` for HTTP, the
    /// `file://` URL with `?ref=<branch>` for local repositories.
    fn repo_contents_url(&self, given: &str, branch: &str) -> String {
        match self {
            Remote::Http(url) => {
                let mut base = url.clone();
                base.set_query(None);
                base.set_fragment(None);
                let text = base.to_string();
                let trimmed = text.trim_end_matches('/');
                let trimmed = trimmed.strip_suffix(".git").unwrap_or(trimmed);
                format!("{trimmed}/tree/{branch}")
            }
            Remote::Local(path) => match Url::from_file_path(path) {
                Ok(mut url) => {
                    url.query_pairs_mut().append_pair("ref", branch);
                    url.to_string()
                }
                Err(()) => format!("{given}?ref={branch}"),
            },
        }
    }
}

/// Options every git command runs with (see the module documentation).
const HARDENING: &[&str] = &[
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "credential.helper=",
    "protocol.allow=never",
    "protocol.file.allow=always",
    "protocol.http.allow=always",
    "protocol.https.allow=always",
    "http.followRedirects=false",
    "commit.gpgSign=false",
    "advice.detachedHead=false",
];

/// One configured git invocation context: a private repository folder and home, the work
/// tree, and how to log, cancel and time out.
struct Git<'a> {
    git_dir: PathBuf,
    home: PathBuf,
    /// The files to commit; `None` for commands without a work tree (`init --bare`).
    work_tree: Option<PathBuf>,
    logger: &'a ActionLogger,
    cancel: &'a CancellationToken,
    timeout: Duration,
}

/// Creates the bare repository a local remote names when it does not exist yet, as a hosting
/// service creates the repository a `publish:*` action pushes to.
async fn create_bare_repository(path: &Path, branch: &str, git: &Git<'_>) -> Result<(), ActionError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|error| {
            ActionError::Failed(format!("Could not create the folder {}: {error}", parent.display()))
        })?;
    }
    let creator = Git {
        git_dir: path.to_path_buf(),
        home: git.home.clone(),
        work_tree: None,
        logger: git.logger,
        cancel: git.cancel,
        timeout: git.timeout,
    };
    let initial_branch = format!("--initial-branch={branch}");
    creator.run(&args(["init", "--bare", "--quiet", "--template=", &initial_branch]), &[]).await?;
    git.logger.info(format!("Created the bare repository {}", path.display()));
    Ok(())
}

impl Git<'_> {
    /// Runs `git <args>`; `env` is added to the cleared environment. Output lines are logged,
    /// masked; a failure carries git's (masked) error text.
    async fn run(&self, args: &[OsString], env: &[(String, String)]) -> Result<String, ActionError> {
        let shown = args.iter().map(|arg| arg.to_string_lossy()).collect::<Vec<_>>().join(" ");
        self.logger.info(format!("git {shown}"));
        let mut command = Command::new("git");
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin")))
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_DIR", &self.git_dir)
            .env("LC_ALL", "C")
            .envs(env.iter().map(|(key, value)| (key, value)))
            .current_dir(self.work_tree.as_ref().unwrap_or(&self.home))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for option in HARDENING {
            command.arg("-c").arg(option);
        }
        if let Some(work_tree) = &self.work_tree {
            command.env("GIT_WORK_TREE", work_tree);
        }
        command.args(args);
        let child = command.spawn().map_err(|error| {
            ActionError::Failed(format!(
                "Could not run git (publish:git needs the git command line): {error}"
            ))
        })?;
        // Dropping the wait (on cancel or timeout) kills git.
        let output = tokio::select! {
            result = tokio::time::timeout(self.timeout, child.wait_with_output()) => match result {
                Ok(Ok(output)) => output,
                Ok(Err(error)) => return Err(ActionError::Failed(format!("git {shown} failed: {error}"))),
                Err(_) => {
                    return Err(ActionError::Failed(format!(
                        "git {shown} did not finish within {} seconds",
                        self.timeout.as_secs()
                    )));
                }
            },
            () = self.cancel.cancelled() => return Err(ActionError::Cancelled),
        };
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        for line in stdout.lines().chain(stderr.lines()).filter(|line| !line.trim().is_empty()) {
            self.logger.info(line);
        }
        if !output.status.success() {
            let reason = stderr.trim();
            let reason = if reason.is_empty() { output.status.to_string() } else { reason.to_owned() };
            return Err(ActionError::Failed(self.logger.mask(&format!("git {shown} failed: {reason}"))));
        }
        Ok(stdout)
    }
}

fn args<const N: usize>(items: [&str; N]) -> Vec<OsString> {
    items.into_iter().map(OsString::from).collect()
}

/// `-c user.name=… -c user.email=…` followed by `rest`.
fn with_identity(name: &str, email: &str, rest: &[&str]) -> Vec<OsString> {
    let mut all = vec![
        OsString::from("-c"),
        OsString::from(format!("user.name={name}")),
        OsString::from("-c"),
        OsString::from(format!("user.email={email}")),
    ];
    all.extend(rest.iter().map(OsString::from));
    all
}

/// Refuses branch names git would read as options or that are not valid branch names.
async fn check_branch(git: &Git<'_>, branch: &str) -> Result<(), ActionError> {
    let invalid =
        || ActionError::Input(format!("Invalid defaultBranch {branch:?}: not a valid git branch name"));
    if branch.is_empty() || branch.starts_with('-') {
        return Err(invalid());
    }
    git.run(&args(["check-ref-format", "--branch", branch]), &[]).await.map_err(|_| invalid())?;
    Ok(())
}

/// The `Authorization` header for the remote's host as git configuration in the environment,
/// with its secret parts registered for masking.
fn credential_env(config: &ActionsConfig, remote: &Remote, logger: &ActionLogger) -> Vec<(String, String)> {
    let Some(credential) = remote.host().and_then(|host| config.git_credential_for(&host)) else {
        return Vec::new();
    };
    let pair = format!("{}:{}", credential.username, credential.token);
    let basic = base64::engine::general_purpose::STANDARD.encode(&pair);
    for secret in [credential.token.as_str(), pair.as_str(), basic.as_str()] {
        logger.add_secret(secret);
    }
    if matches!(remote, Remote::Http(url) if url.scheme() == "http") {
        logger.warn(format!("Sending the credentials for {} over plain HTTP", credential.host));
    }
    vec![
        ("GIT_CONFIG_COUNT".to_owned(), "1".to_owned()),
        ("GIT_CONFIG_KEY_0".to_owned(), "http.extraHeader".to_owned()),
        ("GIT_CONFIG_VALUE_0".to_owned(), format!("Authorization: Basic {basic}")),
    ]
}

/// Whether git's error text says the server refused the credentials (or wanted some).
fn is_authentication_failure(message: &str) -> bool {
    ["Authentication failed", "could not read Username", "could not read Password", "403"]
        .iter()
        .any(|sign| message.contains(sign))
}

fn example_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "remoteUrl": {"title": "A URL to the repository with the provider", "type": "string",
                "examples": ["https://git.example.com/acme/my-service.git"]},
            "repoContentsUrl": {"title": "A URL to the root of the repository", "type": "string",
                "examples": ["https://git.example.com/acme/my-service/tree/main"]},
            "commitHash": {"title": "The git commit hash of the initial commit", "type": "string",
                "examples": ["0000000000000000000000000000000000000000"]},
        },
    })
}

#[async_trait]
impl Action for PublishGitAction {
    fn id(&self) -> &str {
        "publish:git"
    }

    fn description(&self) -> &str {
        "Initializes a git repository with the contents of the workspace, and pushes it to any git remote (HTTP(S) or a repository on this machine)."
    }

    fn schema(&self) -> ActionSchema {
        ActionSchema {
            input: json!({
                "type": "object",
                "required": ["remoteUrl"],
                "properties": {
                    "remoteUrl": {"title": "Remote URL", "type": "string",
                        "description": "The repository to push to: an http(s) URL, a file:// URL or an absolute path of a repository on this machine. Credentials come from the integrations configuration."},
                    "defaultBranch": {"title": "Default Branch", "type": "string",
                        "description": "Sets the default branch on the repository. The default value is 'main'"},
                    "sourcePath": {"title": "Source Path", "type": "string",
                        "description": "Path within the workspace that will be used as the repository root. If omitted, the entire workspace will be published as the repository."},
                    "gitCommitMessage": {"title": "Git Commit Message", "type": "string",
                        "description": "Sets the commit message on the repository. The default value is 'initial commit'"},
                    "gitAuthorName": {"title": "Default Author Name", "type": "string",
                        "description": "Sets the default author name for the commit. The default value is 'Scaffolder'"},
                    "gitAuthorEmail": {"title": "Default Author Email", "type": "string",
                        "description": "Sets the default author email for the commit."},
                },
            }),
            output: example_schema(),
        }
    }

    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        if ctx.dry_run {
            return Err(ActionError::NotSupported(format!("{} does not support dry-run", self.id())));
        }
        let input: PublishInput = parse_input(self.id(), &ctx.input)?;
        let remote = Remote::parse(&input.remote_url)?;
        if matches!(remote, Remote::Local(_)) && !self.config.allow_local_git_remotes {
            return Err(ActionError::NotAllowed(
                "Pushing to repositories on this machine is disabled (scaffolder.git.allowLocalRemotes)"
                    .to_owned(),
            ));
        }
        let branch = input.default_branch.unwrap_or_else(|| "main".to_owned());
        let source = ctx.workspace.resolve(input.source_path.as_deref().unwrap_or("./"))?;
        if !source.is_dir() {
            return Err(ActionError::NotFound(format!(
                "sourcePath {} is not a directory of the workspace",
                input.source_path.unwrap_or_default()
            )));
        }
        let scratch = tempfile::Builder::new()
            .prefix("portico-git-")
            .tempdir()
            .map_err(|error| ActionError::Failed(format!("Could not create a folder for git: {error}")))?;
        let home = scratch.path().join("home");
        std::fs::create_dir(&home)
            .map_err(|error| ActionError::Failed(format!("Could not prepare git: {error}")))?;
        let git = Git {
            git_dir: scratch.path().join("repository.git"),
            home,
            work_tree: Some(source),
            logger: &ctx.logger,
            cancel: &ctx.cancel,
            timeout: self.config.git_timeout,
        };
        check_branch(&git, &branch).await?;
        let author_name = input.git_author_name.unwrap_or_else(|| self.config.default_author.name.clone());
        let author_email = input.git_author_email.unwrap_or_else(|| self.config.default_author.email.clone());
        let message = input.git_commit_message.unwrap_or_else(|| self.config.default_commit_message.clone());

        let initial_branch = format!("--initial-branch={branch}");
        git.run(&args(["init", "--quiet", "--template=", &initial_branch]), &[]).await?;
        git.run(&args(["add", "--all", "--", "."]), &[]).await?;
        let commit = ["commit", "--quiet", "--allow-empty", "--no-verify", "-m", message.as_str()];
        git.run(&with_identity(&author_name, &author_email, &commit), &[]).await?;
        let commit_hash = git.run(&args(["rev-parse", "HEAD"]), &[]).await?.trim().to_owned();

        if let Remote::Local(path) = &remote
            && !path.exists()
        {
            create_bare_repository(path, &branch, &git).await?;
        }
        let credentials = credential_env(&self.config, &remote, &ctx.logger);
        let mut push = args(["push", "--no-verify"]);
        push.push(remote.git_argument());
        push.push(OsString::from(format!("HEAD:refs/heads/{branch}")));
        git.run(&push, &credentials).await.map_err(|error| match (error, remote.host()) {
            (ActionError::Failed(message), Some(host)) if is_authentication_failure(&message) => {
                ActionError::Failed(format!(
                    "{message} (check the credentials for {host} under integrations)"
                ))
            }
            (error, _) => error,
        })?;
        drop(scratch);

        ctx.output("remoteUrl", Value::String(remote.remote_url(&input.remote_url)));
        ctx.output("repoContentsUrl", Value::String(remote.repo_contents_url(&input.remote_url, &branch)));
        ctx.output("commitHash", Value::String(commit_hash));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_parse_http_file_and_absolute_paths() {
        assert_eq!(
            Remote::parse("/srv/git/demo.git").unwrap(),
            Remote::Local(PathBuf::from("/srv/git/demo.git"))
        );
        assert_eq!(
            Remote::parse("file:///srv/git/demo.git").unwrap(),
            Remote::Local(PathBuf::from("/srv/git/demo.git"))
        );
        assert!(matches!(Remote::parse("https://git.example.com/acme/demo.git").unwrap(), Remote::Http(_)));
    }

    #[test]
    fn unsafe_or_unsupported_remotes_are_refused() {
        for remote in
            ["ext::sh -c touch% /tmp/x", "git@github.com:acme/demo.git", "ssh://host/x", "relative/x"]
        {
            let error = Remote::parse(remote).unwrap_err().to_string();
            assert!(error.contains("Unsupported remoteUrl"), "{remote}: {error}");
        }
        let error = Remote::parse("https://user:secret@git.example.com/x.git").unwrap_err().to_string();
        assert!(error.contains("must not contain credentials") && !error.contains("secret"), "{error}");
    }

    #[test]
    fn output_urls_follow_the_remote_kind() {
        let http = Remote::parse("https://git.example.com/acme/demo.git").unwrap();
        assert_eq!(
            http.repo_contents_url("https://git.example.com/acme/demo.git", "main"),
            "https://git.example.com/acme/demo/tree/main"
        );
        assert_eq!(http.host().as_deref(), Some("git.example.com"));
        let with_port = Remote::parse("http://127.0.0.1:8080/repo").unwrap();
        assert_eq!(with_port.host().as_deref(), Some("127.0.0.1:8080"));
        let local = Remote::parse("/srv/git/demo.git").unwrap();
        assert_eq!(local.remote_url("/srv/git/demo.git"), "file:///srv/git/demo.git");
        assert_eq!(local.repo_contents_url("/srv/git/demo.git", "dev"), "file:///srv/git/demo.git?ref=dev");
    }
}
