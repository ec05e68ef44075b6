//! Parsing of the query parameters shared by the read routes (filter, fields, order, paging,
//! cursors), with Backstage's exact validation messages.
//!
//! Backstage validates requests in two layers: its OpenAPI validator (unknown or empty
//! parameters, types, minimums; messages like `request/query/limit must be integer`) and then
//! the route's own parsers (`Invalid limit, not an integer`, …). [`Params::validate`] plays the
//! first layer, the `parse_*` functions the second.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use portico_model::fields::FieldProjection;
use portico_web::ApiError;
use serde_json::{Map, Value, json};

use crate::index::{Direction, EntityFilter, Position, SortKey};

/// The decoded query string of a request, in order, repeated names kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

/// What the OpenAPI schema says about one query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// A single string (repeating it is a type error).
    String,
    /// A repeatable string.
    Strings,
    /// A single integer `>= 0`.
    Integer,
}

impl Params {
    /// Decodes a raw query string (`application/x-www-form-urlencoded`: `+` is a space, `%XX`
    /// escapes are decoded, so `a%3D1%2Ca%3D2` reads like `a=1,a=2`).
    pub fn parse(raw: Option<&str>) -> Params {
        let pairs = raw
            .map(|q| url::form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())))
            .into_iter()
            .flatten()
            .collect();
        Params(pairs)
    }

    /// Every `(name, value)` pair, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every value of a parameter, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// The value of a parameter given once (`None` if absent; the first if repeated).
    pub fn one(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for (k, _) in &self.0 {
            if !names.contains(&k.as_str()) {
                names.push(k);
            }
        }
        names
    }

    /// The OpenAPI validator's checks: unknown parameters, a parameter given once with an
    /// empty value, repeated single-valued parameters, integers and their minimum.
    pub fn validate(&self, schema: &[(&str, ParamType)]) -> Result<(), ApiError> {
        for name in self.names() {
            let Some(&(_, kind)) = schema.iter().find(|(n, _)| *n == name) else {
                return Err(ApiError::input(format!("Unknown query parameter '{name}'")));
            };
            let values = self.all(name);
            if values.len() == 1 && values[0].is_empty() {
                return Err(ApiError::input(format!("Empty value found for query parameter '{name}'")));
            }
            match kind {
                ParamType::Strings => {}
                ParamType::String if values.len() > 1 => {
                    return Err(ApiError::input(format!("request/query/{name} must be string")));
                }
                ParamType::String => {}
                ParamType::Integer => {
                    let number = match values.as_slice() {
                        [value] => loose_integer(value),
                        _ => None,
                    };
                    match number {
                        None => return Err(ApiError::input(format!("request/query/{name} must be integer"))),
                        Some(n) if n < 0 => {
                            return Err(ApiError::input(format!("request/query/{name} must be >= 0")));
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        Ok(())
    }
}

/// How the validator coerces a query string to an integer: JavaScript's numeric conversion
/// (surrounding whitespace allowed, `1e3` allowed) yielding a whole number.
fn loose_integer(text: &str) -> Option<i64> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    let number: f64 = trimmed.parse().ok()?;
    (number.is_finite() && number.fract() == 0.0 && number.abs() < 9.007_199_254_740_992e15)
        .then_some(number as i64)
}

/// Backstage's `parseIntegerParam`: a plain base-10 integer that round-trips (`01`, `1.5`,
/// ` 1` are rejected).
pub fn parse_integer(value: Option<&str>, name: &str) -> Result<Option<i64>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    match value.parse::<i64>() {
        Ok(n) if n.to_string() == value => Ok(Some(n)),
        _ => Err(ApiError::input(format!("Invalid {name}, not an integer"))),
    }
}

/// Parses the `filter` parameters: each parameter is a set of comma-separated conditions
/// (AND), sets are OR-ed, the same key within a set is OR-ed over its values. Empty statements
/// and empty sets are ignored; `None` when nothing remains.
pub fn parse_filter(values: &[&str]) -> Result<Option<EntityFilter>, ApiError> {
    let mut sets = Vec::new();
    for value in values {
        let mut by_key: Vec<(String, Option<Vec<String>>)> = Vec::new();
        for statement in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = match statement.split_once('=') {
                Some((key, value)) => (key.trim(), Some(value.trim())),
                None => (statement, None),
            };
            if key.is_empty() {
                return Err(ApiError::input(format!(
                    "Invalid filter, '{statement}' is not a valid statement (expected a string on the form a=b or a= or a)"
                )));
            }
            let index = match by_key.iter().position(|(k, _)| k == key) {
                Some(index) => index,
                None => {
                    by_key.push((key.to_owned(), None));
                    by_key.len() - 1
                }
            };
            if let Some(value) = value {
                by_key[index].1.get_or_insert_with(Vec::new).push(value.to_owned());
            }
        }
        if !by_key.is_empty() {
            let conditions =
                by_key.into_iter().map(|(key, values)| EntityFilter::Key { key, values }).collect();
            sets.push(EntityFilter::AllOf(conditions));
        }
    }
    Ok((!sets.is_empty()).then_some(EntityFilter::AnyOf(sets)))
}

/// Parses `fields` values (comma-separated, repeatable); an empty projection keeps everything.
pub fn parse_fields<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<FieldProjection, ApiError> {
    FieldProjection::parse(values).map_err(ApiError::input)
}

/// Parses `GET /entities` `order` values (`asc:<field>` / `desc:<field>`).
pub fn parse_order(values: &[&str]) -> Result<Vec<SortKey>, ApiError> {
    values
        .iter()
        .map(|value| {
            let parsed = value.split_once(':').and_then(|(direction, field)| {
                let direction = match direction {
                    "asc" => Direction::Asc,
                    "desc" => Direction::Desc,
                    _ => return None,
                };
                (!field.is_empty()).then(|| SortKey { field: field.to_owned(), direction })
            });
            parsed.ok_or_else(|| {
                ApiError::input(format!(
                    "Invalid order parameter \"{value}\", expected \"<asc or desc>:<field name>\""
                ))
            })
        })
        .collect()
}

/// Parses by-query `orderField` values (`field` or `field,asc|desc`; text after a second
/// comma is ignored like Backstage's destructuring does).
pub fn parse_order_fields(values: &[&str]) -> Result<Vec<SortKey>, ApiError> {
    values
        .iter()
        .map(|value| {
            let mut parts = value.split(',');
            let field = parts.next().unwrap_or_default().to_owned();
            let direction = match parts.next() {
                None | Some("asc") => Direction::Asc,
                Some("desc") => Direction::Desc,
                Some(_) => return Err(ApiError::input("Invalid order field order, must be asc or desc")),
            };
            Ok(SortKey { field, direction })
        })
        .collect()
}

/// `GET /entities` pagination after parsing (`after` already applied).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pagination {
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// Backstage's `parseEntityPaginationParams` followed by its `after` cursor decoding; `None`
/// when no pagination parameter was given.
pub fn parse_pagination(
    limit: Option<&str>,
    offset: Option<&str>,
    after: Option<&str>,
) -> Result<Option<Pagination>, ApiError> {
    let offset = parse_integer(offset, "offset")?;
    let limit = parse_integer(limit, "limit")?;
    if offset.is_none() && limit.is_none() && after.is_none() {
        return Ok(None);
    }
    if offset.is_some_and(|o| o < 0) {
        return Err(ApiError::input("Invalid offset, must be zero or greater"));
    }
    if limit.is_some_and(|l| l <= 0) {
        return Err(ApiError::input("Invalid limit, must be greater than zero"));
    }
    if after.is_some_and(str::is_empty) {
        return Err(ApiError::input("Invalid after, must not be empty"));
    }
    let mut pagination = Pagination { limit: limit.map(|l| l as usize), offset: offset.map(|o| o as usize) };
    if let Some(after) = after {
        let cursor: Value = decode_base64(after)
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| ApiError::input("Malformed after cursor, could not be parsed"))?;
        let integer =
            |value: &Value| value.as_f64().filter(|f| f.fract() == 0.0).map(|f| f.max(0.0) as usize);
        if let Some(value) = cursor.get("limit") {
            pagination.limit = Some(
                integer(value)
                    .ok_or_else(|| ApiError::input("Malformed after cursor, limit was not an number"))?,
            );
        }
        if let Some(value) = cursor.get("offset") {
            pagination.offset = Some(
                integer(value)
                    .ok_or_else(|| ApiError::input("Malformed after cursor, offset was not a number"))?,
            );
        }
    }
    Ok(Some(pagination))
}

