//! Validation of parameter values against the pages' JSON Schemas, with the errors worded and
//! shaped exactly as the `jsonschema` npm library (the one Backstage's scaffolder uses) words
//! and shapes them.
//!
//! A draft-07 subset: `type`, `required`, `properties`, `patternProperties`,
//! `additionalProperties`, `items`/`additionalItems`, `enum`, `const`, `minLength`/`maxLength`
//! (in Unicode characters), `pattern`, `format`, `minimum`/`maximum`/`exclusiveMinimum`/
//! `exclusiveMaximum` (boolean and number forms), `multipleOf`, `minItems`/`maxItems`/
//! `uniqueItems`, `minProperties`/`maxProperties`, `dependencies` (array and schema forms),
//! `allOf`/`anyOf`/`oneOf`/`not` and `if`/`then`/`else`. Every other keyword (`ui:*`,
//! `backstage:*`, `title`, `$ref`, …) is ignored, and so is an `if` that is not a schema (a
//! page's condition).
//!
//! Schemas come from templates written by others: recursion stops at [`MAX_SCHEMA_DEPTH`]
//! nested schemas and the work of one validation is bounded (combinators such as nested
//! `anyOf` could otherwise take exponential time); both end the validation with one error
//! saying so. At most [`MAX_ERRORS`] errors are returned. Patterns are compiled with a size
//! limit, and a pattern that does not compile fails the value with its own message instead of
//! failing the request.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::condition::page_is_shown;
use super::formats;
use super::js::{js_number, js_string, js_truthy, json_string};

/// Nested schemas deeper than this end the validation with a `depth` error.
pub const MAX_SCHEMA_DEPTH: usize = 64;

/// At most this many errors are returned for one schema.
pub const MAX_ERRORS: usize = 100;

/// Units of work (schemas entered, errors made, enum items compared, …) one validation may
/// spend. Real templates spend hundreds.
const WORK_BUDGET: usize = 1_000_000;

/// Compiled size limit of one `pattern`.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// One step of an error's `path`: a property name or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum PathSegment {
    /// A property name.
    Key(String),
    /// An array index.
    Index(usize),
}

/// One validation error, serialised as the `jsonschema` library serialises its errors:
/// `{path, property, message, schema, instance, name, argument, stack}` (`instance` and
/// `argument` left out when undefined).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationError {
    /// Where the failing value is, from the validated object.
    pub path: Vec<PathSegment>,
    /// The same place as text: `instance`, `instance.owner`, `instance.tags[0]`.
    pub property: String,
    /// What is wrong, e.g. `requires property "owner"`.
    pub message: String,
    /// The schema holding the failing keyword (its `$id` or `id` when it has one).
    pub schema: Value,
    /// The failing value; absent for a missing value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<Value>,
    /// The keyword that failed (`required`, `type`, `enum`, …).
    pub name: String,
    /// The keyword's argument as the library reports it (the missing property, the types, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argument: Option<Value>,
    /// `<property> <message>`.
    pub stack: String,
}

/// Validates submitted values the way Backstage's scaffolder does when a task is created: each
/// page whose `if` holds for the values is validated on its own against the whole values
/// object, and the errors of the first page that fails are returned.
pub fn validate_values(pages: &[Value], values: &Value) -> Result<(), Vec<ValidationError>> {
    for page in pages.iter().filter(|page| page_is_shown(page, values)) {
        validate_schema(page, values)?;
    }
    Ok(())
}

