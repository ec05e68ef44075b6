//! Reading descriptor and placeholder files from `file` and `url` locations, with the limits
//! that keep one hostile source from hurting the rest: a size cap, a time cap, an allow-list of
//! hosts for urls, and confinement of placeholder reads to their location's folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::config::{CatalogConfig, ReadingAllow};

/// Why a read failed; the message is shown on the entity or location that asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("{0} does not exist")]
    NotFound(String),
    #[error("{0}")]
    NotAllowed(String),
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge { what: String, limit: u64 },
    #[error("{0}")]
    Failed(String),
}

impl ReadError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::NotFound(_))
    }
}

/// Reads files and urls within the configured limits.
#[derive(Clone)]
pub struct Reader {
    http: reqwest::Client,
    allow: Vec<ReadingAllow>,
    max_bytes: u64,
}

impl Reader {
    pub fn new(config: &CatalogConfig) -> Reader {
        let allow = config.reading_allow.clone();
        let policy_allow = allow.clone();
        // Every redirect hop must be allowed too, or an allowed host could bounce reads anywhere.
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if host_allowed(&policy_allow, attempt.url()) {
                attempt.follow()
            } else {
                let message =
                    format!("redirect to {} is not allowed by backend.reading.allow", attempt.url());
                attempt.error(message)
            }
        });
        let http = reqwest::Client::builder()
            .timeout(config.read_timeout)
            .connect_timeout(Duration::from_secs(10).min(config.read_timeout))
            .redirect(redirect)
            .build()
            .unwrap_or_default();
        Reader { http, allow, max_bytes: config.max_read_bytes }
    }

    /// Reads a local file, refusing anything over the size limit.
    pub async fn read_file(&self, path: &Path) -> Result<Vec<u8>, ReadError> {
        let shown = path.display().to_string();
        let meta = match tokio::fs::metadata(path).await {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadError::NotFound(shown)),
            Err(e) => return Err(ReadError::Failed(format!("could not read {shown}: {e}"))),
        };
        if meta.is_dir() {
            return Err(ReadError::Failed(format!("{shown} is a directory, not a file")));
        }
        if meta.len() > self.max_bytes {
            return Err(ReadError::TooLarge { what: shown, limit: self.max_bytes });
        }
        tokio::fs::read(path).await.map_err(|e| ReadError::Failed(format!("could not read {shown}: {e}")))
    }

    /// Reads a file that must lie inside `base` once symlinks and `..` are resolved.
    pub async fn read_file_within(&self, path: &Path, base: &Path) -> Result<Vec<u8>, ReadError> {
        let resolved = tokio::fs::canonicalize(path).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ReadError::NotFound(path.display().to_string())
            } else {
                ReadError::Failed(format!("could not read {}: {e}", path.display()))
            }
        })?;
        let base = tokio::fs::canonicalize(base).await.unwrap_or_else(|_| base.to_path_buf());
        if !resolved.starts_with(&base) {
            return Err(ReadError::NotAllowed(format!(
                "{} is outside the location's folder {}",
                path.display(),
                base.display()
            )));
        }
        self.read_file(&resolved).await
    }

    /// Fetches a url from an allowed host, streaming so an oversized body is cut off early.
    pub async fn read_url(&self, url: &Url) -> Result<Vec<u8>, ReadError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ReadError::NotAllowed(format!("{url} is not an http(s) url")));
        }
        if !host_allowed(&self.allow, url) {
            return Err(ReadError::NotAllowed(format!(
                "Reading from '{url}' is not allowed. You may need to configure an integration for the target host, or add it to the configured list of allowed hosts at 'backend.reading.allow'"
            )));
        }
        let mut response = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| ReadError::Failed(describe_http_error(url, &e)))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(ReadError::NotFound(url.to_string()));
        }
        if !status.is_success() {
            return Err(ReadError::Failed(format!("could not read {url}, {status}")));
        }
        if response.content_length().is_some_and(|len| len > self.max_bytes) {
            return Err(ReadError::TooLarge { what: url.to_string(), limit: self.max_bytes });
        }
        let mut body = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|e| ReadError::Failed(describe_http_error(url, &e)))?
        {
            if body.len() as u64 + chunk.len() as u64 > self.max_bytes {
                return Err(ReadError::TooLarge { what: url.to_string(), limit: self.max_bytes });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn describe_http_error(url: &Url, error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("could not read {url}, the request timed out")
    } else {
        let mut message = format!("could not read {url}, {error}");
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        message
    }
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

/// The directory part of a file target.
pub fn parent_dir(path: &str) -> PathBuf {
    Path::new(path).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(host: &str) -> Vec<ReadingAllow> {
        vec![ReadingAllow { host: host.into(), paths: None }]
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
}
