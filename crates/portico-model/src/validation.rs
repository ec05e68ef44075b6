//! Backstage's default field validators (`KubernetesValidatorFunctions`,
//! `CommonValidatorFunctions`, `makeValidator`) and the `FieldFormatEntityPolicy` built on them.
//!
//! Lengths are counted like JavaScript's `String.length` where it matters; every rule that
//! limits length also limits the character set to ASCII, so byte length is exact there.

use serde_json::Value;

/// Link to the catalog format ADR that every field-format error ends with.
const FORMAT_DOC_LINK: &str = "To learn more about catalog file format, visit: https://github.com/backstage/backstage/blob/master/docs/architecture-decisions/adr002-default-catalog-file-format.md";

/// A DNS label (RFC 1123): 1–63 chars of `[a-z0-9]` runs separated by single `-`.
pub fn is_valid_dns_label(value: &str) -> bool {
    is_separated_runs(value, 63, |b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A DNS subdomain: 1–253 chars, every `.`-separated part a [DNS label](is_valid_dns_label).
pub fn is_valid_dns_subdomain(value: &str) -> bool {
    !value.is_empty() && value.len() <= 253 && value.split('.').all(is_valid_dns_label)
}

/// `<suffix>` or `<prefix>/<suffix>`; three or more parts are invalid.
fn is_valid_prefix_and_or_suffix(
    value: &str,
    prefix: impl Fn(&str) -> bool,
    suffix: impl Fn(&str) -> bool,
) -> bool {
    let mut parts = value.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(only), None, _) => suffix(only),
        (Some(p), Some(s), None) => prefix(p) && suffix(s),
        _ => false,
    }
}

/// `1..=max` bytes of runs of `allowed` bytes separated by single `-`
/// (regex `^[allowed]+(\-[allowed]+)*$`).
fn is_separated_runs(value: &str, max: usize, allowed: impl Fn(u8) -> bool) -> bool {
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > max || bytes[0] == b'-' || bytes[bytes.len() - 1] == b'-' {
        return false;
    }
    let mut previous_dash = false;
    for &b in bytes {
        if b == b'-' {
            if previous_dash {
                return false;
            }
            previous_dash = true;
        } else if allowed(b) {
            previous_dash = false;
        } else {
            return false;
        }
    }
    true
}

/// `apiVersion`: optional DNS-subdomain prefix, suffix of 1–63 `[a-zA-Z0-9]`.
pub fn is_valid_api_version(value: &str) -> bool {
    is_valid_prefix_and_or_suffix(value, is_valid_dns_subdomain, |s| {
        !s.is_empty() && s.len() <= 63 && s.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// `kind`: 1–63 chars, a letter followed by letters and digits.
pub fn is_valid_kind(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphabetic()
        && bytes.iter().all(u8::is_ascii_alphanumeric)
}

/// `metadata.name`: 1–63 chars, alphanumeric at both ends, `[-_.]` allowed inside (also
/// consecutively).
pub fn is_valid_object_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `metadata.namespace`: a DNS label (lowercase only).
pub fn is_valid_namespace(value: &str) -> bool {
    is_valid_dns_label(value)
}

/// Label key: optional DNS-subdomain prefix, suffix following the object-name rule.
pub fn is_valid_label_key(value: &str) -> bool {
    is_valid_prefix_and_or_suffix(value, is_valid_dns_subdomain, is_valid_object_name)
}

/// Label value: empty, or the object-name rule.
pub fn is_valid_label_value(value: &str) -> bool {
    value.is_empty() || is_valid_object_name(value)
}

/// Annotation key: same rule as label keys.
pub fn is_valid_annotation_key(value: &str) -> bool {
    is_valid_label_key(value)
}

/// Annotation value: any string, of any length.
pub fn is_valid_annotation_value(value: &Value) -> bool {
    value.is_string()
}

/// Tag: 1–63 chars of `[a-z0-9:+#]` runs separated by single `-`.
pub fn is_valid_tag(value: &str) -> bool {
    is_separated_runs(value, 63, |b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b':' | b'+' | b'#')
    })
}

/// A URL that the WHATWG parser (`new URL(value)`) accepts: absolute, any scheme.
pub fn is_valid_url(value: &str) -> bool {
    url::Url::parse(value).is_ok()
}

/// A string that is non-empty after trimming.
pub fn is_valid_string(value: &str) -> bool {
    !value.trim().is_empty()
}

/// JavaScript's `String(value)` for a JSON value, as the policy messages interpolate it.
pub(crate) fn js_string(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => crate::hash::js_number(n),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|v| if v.is_null() { String::new() } else { js_string(v) })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".to_owned(),
    }
}

