//! The [`Reader`]: file and url reads within a size cap, a time cap and the allow-list.

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::allow::{ReadingAllow, host_allowed};

/// Why a read failed; the message is shown on whatever asked for the read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The file or url does not exist (a 404 for urls).
    #[error("{0} does not exist")]
    NotFound(String),
    /// The allow-list or a folder confinement forbids the read.
    #[error("{0}")]
    NotAllowed(String),
    /// The source is larger than [`ReadLimits::max_bytes`].
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge { what: String, limit: u64 },
    /// Any other failure: IO, network, timeout, an unsuccessful HTTP status.
    #[error("{0}")]
    Failed(String),
}

impl ReadError {
    /// Whether the source does not exist (as opposed to being unreadable).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::NotFound(_))
    }
}

/// How much one read may take.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Largest file or response body read, in bytes.
    pub max_bytes: u64,
    /// How long a url read may take, from connecting to the last byte (for `file:` urls, the
    /// whole git read).
    pub timeout: Duration,
}

/// Reads files and urls within the configured limits.
#[derive(Clone)]
pub struct Reader {
    http: reqwest::Client,
    allow: Vec<ReadingAllow>,
    /// Folders whose git repositories `file:` urls may read (`backend.reading.localGit`).
    local_git: Vec<PathBuf>,
    limits: ReadLimits,
}

impl Reader {
    /// A reader for urls on the hosts of `allow` (see [`crate::reading_allow`]), within `limits`.
    pub fn new(allow: Vec<ReadingAllow>, limits: ReadLimits) -> Reader {
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
            .timeout(limits.timeout)
            .connect_timeout(Duration::from_secs(10).min(limits.timeout))
            .redirect(redirect)
            .build()
            .unwrap_or_default();
        Reader { http, allow, local_git: Vec::new(), limits }
    }

    /// The same reader, also reading `file:` urls from git repositories inside `roots` (see
    /// [`crate::local_git_roots`]); without roots every `file:` url is refused.
    pub fn with_local_git(self, roots: Vec<PathBuf>) -> Reader {
        Reader { local_git: roots, ..self }
    }

    /// The limits every read of this reader keeps.
    pub fn limits(&self) -> ReadLimits {
        self.limits
    }

    /// Reads a local file, refusing anything over the size limit.
    pub async fn read_file(&self, path: &Path) -> Result<Vec<u8>, ReadError> {
        let max_bytes = self.limits.max_bytes;
        let shown = path.display().to_string();
        let meta = match tokio::fs::metadata(path).await {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadError::NotFound(shown)),
            Err(e) => return Err(ReadError::Failed(format!("could not read {shown}: {e}"))),
        };
        if meta.is_dir() {
            return Err(ReadError::Failed(format!("{shown} is a directory, not a file")));
        }
        if meta.len() > max_bytes {
            return Err(ReadError::TooLarge { what: shown, limit: max_bytes });
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

    /// Fetches an http(s) url from an allowed host, streaming so an oversized body is cut off
    /// early, or reads a `file:` url from a git repository inside the local git roots (see
    /// [`Reader::with_local_git`]).
    pub async fn read_url(&self, url: &Url) -> Result<Vec<u8>, ReadError> {
        let max_bytes = self.limits.max_bytes;
        match url.scheme() {
            "http" | "https" => {}
            "file" => {
                return crate::local_git::read(&self.local_git, url, max_bytes, self.limits.timeout).await;
            }
            _ => return Err(ReadError::NotAllowed(format!("{url} is not an http(s) or file url"))),
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
        if response.content_length().is_some_and(|len| len > max_bytes) {
            return Err(ReadError::TooLarge { what: url.to_string(), limit: max_bytes });
        }
        let mut body = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|e| ReadError::Failed(describe_http_error(url, &e)))?
        {
            if body.len() as u64 + chunk.len() as u64 > max_bytes {
                return Err(ReadError::TooLarge { what: url.to_string(), limit: max_bytes });
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
