//! The flattened key/value rows Backstage's filters, ordering and facets work on
//! (`buildEntitySearch` of the catalog's stitcher).

use std::borrow::Cow;

// Every entity's flattening fills a few sets; SipHash was a sixth of preparing an entity for the
// read index. foldhash is several times cheaper and still seeded at random per process.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use serde_json::Value;

use crate::SerializedError;
use crate::entity_ref::DEFAULT_NAMESPACE;
use crate::validation::js_string;

/// Paths the generic traversal skips: structures not worth indexing, and the keys that are
/// always added explicitly afterwards.
const SPECIAL_KEYS: [&str; 7] = [
    "attachments",
    "relations",
    "status",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "metadata.etag",
];

/// Keys and values longer than this (in UTF-16 units, like JavaScript) are not indexed by value.
const MAX_KEY_LENGTH: usize = 200;
const MAX_VALUE_LENGTH: usize = 200;

/// One searchable key/value pair of an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRow {
    /// Lowercased dot path.
    pub key: String,
    /// Lowercased value; `None` for null or values over 200 characters.
    pub value: Option<String>,
    /// The value in its original case; `None` where `value` is `None`.
    pub original: Option<String>,
}

/// A leaf found by the traversal, before stringification.
enum Raw<'a> {
    Value(&'a Value),
    /// The synthetic `true` of `<array path>.<string element>` keys.
    True,
    Default,
}

/// Every searchable row of a final entity (Backstage's `buildEntitySearch`).
///
/// Rows: every leaf as a dot path (array elements under the array's path, string elements
/// also as `<path>.<element>` = `true`), then `metadata.name`, `metadata.namespace` and
/// `metadata.uid` (null when absent, plus `metadata.namespace` = `default` when there is no
/// namespace), then `relations.<type>` = target ref. Rows repeating a `(key, value)` pair are
/// dropped. Keys that differ only in case are an `InputError`.
pub fn search_rows(entity: &Value) -> Result<Vec<SearchRow>, SerializedError> {
    let mut raw: Vec<(String, Raw<'_>)> = Vec::with_capacity(64);
    let mut seen_element_keys = HashSet::new();
    let mut path = String::with_capacity(128);
    visit(entity, &mut path, &mut raw, &mut seen_element_keys);

    let metadata = entity.get("metadata");
    let meta = |key: &str| metadata.and_then(|m| m.get(key)).unwrap_or(&Value::Null);
    raw.push(("metadata.name".to_owned(), Raw::Value(meta("name"))));
    raw.push(("metadata.namespace".to_owned(), Raw::Value(meta("namespace"))));
    raw.push(("metadata.uid".to_owned(), Raw::Value(meta("uid"))));
    if !is_truthy(meta("namespace")) {
        raw.push(("metadata.namespace".to_owned(), Raw::Default));
    }
    if let Some(Value::Array(relations)) = entity.get("relations") {
        for relation in relations {
            let kind = relation.get("type").map_or_else(|| "undefined".to_owned(), js_string);
            let target = relation.get("targetRef").unwrap_or(&Value::Null);
            raw.push((format!("relations.{kind}"), Raw::Value(target)));
        }
    }

    // Keys are lowercased once, here; the duplicate check needs the spelling of each key that
    // lowercasing changed.
    let mut respelled: Vec<(usize, String)> = Vec::new();
    for (at, (key, _)) in raw.iter_mut().enumerate() {
        if let Cow::Owned(lower) = lowercased(key)
            && lower != *key
        {
            respelled.push((at, std::mem::replace(key, lower)));
        }
    }
    check_case_duplicates(&raw, &respelled)?;

    let mut rows: Vec<SearchRow> = Vec::with_capacity(raw.len());
    for (key, value) in raw {
        if js_length(&key) > MAX_KEY_LENGTH {
            continue;
        }
        let original = match value {
            Raw::Value(Value::Null) => None,
            Raw::Value(Value::String(s)) => Some(s.clone()),
            Raw::Value(other) => Some(js_string(other)),
            Raw::True => Some("true".to_owned()),
            Raw::Default => Some(DEFAULT_NAMESPACE.to_owned()),
        };
        let (value, original) = match original {
            Some(original) => {
                let mut lower = original.clone();
                lowercase_in_place(&mut lower);
                if js_length(&lower) <= MAX_VALUE_LENGTH {
                    (Some(lower), Some(original))
                } else {
                    (None, None)
                }
            }
            None => (None, None),
        };
        rows.push(SearchRow { key, value, original });
    }

    // Duplicate array values (e.g. `tags: [java, java]`) give identical rows; keep the first.
    let mut seen = HashSet::with_capacity(rows.len());
    let keep: Vec<bool> = rows.iter().map(|r| seen.insert((r.key.as_str(), r.value.as_deref()))).collect();
    drop(seen);
    let mut keep = keep.into_iter();
    rows.retain(|_| keep.next().unwrap_or(true));
    Ok(rows)
}

/// Depth-first traversal emitting the leaves of `current`, found at `path`.
fn visit<'a>(
    current: &'a Value,
    path: &mut String,
    out: &mut Vec<(String, Raw<'a>)>,
    seen_element_keys: &mut HashSet<String>,
) {
    if SPECIAL_KEYS.contains(&path.as_str()) {
        return;
    }
    match current {
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            out.push((path.clone(), Raw::Value(current)));
        }
        Value::Array(items) => {
            for item in items {
                visit(item, path, out, seen_element_keys);
                if let Value::String(element) = item {
                    let key = format!("{path}.{element}");
                    let mut lower = key.clone();
                    lowercase_in_place(&mut lower);
                    if seen_element_keys.insert(lower) {
                        out.push((key, Raw::True));
                    }
                }
            }
        }
        Value::Object(map) => {
            for (key, value) in map {
                let len = path.len();
                if len > 0 {
                    path.push('.');
                }
                path.push_str(key);
                visit(value, path, out, seen_element_keys);
                path.truncate(len);
            }
        }
    }
}