/// Validates one value against one schema (a page is a schema).
pub fn validate_schema(schema: &Value, instance: &Value) -> Result<(), Vec<ValidationError>> {
    let mut validator = Validator::new();
    let errors = validator.check(Some(instance), schema, &Location::root(), 0);
    if let Some(abort) = validator.aborted {
        return Err(vec![abort.into_error()]);
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(errors.into_iter().take(MAX_ERRORS).map(Raw::finish).collect())
}

/// Whether the value satisfies the schema (false when the validation had to stop).
pub(crate) fn is_valid(schema: &Value, instance: &Value) -> bool {
    let mut validator = Validator::new();
    let errors = validator.check(Some(instance), schema, &Location::root(), 0);
    errors.is_empty() && validator.aborted.is_none()
}

/// The schema `false` stands for: nothing is of no type.
static FALSE_SCHEMA: LazyLock<Value> = LazyLock::new(|| json!({"type": []}));
static EMPTY_SCHEMA: LazyLock<Value> = LazyLock::new(|| json!({}));

#[derive(Debug, Clone)]
struct Location {
    path: Vec<PathSegment>,
    property: String,
}

impl Location {
    fn root() -> Location {
        Location { path: Vec::new(), property: "instance".to_owned() }
    }

    fn key(&self, key: &str) -> Location {
        let mut path = self.path.clone();
        path.push(PathSegment::Key(key.to_owned()));
        Location { path, property: format!("{}{}", self.property, key_suffix(key)) }
    }

    fn index(&self, index: usize) -> Location {
        let mut path = self.path.clone();
        path.push(PathSegment::Index(index));
        Location { path, property: format!("{}[{index}]", self.property) }
    }
}

/// How the library appends a property name to a property path: `.name` for plain names,
/// `[3]` for digits, `["a b"]` for anything with dots, brackets or spaces or starting with a
/// digit.
fn key_suffix(key: &str) -> String {
    let special = |c: char| matches!(c, '.' | '[' | ']' | '\u{feff}') || c.is_whitespace();
    if !key.contains(special) && !key.starts_with(|c: char| c.is_ascii_digit()) {
        format!(".{key}")
    } else if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
        format!("[{key}]")
    } else {
        format!("[{}]", json_string(key))
    }
}

/// Why a validation stopped early.
enum Abort {
    Depth(Location),
    Budget,
}

impl Abort {
    fn into_error(self) -> ValidationError {
        let (location, message, name) = match self {
            Abort::Depth(location) => (
                location,
                format!("is described by schemas nested more than {MAX_SCHEMA_DEPTH} levels deep"),
                "depth",
            ),
            Abort::Budget => {
                (Location::root(), "cannot be validated: the schema is too complex".to_owned(), "complexity")
            }
        };
        let stack = format!("{} {message}", location.property);
        ValidationError {
            path: location.path,
            property: location.property,
            message,
            schema: json!({}),
            instance: None,
            name: name.to_owned(),
            argument: None,
            stack,
        }
    }
}

enum Argument<'a> {
    None,
    Borrowed(&'a Value),
    Owned(Value),
}

/// An error before it is returned: borrowed parts, so errors that a combinator discards cost
/// no copies of schemas or values.
struct Raw<'a> {
    at: Location,
    schema: &'a Value,
    instance: Option<&'a Value>,
    name: &'static str,
    message: String,
    argument: Argument<'a>,
}

impl Raw<'_> {
    fn finish(self) -> ValidationError {
        let id = ["$id", "id"].iter().find_map(|key| self.schema.get(key).filter(|id| js_truthy(id)));
        let stack = format!("{} {}", self.at.property, self.message);
        ValidationError {
            path: self.at.path,
            property: self.at.property,
            message: self.message,
            schema: id.unwrap_or(self.schema).clone(),
            instance: self.instance.cloned(),
            name: self.name.to_owned(),
            argument: match self.argument {
                Argument::None => None,
                Argument::Borrowed(value) => Some(value.clone()),
                Argument::Owned(value) => Some(value),
            },
            stack,
        }
    }
}

/// Where a keyword is being checked.
#[derive(Clone, Copy)]
struct Here<'a, 'l> {
    instance: Option<&'a Value>,
    schema: &'a Value,
    keywords: &'a Map<String, Value>,
    at: &'l Location,
    depth: usize,
}

impl<'a> Here<'a, '_> {
    fn error(&self, name: &'static str, message: String, argument: Argument<'a>) -> Raw<'a> {
        Raw { at: self.at.clone(), schema: self.schema, instance: self.instance, name, message, argument }
    }
}

struct Validator {
    work: usize,
    aborted: Option<Abort>,
    patterns: HashMap<String, Option<Regex>>,
}

impl Validator {
    fn new() -> Validator {
        Validator { work: 0, aborted: None, patterns: HashMap::new() }
    }

    /// Spends work; false (and the validation stops) once the budget is gone.
    fn charge(&mut self, units: usize) -> bool {
        self.work = self.work.saturating_add(units);
        if self.work > WORK_BUDGET && self.aborted.is_none() {
            self.aborted = Some(Abort::Budget);
        }
        self.aborted.is_none()
    }

