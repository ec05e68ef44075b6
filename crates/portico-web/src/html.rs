//! HTML text helpers: trusted markup, escaping, and the safe-link rule.
//!
//! Templates escape every value by default; [`Markup`] is the one way to pass HTML that is
//! already safe (a rendered component or template) into another template unescaped.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// HTML that is already safe to emit as is: the output of a template or of [`escape`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markup(String);

impl Markup {
    /// Wraps text that the caller guarantees is safe HTML (template output, escaped text).
    pub fn trusted(html: impl Into<String>) -> Markup {
        Markup(html.into())
    }

    /// Escapes plain text.
    pub fn text(text: &str) -> Markup {
        Markup(escape(text))
    }

    /// Renders a template; a render failure (a formatting error inside a filter) yields an
    /// inline error note rather than a broken page.
    pub fn render<T: askama::Template + ?Sized>(template: &T) -> Markup {
        match template.render() {
            Ok(html) => Markup(html),
            Err(error) => Markup(format!("<p class=\"render-error\">{}</p>", escape(&error.to_string()))),
        }
    }

    /// The HTML text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The HTML text, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// `true` when there is nothing to emit.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Markup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// Templates emit `Markup` without escaping it again.
impl askama::filters::HtmlSafe for Markup {}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The link target to render for a user-provided URL, or `None` when it must be shown as text:
/// only `http:`, `https:` and `mailto:` URLs and relative references (paths, queries,
/// fragments) are links. Schemes are compared case-insensitively after dropping the control
/// characters and whitespace browsers ignore, so `JaVa\tscript:` is caught too.
pub fn safe_href(url: &str) -> Option<&str> {
    let trimmed = url.trim();
    if trimmed.is_empty() {
        return None;
    }
    let cleaned: String = trimmed.chars().filter(|c| !c.is_control() && !c.is_whitespace()).collect();
    // A scheme is everything before the first ':' when no '/', '?' or '#' comes earlier.
    let scheme_end = cleaned.find([':', '/', '?', '#']);
    match scheme_end {
        Some(at) if cleaned[at..].starts_with(':') => {
            let scheme = cleaned[..at].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto").then_some(trimmed)
        }
        // Protocol-relative `//host` is a link to another site over the page's scheme: fine.
        _ => Some(trimmed),
    }
}

/// Characters escaped in one query-string component (everything but unreserved characters).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Percent-encodes a query-string or path component.
pub fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// Builds `path?k=v&…` from pairs, encoding each part; no `?` when there are no pairs.
pub fn url_with_query<'a>(path: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::from(path);
    for (i, (key, value)) in pairs.into_iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(&encode_component(key));
        out.push('=');
        out.push_str(&encode_component(value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }

    #[test]
    fn safe_href_allows_web_mail_and_relative() {
        for url in [
            "https://example.com/a",
            "HTTP://x",
            "mailto:a@b.c",
            "/catalog",
            "docs/x",
            "?q=1",
            "#top",
            "//cdn.example",
        ] {
            assert_eq!(safe_href(url), Some(url), "{url}");
        }
    }

    #[test]
    fn safe_href_refuses_script_and_data() {
        for url in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html,<b>",
            "vbscript:x",
            "file:///etc/passwd",
            "",
            "   ",
        ] {
            assert_eq!(safe_href(url), None, "{url:?}");
        }
    }

    #[test]
    fn query_urls_encode_each_part() {
        assert_eq!(
            url_with_query("/catalog", [("kind", "api"), ("q", "a b&c")]),
            "/catalog?kind=api&q=a%20b%26c"
        );
        assert_eq!(url_with_query("/catalog", []), "/catalog");
    }

    #[test]
    fn markup_is_not_escaped_again_in_templates() {
        #[derive(askama::Template)]
        #[template(source = "<div>{{ inner }}{{ text }}</div>", ext = "html")]
        struct Outer {
            inner: Markup,
            text: &'static str,
        }
        let html = Outer { inner: Markup::trusted("<b>ok</b>"), text: "<i>" }.to_string();
        assert_eq!(html, "<div><b>ok</b>&#60;i&#62;</div>");
    }
}