/// Rejects keys that differ only in case (`spec.foo` and `spec.Foo`), with Backstage's message
/// listing each such key (lowercased) once, in the order the second variant appeared. `lowered`
/// holds the keys lowercased; `respelled`, in ascending position, the original spelling of each
/// key that lowercasing changed.
fn check_case_duplicates(
    lowered: &[(String, Raw<'_>)],
    respelled: &[(usize, String)],
) -> Result<(), SerializedError> {
    // Only a key that had uppercase letters can collide with another spelling.
    if respelled.is_empty() {
        return Ok(());
    }
    let candidates: HashSet<&str> = respelled.iter().map(|(at, _)| lowered[*at].0.as_str()).collect();
    let mut spellings = respelled.iter().peekable();
    let mut first_spelling: HashMap<&str, &str> = HashMap::new();
    let mut duplicates: Vec<&str> = Vec::new();
    for (at, (lower, _)) in lowered.iter().enumerate() {
        let spelling = match spellings.next_if(|(position, _)| *position == at) {
            Some((_, original)) => original.as_str(),
            None => lower.as_str(),
        };
        if !candidates.contains(lower.as_str()) {
            continue;
        }
        match first_spelling.get(lower.as_str()) {
            None => {
                first_spelling.insert(lower, spelling);
            }
            Some(first) if *first != spelling && !duplicates.contains(&lower.as_str()) => {
                duplicates.push(lower)
            }
            Some(_) => {}
        }
    }
    if duplicates.is_empty() {
        return Ok(());
    }
    Err(SerializedError::input(format!(
        "Entity has duplicate keys that vary only in casing, '{}'",
        duplicates.join("', '")
    )))
}

/// `text` lowercased, borrowed when lowercasing leaves ASCII text as it is.
fn lowercased(text: &str) -> Cow<'_, str> {
    if text.is_ascii() && !text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    lowercase_in_place(&mut out);
    Cow::Owned(out)
}

/// `toLocaleLowerCase('en-US')`, without reallocating for ASCII text.
fn lowercase_in_place(text: &mut String) {
    if text.is_ascii() {
        text.make_ascii_lowercase();
    } else {
        *text = text.to_lowercase();
    }
}

/// JavaScript's `String.length` (UTF-16 code units).
fn js_length(text: &str) -> usize {
    if text.is_ascii() { text.len() } else { text.encode_utf16().count() }
}

/// JavaScript truthiness of a JSON value.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(entity: &Value) -> Vec<(String, Option<String>)> {
        search_rows(entity).expect("rows").into_iter().map(|r| (r.key, r.value)).collect()
    }

    fn row(key: &str, value: Option<&str>) -> (String, Option<String>) {
        (key.to_owned(), value.map(str::to_owned))
    }

    #[test]
    fn traverses_leaves_arrays_and_special_keys() {
        let entity = json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "Web", "namespace": "default", "uid": "u1", "etag": "e",
                         "tags": ["Java", "go", "java"], "annotations": {"backstage.io/orphan": "true"}},
            "spec": {"type": "service", "replicas": 3, "enabled": false, "nothing": null,
                     "profile": {"email": "A@B"}, "ports": [{"p": 1}, {"p": 2}], "empty": [], "obj": {}},
            "relations": [{"type": "ownedBy", "targetRef": "group:default/team-a"}],
            "status": {"items": [{"message": "x"}]}
        });
        assert_eq!(
            pairs(&entity),
            vec![
                row("apiversion", Some("backstage.io/v1alpha1")),
                row("kind", Some("component")),
                row("metadata.tags", Some("java")),
                row("metadata.tags.java", Some("true")),
                row("metadata.tags", Some("go")),
                row("metadata.tags.go", Some("true")),
                row("metadata.annotations.backstage.io/orphan", Some("true")),
                row("spec.type", Some("service")),
                row("spec.replicas", Some("3")),
                row("spec.enabled", Some("false")),
                row("spec.nothing", None),
                row("spec.profile.email", Some("a@b")),
                row("spec.ports.p", Some("1")),
                row("spec.ports.p", Some("2")),
                row("metadata.name", Some("web")),
                row("metadata.namespace", Some("default")),
                row("metadata.uid", Some("u1")),
                row("relations.ownedby", Some("group:default/team-a")),
            ]
        );
        let rows = search_rows(&entity).expect("rows");
        assert_eq!(rows[0].original.as_deref(), Some("backstage.io/v1alpha1"));
        assert_eq!(rows[2].original.as_deref(), Some("Java"));
    }

    #[test]
    fn missing_namespace_is_indexed_as_default() {
        let entity = json!({"kind": "A", "metadata": {"name": "x"}});
        assert_eq!(
            pairs(&entity),
            vec![
                row("kind", Some("a")),
                row("metadata.name", Some("x")),
                row("metadata.namespace", None),
                row("metadata.uid", None),
                row("metadata.namespace", Some("default")),
            ]
        );
    }

    #[test]
    fn long_values_become_null_and_long_keys_are_dropped() {
        let long = "x".repeat(201);
        let entity = json!({"metadata": {"name": "n", "namespace": "default", "uid": "u"},
                            "spec": {"a": long.clone(), "b": "y".repeat(200)}, "k": {long.clone(): 1}});
        let rows = search_rows(&entity).expect("rows");
        let a = rows.iter().find(|r| r.key == "spec.a").expect("spec.a");
        assert_eq!((a.value.as_deref(), a.original.as_deref()), (None, None));
        let b = rows.iter().find(|r| r.key == "spec.b").expect("spec.b");
        assert_eq!(b.value.as_ref().map(String::len), Some(200));
        assert!(rows.iter().all(|r| !r.key.starts_with("k.")));
    }

    #[test]
    fn duplicate_keys_differing_in_case_are_rejected() {
        let entity =
            json!({"metadata": {"name": "n"}, "spec": {"foo": 1, "Foo": 2, "bar": {"X": 1, "x": 2}}});
        let err = search_rows(&entity).expect_err("case duplicates");
        assert_eq!(err.name, "InputError");
        assert_eq!(
            err.message,
            "Entity has duplicate keys that vary only in casing, 'spec.foo', 'spec.bar.x'"
        );
    }

    #[test]
    fn a_key_spelled_the_same_twice_is_no_case_duplicate_but_a_non_ascii_variant_is() {
        let entity = json!({
            "metadata": {"name": "n"},
            "relations": [
                {"type": "ownedBy", "targetRef": "group:default/a"},
                {"type": "ownedBy", "targetRef": "group:default/b"}
            ]
        });
        let owners: Vec<_> = pairs(&entity).into_iter().filter(|(k, _)| k == "relations.ownedby").collect();
        assert_eq!(owners.len(), 2);

        let entity = json!({"metadata": {"name": "n"}, "spec": {"Ärger": 1, "ärger": 2}});
        let err = search_rows(&entity).expect_err("case duplicates");
        assert_eq!(err.message, "Entity has duplicate keys that vary only in casing, 'spec.ärger'");
    }

    #[test]
    fn duplicate_rows_are_dropped() {
        let entity = json!({"metadata": {"name": "n", "namespace": "ns", "uid": "u", "tags": ["a", "a"]}});
        let keys: Vec<String> = pairs(&entity).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["metadata.tags", "metadata.tags.a", "metadata.name", "metadata.namespace", "metadata.uid"]
        );
    }
}