    fn check<'a>(
        &mut self,
        instance: Option<&'a Value>,
        schema: &'a Value,
        at: &Location,
        depth: usize,
    ) -> Vec<Raw<'a>> {
        if self.aborted.is_some() || !self.charge(1) {
            return Vec::new();
        }
        if depth > MAX_SCHEMA_DEPTH {
            self.aborted = Some(Abort::Depth(at.clone()));
            return Vec::new();
        }
        let schema: &'a Value = match schema {
            Value::Bool(false) => &FALSE_SCHEMA,
            other => other,
        };
        let Value::Object(keywords) = schema else { return Vec::new() };
        let here = Here { instance, schema, keywords, at, depth };
        let mut errors = Vec::new();
        for (keyword, argument) in keywords {
            let before = errors.len();
            match keyword.as_str() {
                "type" => self.check_type(here, argument, &mut errors),
                "required" => self.required(here, argument, &mut errors),
                "properties" => self.properties(here, argument, &mut errors),
                "patternProperties" => self.pattern_properties(here, argument, &mut errors),
                "additionalProperties" => self.additional_properties(here, argument, &mut errors),
                "items" => self.items(here, argument, &mut errors),
                "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => {
                    bounds(here, keyword, argument, &mut errors)
                }
                "multipleOf" | "divisibleBy" => multiple_of(here, keyword, argument, &mut errors),
                "minLength" | "maxLength" => length(here, keyword, argument, &mut errors),
                "pattern" => self.pattern(here, argument, &mut errors),
                "format" => format(here, argument, &mut errors),
                "minItems" | "maxItems" | "minProperties" | "maxProperties" => {
                    sizes(here, keyword, argument, &mut errors)
                }
                "uniqueItems" => self.unique_items(here, argument, &mut errors),
                "dependencies" => self.dependencies(here, argument, &mut errors),
                "enum" => self.enumeration(here, argument, &mut errors),
                "const" => constant(here, argument, &mut errors),
                "not" | "disallow" => self.not(here, argument, &mut errors),
                "anyOf" => self.any_of(here, argument, &mut errors),
                "oneOf" => self.one_of(here, argument, &mut errors),
                "allOf" => self.all_of(here, argument, &mut errors),
                "if" => self.conditional(here, argument, &mut errors),
                _ => {}
            }
            if self.aborted.is_some() || !self.charge(errors.len() - before) {
                return Vec::new();
            }
        }
        errors
    }

    fn check_type<'a>(&mut self, here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
        let Some(instance) = here.instance else { return };
        let types: Vec<&Value> = match argument {
            Value::Array(types) => types.iter().collect(),
            other => vec![other],
        };
        for wanted in &types {
            let matches = match wanted {
                Value::String(name) => is_of_type(instance, name),
                Value::Object(_) => self.check(Some(instance), wanted, here.at, here.depth + 1).is_empty(),
                _ => true,
            };
            if matches {
                return;
            }
        }
        let labels: Vec<Value> = types.iter().map(|wanted| type_label(wanted)).collect();
        let labels = Value::Array(labels);
        let message = format!("is not of a type(s) {}", js_string(&labels));
        errors.push(here.error("type", message, Argument::Owned(labels)));
    }

    fn required<'a>(&mut self, here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
        match (argument, here.instance) {
            (Value::Bool(true), None) => {
                errors.push(here.error("required", "is required".to_owned(), Argument::None));
            }
            (Value::Array(names), Some(Value::Object(object))) => {
                if !self.charge(names.len()) {
                    return;
                }
                for name in names {
                    if !object.contains_key(&js_string(name)) {
                        let message = format!("requires property {}", json_text(name));
                        errors.push(here.error("required", message, Argument::Borrowed(name)));
                    }
                }
            }
            _ => {}
        }
    }

    fn properties<'a>(&mut self, here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
        let (Some(Value::Object(object)), Value::Object(properties)) = (here.instance, argument) else {
            return;
        };
        for (name, schema) in properties {
            errors.extend(self.check(object.get(name), schema, &here.at.key(name), here.depth + 1));
        }
    }

    fn pattern_properties<'a>(&mut self, here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
        let (Some(Value::Object(object)), Value::Object(patterns)) = (here.instance, argument) else {
            return;
        };
        for (name, value) in object {
            let mut matched = false;
            for (pattern, schema) in patterns {
                if !self.regex(pattern).is_some_and(|regex| regex.is_match(name)) {
                    continue;
                }
                matched = true;
                errors.extend(self.check(Some(value), schema, &here.at.key(name), here.depth + 1));
            }
            if !matched {
                let additional = here.keywords.get("additionalProperties").unwrap_or(&*EMPTY_SCHEMA);
                self.additional_property(here, name, value, additional, errors);
            }
        }
    }

    fn additional_properties<'a>(
        &mut self,
        here: Here<'a, '_>,
        argument: &'a Value,
        errors: &mut Vec<Raw<'a>>,
    ) {
        // With `patternProperties` the names no pattern matches are checked there.
        if here.keywords.contains_key("patternProperties") {
            return;
        }
        let Some(Value::Object(object)) = here.instance else { return };
        for (name, value) in object {
            self.additional_property(here, name, value, argument, errors);
        }
    }

    fn additional_property<'a>(
        &mut self,
        here: Here<'a, '_>,
        name: &str,
        value: &'a Value,
        argument: &'a Value,
        errors: &mut Vec<Raw<'a>>,
    ) {
        let declared = here.keywords.get("properties").and_then(Value::as_object);
        if declared.is_some_and(|properties| properties.contains_key(name)) {
            return;
        }
        if *argument == Value::Bool(false) {
            let message = format!("is not allowed to have the additional property {}", json_string(name));
            errors.push(here.error("additionalProperties", message, Argument::Owned(json!(name))));
        } else {
            let schema = if js_truthy(argument) { argument } else { &*EMPTY_SCHEMA };
            errors.extend(self.check(Some(value), schema, &here.at.key(name), here.depth + 1));
        }
    }

    fn items<'a>(&mut self, here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
        let Some(Value::Array(items)) = here.instance else { return };
        for (index, item) in items.iter().enumerate() {
            let schema = match argument {
                Value::Array(tuple) => {
                    match tuple.get(index).or_else(|| here.keywords.get("additionalItems")) {
                        Some(schema) => schema,
                        None => continue,
                    }
                }
                other => other,
            };
            if *schema == Value::Bool(false) {
                errors.push(here.error("items", "additionalItems not permitted".to_owned(), Argument::None));
                break;
            }
            errors.extend(self.check(Some(item), schema, &here.at.index(index), here.depth + 1));
        }
    }

    fn pattern<'a>(&mut self, here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
        let Some(Value::String(text)) = here.instance else { return };
        let pattern = js_string(argument);
        match self.regex(&pattern) {
            Some(regex) if regex.is_match(text) => {}
            Some(_) => {
                let message = format!("does not match pattern {}", json_string(&pattern));
                errors.push(here.error("pattern", message, Argument::Borrowed(argument)));
            }
            None => {
                let message =
                    format!("cannot be checked against the invalid pattern {}", json_string(&pattern));
                errors.push(here.error("pattern", message, Argument::Borrowed(argument)));
            }
        }
    }

    /// A compiled pattern (cached), or `None` when it does not compile within the limits.
    fn regex(&mut self, pattern: &str) -> Option<Regex> {
        if let Some(compiled) = self.patterns.get(pattern) {
            return compiled.clone();
        }
        if !self.charge(pattern.len()) {
            return None;
        }
        let compiled = RegexBuilder::new(pattern)
            .size_limit(PATTERN_SIZE_LIMIT)
            .dfa_size_limit(PATTERN_SIZE_LIMIT)
            .build()
            .ok();
        self.patterns.insert(pattern.to_owned(), compiled.clone());
        compiled
    }

    fn unique_items<'a>(&mut self, here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
        let (Value::Bool(true), Some(Value::Array(items))) = (argument, here.instance) else { return };
        let mut seen = HashSet::with_capacity(items.len());
        for item in items {
            let mut key = String::new();
            canonical_key(item, &mut key);
            if !self.charge(key.len() / 64 + 1) {
                return;
            }
            if !seen.insert(key) {
                errors.push(here.error("uniqueItems", "contains duplicate item".to_owned(), Argument::None));
                return;
            }
        }
    }

    fn dependencies<'a>(&mut self, here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
        let (Some(Value::Object(object)), Value::Object(dependencies)) = (here.instance, argument) else {
            return;
        };
        for (property, dependency) in dependencies {
            if !object.contains_key(property) {
                continue;
            }
            let child = here.at.key(property);
            let required: Vec<&Value> = match dependency {
                Value::String(_) => vec![dependency],
                Value::Array(names) => names.iter().collect(),
                _ => {
                    // The schema form checks the object itself, reported under the property.
                    let nested = self.check(here.instance, dependency, &child, here.depth + 1);
                    if !nested.is_empty() {
                        let message = format!("does not meet dependency required by {}", child.property);
                        let argument = Argument::Owned(json!(child.property));
                        errors.push(here.error("dependencies", message, argument));
                        errors.extend(nested);
                    }
                    continue;
                }
            };
            for name in required {
                let name = js_string(name);
                if !object.contains_key(&name) {
                    let message = format!("property {name} not found, required by {}", child.property);
                    errors.push(here.error("dependencies", message, Argument::Owned(json!(child.property))));
                }
            }
        }
    }

    fn enumeration<'a>(&mut self, here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
        let (Some(instance), Value::Array(options)) = (here.instance, argument) else { return };
        if !self.charge(options.len()) {
            return;
        }
        if !options.iter().any(|option| same(instance, option)) {
            let listed: Vec<String> = options.iter().map(js_string).collect();
            let message = format!("is not one of enum values: {}", listed.join(","));
            errors.push(here.error("enum", message, Argument::Borrowed(argument)));
        }
    }

    fn not<'a>(&mut self, here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
        let Some(instance) = here.instance else { return };
        if !js_truthy(argument) {
            return;
        }
        let prohibited: Vec<&Value> = match argument {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for schema in prohibited {
            let matches = match schema {
                Value::Object(_) => self.check(Some(instance), schema, here.at, here.depth + 1).is_empty(),
                Value::String(name) => is_of_type(instance, name),
                Value::Null => false,
                _ => true,
            };
            if matches {
                let id = schema_id(schema).unwrap_or(schema);
                let message = format!("is of prohibited type {}", js_string(id));
                errors.push(here.error("not", message, Argument::Borrowed(id)));
            }
        }
    }

    fn any_of<'a>(&mut self, here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
        let (Some(instance), Value::Array(branches)) = (here.instance, argument) else { return };
        for branch in branches {
            if self.check(Some(instance), branch, here.at, here.depth + 1).is_empty() {
                return;
            }
        }
        let labels: Vec<String> =
            branches.iter().enumerate().map(|(index, branch)| branch_label(branch, index, true)).collect();
        let message = format!("is not any of {}", labels.join(","));
        errors.push(here.error("anyOf", message, Argument::Owned(json!(labels))));
    }

    fn one_of<'a>(&mut self, here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
        let (Some(instance), Value::Array(branches)) = (here.instance, argument) else { return };
        let mut matching = 0;
        for branch in branches {
            if self.check(Some(instance), branch, here.at, here.depth + 1).is_empty() {
                matching += 1;
            }
        }
        if matching != 1 {
            let labels: Vec<String> = branches
                .iter()
                .enumerate()
                .map(|(index, branch)| branch_label(branch, index, false))
                .collect();
            let message = format!("is not exactly one from {}", labels.join(","));
            errors.push(here.error("oneOf", message, Argument::Owned(json!(labels))));
        }
    }

    fn all_of<'a>(&mut self, here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
        let (Some(instance), Value::Array(branches)) = (here.instance, argument) else { return };
        for (index, branch) in branches.iter().enumerate() {
            let nested = self.check(Some(instance), branch, here.at, here.depth + 1);
            if nested.is_empty() {
                continue;
            }
            let label = branch_label(branch, index, false);
            let message = format!("does not match allOf schema {label} with {} error[s]:", nested.len());
            // The library also puts its whole inner result object here; the id and the
            // count are what clients read.
            let argument = Argument::Owned(json!({"id": label, "length": nested.len()}));
            errors.push(here.error("allOf", message, argument));
            errors.extend(nested);
        }
    }

    fn conditional<'a>(&mut self, here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
        let Some(instance) = here.instance else { return };
        if !matches!(argument, Value::Object(_) | Value::Bool(_)) {
            return;
        }
        let holds = self.check(Some(instance), argument, here.at, here.depth + 1).is_empty();
        let branch = here.keywords.get(if holds { "then" } else { "else" });
        if let Some(branch @ (Value::Object(_) | Value::Bool(_))) = branch {
            errors.extend(self.check(Some(instance), branch, here.at, here.depth + 1));
        }
    }
}

