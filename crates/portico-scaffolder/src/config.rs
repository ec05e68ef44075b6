//! The settings of the built-in actions: `scaffolder.*` keys and the `integrations` section.

use std::time::Duration;

use portico_config::{Config, ConfigError};
use serde_json::{Map, Value};

use crate::filters::{Integrations, ScmKind};
use crate::workspace::WorkspaceLimits;

/// The identity commits are made with when a step names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitAuthor {
    /// `user.name`.
    pub name: String,
    /// `user.email`.
    pub email: String,
}

impl Default for GitAuthor {
    /// Backstage's defaults: `Scaffolder <scaffolder@backstage.io>`.
    fn default() -> Self {
        GitAuthor { name: "Scaffolder".to_owned(), email: "scaffolder@backstage.io".to_owned() }
    }
}

/// Credentials for git over HTTP(S) to one host, sent as HTTP basic authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct GitCredential {
    /// The host, with its port when not the default (`git.example.com:8443`).
    pub host: String,
    /// The user name (`x-access-token` for GitHub tokens, `oauth2` for GitLab).
    pub username: String,
    /// The token or password.
    pub token: String,
}

impl std::fmt::Debug for GitCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitCredential")
            .field("host", &self.host)
            .field("username", &self.username)
            .field("token", &"***")
            .finish()
    }
}

/// Settings of the built-in actions.
#[derive(Debug, Clone)]
pub struct ActionsConfig {
    /// `scaffolder.defaultAuthor.{name,email}`.
    pub default_author: GitAuthor,
    /// `scaffolder.defaultCommitMessage` (default `initial commit`).
    pub default_commit_message: String,
    /// Git credentials by host, from `integrations`.
    pub git_credentials: Vec<GitCredential>,
    /// `scaffolder.git.allowLocalRemotes` (default true): whether `publish:git` may push to a
    /// repository on this machine (an absolute path or a `file://` URL).
    pub allow_local_git_remotes: bool,
    /// `scaffolder.git.timeout` (default 10 minutes): how long one git command may run.
    pub git_timeout: Duration,
    /// `scaffolder.debug.maxWaitTime` (default 30 s): the longest `debug:wait`.
    pub max_wait: Duration,
    /// `scaffolder.workspace.{maxFiles,maxBytes}`: what one task may write.
    pub workspace_limits: WorkspaceLimits,
    /// The source-control hosts `parseRepoUrl` knows, from `integrations`.
    pub integrations: Integrations,
}

impl Default for ActionsConfig {
    fn default() -> Self {
        ActionsConfig {
            default_author: GitAuthor::default(),
            default_commit_message: "initial commit".to_owned(),
            git_credentials: Vec::new(),
            allow_local_git_remotes: true,
            git_timeout: Duration::from_secs(600),
            max_wait: Duration::from_secs(30),
            workspace_limits: WorkspaceLimits::default(),
            integrations: Integrations::default(),
        }
    }
}

impl ActionsConfig {
    /// Reads the settings; absent keys keep their defaults.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let defaults = ActionsConfig::default();
        let mut limits = defaults.workspace_limits;
        if let Some(max_files) = config.u64("scaffolder.workspace.maxFiles")? {
            limits.max_files = max_files;
        }
        if let Some(max_bytes) = config.u64("scaffolder.workspace.maxBytes")? {
            limits.max_bytes = max_bytes;
        }
        let (integrations, git_credentials) = match config.object("integrations")? {
            Some(section) => read_integrations(section)?,
            None => (Integrations::default(), Vec::new()),
        };
        Ok(ActionsConfig {
            default_author: GitAuthor {
                name: config.string("scaffolder.defaultAuthor.name")?.unwrap_or(defaults.default_author.name),
                email: config
                    .string("scaffolder.defaultAuthor.email")?
                    .unwrap_or(defaults.default_author.email),
            },
            default_commit_message: config
                .string("scaffolder.defaultCommitMessage")?
                .unwrap_or(defaults.default_commit_message),
            git_credentials,
            allow_local_git_remotes: config
                .bool("scaffolder.git.allowLocalRemotes")?
                .unwrap_or(defaults.allow_local_git_remotes),
            git_timeout: config.duration("scaffolder.git.timeout")?.unwrap_or(defaults.git_timeout),
            max_wait: config.duration("scaffolder.debug.maxWaitTime")?.unwrap_or(defaults.max_wait),
            workspace_limits: limits,
            integrations,
        })
    }

    /// The credential configured for `host` (`host[:port]`).
    pub fn git_credential_for(&self, host: &str) -> Option<&GitCredential> {
        self.git_credentials.iter().find(|credential| credential.host.eq_ignore_ascii_case(host))
    }
}