/// The `after` cursor of the next `GET /entities` page.
pub fn encode_after(limit: usize, offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{{\"limit\":{limit},\"offset\":{offset}}}"))
}

/// Decodes base64 as leniently as Node's `Buffer.from(text, 'base64')` for the inputs that
/// matter: padding optional, URL-safe alphabet accepted, and a space read as the `+` an
/// unencoded query string turned into one.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let normalized: String = text
        .chars()
        .filter(|c| *c != '=')
        .map(|c| match c {
            ' ' | '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    LENIENT.decode(normalized).ok()
}

/// The full-text part of a by-query request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FullTextFilter {
    pub term: String,
    pub fields: Option<Vec<String>>,
}

/// A by-query cursor (Backstage's `Cursor`), carried base64-encoded between pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub order_fields: Vec<SortKey>,
    /// Sort value (when sorting by a field) and uid of the row the page continues from.
    pub order_field_values: Vec<Option<String>>,
    pub filter: Option<EntityFilter>,
    pub full_text: Option<FullTextFilter>,
    pub is_previous: bool,
    /// Sort values of the very first row of the result set.
    pub first_sort_field_values: Option<Vec<Option<String>>>,
    pub total_items: Option<u64>,
    /// The filter predicate of a `POST /entities/by-query` request. Its presence as a
    /// top-level `query` key is what makes the newest Backstage client send the following
    /// pages to the POST route, so only cursors issued there carry it.
    pub query: Option<Value>,
}

