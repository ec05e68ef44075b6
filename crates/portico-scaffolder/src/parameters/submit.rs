//! Reading a submitted page back into the values object.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};

use super::fields::{Choice, FormContext, ItemType, Widget, collect_fields, primary_type, value_text};
use super::pickers::complete_entity_ref;
use super::repo_url::RepoUrlParts;
use super::resolve::{ObjectView, possible_properties};

/// The names of the three inputs of a `RepoUrlPicker` field named `name`.
pub fn repo_url_input_names(name: &str) -> [String; 3] {
    [format!("{name}[host]"), format!("{name}[owner]"), format!("{name}[repo]")]
}

/// Merges a submitted page (`application/x-www-form-urlencoded` pairs, in order) into the
/// values it was rendered for.
///
/// The page's fields are those its form showed for `previous`. Text is typed by the schema:
/// numbers and integers are parsed (text that is no number is kept, so validation reports the
/// type), a checkbox is true when sent and false when not, choices take the typed value of the
/// chosen option, repeated names and list lines become arrays, entity pickers store completed
/// references and a `RepoUrlPicker`'s three inputs become `host?owner=o&repo=r`. An empty
/// input leaves its property out (or sets `ui:emptyValue`), as Backstage's form does.
/// Read-only and disabled fields keep their value (or default), and a hidden one not sent does
/// too. Properties the page shows only under other values (its `dependencies`, `if`/`then`)
/// that it no longer shows are removed.
pub fn values_from_form(page: &Value, pairs: &[(String, String)], previous: &Value) -> Value {
    let mut posted: HashMap<&str, Vec<&str>> = HashMap::new();
    for (name, value) in pairs {
        posted.entry(name.as_str()).or_default().push(value.as_str());
    }
    let mut values = match previous {
        Value::Object(object) => object.clone(),
        _ => Map::new(),
    };
    for leaf in collect_fields(page, previous, &FormContext::default()) {
        let field = leaf.field;
        if matches!(field.widget, Widget::Section) {
            continue;
        }
        let sent = posted.get(field.name.as_str()).map(Vec::as_slice).unwrap_or_default();
        let kept =
            field.readonly || field.disabled || (matches!(field.widget, Widget::Hidden) && sent.is_empty());
        let value = if kept {
            field.value
        } else {
            read_field(&field.widget, &field.name, leaf.schema, sent, &posted)
        };
        match value {
            Some(value) => set_path(&mut values, &field.path, value),
            None => remove_path(&mut values, &field.path),
        }
    }
    let mut values = Value::Object(values);
    let shown = ObjectView::resolve(page, Some(&values));
    let no_longer_shown: Vec<String> = possible_properties(page)
        .into_iter()
        .filter(|name| !shown.properties.iter().any(|(shown, _)| shown == name))
        .map(str::to_owned)
        .collect();
    if let Value::Object(object) = &mut values {
        for name in no_longer_shown {
            object.remove(&name);
        }
    }
    values
}