/// The validators the field-format policy names in its messages.
#[derive(Debug, Clone, Copy)]
enum Rule {
    ApiVersion,
    Kind,
    ObjectName,
    Namespace,
    LabelKey,
    LabelValue,
    AnnotationKey,
    AnnotationValue,
    Tag,
    Url,
    NonEmptyString,
}

impl Rule {
    fn check(self, value: &Value) -> bool {
        let Some(s) = value.as_str() else {
            return false;
        };
        match self {
            Rule::ApiVersion => is_valid_api_version(s),
            Rule::Kind => is_valid_kind(s),
            Rule::ObjectName => is_valid_object_name(s),
            Rule::Namespace => is_valid_namespace(s),
            Rule::LabelKey => is_valid_label_key(s),
            Rule::LabelValue => is_valid_label_value(s),
            Rule::AnnotationKey => is_valid_annotation_key(s),
            Rule::AnnotationValue => true,
            Rule::Tag => is_valid_tag(s),
            Rule::Url => is_valid_url(s),
            Rule::NonEmptyString => is_valid_string(s),
        }
    }

    fn expectation(self) -> &'static str {
        match self {
            Rule::ObjectName | Rule::LabelValue => {
                "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total"
            }
            Rule::LabelKey | Rule::ApiVersion | Rule::AnnotationKey => "a valid prefix and/or suffix",
            Rule::Namespace => {
                "a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total"
            }
            Rule::Tag => {
                "a string that is sequences of [a-z0-9+#] separated by [-], at most 63 characters in total"
            }
            Rule::AnnotationValue => "a string",
            Rule::Kind => {
                "a string that is a sequence of [a-zA-Z][a-z0-9A-Z], at most 63 characters in total"
            }
            Rule::Url => "a string that is a valid url",
            Rule::NonEmptyString => "a non empty string",
        }
    }
}

/// `require(field, value, validator)` of the policy; `None` stands for `undefined`.
fn require(field: &str, value: Option<&Value>, rule: Rule) -> Result<(), String> {
    let value = match value {
        None | Some(Value::Null) => return Err(format!("{field} must have a value")),
        Some(v) => v,
    };
    if rule.check(value) {
        return Ok(());
    }
    Err(format!(
        "\"{field}\" is not valid; expected {} but found \"{}\". {FORMAT_DOC_LINK}",
        rule.expectation(),
        js_string(value)
    ))
}

/// `optional(field, value, validator)`: only `undefined` is skipped (`null` still fails).
fn optional(field: &str, value: Option<&Value>, rule: Rule) -> Result<(), String> {
    match value {
        None => Ok(()),
        some => require(field, some, rule),
    }
}

