//! JavaScript's conversions of JSON values to text, as the `jsonschema` library's messages and
//! the page condition language see them.

use serde_json::{Number, Value};

/// `String(value)`: strings as they are, numbers as JavaScript prints them, arrays
/// comma-joined (`null` items empty), objects as `[object Object]`.
pub(crate) fn js_string(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number_text(number),
        Value::String(text) => text.clone(),
        Value::Array(items) => items
            .iter()
            .map(|item| if item.is_null() { String::new() } else { js_string(item) })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".to_owned(),
    }
}

/// A JSON number as JavaScript prints it.
pub(crate) fn number_text(number: &Number) -> String {
    if number.is_i64() || number.is_u64() {
        return number.to_string();
    }
    number.as_f64().map_or_else(|| number.to_string(), js_number)
}

/// `Number.prototype.toString()`: integral values without a fraction, exponent notation below
/// 1e-6 and from 1e21 on (`1e+21`, `1.5e-7`).
pub(crate) fn js_number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if value == 0.0 {
        return "0".to_owned();
    }
    let magnitude = value.abs();
    if (1e-6..1e21).contains(&magnitude) {
        return value.to_string();
    }
    let text = format!("{value:e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) if !exponent.starts_with('-') => format!("{mantissa}e+{exponent}"),
        _ => text,
    }
}

/// `JSON.stringify` of a string.
pub(crate) fn json_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// JavaScript truthiness of a JSON value (an empty array is truthy, as in JavaScript).
pub(crate) fn js_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `Number(text)`: surrounding whitespace ignored, empty text is 0, decimal, exponent and
/// `0x`/`0o`/`0b` forms, `Infinity`; anything else is NaN.
pub(crate) fn js_to_number(text: &str) -> f64 {
    let text = text.trim();
    if text.is_empty() {
        return 0.0;
    }
    let radix = [("0x", 16), ("0X", 16), ("0o", 8), ("0O", 8), ("0b", 2), ("0B", 2)]
        .iter()
        .find_map(|(prefix, radix)| text.strip_prefix(prefix).map(|digits| (digits, *radix)));
    if let Some((digits, radix)) = radix {
        return u64::from_str_radix(digits, radix).map_or(f64::NAN, |n| n as f64);
    }
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if unsigned == "Infinity" {
        return if text.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY };
    }
    // Rust also reads `inf` and `nan`, which JavaScript does not.
    if !unsigned.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')) {
        return f64::NAN;
    }
    text.parse::<f64>().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_print_like_javascript() {
        assert_eq!(js_number(1.0), "1");
        assert_eq!(js_number(1.5), "1.5");
        assert_eq!(js_number(-0.0), "0");
        assert_eq!(js_number(1e21), "1e+21");
        assert_eq!(js_number(1.5e-7), "1.5e-7");
        assert_eq!(js_number(0.000001), "0.000001");
        assert_eq!(number_text(&serde_json::Number::from_f64(3.0).unwrap()), "3");
    }

    #[test]
    fn values_stringify_like_javascript() {
        assert_eq!(js_string(&json!(["a", 1, null, [2, 3], {"x": 1}])), "a,1,,2,3,[object Object]");
        assert_eq!(js_string(&json!(null)), "null");
        assert_eq!(js_string(&json!(1.21)), "1.21");
    }

    #[test]
    fn text_converts_to_numbers_like_javascript() {
        assert_eq!(js_to_number(" 0 "), 0.0);
        assert_eq!(js_to_number(""), 0.0);
        assert_eq!(js_to_number("0x10"), 16.0);
        assert_eq!(js_to_number("1e3"), 1000.0);
        assert!(js_to_number("false").is_nan());
        assert!(js_to_number("inf").is_nan());
        assert_eq!(js_to_number("-Infinity"), f64::NEG_INFINITY);
    }
}