impl Cursor {
    /// The keyset position encoded in `order_field_values`.
    pub fn position(&self) -> Option<Position> {
        match self.order_field_values.as_slice() {
            [uid] => Some(Position { value: None, uid: uid.clone().unwrap_or_default() }),
            [value, uid] => Some(Position { value: value.clone(), uid: uid.clone().unwrap_or_default() }),
            _ => None,
        }
    }

    /// Base64 of the cursor's JSON. A top-level `query` key is written only for a predicate
    /// query: the newest Backstage client then sends the next page to `POST /entities/by-query`
    /// rather than to the GET route.
    pub fn encode(&self) -> String {
        let mut map = Map::new();
        map.insert(
            "orderFields".into(),
            Value::Array(
                self.order_fields
                    .iter()
                    .map(|o| json!({"field": o.field, "order": o.direction.as_str()}))
                    .collect(),
            ),
        );
        map.insert("orderFieldValues".into(), json!(self.order_field_values));
        if let Some(filter) = &self.filter {
            map.insert("filter".into(), filter_to_json(filter));
        }
        if let Some(full_text) = &self.full_text {
            let mut object = Map::new();
            object.insert("term".into(), json!(full_text.term));
            if let Some(fields) = &full_text.fields {
                object.insert("fields".into(), json!(fields));
            }
            map.insert("fullTextFilter".into(), Value::Object(object));
        }
        map.insert("isPrevious".into(), json!(self.is_previous));
        if let Some(first) = &self.first_sort_field_values {
            map.insert("firstSortFieldValues".into(), json!(first));
        }
        if let Some(total) = self.total_items {
            map.insert("totalItems".into(), json!(total));
        }
        if let Some(query) = &self.query {
            map.insert("query".into(), query.clone());
        }
        base64::engine::general_purpose::STANDARD.encode(Value::Object(map).to_string())
    }

    /// Decodes a cursor; every failure is a 400 whose message starts with `Malformed cursor`.
    pub fn decode(text: &str) -> Result<Cursor, ApiError> {
        let malformed = |reason: &str| ApiError::input(format!("Malformed cursor: {reason}"));
        let bytes = decode_base64(text).ok_or_else(|| malformed("not base64"))?;
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| malformed(&format!("SyntaxError: {e}")))?;
        let object = value.as_object().ok_or_else(|| malformed("expected an object"))?;

