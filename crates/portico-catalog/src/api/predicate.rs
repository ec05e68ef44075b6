//! Filter predicates (`@backstage/filter-predicates`), the `query` of the newer POST routes.
//!
//! A predicate is a JSON object whose keys are dot paths and whose values say what the value
//! at that path must be; `$all`, `$any` and `$not` combine predicates and must stand alone in
//! their object:
//!
//! ```json
//! { "$all": [ { "kind": "component" },
//!             { "spec.type": { "$in": ["service", "website"] } },
//!             { "$not": { "spec.lifecycle": "experimental" } } ] }
//! ```
//!
//! Value operators: a primitive (equality, case-insensitive, numbers compared as strings),
//! `{"$exists": bool}`, `{"$in": [primitives]}`, `{"$contains": predicate}` (an array element
//! matches) and `{"$hasPrefix": "text"}` (also accepted as `$startsWith`).
//!
//! A parsed [`Predicate`] is evaluated two ways: against the read index
//! ([`Predicate::evaluate`], set operations on the flattened `(key, value)` rows, as Backstage
//! turns it into `search`-table subqueries) and against a plain JSON value
//! ([`Predicate::matches`], Backstage's `evaluateFilterPredicate`, used for locations).

use portico_web::ApiError;
use roaring::RoaringBitmap;
use serde_json::{Map, Number, Value};

use crate::index::{EntityFilter, ReadIndex};

/// A validated filter predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Predicate {
    /// Every predicate holds (`$all`); an empty list holds for everything.
    All(Vec<Predicate>),
    /// At least one predicate holds (`$any`); an empty list holds for nothing.
    Any(Vec<Predicate>),
    /// The predicate does not hold (`$not`).
    Not(Box<Predicate>),
    /// Every `(path, matcher)` pair holds; no pairs (`{}`) holds for everything.
    Fields(Vec<(String, ValueMatch)>),
    /// A bare primitive: only meaningful as the element predicate of `$contains`.
    Primitive(Primitive),
}

/// What the value at one path must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueMatch {
    Equals(Primitive),
    Exists(bool),
    In(Vec<Primitive>),
    Contains(Box<Predicate>),
    HasPrefix(String),
}

/// A predicate primitive: a string, number or boolean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Primitive {
    String(String),
    Number(Number),
    Bool(bool),
}

impl Primitive {
    fn from_json(value: &Value) -> Option<Primitive> {
        match value {
            Value::String(s) => Some(Primitive::String(s.clone())),
            Value::Number(n) => Some(Primitive::Number(n.clone())),
            Value::Bool(b) => Some(Primitive::Bool(*b)),
            _ => None,
        }
    }

    /// The value as JavaScript's `String(value)` writes it, which is what the index holds for
    /// numbers and booleans.
    pub fn as_text(&self) -> String {
        match self {
            Primitive::String(s) => s.clone(),
            Primitive::Bool(b) => b.to_string(),
            Primitive::Number(n) => js_number(n),
        }
    }

    /// `valuesAreEqual` of the predicate evaluator: strings compare case-insensitively,
    /// numbers compare as strings, booleans exactly.
    fn equals(&self, value: &Value) -> bool {
        match (self, value) {
            (Primitive::String(a), Value::String(b)) => a.to_uppercase() == b.to_uppercase(),
            (Primitive::Bool(a), Value::Bool(b)) => a == b,
            (Primitive::Number(a), Value::Number(b)) => js_number(a) == js_number(b),
            (Primitive::Number(a), Value::String(b)) => js_number(a) == *b,
            (Primitive::String(a), Value::Number(b)) => *a == js_number(b),
            (Primitive::Number(a), Value::Bool(b)) => js_number(a) == b.to_string(),
            _ => false,
        }
    }
}

/// JavaScript's `String(number)`: integral floats print without a fraction.
fn js_number(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        _ => n.to_string(),
    }
}

/// Why a predicate is invalid, with the JSON path of the offending part.
fn invalid(path: &str, what: &str) -> ApiError {
    let at = if path.is_empty() { String::new() } else { format!(" at \"{path}\"") };
    ApiError::input(format!("Invalid query: Validation error: {what}{at}"))
}

fn join(path: &str, segment: &str) -> String {
    if path.is_empty() { segment.to_owned() } else { format!("{path}.{segment}") }
}