/// How one integration type reads: its source-control kind, default host, and the user name
/// sent with a bare token.
fn integration_type(name: &str) -> Option<(ScmKind, Option<&'static str>, Option<&'static str>)> {
    Some(match name {
        "github" => (ScmKind::GitHub, Some("github.com"), Some("x-access-token")),
        "gitlab" => (ScmKind::GitLab, Some("gitlab.com"), Some("oauth2")),
        "azure" => (ScmKind::Azure, Some("dev.azure.com"), Some("pat")),
        "bitbucket" | "bitbucketCloud" => (ScmKind::Bitbucket, Some("bitbucket.org"), None),
        "bitbucketServer" => (ScmKind::Bitbucket, None, Some("x-token-auth")),
        "gitea" => (ScmKind::Gitea, None, None),
        "gerrit" => (ScmKind::Gerrit, None, None),
        _ => return None,
    })
}

/// The `integrations` section: every entry's host becomes known to `parseRepoUrl`, and an
/// entry with a token (or password / app password) gives git credentials for its host.
fn read_integrations(
    section: &Map<String, Value>,
) -> Result<(Integrations, Vec<GitCredential>), ConfigError> {
    let mut integrations = Integrations::default();
    let mut credentials = Vec::new();
    for (type_name, entries) in section {
        let Some((kind, default_host, token_user)) = integration_type(type_name) else {
            continue;
        };
        let Some(entries) = entries.as_array() else {
            return Err(ConfigError::WrongType {
                key: format!("integrations.{type_name}"),
                expected: "an array",
                actual: "another type",
            });
        };
        for (index, entry) in entries.iter().enumerate() {
            let key = format!("integrations.{type_name}[{index}]");
            let text = |field: &str| entry.get(field).and_then(Value::as_str).filter(|s| !s.is_empty());
            let Some(host) = text("host").or(default_host) else {
                return Err(ConfigError::Invalid { key, message: "missing required key host".to_owned() });
            };
            integrations.insert(host, kind);
            let secret = text("token").or_else(|| text("password")).or_else(|| text("appPassword"));
            if let Some(secret) = secret {
                let Some(username) = text("username").or(token_user) else {
                    return Err(ConfigError::Invalid {
                        key,
                        message: format!("a username is needed to use the credentials of {host} with git"),
                    });
                };
                credentials.push(GitCredential {
                    host: host.to_owned(),
                    username: username.to_owned(),
                    token: secret.to_owned(),
                });
            }
        }
    }
    Ok((integrations, credentials))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_apply_without_keys() {
        let config = ActionsConfig::from_config(&Config::empty()).unwrap();
        assert_eq!(config.default_author, GitAuthor::default());
        assert_eq!(config.default_commit_message, "initial commit");
        assert_eq!(config.max_wait, Duration::from_secs(30));
        assert!(config.git_credentials.is_empty());
    }

    #[test]
    fn keys_and_integrations_are_read() {
        let config = Config::from_json(json!({
            "scaffolder": {
                "defaultAuthor": {"name": "Portico", "email": "portico@example.com"},
                "defaultCommitMessage": "Scaffolded",
                "workspace": {"maxFiles": 5, "maxBytes": "1000"},
                "git": {"allowLocalRemotes": false, "timeout": "2m"},
                "debug": {"maxWaitTime": {"seconds": 5}},
            },
            "integrations": {
                "github": [{"host": "github.com", "token": "ghp_secret"}],
                "gitea": [{"host": "git.example.com:3000", "username": "bot", "password": "pw"}],
                "awsS3": [{"host": "s3.amazonaws.com"}],
            }
        }))
        .unwrap();
        let config = ActionsConfig::from_config(&config).unwrap();
        assert_eq!(config.default_author.name, "Portico");
        assert_eq!(config.default_commit_message, "Scaffolded");
        assert_eq!(config.workspace_limits, WorkspaceLimits { max_files: 5, max_bytes: 1000 });
        assert!(!config.allow_local_git_remotes);
        assert_eq!(config.git_timeout, Duration::from_secs(120));
        assert_eq!(config.max_wait, Duration::from_secs(5));
        let github = config.git_credential_for("github.com").unwrap();
        assert_eq!((github.username.as_str(), github.token.as_str()), ("x-access-token", "ghp_secret"));
        assert_eq!(config.git_credential_for("git.example.com:3000").unwrap().username, "bot");
        assert_eq!(config.integrations.kind_of("git.example.com:3000"), Some(ScmKind::Gitea));
        assert!(!format!("{github:?}").contains("ghp_secret"));
    }

    #[test]
    fn credentials_without_a_user_name_are_refused() {
        let config = Config::from_json(json!({
            "integrations": {"gitea": [{"host": "git.example.com", "password": "pw"}]}
        }))
        .unwrap();
        let error = ActionsConfig::from_config(&config).unwrap_err().to_string();
        assert!(error.contains("integrations.gitea[0]"), "{error}");
    }
}
