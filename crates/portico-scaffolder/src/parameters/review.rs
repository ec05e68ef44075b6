//! The review page: what will be submitted, as label/value rows.

use serde_json::Value;

use super::condition::page_is_shown;
use super::fields::{FormContext, Widget, collect_fields, lookup, value_text};

/// What a masked value shows (Backstage's password mask).
pub const PASSWORD_MASK: &str = "******";

/// One row of the review page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRow {
    /// The field's name (dotted path), or the key of a value no page shows.
    pub name: String,
    /// The field's label, or the key.
    pub label: String,
    /// The value as text.
    pub value: String,
}

/// The values as review rows: the fields of the shown pages in page order, then values no
/// field shows (they are submitted too). A field with `ui:backstage.review.show: false` is
/// left out, one with `ui:backstage.review.mask` shows the mask, a password widget shows
/// [`PASSWORD_MASK`], and choices show their labels.
pub fn review_rows(pages: &[Value], values: &Value) -> Vec<ReviewRow> {
    let mut rows = Vec::new();
    let mut covered: Vec<String> = Vec::new();
    for page in pages.iter().filter(|page| page_is_shown(page, values)) {
        for leaf in collect_fields(page, values, &FormContext::default()) {
            let field = leaf.field;
            if let Some(top) = field.path.first()
                && !covered.contains(top)
            {
                covered.push(top.clone());
            }
            if matches!(field.widget, Widget::Section)
                || rows.iter().any(|row: &ReviewRow| row.name == field.name)
            {
                continue;
            }
            let Some(value) = lookup(values, &field.path) else { continue };
            let review = leaf.schema.pointer("/ui:backstage/review");
            if review.and_then(|review| review.get("show")) == Some(&Value::Bool(false)) {
                continue;
            }
            let shown =
                if let Some(mask) = review.and_then(|review| review.get("mask")).and_then(Value::as_str) {
                    mask.to_owned()
                } else {
                    match &field.widget {
                        Widget::Password => PASSWORD_MASK.to_owned(),
                        Widget::Radio { choices }
                        | Widget::Select { choices }
                        | Widget::Checkboxes { choices } => {
                            let label = |item: &Value| {
                                choices
                                    .iter()
                                    .find(|choice| super::validate::same(&choice.value, item))
                                    .map_or_else(|| value_text(item), |choice| choice.label.clone())
                            };
                            match value {
                                Value::Array(items) => items.iter().map(label).collect::<Vec<_>>().join(", "),
                                other => label(other),
                            }
                        }
                        Widget::Checkbox => if value == &Value::Bool(true) { "Yes" } else { "No" }.to_owned(),
                        _ => display(value),
                    }
                };
            rows.push(ReviewRow { name: field.name, label: field.label, value: shown });
        }
    }
    if let Value::Object(object) = values {
        for (key, value) in object.iter().filter(|(key, _)| !covered.contains(key)) {
            rows.push(ReviewRow { name: key.clone(), label: key.clone(), value: display(value) });
        }
    }
    rows
}

fn display(value: &Value) -> String {
    match value {
        Value::Array(items) if items.iter().all(|item| !item.is_object() && !item.is_array()) => {
            items.iter().map(value_text).collect::<Vec<_>>().join(", ")
        }
        other => value_text(other),
    }
}