fn bounds<'a>(here: Here<'a, '_>, keyword: &str, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
    let (Some(value), Some(limit)) = (here.instance.and_then(Value::as_f64), argument.as_f64()) else {
        return;
    };
    let limit_text = js_string(argument);
    let exclusive_flag = |name: &str| here.keywords.get(name) == Some(&Value::Bool(true));
    let (name, failed, message) = match keyword {
        "minimum" if exclusive_flag("exclusiveMinimum") => {
            ("minimum", value <= limit, format!("must be greater than {limit_text}"))
        }
        "minimum" => ("minimum", value < limit, format!("must be greater than or equal to {limit_text}")),
        "maximum" if exclusive_flag("exclusiveMaximum") => {
            ("maximum", value >= limit, format!("must be less than {limit_text}"))
        }
        "maximum" => ("maximum", value > limit, format!("must be less than or equal to {limit_text}")),
        "exclusiveMinimum" => {
            ("exclusiveMinimum", value <= limit, format!("must be strictly greater than {limit_text}"))
        }
        _ => ("exclusiveMaximum", value >= limit, format!("must be strictly less than {limit_text}")),
    };
    if failed {
        errors.push(here.error(name, message, Argument::Borrowed(argument)));
    }
}

fn multiple_of<'a>(here: Here<'a, '_>, keyword: &str, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
    let (Some(value), Some(divisor)) = (here.instance.and_then(Value::as_f64), argument.as_f64()) else {
        return;
    };
    if divisor == 0.0 {
        return;
    }
    // Scaled to integers first, so 0.3 is a multiple of 0.1.
    let decimals = decimal_places(value).max(decimal_places(divisor));
    let multiplier = 10f64.powi(i32::try_from(decimals).unwrap_or(i32::MAX));
    let js_round = |x: f64| (x + 0.5).floor();
    if js_round(value * multiplier) % js_round(divisor * multiplier) != 0.0 {
        let (name, text) = if keyword == "multipleOf" {
            ("multipleOf", "is not a multiple of (divisible by) ")
        } else {
            ("divisibleBy", "is not divisible by ")
        };
        errors.push(here.error(name, format!("{text}{}", js_string(argument)), Argument::Borrowed(argument)));
    }
}

