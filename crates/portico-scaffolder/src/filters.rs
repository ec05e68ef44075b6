//! The scaffolder's template filters: `parseRepoUrl`, `projectSlug`, `parseEntityRef`, `pick`
//! and `dump`, as pure functions over JSON plus their registration in a template environment.

use std::collections::HashMap;
use std::sync::Arc;

use minijinja::{Environment, Error, ErrorKind, Value as MjValue};
use portico_model::{EntityRef, RefDefaults};
use serde::Serialize;
use serde_json::Value;

/// A filter failure, carrying Backstage's error name and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Bad input (Backstage's `InputError`).
    #[error("{0}")]
    Input(String),
    /// A malformed entity reference (Backstage's `TypeError`/`Error` of `parseEntityRef`).
    #[error("{0}")]
    EntityRef(String),
}

/// The kind of source-control integration a host belongs to; it decides which query parameters
/// a repository URL must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScmKind {
    /// GitHub (and any integration without special rules): `owner` and `repo`.
    GitHub,
    /// GitLab: `owner` and `repo`, unless `project` is given.
    GitLab,
    /// Bitbucket Server/Cloud: `project` and `repo` (plus `workspace` on `www.bitbucket.org`).
    Bitbucket,
    /// Gitea: `repo`.
    Gitea,
    /// Gerrit: `repo`.
    Gerrit,
    /// Azure DevOps: `owner` and `repo` like GitHub.
    Azure,
}

/// The configured integrations, by host. `parseRepoUrl` rejects hosts it does not know.
#[derive(Debug, Clone)]
pub struct Integrations {
    hosts: HashMap<String, ScmKind>,
}

impl Default for Integrations {
    /// The hosts Backstage knows without any `integrations` configuration.
    fn default() -> Self {
        let mut integrations = Integrations { hosts: HashMap::new() };
        integrations.insert("github.com", ScmKind::GitHub);
        integrations.insert("gitlab.com", ScmKind::GitLab);
        integrations.insert("bitbucket.org", ScmKind::Bitbucket);
        integrations.insert("dev.azure.com", ScmKind::Azure);
        integrations
    }
}

impl Integrations {
    /// Adds (or replaces) the integration of a host, e.g. a GitHub Enterprise server.
    pub fn insert(&mut self, host: impl Into<String>, kind: ScmKind) {
        self.hosts.insert(host.into(), kind);
    }

    /// Every configured host, sorted (the hosts a repository picker offers).
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self.hosts.keys().cloned().collect();
        hosts.sort();
        hosts
    }

    /// The integration kind of a host (`host[:port]`), if configured.
    pub fn kind_of(&self, host: &str) -> Option<ScmKind> {
        self.hosts.get(host).copied()
    }
}

/// The parts of a `RepoUrlPicker` value such as `github.com?owner=acme&repo=svc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoUrl {
    /// The host (with port when one was given).
    pub host: String,
    /// The `owner` query parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The `repo` query parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The `organization` query parameter (Azure DevOps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// The `workspace` query parameter (Bitbucket Cloud).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// The `project` query parameter (Bitbucket, GitLab, Azure DevOps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

/// `parseRepoUrl`: reads `https://<input>` as a URL and checks the parameters its integration
/// requires, with Backstage's messages.
pub fn parse_repo_url(input: &str, integrations: &Integrations) -> Result<RepoUrl, FilterError> {
    let url = url::Url::parse(&format!("https://{input}")).map_err(|error| {
        FilterError::Input(format!("Invalid repo URL passed to publisher, got {input}, {error}"))
    })?;
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => String::new(),
    };
    // Empty parameters count as missing, as `searchParams.get` followed by a truthiness check.
    let param =
        |name: &str| url.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned());
    let Some(kind) = integrations.kind_of(&host) else {
        return Err(FilterError::Input(format!(
            "No matching integration configuration for host {host}, please check your integrations config"
        )));
    };
    let require = |names: &[&str]| -> Result<(), FilterError> {
        for name in names {
            if param(name).is_none_or(|value| value.is_empty()) {
                return Err(FilterError::Input(format!(
                    "Invalid repo URL passed to publisher: {url}, missing {name}"
                )));
            }
        }
        Ok(())
    };
    match kind {
        ScmKind::Bitbucket => {
            if host == "www.bitbucket.org" {
                require(&["workspace"])?;
            }
            require(&["project", "repo"])?;
        }
        ScmKind::GitLab if param("project").is_some_and(|project| !project.is_empty()) => {}
        ScmKind::GitLab => require(&["owner", "repo"])?,
        ScmKind::Gitea | ScmKind::Gerrit => require(&["repo"])?,
        ScmKind::GitHub | ScmKind::Azure => require(&["repo", "owner"])?,
    }
    Ok(RepoUrl {
        host,
        owner: param("owner"),
        repo: param("repo"),
        organization: param("organization"),
        workspace: param("workspace"),
        project: param("project"),
    })
}

