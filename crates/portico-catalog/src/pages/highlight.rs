//! Small server-side syntax highlighting for API definitions shown as code (GraphQL SDL,
//! protobuf, YAML/JSON and anything else): the text is split into tokens, each token escaped,
//! then comments, strings, numbers and keywords wrapped in spans. Unknown languages get only
//! comments, strings and numbers.

use portico_web::escape;

/// The language a definition is highlighted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    GraphQl,
    Proto,
    Yaml,
    Other,
}

impl Language {
    /// From an API's `spec.type`.
    pub fn for_api_type(spec_type: &str) -> Language {
        match spec_type.to_ascii_lowercase().as_str() {
            "graphql" => Language::GraphQl,
            "grpc" | "protobuf" | "proto" => Language::Proto,
            "openapi" | "asyncapi" | "yaml" => Language::Yaml,
            _ => Language::Other,
        }
    }

    fn keywords(self) -> &'static [&'static str] {
        match self {
            Language::GraphQl => &[
                "type",
                "interface",
                "union",
                "enum",
                "input",
                "scalar",
                "schema",
                "query",
                "mutation",
                "subscription",
                "fragment",
                "on",
                "implements",
                "extend",
                "directive",
                "repeatable",
            ],
            Language::Proto => &[
                "syntax", "package", "import", "option", "message", "service", "rpc", "returns", "enum",
                "oneof", "map", "repeated", "optional", "required", "reserved", "stream", "extend",
            ],
            Language::Yaml | Language::Other => &[],
        }
    }

    fn line_comment(self) -> &'static str {
        match self {
            Language::Proto => "//",
            Language::GraphQl | Language::Yaml | Language::Other => "#",
        }
    }
}

fn span(class: &str, text: &str, out: &mut String) {
    out.push_str("<span class=\"hl-");
    out.push_str(class);
    out.push_str("\">");
    out.push_str(&escape(text));
    out.push_str("</span>");
}

/// The highlighted HTML of `code` (safe to embed in `<pre><code>`).
pub fn highlight(code: &str, language: Language) -> String {
    let mut out = String::with_capacity(code.len() * 2);
    let comment = language.line_comment();
    let keywords = language.keywords();
    let mut rest = code;
    // YAML keys: a word at the start of a line (after indentation or "- ") followed by ':'.
    let mut line_start = true;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with(comment) || (language == Language::Proto && rest.starts_with("/*")) {
            let end = if rest.starts_with("/*") {
                rest.find("*/").map_or(rest.len(), |e| e + 2)
            } else {
                rest.find('\n').unwrap_or(rest.len())
            };
            span("comment", &rest[..end], &mut out);
            rest = &rest[end..];
            continue;
        }
        if rest.starts_with("\"\"\"") {
            let end = rest[3..].find("\"\"\"").map_or(rest.len(), |e| e + 6);
            span("string", &rest[..end], &mut out);
            rest = &rest[end..];
            continue;
        }
        if c == '"' || (c == '\'' && language == Language::Yaml) {
            let mut end = rest.len();
            let mut escaped = false;
            for (i, ch) in rest.char_indices().skip(1) {
                if ch == '\n' {
                    end = i;
                    break;
                }
                if ch == c && !escaped {
                    end = i + 1;
                    break;
                }
                escaped = ch == '\\' && !escaped;
            }
            span("string", &rest[..end], &mut out);
            rest = &rest[end..];
            line_start = false;
            continue;
        }
        if c.is_ascii_digit() {
            let end = rest.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '.')).unwrap_or(rest.len());
            span("number", &rest[..end], &mut out);
            rest = &rest[end..];
            line_start = false;
            continue;
        }
        if c.is_alphabetic() || c == '_' || c == '$' {
            let end = rest
                .find(|ch: char| !(ch.is_alphanumeric() || matches!(ch, '_' | '$' | '-' | '.' | '/')))
                .unwrap_or(rest.len());
            let word = &rest[..end];
            if language == Language::Yaml && line_start && rest[end..].starts_with(':') {
                span("key", word, &mut out);
            } else if keywords.contains(&word) {
                span("keyword", word, &mut out);
            } else {
                out.push_str(&escape(word));
            }
            rest = &rest[end..];
            line_start = false;
            continue;
        }
        if c == '\n' {
            line_start = true;
        } else if !(c == ' ' || c == '\t' || c == '-') {
            line_start = false;
        }
        let len = c.len_utf8();
        out.push_str(&escape(&rest[..len]));
        rest = &rest[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphql_keywords_strings_and_comments() {
        let html = highlight("# note <b>\ntype Film { title: String \"x<y\" }", Language::GraphQl);
        assert!(html.contains("<span class=\"hl-comment\"># note &lt;b&gt;</span>"), "{html}");
        assert!(html.contains("<span class=\"hl-keyword\">type</span> Film"), "{html}");
        assert!(html.contains("<span class=\"hl-string\">&quot;x&lt;y&quot;</span>"), "{html}");
    }

    #[test]
    fn proto_and_yaml() {
        let html = highlight("service Greeter { rpc Hi (A) returns (B); } // c", Language::Proto);
        assert!(html.contains("<span class=\"hl-keyword\">rpc</span>"), "{html}");
        assert!(html.contains("<span class=\"hl-comment\">// c</span>"), "{html}");
        let html = highlight("info:\n  version: 1.0\n  - name: x", Language::Yaml);
        assert!(html.contains("<span class=\"hl-key\">info</span>:"), "{html}");
        assert!(html.contains("<span class=\"hl-number\">1.0</span>"), "{html}");
        assert!(html.contains("<span class=\"hl-key\">name</span>"), "{html}");
    }

    #[test]
    fn nothing_unescaped_gets_through() {
        let hostile = "<script>alert('x')</script> \"</span><img>";
        for language in [Language::GraphQl, Language::Proto, Language::Yaml, Language::Other] {
            let html = highlight(hostile, language);
            assert!(!html.contains("<script") && !html.contains("<img"), "{html}");
        }
    }
}