        let order_fields = object
            .get("orderFields")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("orderFields: Required"))?
            .iter()
            .map(|item| {
                let field = item.get("field").and_then(Value::as_str);
                let direction = match item.get("order").and_then(Value::as_str) {
                    Some("asc") => Some(Direction::Asc),
                    Some("desc") => Some(Direction::Desc),
                    _ => None,
                };
                match (field, direction) {
                    (Some(field), Some(direction)) => Ok(SortKey { field: field.to_owned(), direction }),
                    _ => Err(malformed("orderFields: Invalid")),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let nullable_strings = |name: &str, value: &Value| -> Result<Vec<Option<String>>, ApiError> {
            value
                .as_array()
                .ok_or_else(|| malformed(&format!("{name}: Expected array")))?
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::String(s) => Ok(Some(s.clone())),
                    _ => Err(malformed(&format!("{name}: Expected string"))),
                })
                .collect()
        };
        let order_field_values = nullable_strings(
            "orderFieldValues",
            object.get("orderFieldValues").ok_or_else(|| malformed("orderFieldValues: Required"))?,
        )?;
        let filter = match object.get("filter") {
            None => None,
            Some(value) => Some(filter_from_json(value).ok_or_else(|| malformed("filter: Invalid input"))?),
        };
        let full_text = match object.get("fullTextFilter") {
            None => None,
            Some(value) => {
                let term = value
                    .get("term")
                    .and_then(Value::as_str)
                    .ok_or_else(|| malformed("fullTextFilter: Invalid"))?;
                let fields = match value.get("fields") {
                    None => None,
                    Some(fields) => Some(
                        fields
                            .as_array()
                            .and_then(|a| {
                                a.iter().map(|f| f.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>()
                            })
                            .ok_or_else(|| malformed("fullTextFilter.fields: Invalid"))?,
                    ),
                };
                Some(FullTextFilter { term: term.to_owned(), fields })
            }
        };
        let is_previous = object
            .get("isPrevious")
            .and_then(Value::as_bool)
            .ok_or_else(|| malformed("isPrevious: Required"))?;
        let first_sort_field_values = match object.get("firstSortFieldValues") {
            None => None,
            Some(value) => Some(nullable_strings("firstSortFieldValues", value)?),
        };
        let total_items = match object.get("totalItems") {
            None => None,
            Some(value) => Some(
                value
                    .as_f64()
                    .filter(|n| *n >= 0.0)
                    .map(|n| n as u64)
                    .ok_or_else(|| malformed("totalItems: Expected number"))?,
            ),
        };
        let query = object.get("query").cloned();
        Ok(Cursor {
            order_fields,
            order_field_values,
            filter,
            full_text,
            is_previous,
            first_sort_field_values,
            total_items,
            query,
        })
    }
}

/// Backstage's JSON shape of a filter: `{key, values?}`, `{not}`, `{anyOf}`, `{allOf}`.
pub fn filter_to_json(filter: &EntityFilter) -> Value {
    match filter {
        EntityFilter::Key { key, values: None } => json!({ "key": key }),
        EntityFilter::Key { key, values: Some(values) } => json!({ "key": key, "values": values }),
        EntityFilter::Not(inner) => json!({ "not": filter_to_json(inner) }),
        EntityFilter::AnyOf(filters) => {
            json!({ "anyOf": filters.iter().map(filter_to_json).collect::<Vec<_>>() })
        }
        EntityFilter::AllOf(filters) => {
            json!({ "allOf": filters.iter().map(filter_to_json).collect::<Vec<_>>() })
        }
    }
}

