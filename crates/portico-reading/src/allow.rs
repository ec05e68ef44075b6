//! `backend.reading.allow`: which hosts (and paths) url reads may reach.

use portico_config::{Config, ConfigError};
use serde_json::Value;
use url::Url;

/// One `backend.reading.allow` entry: a host (optionally `*.`-wildcarded, optionally with a
/// port) and optional path prefixes.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingAllow {
    /// Host name, optionally with a leading `*.` wildcard and/or a `:port`.
    pub host: String,
    /// Path prefixes allowed on that host; `None` allows every path.
    pub paths: Option<Vec<String>>,
}

/// Parses `backend.reading.allow`; an absent list allows no host.
pub fn reading_allow(config: &Config) -> Result<Vec<ReadingAllow>, ConfigError> {
    let Some(allow) = config.array("backend.reading.allow")? else {
        return Ok(Vec::new());
    };
    allow
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let key = format!("backend.reading.allow[{i}]");
            let host = entry.get("host").and_then(Value::as_str).ok_or_else(|| ConfigError::Invalid {
                key: format!("{key}.host"),
                message: "must be a string host name such as 'example.com' or '*.example.com'".into(),
            })?;
            let paths = match entry.get("paths") {
                None => None,
                Some(Value::Array(items)) => Some(
                    items
                        .iter()
                        .map(|p| {
                            p.as_str().map(str::to_owned).ok_or_else(|| ConfigError::Invalid {
                                key: format!("{key}.paths"),
                                message: "must be a list of strings".into(),
                            })
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Some(_) => {
                    return Err(ConfigError::Invalid {
                        key: format!("{key}.paths"),
                        message: "must be a list of strings".into(),
                    });
                }
            };
            Ok(ReadingAllow { host: host.to_owned(), paths })
        })
        .collect()
}

/// Whether `backend.reading.allow` lets us read `url`. Entries name a host (with an optional
/// port, which must then match) or `*.domain` for any subdomain, and optionally path prefixes.
pub fn host_allowed(allow: &[ReadingAllow], url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let host = host.to_ascii_lowercase();
    let port = url.port();
    allow.iter().any(|entry| {
        let pattern = entry.host.to_ascii_lowercase();
        let (pattern_host, pattern_port) = match pattern.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => (h.to_owned(), p.parse::<u16>().ok()),
            _ => (pattern.clone(), None),
        };
        let host_matches = match pattern_host.strip_prefix("*.") {
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => host == pattern_host,
        };
        let port_matches = pattern_port.is_none() || pattern_port == port.or(url.port_or_known_default());
        let path_matches = entry
            .paths
            .as_ref()
            .is_none_or(|paths| paths.iter().any(|prefix| url.path().starts_with(prefix.as_str())));
        host_matches && port_matches && path_matches
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn allow(host: &str) -> Vec<ReadingAllow> {
        vec![ReadingAllow { host: host.into(), paths: None }]
    }

    fn parse(yaml: &str) -> Result<Vec<ReadingAllow>, ConfigError> {
        let config = Config::from_yaml_str(yaml, Path::new("/etc/portico"), &|_| None).expect("valid yaml");
        reading_allow(&config)
    }

    #[test]
    fn exact_hosts_and_wildcards_are_matched() {
        let url = Url::parse("https://docs.example.com/a.yaml").unwrap();
        assert!(host_allowed(&allow("docs.example.com"), &url));
        assert!(host_allowed(&allow("*.example.com"), &url));
        assert!(!host_allowed(&allow("example.com"), &url));
        assert!(!host_allowed(&allow("other.com"), &url));
        assert!(!host_allowed(&[], &url));
    }

    #[test]
    fn a_port_in_the_allow_list_must_match() {
        let url = Url::parse("http://127.0.0.1:8080/a.yaml").unwrap();
        assert!(host_allowed(&allow("127.0.0.1:8080"), &url));
        assert!(!host_allowed(&allow("127.0.0.1:9090"), &url));
        assert!(host_allowed(&allow("127.0.0.1"), &url));
    }

    #[test]
    fn path_prefixes_restrict_reads() {
        let entry = vec![ReadingAllow { host: "example.com".into(), paths: Some(vec!["/catalog/".into()]) }];
        assert!(host_allowed(&entry, &Url::parse("https://example.com/catalog/a.yaml").unwrap()));
        assert!(!host_allowed(&entry, &Url::parse("https://example.com/secret/a.yaml").unwrap()));
    }

    #[test]
    fn the_allow_list_is_read_from_backend_reading_allow() {
        assert_eq!(parse("backend: {}").unwrap(), Vec::new());
        let allow = parse(
            "backend:\n  reading:\n    allow:\n      - host: '*.example.com'\n      - host: 'git.internal:8443'\n        paths: [/org/]\n",
        )
        .unwrap();
        assert_eq!(
            allow,
            vec![
                ReadingAllow { host: "*.example.com".into(), paths: None },
                ReadingAllow { host: "git.internal:8443".into(), paths: Some(vec!["/org/".into()]) },
            ]
        );
    }

    #[test]
    fn errors_name_the_entry_and_field() {
        let error = parse("backend: {reading: {allow: [{host: a.com}, {paths: [/]}]}}").unwrap_err();
        assert!(
            matches!(&error, ConfigError::Invalid { key, .. } if key == "backend.reading.allow[1].host"),
            "{error:?}"
        );
        let error = parse("backend: {reading: {allow: [{host: a.com, paths: /x}]}}").unwrap_err();
        assert!(
            matches!(&error, ConfigError::Invalid { key, .. } if key == "backend.reading.allow[0].paths"),
            "{error:?}"
        );
        let error = parse("backend: {reading: {allow: [{host: a.com, paths: [1]}]}}").unwrap_err();
        assert!(
            matches!(&error, ConfigError::Invalid { key, .. } if key == "backend.reading.allow[0].paths"),
            "{error:?}"
        );
        assert!(
            parse("backend: {reading: {allow: a.com}}")
                .unwrap_err()
                .to_string()
                .contains("backend.reading.allow")
        );
    }
}