/// Backstage's `FieldFormatEntityPolicy`: checks the format of the envelope's fields and
/// returns the plain `Error` message of the first violation.
pub fn check_field_formats(entity: &Value) -> Result<(), String> {
    require("apiVersion", entity.get("apiVersion"), Rule::ApiVersion)?;
    require("kind", entity.get("kind"), Rule::Kind)?;
    let metadata = entity.get("metadata");
    let meta = |key: &str| metadata.and_then(|m| m.get(key));
    require("metadata.name", meta("name"), Rule::ObjectName)?;
    optional("metadata.namespace", meta("namespace"), Rule::Namespace)?;

    for (section, key_rule, value_rule) in [
        ("labels", Rule::LabelKey, Rule::LabelValue),
        ("annotations", Rule::AnnotationKey, Rule::AnnotationValue),
    ] {
        if let Some(Value::Object(map)) = meta(section) {
            for (k, v) in map {
                let field = format!("{section}.{k}");
                require(&field, Some(&Value::String(k.clone())), key_rule)?;
                require(&field, Some(v), value_rule)?;
            }
        }
    }

    if let Some(Value::Array(tags)) = meta("tags") {
        for (i, tag) in tags.iter().enumerate() {
            require(&format!("tags.{i}"), Some(tag), Rule::Tag)?;
        }
    }

    if let Some(Value::Array(links)) = meta("links") {
        for (i, link) in links.iter().enumerate() {
            require(&format!("links.{i}.url"), link.get("url"), Rule::Url)?;
            optional(&format!("links.{i}.title"), link.get("title"), Rule::NonEmptyString)?;
            optional(&format!("links.{i}.icon"), link.get("icon"), Rule::ObjectName)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_name_accepts_valid_names() {
        for name in ["a", "AZ09", "a-b", "a_b", "a.b", &"a".repeat(63)] {
            assert!(is_valid_object_name(name), "{name}");
        }
    }

    #[test]
    fn object_name_allows_consecutive_separators() {
        assert!(is_valid_object_name("a--b"));
        assert!(is_valid_object_name("a..b"));
        assert!(is_valid_object_name("a_.-b"));
    }

    #[test]
    fn object_name_rejects_invalid_names() {
        for name in ["", &"a".repeat(64), "a/b", "-a-b", "a-b-", "a b", "ä"] {
            assert!(!is_valid_object_name(name), "{name}");
        }
    }

    #[test]
    fn object_name_rejects_non_strings_in_policy() {
        let err = check_field_formats(&json!({
            "apiVersion": "a/b", "kind": "K", "metadata": {"name": 7}
        }))
        .expect_err("number name");
        assert!(err.starts_with("\"metadata.name\" is not valid;"), "{err}");
        assert!(err.contains("but found \"7\"."), "{err}");
    }

    #[test]
    fn namespace_accepts_dns_labels() {
        for ns in ["a", "a-b", &"a".repeat(63)] {
            assert!(is_valid_namespace(ns), "{ns}");
        }
    }

    #[test]
    fn namespace_rejects_uppercase_and_separators() {
        for ns in ["AZ09", "a--b", "a_b", "a.b", "-a-b", "a-b-", "", &"a".repeat(64)] {
            assert!(!is_valid_namespace(ns), "{ns}");
        }
    }

    #[test]
    fn dns_subdomain_checks_every_label() {
        assert!(is_valid_dns_subdomain("adam.ber-til.caesar"));
        assert!(!is_valid_dns_subdomain("adam.-bertil.caesar"));
        assert!(!is_valid_dns_subdomain(""));
        assert!(!is_valid_dns_subdomain("a..b"));
    }

    #[test]
    fn label_and_annotation_keys_accept_prefixes() {
        let prefix_253 =
            format!("{}.{}.{}.{}", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61));
        assert_eq!(prefix_253.len(), 253);
        for key in ["a", "a/b", "a-b.c/a", &format!("{prefix_253}/a")] {
            assert!(is_valid_label_key(key), "{key}");
            assert!(is_valid_annotation_key(key), "{key}");
        }
    }

    #[test]
    fn label_and_annotation_keys_reject_bad_parts() {
        let prefix_254 =
            format!("{}.{}.{}.{}", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(62));
        for key in
            [&format!("{prefix_254}/a"), "a--b.c/a", &format!("a/{}", "b".repeat(64)), "a/b/c", "/a", ""]
        {
            assert!(!is_valid_label_key(key), "{key}");
            assert!(!is_valid_annotation_key(key), "{key}");
        }
    }

    #[test]
    fn label_value_may_be_empty() {
        assert!(is_valid_label_value(""));
        assert!(is_valid_label_value("ValueStuff"));
        assert!(!is_valid_label_value("-x"));
    }

    #[test]
    fn annotation_value_accepts_any_string() {
        assert!(is_valid_annotation_value(&json!("/".repeat(6000))));
        assert!(is_valid_annotation_value(&json!("")));
        assert!(!is_valid_annotation_value(&json!(7)));
        assert!(!is_valid_annotation_value(&json!(null)));
    }

    #[test]
    fn api_version_vectors() {
        for v in ["a", "AZ09", "a/a", "a/aAb5C", "a-b.c/v1", "backstage.io/v1alpha1"] {
            assert!(is_valid_api_version(v), "{v}");
        }
        for v in ["a-b", "a_b", "a.b", "a--b.c/v1", "", "a/b/c", &"a".repeat(64)] {
            assert!(!is_valid_api_version(v), "{v}");
        }
    }

    #[test]
    fn kind_vectors() {
        for v in ["a", "AZ09", "Component"] {
            assert!(is_valid_kind(v), "{v}");
        }
        for v in ["9AZ", "a-b", &"a".repeat(64), ""] {
            assert!(!is_valid_kind(v), "{v}");
        }
    }

    #[test]
    fn tag_vectors() {
        for v in ["java", "c++", "c#", "a:b", "a-b", "go1"] {
            assert!(is_valid_tag(v), "{v}");
        }
        for v in ["Java", "a--b", "-a", "a-", "a_b", "a.b", "", &"a".repeat(64)] {
            assert!(!is_valid_tag(v), "{v}");
        }
    }

    #[test]
    fn url_vectors() {
        for v in [
            "http://foo",
            "https://foo:8080/sub/page?q=v&",
            "ftp://user:pass@host/file",
            "xyz://custom-protocol:4444/path",
        ] {
            assert!(is_valid_url(v), "{v}");
        }
        for v in ["abc", "   abc", ""] {
            assert!(!is_valid_url(v), "{v}");
        }
    }

    #[test]
    fn field_format_messages_match_backstage() {
        let base =
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x"}});
        assert_eq!(check_field_formats(&base), Ok(()));

        let mut e = base.clone();
        e["metadata"]["namespace"] = json!("AZ");
        assert_eq!(
            check_field_formats(&e).expect_err("bad namespace"),
            format!(
                "\"metadata.namespace\" is not valid; expected a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total but found \"AZ\". {FORMAT_DOC_LINK}"
            )
        );

        let mut e = base.clone();
        e["metadata"]["tags"] = json!(["ok", "Bad"]);
        let err = check_field_formats(&e).expect_err("bad tag");
        assert!(
            err.starts_with("\"tags.1\" is not valid; expected a string that is sequences of [a-z0-9+#]"),
            "{err}"
        );

        let mut e = base.clone();
        e["metadata"]["links"] = json!([{"url": "abc"}]);
        let err = check_field_formats(&e).expect_err("bad url");
        assert!(err.starts_with(
            "\"links.0.url\" is not valid; expected a string that is a valid url but found \"abc\"."
        ));

        let mut e = base.clone();
        e["metadata"]["links"] = json!([{"url": "https://x", "title": "  "}]);
        let err = check_field_formats(&e).expect_err("blank title");
        assert!(err.contains("expected a non empty string"), "{err}");

        let mut e = base.clone();
        e["metadata"]["labels"] = json!({"a/b/c": "x"});
        let err = check_field_formats(&e).expect_err("bad label key");
        assert!(
            err.starts_with("\"labels.a/b/c\" is not valid; expected a valid prefix and/or suffix"),
            "{err}"
        );

        let mut e = base.clone();
        e["metadata"]["annotations"] = json!({"a": 1});
        let err = check_field_formats(&e).expect_err("bad annotation value");
        assert!(
            err.starts_with("\"annotations.a\" is not valid; expected a string but found \"1\"."),
            "{err}"
        );

        let mut e = base;
        e["metadata"]["namespace"] = json!(null);
        assert_eq!(check_field_formats(&e), Err("metadata.namespace must have a value".to_owned()));
    }

    #[test]
    fn missing_name_must_have_a_value() {
        let e = json!({"apiVersion": "a", "kind": "K", "metadata": {}});
        assert_eq!(check_field_formats(&e), Err("metadata.name must have a value".to_owned()));
    }
}
