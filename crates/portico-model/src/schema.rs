//! A small JSON-schema evaluator covering the keywords Backstage's entity schemas use, reporting
//! the first error in the order ajv (v8) evaluates keywords, with ajv's message and params.
//!
//! ajv evaluates a schema node as follows, and so does [`Schema::first_error`]:
//! 1. `type`, unless the node has a single type with keywords for that type (then the type is
//!    checked together with those keywords, step 3);
//! 2. keywords that apply to any type: `enum`, then `oneOf`;
//! 3. the keywords of the value's type: strings `minLength`, `pattern`; numbers `minimum`;
//!    arrays `items`; objects `required`, `additionalProperties`, `properties`,
//!    `patternProperties`.

use std::sync::LazyLock;

use serde_json::Value;

/// JSON-schema primitive types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Boolean,
    Object,
    Array,
    Integer,
    String,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Boolean => "boolean",
            Ty::Object => "object",
            Ty::Array => "array",
            Ty::Integer => "integer",
            Ty::String => "string",
        }
    }

    fn matches(self, value: &Value) -> bool {
        match self {
            Ty::Boolean => value.is_boolean(),
            Ty::Object => value.is_object(),
            Ty::Array => value.is_array(),
            Ty::Integer => match value {
                Value::Number(n) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
                _ => false,
            },
            Ty::String => value.is_string(),
        }
    }
}

/// What `additionalProperties` allows.
#[derive(Debug, Default)]
enum Additional {
    #[default]
    Allowed,
    Forbidden,
    Schema(Box<Schema>),
}