/// `projectSlug`: `<owner>/<repo>` of a repository URL.
pub fn project_slug(input: &str, integrations: &Integrations) -> Result<String, FilterError> {
    let parsed = parse_repo_url(input, integrations)?;
    Ok(format!("{}/{}", parsed.owner.unwrap_or_default(), parsed.repo.unwrap_or_default()))
}

/// `parseEntityRef`: a string or `{kind?, namespace?, name}` reference, with optional
/// `{defaultKind, defaultNamespace}`, as `{kind, namespace, name}`.
pub fn parse_entity_ref(reference: &Value, options: Option<&Value>) -> Result<Value, FilterError> {
    let option = |key: &str| options.and_then(|o| o.get(key)).and_then(Value::as_str);
    let defaults = RefDefaults { kind: option("defaultKind"), namespace: option("defaultNamespace") };
    let parsed = EntityRef::parse_compound(reference, defaults)
        .map_err(|error| FilterError::EntityRef(error.message))?;
    Ok(serde_json::json!({ "kind": parsed.kind, "namespace": parsed.namespace, "name": parsed.name }))
}

/// `pick`: lodash `get` with a dotted path; `None` when any segment is missing.
pub fn pick<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |current, segment| match current {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|index| items.get(index)),
        _ => None,
    })
}

/// Registers the scaffolder's filters (and nunjucks' `dump`) on an environment; cookiecutter
/// mode adds `jsonify`, an alias of `dump`.
pub(crate) fn register(env: &mut Environment<'static>, integrations: Arc<Integrations>, cookiecutter: bool) {
    let for_repo = Arc::clone(&integrations);
    env.add_filter("parseRepoUrl", move |input: String| -> Result<MjValue, Error> {
        let parsed = parse_repo_url(&input, &for_repo).map_err(filter_error)?;
        Ok(MjValue::from_serialize(&parsed))
    });
    env.add_filter("projectSlug", move |input: String| -> Result<String, Error> {
        project_slug(&input, &integrations).map_err(filter_error)
    });
    env.add_filter(
        "parseEntityRef",
        |reference: MjValue, options: Option<MjValue>| -> Result<MjValue, Error> {
            let reference = to_json(&reference)?;
            let options = options.map(|o| to_json(&o)).transpose()?;
            let parsed = parse_entity_ref(&reference, options.as_ref()).map_err(filter_error)?;
            Ok(MjValue::from_serialize(&parsed))
        },
    );
    env.add_filter("pick", |value: MjValue, path: String| -> Result<MjValue, Error> {
        let value = to_json(&value)?;
        Ok(pick(&value, &path).map_or(MjValue::UNDEFINED, MjValue::from_serialize))
    });
    env.add_filter("dump", dump);
    if cookiecutter {
        env.add_filter("jsonify", dump);
    }
}

/// nunjucks `dump` (`JSON.stringify(value, null, indent)`); undefined stays undefined.
fn dump(value: MjValue, indent: Option<usize>) -> Result<MjValue, Error> {
    if value.is_undefined() {
        return Ok(MjValue::UNDEFINED);
    }
    let json = to_json(&value)?;
    let text = match indent.filter(|&n| n > 0) {
        None => serde_json::to_string(&json),
        Some(width) => {
            let indent = " ".repeat(width.min(10));
            let mut out = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
            let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
            json.serialize(&mut serializer).map(|()| String::from_utf8_lossy(&out).into_owned())
        }
    };
    text.map(MjValue::from).map_err(|error| Error::new(ErrorKind::InvalidOperation, error.to_string()))
}

