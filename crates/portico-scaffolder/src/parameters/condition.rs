//! The `if` of a parameter page: Backstage's deliberately tiny condition language, not the
//! template engine.
//!
//! The `${{ }}` wrapper is optional. An expression is one operand (judged by truthiness), `!`
//! and one operand, or two operands joined by `===`, `!==`, `==` or `!=` with JavaScript's
//! semantics. Operands are `parameters.<dotted path>` (read from the values; any other name is
//! undefined, and so are `__proto__`, `constructor` and `prototype`), quoted strings, decimal
//! numbers, `true`, `false`, `null` and `undefined`. A missing or blank condition holds.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::js::{js_number, js_string, js_to_number};
use crate::templating::is_truthy;

static WRAPPED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\$\{\{([\s\S]*)\}\}$").expect("the wrapper pattern is valid"));

static COMPARISON: LazyLock<Regex> = LazyLock::new(|| {
    let operand = r#"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*|'[^']*'|"[^"]*"|-?[0-9]+(?:\.[0-9]+)?"#;
    Regex::new(&format!(r"^({operand})\s*(===|!==|==|!=)\s*({operand})$"))
        .expect("the comparison pattern is valid")
});

static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^-?[0-9]+(\.[0-9]+)?$").expect("the number pattern is valid"));

/// Whether a page (or anything else carrying such an `if`) is shown for these values. A
/// non-string, non-boolean condition — an `if` that is a JSON Schema object — is not a page
/// condition and holds.
pub fn page_is_shown(page: &Value, values: &Value) -> bool {
    condition_holds(page.get("if"), values)
}

/// Evaluates a page condition against the values (`parameters` in the expression).
pub fn condition_holds(condition: Option<&Value>, values: &Value) -> bool {
    match condition {
        None | Some(Value::Null) => true,
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => evaluate(text, values),
        Some(Value::Object(_)) => true,
        Some(other) => is_truthy(other),
    }
}

fn evaluate(condition: &str, values: &Value) -> bool {
    let trimmed = condition.trim();
    let expression = match WRAPPED.captures(trimmed) {
        Some(captures) => captures.get(1).map_or("", |inner| inner.as_str()).trim(),
        None => trimmed,
    };
    if expression.is_empty() {
        return true;
    }
    if let Some(captures) = COMPARISON.captures(expression) {
        let left = operand(&captures[1], values);
        let right = operand(&captures[3], values);
        return match &captures[2] {
            "===" => strict_equal(&left, &right),
            "!==" => !strict_equal(&left, &right),
            "==" => loose_equal(left, right),
            _ => !loose_equal(left, right),
        };
    }
    if let Some(negated) = expression.strip_prefix('!') {
        return !truthy(&operand(negated.trim(), values));
    }
    truthy(&operand(expression, values))
}

/// A JavaScript value as far as the condition language can produce one.
#[derive(Debug, Clone)]
enum Js<'a> {
    Undefined,
    Null,
    Bool(bool),
    Number(f64),
    Text(Cow<'a, str>),
    Array(&'a [Value]),
    Object(&'a Map<String, Value>),
}

impl<'a> Js<'a> {
    fn of(value: &'a Value) -> Js<'a> {
        match value {
            Value::Null => Js::Null,
            Value::Bool(flag) => Js::Bool(*flag),
            Value::Number(number) => Js::Number(number.as_f64().unwrap_or(f64::NAN)),
            Value::String(text) => Js::Text(Cow::Borrowed(text)),
            Value::Array(items) => Js::Array(items),
            Value::Object(entries) => Js::Object(entries),
        }
    }
}

fn operand<'a>(token: &str, values: &'a Value) -> Js<'a> {
    let bytes = token.as_bytes();
    if bytes.len() >= 2 && matches!(bytes[0], b'\'' | b'"') && bytes[bytes.len() - 1] == bytes[0] {
        let inner = &token[1..token.len() - 1];
        // `.` in the original pattern stops at line breaks.
        if !inner.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
            return Js::Text(Cow::Owned(inner.to_owned()));
        }
    }
    if NUMBER.is_match(token) {
        return Js::Number(token.parse().unwrap_or(f64::NAN));
    }
    match token {
        "true" => return Js::Bool(true),
        "false" => return Js::Bool(false),
        "null" => return Js::Null,
        "undefined" => return Js::Undefined,
        _ => {}
    }
    let mut parts = token.split('.');
    if parts.next() != Some("parameters") {
        return Js::Undefined;
    }
    let mut current = values;
    for part in parts {
        if matches!(part, "__proto__" | "constructor" | "prototype") {
            return Js::Undefined;
        }
        match current.as_object().and_then(|entries| entries.get(part)) {
            Some(next) => current = next,
            None => return Js::Undefined,
        }
    }
    Js::of(current)
}

/// Truthiness, except that an empty array is false (Backstage's rule).
fn truthy(value: &Js<'_>) -> bool {
    match value {
        Js::Undefined | Js::Null => false,
        Js::Bool(flag) => *flag,
        Js::Number(number) => *number != 0.0 && !number.is_nan(),
        Js::Text(text) => !text.is_empty(),
        Js::Array(items) => !items.is_empty(),
        Js::Object(_) => true,
    }
}

