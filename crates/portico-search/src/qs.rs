//! Query strings read with the `qs` "extended" rules Backstage's routers use: `a=1&a=2`,
//! `a[]=1`, `a[0]=1` make arrays and `f[kind]=x`, `f[lifecycle][0]=y` make objects.

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

/// The deepest nesting read, like qs's default `depth: 5`; deeper brackets stay in the key.
const MAX_DEPTH: usize = 5;
/// The most array indexes qs turns into an array (`arrayLimit: 20`); larger ones make objects.
const ARRAY_LIMIT: usize = 20;

/// Parses a raw query string (without `?`) into a JSON object.
pub fn parse(raw: &str) -> Map<String, Value> {
    let mut root = Value::Object(Map::new());
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(key);
        let value = decode(value);
        let (head, path) = split_key(&key);
        let mut segments = vec![Segment::Key(head)];
        segments.extend(path);
        insert(&mut root, &segments, Value::String(value));
    }
    match root {
        Value::Object(map) => map.into_iter().map(|(k, v)| (k, compact(v))).collect(),
        _ => Map::new(),
    }
}

fn decode(text: &str) -> String {
    percent_decode_str(&text.replace('+', " ")).decode_utf8_lossy().into_owned()
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Append,
}

/// `a[b][0]` → `a`, `[Key(b), Key(0)]`; `a[]` → `a`, `[Append]`.
fn split_key(key: &str) -> (String, Vec<Segment>) {
    let Some(open) = key.find('[').filter(|&i| i > 0) else { return (key.to_owned(), Vec::new()) };
    let head = key[..open].to_owned();
    let mut rest = &key[open..];
    let mut segments = Vec::new();
    while segments.len() < MAX_DEPTH && rest.starts_with('[') {
        let Some(close) = rest.find(']') else { break };
        let inner = &rest[1..close];
        segments.push(if inner.is_empty() { Segment::Append } else { Segment::Key(inner.to_owned()) });
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        segments.push(Segment::Key(rest.to_owned()));
    }
    (head, segments)
}

/// Inserts into objects only; arrays are objects with `\u{0}`-prefixed numeric keys until
/// [`compact`] turns them into arrays.
fn insert(node: &mut Value, path: &[Segment], value: Value) {
    let Some((first, rest)) = path.split_first() else { return };
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    let Value::Object(map) = node else { return };
    let key = match first {
        Segment::Key(k) => match k.parse::<usize>() {
            Ok(i) if i <= ARRAY_LIMIT => format!("\u{0}{i:06}"),
            _ => k.clone(),
        },
        Segment::Append => format!("\u{0}{:06}", map.len() + 1_000_000),
    };
    if rest.is_empty() {
        match map.get_mut(&key) {
            // A repeated plain key (`a=1&a=2`) collects its values.
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let old = existing.take();
                *existing = Value::Array(vec![old, value]);
            }
            None => {
                map.insert(key, value);
            }
        }
    } else {
        let child = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
        insert(child, rest, value);
    }
}

/// Turns objects whose keys are all array slots into arrays (in index order).
fn compact(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            if !map.is_empty() && map.keys().all(|k| k.starts_with('\u{0}')) {
                let mut entries: Vec<(String, Value)> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                let mut items = Vec::new();
                for (_, v) in entries {
                    match compact(v) {
                        // `a[]=1&a[]=2` style repeats are flattened into the array.
                        Value::Array(inner) => items.extend(inner),
                        other => items.push(other),
                    }
                }
                Value::Array(items)
            } else {
                Value::Object(
                    map.into_iter()
                        .map(|(k, v)| (k.trim_start_matches('\u{0}').trim_start_matches('0').to_owned(), v))
                        .map(|(k, v)| (if k.is_empty() { "0".to_owned() } else { k }, compact(v)))
                        .collect(),
                )
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_in_every_form() {
        for raw in
            ["types=a&types=b", "types[]=a&types[]=b", "types[0]=a&types[1]=b", "types[1]=b&types[0]=a"]
        {
            assert_eq!(parse(raw)["types"], json!(["a", "b"]), "{raw}");
        }
        assert_eq!(parse("types=a")["types"], json!("a"));
    }

    #[test]
    fn deep_objects_and_encoding() {
        let parsed =
            parse("term=hello+w%C3%B6rld&filters[kind]=Component&filters%5Blifecycle%5D%5B0%5D=production");
        assert_eq!(parsed["term"], "hello wörld");
        assert_eq!(parsed["filters"], json!({"kind": "Component", "lifecycle": ["production"]}));
    }
}