/// A template value as JSON (undefined becomes `null`).
pub(crate) fn to_json(value: &MjValue) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|error| Error::new(ErrorKind::InvalidOperation, error.to_string()))
}

fn filter_error(error: FilterError) -> Error {
    Error::new(ErrorKind::InvalidOperation, error.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(input: &str) -> Result<RepoUrl, FilterError> {
        parse_repo_url(input, &Integrations::default())
    }

    #[test]
    fn parse_repo_url_reads_host_and_parameters() {
        let parsed = parse("github.com?owner=acme&repo=svc").expect("valid");
        assert_eq!(parsed.host, "github.com");
        assert_eq!(parsed.owner.as_deref(), Some("acme"));
        assert_eq!(parsed.repo.as_deref(), Some("svc"));
        assert_eq!(
            serde_json::to_value(&parsed).expect("json"),
            json!({"host": "github.com", "owner": "acme", "repo": "svc"})
        );
    }

    #[test]
    fn parse_repo_url_reports_missing_owner_and_repo() {
        assert_eq!(
            parse("github.com?repo=svc").unwrap_err().to_string(),
            "Invalid repo URL passed to publisher: https://github.com/?repo=svc, missing owner"
        );
        assert_eq!(
            parse("github.com?owner=acme").unwrap_err().to_string(),
            "Invalid repo URL passed to publisher: https://github.com/?owner=acme, missing repo"
        );
    }

    #[test]
    fn parse_repo_url_rejects_unknown_hosts() {
        assert_eq!(
            parse("git.example.com?owner=a&repo=b").unwrap_err().to_string(),
            "No matching integration configuration for host git.example.com, please check your integrations config"
        );
        let mut integrations = Integrations::default();
        integrations.insert("git.example.com", ScmKind::Gitea);
        let parsed = parse_repo_url("git.example.com?repo=b", &integrations).expect("gitea needs repo only");
        assert_eq!(parsed.owner, None);
    }

    #[test]
    fn parse_repo_url_applies_gitlab_and_bitbucket_rules() {
        assert!(parse("gitlab.com?project=42").is_ok());
        assert!(parse("gitlab.com?owner=a").unwrap_err().to_string().ends_with("missing repo"));
        let error = parse("bitbucket.org?workspace=w&repo=r").unwrap_err().to_string();
        assert!(error.ends_with("missing project"), "{error}");
        let mut integrations = Integrations::default();
        integrations.insert("www.bitbucket.org", ScmKind::Bitbucket);
        let error = parse_repo_url("www.bitbucket.org?project=p&repo=r", &integrations).unwrap_err();
        assert!(error.to_string().ends_with("missing workspace"), "{error}");
    }

    #[test]
    fn project_slug_is_owner_slash_repo() {
        assert_eq!(
            project_slug("github.com?owner=acme&repo=svc", &Integrations::default()).unwrap(),
            "acme/svc"
        );
    }

    #[test]
    fn parse_entity_ref_applies_defaults_and_reports_missing_kind() {
        assert_eq!(
            parse_entity_ref(&json!("group:team-a"), None).unwrap(),
            json!({"kind": "group", "namespace": "default", "name": "team-a"})
        );
        let options = json!({"defaultKind": "user", "defaultNamespace": "people"});
        assert_eq!(
            parse_entity_ref(&json!("jane"), Some(&options)).unwrap(),
            json!({"kind": "user", "namespace": "people", "name": "jane"})
        );
        let error = parse_entity_ref(&json!("jane"), None).unwrap_err().to_string();
        assert!(error.contains("had missing or empty kind"), "{error}");
    }

    #[test]
    fn pick_follows_dotted_paths() {
        let value = json!({"a": {"b": [10, {"c": "deep"}]}});
        assert_eq!(pick(&value, "a.b.1.c"), Some(&json!("deep")));
        assert_eq!(pick(&value, "a.x"), None);
    }
}
