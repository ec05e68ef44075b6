//! Stable hashing of JSON values (SHA-1 over the key-sorted serialization), as Backstage uses
//! for etags and change detection.

use serde_json::Value;

/// SHA-1 hex digest of the key-sorted compact JSON serialization of `value`.
pub fn stable_hash(value: &Value) -> String {
    todo!("stable_hash {value}")
}

/// SHA-1 hex digest of arbitrary text (used for `generated-<sha1>` location names).
pub fn sha1_hex(text: &str) -> String {
    todo!("sha1_hex {text}")
}