fn read_field(
    widget: &Widget,
    name: &str,
    schema: &Value,
    sent: &[&str],
    posted: &HashMap<&str, Vec<&str>>,
) -> Option<Value> {
    let last = sent.last().copied().unwrap_or_default();
    let empty = || schema.get("ui:emptyValue").cloned();
    match widget {
        Widget::Checkbox => Some(Value::Bool(sent.iter().any(|value| !matches!(*value, "" | "false")))),
        Widget::Text { .. } | Widget::Password | Widget::EntityName => {
            non_empty(last).map(text_value).or_else(empty)
        }
        Widget::Textarea { .. } => {
            non_empty(last).map(|text| text_value(&text.replace("\r\n", "\n"))).or_else(empty)
        }
        Widget::Number { integer, .. } => {
            let kind = if *integer { ItemType::Integer } else { ItemType::Number };
            non_empty(last.trim()).map(|text| typed_item(text, kind)).or_else(empty)
        }
        Widget::Radio { choices } | Widget::Select { choices } => {
            non_empty(last).map(|text| chosen(choices, text, schema)).or_else(empty)
        }
        Widget::Checkboxes { choices } => {
            let items = schema.get("items").unwrap_or(&Value::Null);
            let mut picked: Vec<Value> = choices
                .iter()
                .filter(|choice| sent.contains(&value_text(&choice.value).as_str()))
                .map(|choice| choice.value.clone())
                .collect();
            // Values no option has are kept, so validation names them.
            let unknown = sent
                .iter()
                .filter(|text| !text.is_empty())
                .filter(|text| !choices.iter().any(|choice| value_text(&choice.value) == **text));
            picked.extend(unknown.map(|text| typed_scalar(text, items)));
            non_empty_array(picked)
        }
        Widget::List { items } => non_empty_array(
            last.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(|line| typed_item(line, *items))
                .collect(),
        ),
        Widget::Tags => {
            let mut tags: Vec<Value> = Vec::new();
            for tag in last.split(|c: char| c == ',' || c.is_whitespace()).filter(|tag| !tag.is_empty()) {
                let tag = Value::String(tag.to_owned());
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
            non_empty_array(tags)
        }
        Widget::Entity { multiple, default_kind, default_namespace, .. } => {
            let complete = |text: &str| {
                Value::String(complete_entity_ref(
                    text,
                    default_kind.as_deref(),
                    default_namespace.as_deref(),
                ))
            };
            if *multiple {
                non_empty_array(
                    sent.iter()
                        .map(|text| text.trim())
                        .filter(|text| !text.is_empty())
                        .map(complete)
                        .collect(),
                )
            } else {
                non_empty(last.trim()).map(complete)
            }
        }
        Widget::RepoUrl { .. } => {
            let [host, owner, repo] = repo_url_input_names(name).map(|input| {
                posted
                    .get(input.as_str())
                    .and_then(|sent| sent.last())
                    .map_or(String::new(), |text| text.trim().to_owned())
            });
            RepoUrlParts { host, owner, repo }.to_value().map(Value::String)
        }
        Widget::Json => {
            non_empty(last.trim()).map(|text| serde_json::from_str(text).unwrap_or_else(|_| text_value(text)))
        }
        Widget::Hidden => non_empty(last).map(|text| typed_scalar(text, schema)),
        Widget::Section => None,
    }
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

fn non_empty_array(items: Vec<Value>) -> Option<Value> {
    (!items.is_empty()).then_some(Value::Array(items))
}

fn text_value(text: &str) -> Value {
    Value::String(text.to_owned())
}

/// The choice whose value shows as `text`, else the text typed by the schema (so validation
/// reports a value that is not one of the choices).
fn chosen(choices: &[Choice], text: &str, schema: &Value) -> Value {
    choices
        .iter()
        .find(|choice| value_text(&choice.value) == text)
        .map_or_else(|| typed_scalar(text, schema), |choice| choice.value.clone())
}

/// Text typed by the schema's type: numbers and booleans parsed when they parse, JSON for
/// objects and arrays, text otherwise.
fn typed_scalar(text: &str, schema: &Value) -> Value {
    match primary_type(schema) {
        Some("number") => typed_item(text, ItemType::Number),
        Some("integer") => typed_item(text, ItemType::Integer),
        Some("boolean") => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => text_value(other),
        },
        Some("object" | "array") => serde_json::from_str(text).unwrap_or_else(|_| text_value(text)),
        _ => text_value(text),
    }
}

/// A list line or number input: numbers as numbers (whole ones without a fraction), text that
/// is no number kept as text.
fn typed_item(text: &str, kind: ItemType) -> Value {
    if kind == ItemType::Text {
        return text_value(text);
    }
    if let Ok(whole) = text.parse::<i64>() {
        return Value::from(whole);
    }
    let Ok(number) = text.parse::<f64>() else { return text_value(text) };
    // Rust reads `inf`, `NaN` and `1.` forms JavaScript's number input would not produce.
    if !number.is_finite() || text.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E') {
        return text_value(text);
    }
    if number.fract() == 0.0 && number.abs() < 9_007_199_254_740_992.0 {
        return Value::from(number as i64);
    }
    Number::from_f64(number).map_or_else(|| text_value(text), Value::Number)
}

fn set_path(values: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut object = values;
    for key in parents {
        let entry = object.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        object = next;
    }
    object.insert(last.clone(), value);
}

fn remove_path(values: &mut Map<String, Value>, path: &[String]) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut object = values;
    for key in parents {
        let Some(Value::Object(next)) = object.get_mut(key) else { return };
        object = next;
    }
    object.remove(last);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{ItemType, typed_item};

    #[test]
    fn numbers_are_typed_and_bad_text_is_kept() {
        assert_eq!(typed_item("3", ItemType::Integer), json!(3));
        assert_eq!(typed_item("3.0", ItemType::Number), json!(3));
        assert_eq!(typed_item("1.23", ItemType::Number), json!(1.23));
        assert_eq!(typed_item("-2e3", ItemType::Number), json!(-2000));
        assert_eq!(typed_item("3.5", ItemType::Integer), json!(3.5));
        assert_eq!(typed_item("abc", ItemType::Number), json!("abc"));
        assert_eq!(typed_item("inf", ItemType::Number), json!("inf"));
        assert_eq!(typed_item("NaN", ItemType::Number), json!("NaN"));
    }
}
