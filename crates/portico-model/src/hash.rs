//! Stable hashing of JSON values (SHA-1 over the key-sorted serialization), as Backstage uses
//! for etags and change detection.

use serde_json::{Number, Value};
use sha1::{Digest, Sha1};

/// SHA-1 hex digest of the key-sorted compact JSON serialization of `value`.
pub fn stable_hash(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_stable(value, &mut out);
    sha1_hex(&out)
}

/// The key-sorted compact JSON serialization that [`stable_hash`] digests.
pub fn stable_stringify(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_stable(value, &mut out);
    out
}

/// SHA-1 hex digest of arbitrary text (used for `generated-<sha1>` location names).
pub fn sha1_hex(text: &str) -> String {
    hex::encode(Sha1::digest(text.as_bytes()))
}

fn write_stable(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&js_number(n)),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_stable(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
                out.push(':');
                write_stable(item, out);
            }
            out.push('}');
        }
    }
}

/// Writes `s` as a JSON string literal with `JSON.stringify`'s escaping.
fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// JavaScript's `String(number)` for a JSON number: integral floats print without a fraction
/// (`1.0` → `1`), as JavaScript has a single number type.
pub(crate) fn js_number(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sha1_hex_matches_known_digest() {
        assert_eq!(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }

    #[test]
    fn stable_stringify_sorts_keys_recursively() {
        let a = json!({"b": 1, "a": {"d": [1, {"z": null, "y": true}], "c": "x\"\n"}});
        assert_eq!(stable_stringify(&a), r#"{"a":{"c":"x\"\n","d":[1,{"y":true,"z":null}]},"b":1}"#);
    }

    #[test]
    fn stable_hash_ignores_key_order() {
        let a = json!({"b": 1, "a": 2});
        let b = json!({"a": 2, "b": 1});
        assert_eq!(stable_hash(&a), stable_hash(&b));
        assert_eq!(stable_hash(&a), sha1_hex(r#"{"a":2,"b":1}"#));
        assert_ne!(stable_hash(&a), stable_hash(&json!({"a": 2, "b": 2})));
    }

    #[test]
    fn numbers_print_like_javascript() {
        assert_eq!(stable_stringify(&json!([1.0, 1.5, -3, 0.25])), "[1,1.5,-3,0.25]");
        assert_eq!(stable_stringify(&json!("\u{1}")), r#""\u0001""#);
    }
}
