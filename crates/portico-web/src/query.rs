//! A page's query string: the filter state of list pages lives in the URL so a view can be
//! shared; pages read it with [`Query`] and build links to neighbouring states with
//! [`Query::with`] and [`Query::without`].

use crate::html::url_with_query;

/// Decoded `name=value` pairs in order, repeated names kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Decodes a raw query string (`+` is a space, `%XX` escapes decoded).
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .map(|q| url::form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())))
            .into_iter()
            .flatten()
            .collect();
        Query(pairs)
    }

    /// The first non-empty value of a parameter.
    pub fn one(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of a parameter, in order, without repeats.
    pub fn all(&self, name: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (_, value) in self.0.iter().filter(|(k, v)| k == name && !v.is_empty()) {
            if !out.contains(&value.as_str()) {
                out.push(value);
            }
        }
        out
    }

    /// Appends a pair.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// A copy with every value of `name` replaced by `value`.
    pub fn with(&self, name: &str, value: &str) -> Query {
        let mut out = self.without(name);
        out.push(name, value);
        out
    }

    /// A copy without the parameter `name`.
    pub fn without(&self, name: &str) -> Query {
        Query(self.0.iter().filter(|(k, _)| k != name).cloned().collect())
    }

    /// `path?query` (empty values dropped).
    pub fn url(&self, path: &str) -> String {
        url_with_query(
            path,
            self.0.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_rewrites_parameters() {
        let query = Query::parse(Some("kind=api&type=grpc&type=openapi&type=grpc&q=&page=2"));
        assert_eq!(query.one("kind"), Some("api"));
        assert_eq!(query.one("q"), None);
        assert_eq!(query.all("type"), ["grpc", "openapi"]);
        assert_eq!(
            query.with("page", "3").url("/catalog"),
            "/catalog?kind=api&type=grpc&type=openapi&type=grpc&page=3"
        );
        assert_eq!(query.without("type").without("page").url("/c"), "/c?kind=api");
    }
}
