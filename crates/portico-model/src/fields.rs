//! Field projection (`fields=kind,metadata.name`), as Backstage's
//! `parseEntityTransformParams` implements it.

use serde_json::{Map, Value};

/// The error for any field containing `[`.
pub const ARRAY_FIELDS_ERROR: &str = "invalid fields, array type fields are not supported";

/// A parsed `fields` parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldProjection {
    paths: Vec<String>,
}

impl FieldProjection {
    /// Parses the values of one or more `fields` parameters: each is split on commas, trimmed,
    /// and empty entries are dropped. Nothing left means no projection.
    pub fn parse<'a, I: IntoIterator<Item = &'a str>>(values: I) -> Result<FieldProjection, String> {
        let paths: Vec<String> = values
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|field| !field.is_empty())
            .map(str::to_owned)
            .collect();
        if paths.iter().any(|p| p.contains('[')) {
            return Err(ARRAY_FIELDS_ERROR.to_owned());
        }
        Ok(FieldProjection { paths })
    }

    /// `true` when no projection applies (the whole entity is returned).
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The selected dot paths.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// The entity pruned to the selected paths. Paths that do not exist are left out.
    pub fn apply(&self, entity: &Value) -> Value {
        let mut output = Value::Object(Map::new());
        for field in &self.paths {
            if let Some((path, value)) = resolve(entity, field) {
                set_path(&mut output, &path, value.clone());
            }
        }
        output
    }
}

/// Walks `field` through `root`. A segment that is not a key of the current value is joined
/// with the next one (so keys may contain dots); the path is only found if the last segment,
/// after joining, exists.
fn resolve<'v>(root: &'v Value, field: &str) -> Option<(Vec<String>, &'v Value)> {
    let mut path = Vec::new();
    let mut current = root;
    let mut carried: Option<String> = None;
    let mut segments = field.split('.').peekable();
    while let Some(segment) = segments.next() {
        let key = match carried.take() {
            Some(mut joined) => {
                joined.push('.');
                joined.push_str(segment);
                joined
            }
            None => segment.to_owned(),
        };
        if let Some(next) = child(current, &key) {
            current = next;
            path.push(key);
        } else if segments.peek().is_some() {
            carried = Some(key);
        } else {
            return None;
        }
    }
    Some((path, current))
}

/// `lodash.hasIn` + lookup for objects and arrays.
fn child<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    match value {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    }
}

/// `lodash.set`: creates intermediate objects (arrays when the next key is an index).
fn set_path(root: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        *root = value;
        return;
    };
    let mut current = root;
    for (i, key) in parents.iter().enumerate() {
        let next_is_index = path[i + 1].parse::<usize>().is_ok();
        current = slot(current, key, || {
            if next_is_index { Value::Array(Vec::new()) } else { Value::Object(Map::new()) }
        });
    }
    *slot(current, last, || Value::Null) = value;
}

/// The child `key` of `container` (made an object when it is no container), replaced by
/// `make()` when it is missing or no container itself.
fn slot<'v>(container: &'v mut Value, key: &str, make: impl FnOnce() -> Value) -> &'v mut Value {
    let entry = match (container, key.parse::<usize>()) {
        (Value::Array(items), Ok(index)) => {
            if items.len() <= index {
                items.resize(index + 1, Value::Null);
            }
            &mut items[index]
        }
        (container, _) => {
            if !container.is_object() {
                *container = Value::Object(Map::new());
            }
            // Indexing an object inserts `null` for a missing key.
            &mut container[key]
        }
    };
    if !(entry.is_object() || entry.is_array()) {
        *entry = make();
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity() -> Value {
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {
                "name": "web",
                "namespace": "default",
                "tags": ["java", "go"],
                "annotations": {"backstage.io/managed-by-location": "url:x", "plain": "p"}
            },
            "spec": {"type": "service"}
        })
    }

    #[test]
    fn empty_fields_mean_no_projection() {
        for values in [vec![""], vec![], vec![","], vec![" , ", ""]] {
            let projection = FieldProjection::parse(values.iter().copied()).expect("parses");
            assert!(projection.is_empty(), "{values:?}");
        }
    }

    #[test]
    fn array_fields_are_rejected() {
        assert_eq!(
            FieldProjection::parse(["metadata.tags[0]"]).expect_err("array"),
            "invalid fields, array type fields are not supported"
        );
    }

    #[test]
    fn kind_and_name_projection() {
        let projection = FieldProjection::parse(["kind,metadata.name"]).expect("parses");
        assert_eq!(projection.apply(&entity()), json!({"kind": "Component", "metadata": {"name": "web"}}));
        let projection = FieldProjection::parse(["kind", " metadata.name "]).expect("parses");
        assert_eq!(projection.paths(), ["kind", "metadata.name"]);
    }

    #[test]
    fn whole_subtree_projection() {
        let projection = FieldProjection::parse(["metadata"]).expect("parses");
        assert_eq!(projection.apply(&entity()), json!({"metadata": entity()["metadata"]}));
    }

    #[test]
    fn keys_with_dots_resolve_greedily() {
        let projection = FieldProjection::parse(["metadata.annotations.backstage.io/managed-by-location"])
            .expect("parses");
        assert_eq!(
            projection.apply(&entity()),
            json!({"metadata": {"annotations": {"backstage.io/managed-by-location": "url:x"}}})
        );
    }

    #[test]
    fn missing_paths_are_absent() {
        let projection = FieldProjection::parse(["spec.owner,metadata.nope.deeper"]).expect("parses");
        assert_eq!(projection.apply(&entity()), json!({}));
        let projection = FieldProjection::parse(["spec.owner,spec.type"]).expect("parses");
        assert_eq!(projection.apply(&entity()), json!({"spec": {"type": "service"}}));
    }

    #[test]
    fn array_index_paths_work_like_lodash() {
        let projection = FieldProjection::parse(["metadata.tags.1"]).expect("parses");
        assert_eq!(projection.apply(&entity()), json!({"metadata": {"tags": [null, "go"]}}));
    }
}