impl Predicate {
    /// Parses the `query` of a request the way Backstage's routes do: the value must be a
    /// valid predicate (`Invalid query: …`) and an object at the root (`Query must be an
    /// object`). Primitives are rejected anywhere but inside `$contains`, as Backstage's
    /// database query builder does.
    pub fn parse_query(value: &Value) -> Result<Predicate, ApiError> {
        if Primitive::from_json(value).is_some() {
            return Err(ApiError::input("Query must be an object"));
        }
        parse(value, "query", false)
    }

    /// Parses a location-query predicate; same rules as [`Predicate::parse_query`].
    pub fn parse_location_query(value: &Value) -> Result<Predicate, ApiError> {
        Predicate::parse_query(value)
    }

    /// The entity ordinals of the index matching this predicate.
    pub fn evaluate(&self, index: &ReadIndex) -> RoaringBitmap {
        self.evaluate_at(index, "")
    }

    /// Evaluation with every path prefixed by `prefix` (the array path of a `$contains`).
    fn evaluate_at(&self, index: &ReadIndex, prefix: &str) -> RoaringBitmap {
        match self {
            Predicate::All(items) => {
                let mut result = index.all().clone();
                for item in items {
                    if result.is_empty() {
                        break;
                    }
                    result &= item.evaluate_at(index, prefix);
                }
                result
            }
            Predicate::Any(items) => {
                let mut result = RoaringBitmap::new();
                for item in items {
                    result |= item.evaluate_at(index, prefix);
                }
                result
            }
            Predicate::Not(inner) => index.all() - &inner.evaluate_at(index, prefix),
            Predicate::Fields(fields) => {
                // `relations` elements are indexed as `relations.<type>` = target ref, not by
                // their fields: map `{type, targetRef}` onto that row.
                if prefix == "relations"
                    && let Some(set) = relation_match(index, fields)
                {
                    return set;
                }
                let mut result = index.all().clone();
                for (path, matcher) in fields {
                    if result.is_empty() {
                        break;
                    }
                    result &= matcher.evaluate(index, &join(prefix, path));
                }
                result
            }
            // An array of primitives is indexed as one row per element under the array's path.
            Predicate::Primitive(value) => key_in(index, prefix, vec![value.as_text()]),
        }
    }

    /// Whether a JSON value matches (Backstage's `evaluateFilterPredicate`).
    pub fn matches(&self, value: &Value) -> bool {
        match self {
            Predicate::All(items) => items.iter().all(|p| p.matches(value)),
            Predicate::Any(items) => items.iter().any(|p| p.matches(value)),
            Predicate::Not(inner) => !inner.matches(value),
            Predicate::Fields(fields) => {
                fields.iter().all(|(path, matcher)| matcher.matches(value_at_path(value, path)))
            }
            Predicate::Primitive(primitive) => primitive.equals(value),
        }
    }
}

impl ValueMatch {
    fn evaluate(&self, index: &ReadIndex, key: &str) -> RoaringBitmap {
        match self {
            ValueMatch::Equals(value) => key_in(index, key, vec![value.as_text()]),
            ValueMatch::In(values) => key_in(index, key, values.iter().map(Primitive::as_text).collect()),
            ValueMatch::Exists(true) => exists(index, key),
            ValueMatch::Exists(false) => index.all() - &exists(index, key),
            ValueMatch::Contains(inner) => inner.evaluate_at(index, key),
            ValueMatch::HasPrefix(prefix) => {
                // Expand the prefix into the key's values that have it, then match those.
                let prefix = prefix.to_lowercase();
                let values: Vec<String> = index
                    .facet(key, index.all())
                    .into_iter()
                    .filter(|f| f.value.to_lowercase().starts_with(&prefix))
                    .map(|f| f.value.to_owned())
                    .collect();
                key_in(index, key, values)
            }
        }
    }

    fn matches(&self, value: Option<&Value>) -> bool {
        match self {
            ValueMatch::Equals(primitive) => value.is_some_and(|v| primitive.equals(v)),
            ValueMatch::In(primitives) => value.is_some_and(|v| primitives.iter().any(|p| p.equals(v))),
            ValueMatch::Exists(exists) => value.is_some() == *exists,
            ValueMatch::Contains(inner) => {
                matches!(value, Some(Value::Array(items)) if items.iter().any(|item| inner.matches(item)))
            }
            ValueMatch::HasPrefix(prefix) => {
                matches!(value, Some(Value::String(s)) if s.to_uppercase().starts_with(&prefix.to_uppercase()))
            }
        }
    }
}