/// A `pattern` keyword: its source (for messages) and a matcher for it.
type Pattern = (&'static str, fn(&str) -> bool);

/// A schema node (only the keywords Backstage's schemas use).
#[derive(Debug, Default)]
pub(crate) struct Schema {
    types: Vec<Ty>,
    enum_values: Vec<&'static str>,
    one_of: Vec<Schema>,
    min_length: Option<usize>,
    /// `\w+` patterns only: the source for messages and the matcher.
    pattern: Option<Pattern>,
    minimum: Option<i64>,
    items: Option<Box<Schema>>,
    required: Vec<&'static str>,
    additional: Additional,
    properties: Vec<(&'static str, Schema)>,
    /// `patternProperties: {"^.+$": …}`: applies to every non-empty key.
    any_key: Option<Box<Schema>>,
}

/// The first schema violation, with ajv's `instancePath`, `message` and params.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaError {
    pub(crate) path: String,
    pub(crate) message: String,
    pub(crate) params: String,
}

impl SchemaError {
    fn new(path: &str, message: impl Into<String>, params: impl Into<String>) -> Self {
        SchemaError { path: path.to_owned(), message: message.into(), params: params.into() }
    }

    fn path_or_root(&self) -> &str {
        if self.path.is_empty() { "<root>" } else { &self.path }
    }

    /// `throwAjvError`'s text: `<path> <message> - <key>: <value>, …`.
    pub(crate) fn with_params(&self) -> String {
        format!("{} {} - {}", self.path_or_root(), self.message, self.params)
    }

    /// `<path> <message>`, as `SchemaValidEntityPolicy` words it.
    pub(crate) fn without_params(&self) -> String {
        format!("{} {}", self.path_or_root(), self.message)
    }
}

impl Schema {
    pub(crate) fn of(ty: Ty) -> Self {
        Schema { types: vec![ty], ..Schema::default() }
    }

    pub(crate) fn of_types(types: &[Ty]) -> Self {
        Schema { types: types.to_vec(), ..Schema::default() }
    }

    /// An object schema with no keywords of its own.
    pub(crate) fn object() -> Self {
        Schema::of(Ty::Object)
    }

    /// `{type: string}`.
    pub(crate) fn string() -> Self {
        Schema::of(Ty::String)
    }

    /// `{type: string, minLength: 1}`, the most common field schema.
    pub(crate) fn non_empty_string() -> Self {
        Schema::string().min_length(1)
    }

    /// `{type: array, items: {type: string, minLength: 1}}`.
    pub(crate) fn non_empty_strings() -> Self {
        Schema::of(Ty::Array).items(Schema::non_empty_string())
    }

    pub(crate) fn min_length(mut self, n: usize) -> Self {
        self.min_length = Some(n);
        self
    }

    pub(crate) fn pattern(mut self, source: &'static str, matcher: fn(&str) -> bool) -> Self {
        self.pattern = Some((source, matcher));
        self
    }

    pub(crate) fn minimum(mut self, n: i64) -> Self {
        self.minimum = Some(n);
        self
    }

    pub(crate) fn enum_of(mut self, values: &[&'static str]) -> Self {
        self.enum_values = values.to_vec();
        self
    }

    pub(crate) fn one_of(mut self, branches: Vec<Schema>) -> Self {
        self.one_of = branches;
        self
    }

    pub(crate) fn items(mut self, items: Schema) -> Self {
        self.items = Some(Box::new(items));
        self
    }

    pub(crate) fn required(mut self, keys: &[&'static str]) -> Self {
        self.required = keys.to_vec();
        self
    }

    pub(crate) fn no_additional(mut self) -> Self {
        self.additional = Additional::Forbidden;
        self
    }

    pub(crate) fn additional(mut self, schema: Schema) -> Self {
        self.additional = Additional::Schema(Box::new(schema));
        self
    }

    pub(crate) fn prop(mut self, key: &'static str, schema: Schema) -> Self {
        self.properties.push((key, schema));
        self
    }

    pub(crate) fn any_key(mut self, schema: Schema) -> Self {
        self.any_key = Some(Box::new(schema));
        self
    }

    fn has_keywords_for(&self, ty: Ty) -> bool {
        match ty {
            Ty::String => self.min_length.is_some() || self.pattern.is_some(),
            Ty::Array => self.items.is_some(),
            Ty::Object => {
                !self.required.is_empty()
                    || !matches!(self.additional, Additional::Allowed)
                    || !self.properties.is_empty()
                    || self.any_key.is_some()
            }
            // ajv has no keyword group for integers: their `minimum` runs in the number group
            // and the type is always checked first.
            Ty::Integer | Ty::Boolean => false,
        }
    }

    fn type_error(&self, path: &str) -> SchemaError {
        let names: Vec<&str> = self.types.iter().map(|t| t.name()).collect();
        let joined = names.join(",");
        SchemaError::new(path, format!("must be {joined}"), format!("type: {joined}"))
    }

    /// Validates `value` and returns the first error, if any.
    pub(crate) fn validate(&self, value: &Value) -> Option<SchemaError> {
        let mut path = String::new();
        self.first_error(value, &mut path)
    }

    /// Validates `value` found at `path` (a JSON pointer, extended and restored in place).
    pub(crate) fn first_error(&self, value: &Value, path: &mut String) -> Option<SchemaError> {
        let grouped_type = match self.types.as_slice() {
            [ty] if self.has_keywords_for(*ty) => Some(*ty),
            _ => None,
        };
        if grouped_type.is_none() && !self.types.is_empty() && !self.types.iter().any(|t| t.matches(value)) {
            return Some(self.type_error(path));
        }
        if !self.enum_values.is_empty() && !value.as_str().is_some_and(|s| self.enum_values.contains(&s)) {
            return Some(SchemaError::new(
                path,
                "must be equal to one of the allowed values",
                format!("allowedValues: {}", self.enum_values.join(",")),
            ));
        }
        if let Some(error) = self.one_of_error(value, path) {
            return Some(error);
        }
        if let Some(ty) = grouped_type
            && !ty.matches(value)
        {
            return Some(self.type_error(path));
        }
        match value {
            Value::String(s) => self.string_error(s, path),
            Value::Number(n) => match (self.minimum, n.as_f64()) {
                #[allow(clippy::cast_precision_loss)]
                (Some(min), Some(f)) if f < min as f64 => Some(SchemaError::new(
                    path,
                    format!("must be >= {min}"),
                    format!("comparison: >=, limit: {min}"),
                )),
                _ => None,
            },
            Value::Array(items) => {
                let schema = self.items.as_deref()?;
                items.iter().enumerate().find_map(|(i, item)| {
                    with_segment(path, &i.to_string(), |path| schema.first_error(item, path))
                })
            }
            Value::Object(map) => self.object_error(map, path),
            Value::Null | Value::Bool(_) => None,
        }
    }

    fn one_of_error(&self, value: &Value, path: &mut String) -> Option<SchemaError> {
        if self.one_of.is_empty() {
            return None;
        }
        let mut first = None;
        let mut passing = Vec::new();
        for (i, branch) in self.one_of.iter().enumerate() {
            match branch.first_error(value, path) {
                None => passing.push(i),
                Some(error) => {
                    first.get_or_insert(error);
                }
            }
        }
        match passing.len() {
            1 => None,
            // ajv keeps the failing branches' errors ahead of its own.
            0 => first,
            _ => Some(SchemaError::new(
                path,
                "must match exactly one schema in oneOf",
                format!(
                    "passingSchemas: {}",
                    passing.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
                ),
            )),
        }
    }

    fn string_error(&self, s: &str, path: &str) -> Option<SchemaError> {
        if let Some(min) = self.min_length
            && s.chars().count() < min
        {
            return Some(SchemaError::new(
                path,
                format!("must NOT have fewer than {min} characters"),
                format!("limit: {min}"),
            ));
        }
        match self.pattern {
            Some((source, matcher)) if !matcher(s) => Some(SchemaError::new(
                path,
                format!("must match pattern \"{source}\""),
                format!("pattern: {source}"),
            )),
            _ => None,
        }
    }

    fn object_error(&self, map: &serde_json::Map<String, Value>, path: &mut String) -> Option<SchemaError> {
        if let Some(missing) = self.required.iter().find(|k| !map.contains_key(**k)) {
            return Some(SchemaError::new(
                path,
                format!("must have required property '{missing}'"),
                format!("missingProperty: {missing}"),
            ));
        }
        if !matches!(self.additional, Additional::Allowed) {
            for (key, item) in map {
                let known = self.properties.iter().any(|(k, _)| k == key)
                    || (self.any_key.is_some() && !key.is_empty());
                if known {
                    continue;
                }
                match &self.additional {
                    Additional::Forbidden => {
                        return Some(SchemaError::new(
                            path,
                            "must NOT have additional properties",
                            format!("additionalProperty: {key}"),
                        ));
                    }
                    Additional::Schema(schema) => {
                        if let Some(error) = with_segment(path, key, |path| schema.first_error(item, path)) {
                            return Some(error);
                        }
                    }
                    Additional::Allowed => {}
                }
            }
        }
        for (key, schema) in &self.properties {
            if let Some(item) = map.get(*key)
                && let Some(error) = with_segment(path, key, |path| schema.first_error(item, path))
            {
                return Some(error);
            }
        }
        let schema = self.any_key.as_deref()?;
        map.iter()
            .filter(|(key, _)| !key.is_empty())
            .find_map(|(key, item)| with_segment(path, key, |path| schema.first_error(item, path)))
    }
}

/// Runs `f` with `segment` appended to the JSON pointer `path` (escaped as ajv does).
fn with_segment<T>(path: &mut String, segment: &str, f: impl FnOnce(&mut String) -> T) -> T {
    let len = path.len();
    path.push('/');
    for c in segment.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
    let result = f(path);
    path.truncate(len);
    result
}

/// `^\w+$`.
fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `EntityEnvelope.schema.json`: just enough to compute a ref.
pub(crate) static ENVELOPE_SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::object()
        .required(&["apiVersion", "kind", "metadata"])
        .prop("apiVersion", Schema::non_empty_string())
        .prop("kind", Schema::non_empty_string())
        .prop(
            "metadata",
            Schema::object()
                .required(&["name"])
                .prop("name", Schema::non_empty_string())
                .prop("namespace", Schema::non_empty_string()),
        )
});

/// `Entity.schema.json` with `EntityMeta.schema.json` and the shared definitions.
pub(crate) static ENTITY_SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let metadata = Schema::object()
        .required(&["name"])
        .prop("uid", Schema::non_empty_string())
        .prop("etag", Schema::non_empty_string())
        .prop("generation", Schema::of(Ty::Integer).minimum(1))
        .prop("name", Schema::non_empty_string())
        .prop("namespace", Schema::non_empty_string())
        .prop("title", Schema::non_empty_string())
        .prop("description", Schema::string())
        .prop("labels", Schema::object().any_key(Schema::string()))
        .prop("annotations", Schema::object().any_key(Schema::string()))
        .prop("tags", Schema::non_empty_strings())
        .prop(
            "links",
            Schema::of(Ty::Array).items(
                Schema::object()
                    .required(&["url"])
                    .prop("url", Schema::non_empty_string())
                    .prop("title", Schema::non_empty_string())
                    .prop("icon", Schema::non_empty_string())
                    .prop("type", Schema::non_empty_string()),
            ),
        );
    let reference = Schema::object()
        .required(&["kind", "namespace", "name"])
        .no_additional()
        .prop("kind", Schema::string())
        .prop("namespace", Schema::string())
        .prop("name", Schema::string());
    let relation = Schema::object()
        .required(&["type", "targetRef"])
        .no_additional()
        .prop("type", Schema::non_empty_string().pattern("^\\w+$", is_word))
        .prop("targetRef", Schema::non_empty_string())
        .prop("target", reference);
    Schema::object()
        .required(&["apiVersion", "kind", "metadata"])
        .no_additional()
        .prop("apiVersion", Schema::non_empty_string())
        .prop("kind", Schema::non_empty_string())
        .prop("metadata", metadata)
        .prop("spec", Schema::object())
        .prop("relations", Schema::of(Ty::Array).items(relation))
        .prop("status", Schema::object())
});

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope_error(value: Value) -> String {
        ENVELOPE_SCHEMA.validate(&value).map(|e| e.with_params()).unwrap_or_default()
    }

    fn entity_error(value: Value) -> String {
        ENTITY_SCHEMA.validate(&value).map(|e| e.without_params()).unwrap_or_default()
    }

    #[test]
    fn envelope_messages() {
        assert_eq!(envelope_error(json!(7)), "<root> must be object - type: object");
        assert_eq!(envelope_error(json!(null)), "<root> must be object - type: object");
        assert_eq!(
            envelope_error(json!({})),
            "<root> must have required property 'apiVersion' - missingProperty: apiVersion"
        );
        assert_eq!(
            envelope_error(json!({"apiVersion": "a", "kind": 7, "metadata": {"name": "x"}})),
            "/kind must be string - type: string"
        );
        assert_eq!(
            envelope_error(json!({"apiVersion": "", "kind": "K", "metadata": {"name": "x"}})),
            "/apiVersion must NOT have fewer than 1 characters - limit: 1"
        );
        assert_eq!(
            envelope_error(json!({"apiVersion": "a", "kind": "K", "metadata": {}})),
            "/metadata must have required property 'name' - missingProperty: name"
        );
        assert_eq!(
            envelope_error(json!({"apiVersion": "a", "kind": "K", "metadata": {"name": "x"}, "x": 1})),
            ""
        );
    }

    #[test]
    fn entity_schema_messages() {
        let ok = json!({"apiVersion": "a", "kind": "K", "metadata": {"name": "x"}});
        assert_eq!(entity_error(ok.clone()), "");
        let mut e = ok.clone();
        e["foo"] = json!(1);
        assert_eq!(entity_error(e), "<root> must NOT have additional properties");
        let mut e = ok.clone();
        e["metadata"]["annotations"] = json!({"a/b": 1});
        assert_eq!(entity_error(e), "/metadata/annotations/a~1b must be string");
        let mut e = ok.clone();
        e["metadata"]["generation"] = json!(0);
        assert_eq!(entity_error(e), "/metadata/generation must be >= 1");
        let mut e = ok.clone();
        e["metadata"]["links"] = json!([{}]);
        assert_eq!(entity_error(e), "/metadata/links/0 must have required property 'url'");
        let mut e = ok.clone();
        e["spec"] = json!(7);
        assert_eq!(entity_error(e), "/spec must be object");
        let mut e = ok;
        e["relations"] = json!([{"type": "a-b", "targetRef": "x"}]);
        assert_eq!(entity_error(e), "/relations/0/type must match pattern \"^\\w+$\"");
    }

    #[test]
    fn one_of_reports_the_first_branch_error() {
        let schema = Schema::object().prop(
            "p",
            Schema::default().one_of(vec![Schema::object(), Schema::of(Ty::Array).items(Schema::object())]),
        );
        assert_eq!(
            schema.validate(&json!({"p": 5})).map(|e| e.with_params()).as_deref(),
            Some("/p must be object - type: object")
        );
        assert_eq!(
            schema.validate(&json!({"p": [1]})).map(|e| e.with_params()).as_deref(),
            Some("/p must be object - type: object")
        );
        assert!(schema.validate(&json!({"p": [{}]})).is_none());
    }

    #[test]
    fn multi_type_and_enum_messages() {
        let schema = Schema::of_types(&[Ty::String, Ty::Boolean]);
        assert_eq!(
            schema.validate(&json!(1)).map(|e| e.with_params()).as_deref(),
            Some("<root> must be string,boolean - type: string,boolean")
        );
        let schema = Schema::string().enum_of(&["required", "optional"]);
        assert_eq!(
            schema.validate(&json!("x")).map(|e| e.with_params()).as_deref(),
            Some("<root> must be equal to one of the allowed values - allowedValues: required,optional")
        );
        assert_eq!(
            schema.validate(&json!(1)).map(|e| e.with_params()).as_deref(),
            Some("<root> must be string - type: string")
        );
    }
}