/// `===`: same type and value; arrays and objects only equal themselves.
fn strict_equal(left: &Js<'_>, right: &Js<'_>) -> bool {
    match (left, right) {
        (Js::Undefined, Js::Undefined) | (Js::Null, Js::Null) => true,
        (Js::Bool(a), Js::Bool(b)) => a == b,
        (Js::Number(a), Js::Number(b)) => a == b,
        (Js::Text(a), Js::Text(b)) => a == b,
        (Js::Array(a), Js::Array(b)) => std::ptr::eq(*a, *b),
        (Js::Object(a), Js::Object(b)) => std::ptr::eq(*a, *b),
        _ => false,
    }
}

/// `==`: JavaScript's abstract equality.
fn loose_equal(left: Js<'_>, right: Js<'_>) -> bool {
    match (left, right) {
        (Js::Undefined | Js::Null, Js::Undefined | Js::Null) => true,
        (Js::Undefined | Js::Null, _) | (_, Js::Undefined | Js::Null) => false,
        (Js::Number(a), Js::Text(b)) => a == js_to_number(&b),
        (Js::Text(a), Js::Number(b)) => js_to_number(&a) == b,
        (Js::Bool(a), other) => loose_equal(Js::Number(f64::from(u8::from(a))), other),
        (other, Js::Bool(b)) => loose_equal(other, Js::Number(f64::from(u8::from(b)))),
        (left @ (Js::Array(_) | Js::Object(_)), right @ (Js::Number(_) | Js::Text(_))) => {
            loose_equal(to_primitive(&left), right)
        }
        (left @ (Js::Number(_) | Js::Text(_)), right @ (Js::Array(_) | Js::Object(_))) => {
            loose_equal(left, to_primitive(&right))
        }
        (left, right) => strict_equal(&left, &right),
    }
}

fn to_primitive<'a>(value: &Js<'a>) -> Js<'a> {
    match value {
        Js::Array(items) => Js::Text(Cow::Owned(js_string(&Value::Array(items.to_vec())))),
        Js::Object(_) => Js::Text(Cow::Borrowed("[object Object]")),
        Js::Number(number) => Js::Text(Cow::Owned(js_number(*number))),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn holds(condition: &str, values: Value) -> bool {
        condition_holds(Some(&json!(condition)), &values)
    }

    #[test]
    fn missing_blank_and_boolean_conditions() {
        assert!(condition_holds(None, &json!({})));
        assert!(holds("", json!({})));
        assert!(holds("  ", json!({})));
        assert!(holds("${{ }}", json!({})));
        assert!(!condition_holds(Some(&json!(false)), &json!({})));
        assert!(condition_holds(Some(&json!(true)), &json!({})));
    }

    #[test]
    fn comparisons_follow_javascript() {
        let values = json!({"cloudProvider": "AWS", "count": 0, "replicas": 3, "enabled": true});
        assert!(holds("${{ parameters.cloudProvider === 'AWS' }}", values.clone()));
        assert!(!holds("${{ parameters.cloudProvider === 'GCP' }}", values.clone()));
        assert!(holds("${{ parameters.cloudProvider !== 'GCP' }}", values.clone()));
        assert!(holds("parameters.cloudProvider === \"AWS\"", values.clone()));
        assert!(!holds("${{ parameters.count == 'false' }}", values.clone()));
        assert!(holds("${{ parameters.count == '0' }}", values.clone()));
        assert!(holds("${{ parameters.replicas === 3 }}", values.clone()));
        assert!(!holds("${{ parameters.replicas === '3' }}", values.clone()));
        assert!(holds("${{ parameters.replicas == '3' }}", values.clone()));
        assert!(holds("${{ parameters.enabled === true }}", values.clone()));
        assert!(holds("${{ parameters.enabled == 1 }}", values));
    }

    #[test]
    fn truthiness_negation_and_paths() {
        assert!(holds("${{ parameters.enabled }}", json!({"enabled": true})));
        assert!(!holds("${{ parameters.name }}", json!({"name": ""})));
        assert!(!holds("${{ parameters.items }}", json!({"items": []})));
        assert!(holds("${{ parameters.items }}", json!({"items": ["a"]})));
        assert!(holds("${{ !parameters.skip }}", json!({"skip": false})));
        assert!(!holds("${{ !parameters.skip }}", json!({"skip": true})));
        assert!(holds(
            "${{ parameters.config.region === 'us-east-1' }}",
            json!({"config": {"region": "us-east-1"}})
        ));
        assert!(!holds("${{ parameters.missing.nested }}", json!({})));
        assert!(!holds("${{ secrets.token }}", json!({"token": "x"})));
    }

    #[test]
    fn null_and_undefined_differ_strictly() {
        assert!(holds("${{ parameters.value === null }}", json!({"value": null})));
        assert!(!holds("${{ parameters.value === null }}", json!({})));
        assert!(holds("${{ parameters.value === undefined }}", json!({})));
        assert!(holds("${{ parameters.value == null }}", json!({})));
    }

    #[test]
    fn prototype_names_are_undefined() {
        assert!(!holds("${{ parameters.constructor }}", json!({"a": "b"})));
        assert!(!holds("${{ parameters.__proto__ }}", json!({"a": "b"})));
        assert!(!holds("${{ parameters.a.prototype }}", json!({"a": {"prototype": 1}})));
    }

    #[test]
    fn the_template_engine_is_not_used() {
        // The full engine would evaluate `and`; the tiny language reads one unknown operand.
        assert!(!holds("${{ parameters.a and parameters.b }}", json!({"a": true, "b": true})));
    }
}