fn key_in(index: &ReadIndex, key: &str, values: Vec<String>) -> RoaringBitmap {
    if values.is_empty() {
        return RoaringBitmap::new();
    }
    index.filter(&EntityFilter::Key { key: key.to_owned(), values: Some(values) })
}

fn exists(index: &ReadIndex, key: &str) -> RoaringBitmap {
    index.filter(&EntityFilter::Key { key: key.to_owned(), values: None })
}

/// `relations: {$contains: {type: T, targetRef: R}}` as the `relations.<t>` rows; `None` when
/// the element predicate is not of that shape (a `type` given as a primitive).
fn relation_match(index: &ReadIndex, fields: &[(String, ValueMatch)]) -> Option<RoaringBitmap> {
    let kind = fields.iter().find_map(|(path, matcher)| match (path.as_str(), matcher) {
        ("type", ValueMatch::Equals(kind)) => Some(kind.as_text()),
        _ => None,
    })?;
    let key = format!("relations.{kind}");
    let mut result = exists(index, &key);
    for (path, matcher) in fields {
        match path.as_str() {
            "type" => {}
            "targetRef" | "targetref" => result &= matcher.evaluate(index, &key),
            // Other relation fields are not indexed.
            _ => return Some(RoaringBitmap::new()),
        }
    }
    Some(result)
}

/// Backstage's `getJsonValueAtPath`: follows a dot path through objects, tolerating keys that
/// themselves contain dots; never descends into arrays.
pub fn value_at_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    if let Some(found) = object.get(path) {
        return Some(found);
    }
    for (i, _) in path.match_indices('.') {
        if let Some(next) = object.get(&path[..i])
            && let Some(found) = value_at_path(next, &path[i + 1..])
        {
            return Some(found);
        }
    }
    None
}

fn parse(value: &Value, path: &str, in_contains: bool) -> Result<Predicate, ApiError> {
    if let Some(primitive) = Primitive::from_json(value) {
        if in_contains {
            return Ok(Predicate::Primitive(primitive));
        }
        return Err(ApiError::input(format!(
            "Invalid filter predicate: top-level primitive values are not supported. Wrap the value in a field expression, e.g. {{ \"kind\": {value} }}"
        )));
    }
    let Some(object) = value.as_object() else {
        return Err(invalid(path, &format!("Expected object, received {}", json_type(value))));
    };
    let logical = ["$all", "$any", "$not"];
    if let Some(operator) = logical.iter().find(|op| object.contains_key(**op)) {
        if object.len() != 1 {
            return Err(invalid(
                path,
                &format!(
                    "Operator {operator} must be the only key in the predicate, wrap in $all to combine with other conditions"
                ),
            ));
        }
        let inner = &object[*operator];
        let inner_path = join(path, operator);
        return match *operator {
            "$not" => Ok(Predicate::Not(Box::new(parse(inner, &inner_path, in_contains)?))),
            _ => {
                let items = inner.as_array().ok_or_else(|| {
                    invalid(&inner_path, &format!("Expected array, received {}", json_type(inner)))
                })?;
                let parsed = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| parse(item, &format!("{inner_path}[{i}]"), in_contains))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if *operator == "$all" { Predicate::All(parsed) } else { Predicate::Any(parsed) })
            }
        };
    }
    parse_fields(object, path).map(Predicate::Fields)
}

fn parse_fields(object: &Map<String, Value>, path: &str) -> Result<Vec<(String, ValueMatch)>, ApiError> {
    object
        .iter()
        .map(|(key, value)| {
            if key.starts_with('$') {
                return Err(invalid(path, &format!("Unknown operator \"{key}\"")));
            }
            if key.contains(['\n', '\r']) {
                return Err(invalid(path, &format!("Invalid key \"{key}\"")));
            }
            Ok((key.clone(), parse_value(value, &join(path, key))?))
        })
        .collect()
}