/// Digits after the decimal point of a number as JavaScript prints it.
fn decimal_places(number: f64) -> usize {
    let text = js_number(number);
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, ""));
    if !exponent.is_empty() && !exponent.starts_with('-') {
        return 0;
    }
    let shift = exponent.strip_prefix('-').and_then(|digits| digits.parse::<usize>().ok()).unwrap_or(0);
    shift + mantissa.split_once('.').map_or(0, |(_, fraction)| fraction.len())
}

fn length<'a>(here: Here<'a, '_>, keyword: &str, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
    let (Some(Value::String(text)), Some(limit)) = (here.instance, argument.as_f64()) else { return };
    let count = text.chars().count() as f64;
    let limit_text = js_string(argument);
    if keyword == "minLength" && count < limit {
        let message = format!("does not meet minimum length of {limit_text}");
        errors.push(here.error("minLength", message, Argument::Borrowed(argument)));
    } else if keyword == "maxLength" && count > limit {
        let message = format!("does not meet maximum length of {limit_text}");
        errors.push(here.error("maxLength", message, Argument::Borrowed(argument)));
    }
}

fn format<'a>(here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
    let (Some(Value::String(text)), Value::String(format)) = (here.instance, argument) else { return };
    if !formats::conforms(text, format) {
        let message = format!("does not conform to the {} format", json_string(format));
        errors.push(here.error("format", message, Argument::Borrowed(argument)));
    }
}

