//! The value of a `RepoUrlPicker`: `host?owner=o&repo=r`, the form `parseRepoUrl` reads.

use url::Url;
use url::form_urlencoded;

/// The parts of a repository location a form edits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoUrlParts {
    /// The host (`github.com`).
    pub host: String,
    /// The `owner` parameter.
    pub owner: String,
    /// The `repo` parameter.
    pub repo: String,
}

impl RepoUrlParts {
    /// Reads a stored value; `None` when it is not a URL once `https://` is put in front.
    pub fn parse(value: &str) -> Option<RepoUrlParts> {
        let url = Url::parse(&format!("https://{value}")).ok()?;
        let parameter = |name: &str| {
            url.query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
                .unwrap_or_default()
        };
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        Some(RepoUrlParts { host, owner: parameter("owner"), repo: parameter("repo") })
    }

    /// The stored value; `None` without a host (as Backstage's picker leaves it undefined).
    pub fn to_value(&self) -> Option<String> {
        if self.host.is_empty() {
            return None;
        }
        let mut query = form_urlencoded::Serializer::new(String::new());
        if !self.owner.is_empty() {
            query.append_pair("owner", &self.owner);
        }
        if !self.repo.is_empty() {
            query.append_pair("repo", &self.repo);
        }
        Some(format!("{}?{}", self.host, query.finish()))
    }
}

#[cfg(test)]
mod tests {
    use super::RepoUrlParts;

    #[test]
    fn parts_round_trip() {
        let parts =
            RepoUrlParts { host: "github.com".into(), owner: "acme corp".into(), repo: "svc&x".into() };
        let value = parts.to_value().unwrap();
        assert_eq!(value, "github.com?owner=acme+corp&repo=svc%26x");
        assert_eq!(RepoUrlParts::parse(&value), Some(parts));
        assert_eq!(RepoUrlParts::parse("git.example.com:8443?repo=a").unwrap().host, "git.example.com:8443");
        assert_eq!(RepoUrlParts::default().to_value(), None);
    }
}