fn parse_value(value: &Value, path: &str) -> Result<ValueMatch, ApiError> {
    if let Some(primitive) = Primitive::from_json(value) {
        return Ok(ValueMatch::Equals(primitive));
    }
    let Some(object) = value.as_object() else {
        return Err(invalid(
            path,
            &format!("Expected a primitive or an operator object, received {}", json_type(value)),
        ));
    };
    // The first operator that fits wins, in Backstage's schema order; other keys are ignored.
    if let Some(flag) = object.get("$exists") {
        return flag
            .as_bool()
            .map(ValueMatch::Exists)
            .ok_or_else(|| invalid(&join(path, "$exists"), "Expected boolean"));
    }
    if let Some(items) = object.get("$in") {
        let items = items.as_array().ok_or_else(|| invalid(&join(path, "$in"), "Expected array"))?;
        return items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                Primitive::from_json(item)
                    .ok_or_else(|| invalid(&format!("{path}.$in[{i}]"), "Expected string, number or boolean"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(ValueMatch::In);
    }
    if let Some(inner) = object.get("$contains") {
        return Ok(ValueMatch::Contains(Box::new(parse(inner, &join(path, "$contains"), true)?)));
    }
    for operator in ["$hasPrefix", "$startsWith"] {
        if let Some(prefix) = object.get(operator) {
            return prefix
                .as_str()
                .map(|p| ValueMatch::HasPrefix(p.to_owned()))
                .ok_or_else(|| invalid(&join(path, operator), "Expected string"));
        }
    }
    Err(invalid(path, "Expected one of $exists, $in, $contains, $hasPrefix"))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse_ok(value: Value) -> Predicate {
        Predicate::parse_query(&value).expect("valid predicate")
    }

    fn parse_err(value: Value) -> String {
        Predicate::parse_query(&value).expect_err("invalid predicate").message
    }

    #[test]
    fn parses_fields_and_logical_operators() {
        let parsed =
            parse_ok(json!({"$all": [{"kind": "component"}, {"$not": {"spec.type": {"$in": ["a", 1]}}}]}));
        assert_eq!(
            parsed,
            Predicate::All(vec![
                Predicate::Fields(vec![(
                    "kind".into(),
                    ValueMatch::Equals(Primitive::String("component".into()))
                )]),
                Predicate::Not(Box::new(Predicate::Fields(vec![(
                    "spec.type".into(),
                    ValueMatch::In(vec![Primitive::String("a".into()), Primitive::Number(1.into())])
                )]))),
            ])
        );
    }

    #[test]
    fn root_must_be_an_object() {
        assert_eq!(parse_err(json!("component")), "Query must be an object");
        assert_eq!(parse_err(json!(7)), "Query must be an object");
        assert!(parse_err(json!([])).starts_with("Invalid query: "));
        assert!(parse_err(json!(null)).starts_with("Invalid query: "));
    }

    #[test]
    fn logical_operators_stand_alone_and_unknown_operators_fail() {
        assert!(parse_err(json!({"$all": [], "kind": "x"})).starts_with("Invalid query: "));
        assert!(parse_err(json!({"$foo": 1})).starts_with("Invalid query: "));
        assert!(parse_err(json!({"kind": {"$regex": "x"}})).starts_with("Invalid query: "));
        assert!(parse_err(json!({"kind": {"$in": "x"}})).starts_with("Invalid query: "));
        assert!(parse_err(json!({"kind": {"$exists": "yes"}})).starts_with("Invalid query: "));
        assert!(parse_err(json!({"kind": null})).starts_with("Invalid query: "));
        assert!(
            parse_err(json!({"$any": ["x"]})).starts_with("Invalid filter predicate: top-level primitive")
        );
    }

    #[test]
    fn json_evaluation_follows_backstage() {
        let location = json!({"id": "1", "type": "url", "target": "https://example.com/a.yaml", "n": 7, "tags": ["a", "B"]});
        let yes = |p: Value| parse_ok(p).matches(&location);
        assert!(yes(json!({"type": "URL"})));
        assert!(yes(json!({"n": "7"})));
        assert!(yes(json!({"target": {"$hasPrefix": "HTTPS://example"}})));
        assert!(yes(json!({"target": {"$startsWith": "https://"}})));
        assert!(!yes(json!({"target": {"$hasPrefix": "http://"}})));
        assert!(yes(json!({"missing": {"$exists": false}, "id": {"$exists": true}})));
        assert!(yes(json!({"type": {"$in": ["file", "url"]}})));
        assert!(yes(json!({"tags": {"$contains": "b"}})));
        assert!(!yes(json!({"type": {"$contains": "url"}})));
        assert!(yes(json!({"$any": [{"type": "file"}, {"$not": {"type": "file"}}]})));
        assert!(!yes(json!({"$any": []})));
        assert!(yes(json!({})));
    }

    #[test]
    fn paths_tolerate_dotted_keys() {
        let value = json!({"metadata": {"annotations": {"backstage.io/x": "1"}}});
        assert_eq!(value_at_path(&value, "metadata.annotations.backstage.io/x"), Some(&json!("1")));
        assert_eq!(value_at_path(&value, "metadata.nope"), None);
    }
}