fn sizes<'a>(here: Here<'a, '_>, keyword: &str, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
    let Some(limit) = argument.as_f64() else { return };
    let count = match (keyword, here.instance) {
        ("minItems" | "maxItems", Some(Value::Array(items))) => items.len(),
        ("minProperties" | "maxProperties", Some(Value::Object(entries))) => entries.len(),
        _ => return,
    } as f64;
    let limit_text = js_string(argument);
    let (name, failed, message) = match keyword {
        "minItems" => ("minItems", count < limit, format!("does not meet minimum length of {limit_text}")),
        "maxItems" => ("maxItems", count > limit, format!("does not meet maximum length of {limit_text}")),
        "minProperties" => {
            ("minProperties", count < limit, format!("does not meet minimum property length of {limit_text}"))
        }
        _ => {
            ("maxProperties", count > limit, format!("does not meet maximum property length of {limit_text}"))
        }
    };
    if failed {
        errors.push(here.error(name, message, Argument::Borrowed(argument)));
    }
}

fn constant<'a>(here: Here<'a, '_>, argument: &'a Value, errors: &mut Vec<Raw<'a>>) {
    let Some(instance) = here.instance else { return };
    if !same(argument, instance) {
        let message = format!("does not exactly match expected constant: {}", js_string(argument));
        errors.push(here.error("const", message, Argument::Borrowed(argument)));
    }
}

