//! The `format` keyword for the formats templates use. Unknown formats, and values that are not
//! strings, always conform (as in the `jsonschema` library).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

fn pattern(source: &str) -> Regex {
    Regex::new(source).expect("format patterns are valid")
}

static DATE: LazyLock<Regex> = LazyLock::new(|| pattern(r"^[0-9]{4}-[01][0-9]-[0-3][0-9]$"));
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?(?:[zZ]|[+-][0-9]{2}:[0-9]{2})?$",
    )
});
static DATE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^[0-9]{4}-[01][0-9]-[0-3][0-9][tT ](?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?(?:[zZ]|[+-][0-9]{2}:[0-9]{2})$",
    )
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$",
    )
});
static URI: LazyLock<Regex> = LazyLock::new(|| pattern(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$"));
static URI_REFERENCE: LazyLock<Regex> = LazyLock::new(|| pattern(r"^\S*$"));
static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
    )
});
static UUID: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
});
static COLOR: LazyLock<Regex> = LazyLock::new(|| pattern(r"^#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$"));

/// Whether `text` conforms to `format`.
pub(crate) fn conforms(text: &str, format: &str) -> bool {
    match format {
        "date" => DATE.is_match(text),
        "time" => TIME.is_match(text),
        "date-time" => DATE_TIME.is_match(text),
        "email" => EMAIL.is_match(text),
        "uri" => URI.is_match(text),
        "uri-reference" => URI_REFERENCE.is_match(text),
        "hostname" | "host-name" => text.len() <= 255 && HOSTNAME.is_match(text),
        "ipv4" | "ip-address" => text.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => text.parse::<Ipv6Addr>().is_ok(),
        "uuid" => UUID.is_match(text),
        "color" => COLOR.is_match(text),
        "regex" => Regex::new(text).is_ok(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::conforms;

    #[test]
    fn common_formats() {
        assert!(conforms("ops@example.com", "email"));
        assert!(!conforms("not an email", "email"));
        assert!(!conforms("a@b", "email"));
        assert!(conforms("https://example.com/x", "uri"));
        assert!(!conforms("example.com", "uri"));
        assert!(conforms("2024-02-29", "date"));
        assert!(!conforms("2024-2-29", "date"));
        assert!(conforms("2024-02-29T10:00:00Z", "date-time"));
        assert!(!conforms("2024-02-29T10:00", "date-time"));
        assert!(conforms("10.0.0.1", "ipv4"));
        assert!(conforms("::1", "ipv6"));
        assert!(conforms("anything", "no-such-format"));
    }
}
