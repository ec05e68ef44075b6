//! Stable hashing of JSON values (SHA-1 over the key-sorted serialization), as Backstage uses
//! for etags and change detection.

use serde_json::{Number, Value};
use sha1::{Digest, Sha1};

/// SHA-1 hex digest of the key-sorted compact JSON serialization of `value`.
pub fn stable_hash(value: &Value) -> String {
    let mut hasher = StableHasher::new();
    hasher.value(value);
    hasher.finish()
}

/// The key-sorted compact JSON serialization that [`stable_hash`] digests (the tests' reference).
#[cfg(test)]
fn stable_stringify(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_stable(value, &mut out);
    out
}

/// SHA-1 hex digest of arbitrary text (used for `generated-<sha1>` location names).
pub fn sha1_hex(text: &str) -> String {
    hex::encode(Sha1::digest(text.as_bytes()))
}

/// Digests a key-sorted JSON serialization as it is written, without holding it: hashing the
/// result of processing a Location of 100,000 entities would otherwise build a 12 MB text
/// (and the JSON value it is written from) only to throw both away.
///
/// [`StableHasher::value`] writes a value's key-sorted compact serialization; the caller writes the
/// punctuation of any structure it lays out itself with [`StableHasher::raw`].
pub struct StableHasher {
    digest: Sha1,
    /// Text not yet digested: SHA-1 is fed in blocks, not in the short pieces a serialization
    /// is written in.
    pending: String,
}

/// Bytes buffered before they are digested.
const HASHER_BUFFER: usize = 4096;

impl StableHasher {
    pub fn new() -> Self {
        StableHasher { digest: Sha1::new(), pending: String::with_capacity(HASHER_BUFFER) }
    }

    /// Appends `text` verbatim.
    pub fn raw(&mut self, text: &str) {
        self.push_str(text);
    }

    /// Appends `text` as a JSON string literal.
    pub fn string(&mut self, text: &str) {
        write_json_string(text, self);
    }

    /// Appends the key-sorted compact serialization of `value`.
    pub fn value(&mut self, value: &Value) {
        write_stable(value, self);
    }

    /// Appends a JSON array of `items`, each written by `write`.
    pub fn array<T>(&mut self, items: impl IntoIterator<Item = T>, write: impl FnMut(&mut Self, T)) {
        write_array(self, items, write);
    }

    /// Appends a JSON array of strings.
    pub fn strings(&mut self, texts: &[&str]) {
        self.array(texts, |hasher, text| hasher.string(text));
    }

    /// The hex digest of everything appended.
    pub fn finish(mut self) -> String {
        self.digest.update(self.pending.as_bytes());
        hex::encode(self.digest.finalize())
    }
}

impl Default for StableHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a serialization is written: a hasher that digests it as it goes, or (for the tests'
/// reference) a string.
trait Sink {
    fn push_str(&mut self, text: &str);
}

#[cfg(test)]
impl Sink for String {
    fn push_str(&mut self, text: &str) {
        String::push_str(self, text);
    }
}

impl Sink for StableHasher {
    fn push_str(&mut self, text: &str) {
        if self.pending.len() + text.len() > HASHER_BUFFER {
            self.digest.update(self.pending.as_bytes());
            self.pending.clear();
            if text.len() > HASHER_BUFFER {
                self.digest.update(text.as_bytes());
                return;
            }
        }
        self.pending.push_str(text);
    }
}

fn write_stable(value: &Value, out: &mut impl Sink) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&js_number(n)),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => write_array(out, items, |out, item| write_stable(item, out)),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push_str("{");
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(",");
                }
                write_json_string(key, out);
                out.push_str(":");
                write_stable(item, out);
            }
            out.push_str("}");
        }
    }
}

fn write_array<S: Sink, T>(
    out: &mut S,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut S, T),
) {
    out.push_str("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(",");
        }
        write(out, item);
    }
    out.push_str("]");
}

/// Writes `s` as a JSON string literal with `JSON.stringify`'s escaping, copying the runs
/// between escapes whole.
fn write_json_string(s: &str, out: &mut impl Sink) {
    out.push_str("\"");
    let mut run_start = 0;
    for (at, c) in s.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[run_start..at]);
        if escaped.is_empty() {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push_str(escaped);
        }
        run_start = at + c.len_utf8();
    }
    out.push_str(&s[run_start..]);
    out.push_str("\"");
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
    fn the_streaming_hasher_digests_what_stable_stringify_writes() {
        let long = "x\"y\u{1f}é".repeat(2_000);
        let value = json!({"z": [long, 1.0, null], "a": {"q": "\u{8}\t", "b": true}, "m": "plain"});
        assert_eq!(stable_hash(&value), sha1_hex(&stable_stringify(&value)));

        let mut hasher = StableHasher::new();
        hasher.raw("[");
        hasher.string("a\"b");
        hasher.raw(",");
        hasher.value(&value);
        hasher.raw(",");
        hasher.strings(&["x", "y"]);
        hasher.raw(",");
        hasher.array([1, 2], |h, n| h.raw(&n.to_string()));
        hasher.raw("]");
        assert_eq!(hasher.finish(), stable_hash(&json!(["a\"b", value, ["x", "y"], [1, 2]])));
        assert_eq!(StableHasher::new().finish(), sha1_hex(""));
    }

    #[test]
    fn numbers_print_like_javascript() {
        assert_eq!(stable_stringify(&json!([1.0, 1.5, -3, 0.25])), "[1,1.5,-3,0.25]");
        assert_eq!(stable_stringify(&json!("\u{1}")), r#""\u0001""#);
    }
}