/// The library's type names; unknown names accept anything.
fn is_of_type(value: &Value, name: &str) -> bool {
    match name {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.as_f64().is_some_and(|number| number.fract() == 0.0),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        "object" => value.is_object(),
        "date" => false,
        _ => true,
    }
}

/// A wanted type as the `type` error lists it: its name, `<id>` for a schema with an id, and
/// JavaScript's text for anything else (falsy values are left empty).
fn type_label(wanted: &Value) -> Value {
    if !js_truthy(wanted) {
        return Value::Null;
    }
    match schema_id(wanted) {
        Some(id) => Value::String(format!("<{}>", js_string(id))),
        None => Value::String(js_string(wanted)),
    }
}

fn schema_id(schema: &Value) -> Option<&Value> {
    ["$id", "id"].iter().find_map(|key| schema.get(key).filter(|id| js_truthy(id)))
}

/// How a combinator names a branch: its id (`<id>` in `anyOf`), its title as JSON, `<$ref>`,
/// or `[subschema N]`.
fn branch_label(branch: &Value, index: usize, bracket_id: bool) -> String {
    if let Some(id) = schema_id(branch) {
        let id = js_string(id);
        return if bracket_id { format!("<{id}>") } else { id };
    }
    if let Some(title) = branch.get("title").filter(|title| js_truthy(title)) {
        return json_text(title);
    }
    if let Some(reference) = branch.get("$ref").filter(|reference| js_truthy(reference)) {
        return format!("<{}>", js_string(reference));
    }
    format!("[subschema {index}]")
}

/// `JSON.stringify` of a value (numbers as JavaScript prints them).
fn json_text(value: &Value) -> String {
    match value {
        Value::String(text) => json_string(text),
        Value::Number(_) => js_string(value),
        other => other.to_string(),
    }
}

/// The library's deep strict equality: numbers by value, objects by their entries.
pub(crate) fn same(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(key, x)| b.get(key).is_some_and(|y| same(x, y)))
        }
        _ => left == right,
    }
}

/// A text equal for values [`same`] calls equal: numbers normalised, object keys sorted.
fn canonical_key(value: &Value, out: &mut String) {
    match value {
        Value::Number(number) => out.push_str(&js_number(number.as_f64().unwrap_or(f64::NAN))),
        Value::Array(items) => {
            out.push('[');
            for item in items {
                canonical_key(item, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::Object(entries) => {
            let mut keys: Vec<&String> = entries.keys().collect();
            keys.sort();
            out.push('{');
            for key in keys {
                out.push_str(&json_string(key));
                out.push(':');
                canonical_key(&entries[key.as_str()], out);
                out.push(',');
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The `property` text of a value reached through these property names.
pub(crate) fn property_path(keys: &[String]) -> String {
    keys.iter().fold(Location::root(), |location, key| location.key(key)).property
}
