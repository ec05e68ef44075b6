//! Return addresses after sign-in: only ever pages of this site, never another one.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// The path (with query and fragment) of `text` when it stays on `origin`: a path such as
/// `/catalog?kind=api`, or an absolute URL on `origin`. `None` for anything that could lead
/// elsewhere: other origins, protocol-relative `//host`, backslashes (which browsers read as
/// slashes), whitespace or control characters (which browsers drop), other schemes.
pub(crate) fn local_path(text: &str, origin: &str) -> Option<String> {
    if text.is_empty() || text.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
        return None;
    }
    let base = url::Url::parse(origin).ok()?;
    let url = if text.starts_with('/') {
        if text.starts_with("//") {
            return None;
        }
        base.join(text).ok()?
    } else {
        url::Url::parse(text).ok()?
    };
    if url.origin() != base.origin() {
        return None;
    }
    // Dot segments are resolved by now; what is left must not read as another host.
    let path = url.path();
    if path.starts_with("//") {
        return None;
    }
    let mut local = path.to_owned();
    if let Some(query) = url.query() {
        local.push('?');
        local.push_str(query);
    }
    if let Some(fragment) = url.fragment() {
        local.push('#');
        local.push_str(fragment);
    }
    Some(local)
}

/// `text` as an absolute URL on `origin`, when it stays there ([`local_path`]).
pub(crate) fn same_origin_target(text: &str, origin: &str) -> Option<String> {
    local_path(text, origin).map(|path| format!("{}{path}", origin.trim_end_matches('/')))
}

/// `text` percent-encoded for a query value.
pub(crate) fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://portal.test:7007";

    #[test]
    fn pages_of_this_site_are_kept() {
        assert_eq!(local_path("/", ORIGIN).as_deref(), Some("/"));
        assert_eq!(local_path("/catalog?kind=api#top", ORIGIN).as_deref(), Some("/catalog?kind=api#top"));
        assert_eq!(local_path("/docs/../catalog", ORIGIN).as_deref(), Some("/catalog"));
        assert_eq!(local_path("http://portal.test:7007/create", ORIGIN).as_deref(), Some("/create"));
        assert_eq!(local_path("HTTP://PORTAL.TEST:7007/x", ORIGIN).as_deref(), Some("/x"));
        assert_eq!(
            same_origin_target("/catalog", ORIGIN).as_deref(),
            Some("http://portal.test:7007/catalog")
        );
    }

    #[test]
    fn addresses_that_lead_elsewhere_are_refused() {
        for text in [
            "",
            "https://evil.test/",
            "//evil.test/path",
            "/\\evil.test",
            "\\\\evil.test",
            "/\t/evil.test",
            " /catalog",
            "javascript:alert(1)",
            "data:text/html,hi",
            "catalog",
            "http://portal.test:7008/",
            "https://portal.test:7007/",
            "http://portal.test:7007@evil.test/",
            "/a/..//evil.test",
        ] {
            assert_eq!(local_path(text, ORIGIN), None, "{text:?}");
        }
    }
}