/// The inverse of [`filter_to_json`], trying the shapes in Backstage's order; `None` if the
/// value is none of them.
pub fn filter_from_json(value: &Value) -> Option<EntityFilter> {
    let object = value.as_object()?;
    if let Some(key) = object.get("key").and_then(Value::as_str) {
        let values = match object.get("values") {
            None => None,
            Some(values) => Some(
                values
                    .as_array()?
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()?,
            ),
        };
        return Some(EntityFilter::Key { key: key.to_owned(), values });
    }
    if let Some(inner) = object.get("not") {
        return Some(EntityFilter::Not(Box::new(filter_from_json(inner)?)));
    }
    let list = |name: &str| -> Option<Option<Vec<EntityFilter>>> {
        match object.get(name) {
            None => Some(None),
            Some(items) => {
                Some(Some(items.as_array()?.iter().map(filter_from_json).collect::<Option<Vec<_>>>()?))
            }
        }
    };
    if let Some(filters) = list("anyOf")? {
        return Some(EntityFilter::AnyOf(filters));
    }
    list("allOf")?.map(EntityFilter::AllOf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(key: &str, values: Option<&[&str]>) -> EntityFilter {
        EntityFilter::Key {
            key: key.to_owned(),
            values: values.map(|v| v.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn message(error: ApiError) -> String {
        error.message
    }

    #[test]
    fn filter_sets_are_ored_and_repeated_keys_merge_within_a_set() {
        let filter = parse_filter(&["a=1,a=2,b=3", "c=4"]).expect("parses");
        assert_eq!(
            filter,
            Some(EntityFilter::AnyOf(vec![
                EntityFilter::AllOf(vec![key("a", Some(&["1", "2"])), key("b", Some(&["3"]))]),
                EntityFilter::AllOf(vec![key("c", Some(&["4"]))]),
            ]))
        );
    }

    #[test]
    fn filter_single_string_and_existence_and_empty_value() {
        let filter = parse_filter(&["kind=component,spec.type,x="]).expect("parses");
        assert_eq!(
            filter,
            Some(EntityFilter::AnyOf(vec![EntityFilter::AllOf(vec![
                key("kind", Some(&["component"])),
                key("spec.type", None),
                key("x", Some(&[""])),
            ])]))
        );
    }

    #[test]
    fn filter_trims_whitespace_and_ignores_empty_statements() {
        let filter = parse_filter(&["  a = 1 ,, b=2=3 "]).expect("parses");
        assert_eq!(
            filter,
            Some(EntityFilter::AnyOf(vec![EntityFilter::AllOf(vec![
                key("a", Some(&["1"])),
                key("b", Some(&["2=3"])),
            ])]))
        );
        assert_eq!(parse_filter(&[""]).expect("parses"), None);
        assert_eq!(parse_filter(&[" , "]).expect("parses"), None);
        assert_eq!(parse_filter(&[]).expect("parses"), None);
    }

    #[test]
    fn filter_without_key_is_rejected() {
        for bad in ["=a", "="] {
            let error = message(parse_filter(&[bad]).expect_err("rejected"));
            assert_eq!(
                error,
                format!(
                    "Invalid filter, '{bad}' is not a valid statement (expected a string on the form a=b or a= or a)"
                )
            );
        }
    }

    #[test]
    fn pagination_rules() {
        let err = |l: Option<&str>, o: Option<&str>, a: Option<&str>| {
            message(parse_pagination(l, o, a).expect_err("rejected"))
        };
        assert_eq!(err(Some(""), None, None), "Invalid limit, not an integer");
        assert_eq!(err(Some("0"), None, None), "Invalid limit, must be greater than zero");
        assert_eq!(err(Some("-1"), None, None), "Invalid limit, must be greater than zero");
        assert_eq!(err(None, Some(""), None), "Invalid offset, not an integer");
        assert_eq!(err(None, Some("-1"), None), "Invalid offset, must be zero or greater");
        assert_eq!(err(None, None, Some("")), "Invalid after, must not be empty");
        for bad in ["01", "1.5", " 1", "x"] {
            assert_eq!(err(Some(bad), None, None), "Invalid limit, not an integer");
        }
        assert_eq!(parse_pagination(None, None, None).expect("ok"), None);
        let after = encode_after(7, 9);
        assert_eq!(
            parse_pagination(Some("1"), Some("2"), Some(&after)).expect("ok"),
            Some(Pagination { limit: Some(7), offset: Some(9) })
        );
        assert_eq!(
            parse_pagination(Some("1"), Some("2"), None).expect("ok"),
            Some(Pagination { limit: Some(1), offset: Some(2) })
        );
        assert_eq!(err(None, None, Some("!!!")), "Malformed after cursor, could not be parsed");
        let bad_limit = base64::engine::general_purpose::STANDARD.encode(r#"{"limit":"x"}"#);
        assert_eq!(err(None, None, Some(&bad_limit)), "Malformed after cursor, limit was not an number");
        let bad_offset = base64::engine::general_purpose::STANDARD.encode(r#"{"offset":1.5}"#);
        assert_eq!(err(None, None, Some(&bad_offset)), "Malformed after cursor, offset was not a number");
    }

    #[test]
    fn order_parameters() {
        assert_eq!(
            parse_order(&["asc:metadata.name", "desc:a:b"]).expect("ok"),
            vec![
                SortKey { field: "metadata.name".into(), direction: Direction::Asc },
                SortKey { field: "a:b".into(), direction: Direction::Desc },
            ]
        );
        for bad in ["metadata.name", "up:x", "asc:"] {
            assert_eq!(
                message(parse_order(&[bad]).expect_err("rejected")),
                format!("Invalid order parameter \"{bad}\", expected \"<asc or desc>:<field name>\"")
            );
        }
    }

    #[test]
    fn order_field_parameters() {
        assert_eq!(
            parse_order_fields(&["metadata.name,asc", "metadata.uid,desc", "kind"]).expect("ok"),
            vec![
                SortKey { field: "metadata.name".into(), direction: Direction::Asc },
                SortKey { field: "metadata.uid".into(), direction: Direction::Desc },
                SortKey { field: "kind".into(), direction: Direction::Asc },
            ]
        );
        assert_eq!(
            message(parse_order_fields(&["metadata.uid,diagonal"]).expect_err("rejected")),
            "Invalid order field order, must be asc or desc"
        );
    }

    #[test]
    fn url_encoded_separators_decode_like_raw_ones() {
        let encoded = Params::parse(Some("filter=a%3D1%2Ca%3D2&orderField=metadata.name%2Casc"));
        let raw = Params::parse(Some("filter=a=1,a=2&orderField=metadata.name,asc"));
        assert_eq!(encoded, raw);
        assert_eq!(encoded.all("filter"), vec!["a=1,a=2"]);
    }

    #[test]
    fn validator_rejects_unknown_empty_and_mistyped_parameters() {
        let schema =
            [("limit", ParamType::Integer), ("filter", ParamType::Strings), ("cursor", ParamType::String)];
        let check = |q: &str| Params::parse(Some(q)).validate(&schema).map_err(message);
        assert_eq!(check("foo=1"), Err("Unknown query parameter 'foo'".into()));
        assert_eq!(check("limit=asdf"), Err("request/query/limit must be integer".into()));
        assert_eq!(check("limit=-1"), Err("request/query/limit must be >= 0".into()));
        assert_eq!(check("limit=1&limit=2"), Err("request/query/limit must be integer".into()));
        assert_eq!(check("cursor=a&cursor=b"), Err("request/query/cursor must be string".into()));
        assert_eq!(check("cursor="), Err("Empty value found for query parameter 'cursor'".into()));
        assert_eq!(check("limit=10&filter=a&filter=b&cursor=x"), Ok(()));
    }

    #[test]
    fn cursor_round_trips_without_a_query_key() {
        let cursor = Cursor {
            order_fields: vec![SortKey { field: "metadata.name".into(), direction: Direction::Desc }],
            order_field_values: vec![Some("a".into()), Some("uid-1".into())],
            filter: parse_filter(&["kind=component"]).expect("ok"),
            full_text: Some(FullTextFilter {
                term: "abc".into(),
                fields: Some(vec!["metadata.name".into()]),
            }),
            is_previous: false,
            first_sort_field_values: Some(vec![None, Some("uid-0".into())]),
            total_items: Some(42),
            query: None,
        };
        let encoded = cursor.encode();
        let bytes = base64::engine::general_purpose::STANDARD.decode(&encoded).expect("base64");
        let json: Value = serde_json::from_slice(&bytes).expect("json");
        assert!(json.get("query").is_none());
        assert_eq!(json["filter"], json!({"anyOf":[{"allOf":[{"key":"kind","values":["component"]}]}]}));
        assert_eq!(json["totalItems"], 42);
        assert_eq!(Cursor::decode(&encoded).expect("decodes"), cursor);
    }

    #[test]
    fn predicate_cursors_carry_their_query() {
        let cursor = Cursor {
            order_fields: Vec::new(),
            order_field_values: vec![Some("uid-1".into())],
            filter: None,
            full_text: None,
            is_previous: false,
            first_sort_field_values: None,
            total_items: Some(3),
            query: Some(json!({"kind": "component"})),
        };
        let encoded = cursor.encode();
        let bytes = base64::engine::general_purpose::STANDARD.decode(&encoded).expect("base64");
        let json: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(json["query"], json!({"kind": "component"}));
        assert_eq!(Cursor::decode(&encoded).expect("decodes"), cursor);
    }

    #[test]
    fn malformed_cursors_are_rejected() {
        let wrong_json = base64::engine::general_purpose::STANDARD.encode(r#"{"a":1}"#);
        for bad in [wrong_json.as_str(), "not base64 at all!", "e30"] {
            let error = message(Cursor::decode(bad).expect_err("rejected"));
            assert!(error.starts_with("Malformed cursor"), "{error}");
        }
    }
}
