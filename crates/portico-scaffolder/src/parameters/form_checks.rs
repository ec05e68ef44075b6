//! The checks Backstage's form makes before a page may be left, beyond the API's validation:
//! every field the page shows for the current values that is required has a value (the
//! properties `dependencies` and `if`/`then` add included, which the API only reports as a
//! failed `oneOf` or dependency), and the custom fields' own rules (`EntityNamePicker`,
//! `RepoUrlPicker`). The scaffolder's API does not run them.

use serde_json::Value;

use super::fields::{FormContext, Widget, collect_fields, lookup, text};
use super::repo_url::RepoUrlParts;
use super::validate::{PathSegment, ValidationError, property_path};

/// Backstage's message for a name that is not a valid entity name.
pub const ENTITY_NAME_MESSAGE: &str = "Must start and end with an alphanumeric character, and contain only \
alphanumeric characters, hyphens, underscores, and periods. Maximum length is 63 characters.";

/// The form's errors for a page and the values: a missing required field is a `required`
/// error on its parent (as the `jsonschema` library words it), a custom field's error is
/// named after the field's `ui:field`. A form runs this first, and [`validate_values`] once
/// it finds nothing.
///
/// [`validate_values`]: super::validate_values
pub fn validate_form(page: &Value, values: &Value) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    for leaf in collect_fields(page, values, &FormContext::default()) {
        let field = &leaf.field;
        if matches!(field.widget, Widget::Section) {
            continue;
        }
        let Some(value) = lookup(values, &field.path) else {
            if field.required
                && let Some((name, parent)) = field.path.split_last()
            {
                let property = property_path(parent);
                let message = format!("requires property {}", Value::String(name.clone()));
                errors.push(ValidationError {
                    path: parent.iter().cloned().map(PathSegment::Key).collect(),
                    stack: format!("{property} {message}"),
                    property,
                    message,
                    schema: leaf.schema.clone(),
                    instance: lookup(values, parent).cloned(),
                    name: "required".to_owned(),
                    argument: Some(Value::String(name.clone())),
                });
            }
            continue;
        };
        let Value::String(text_value) = value else { continue };
        let message = match field.widget {
            Widget::EntityName if !is_valid_entity_name(text_value) => ENTITY_NAME_MESSAGE,
            Widget::RepoUrl { .. } => match RepoUrlParts::parse(text_value) {
                None => "Unable to parse the Repository URL",
                Some(parts) if parts.host.is_empty() || parts.repo.is_empty() => {
                    "Incomplete repository location provided"
                }
                Some(_) => continue,
            },
            _ => continue,
        };
        let property = property_path(&field.path);
        errors.push(ValidationError {
            path: field.path.iter().cloned().map(PathSegment::Key).collect(),
            stack: format!("{property} {message}"),
            property,
            message: message.to_owned(),
            schema: leaf.schema.clone(),
            instance: Some(value.clone()),
            name: text(leaf.schema, "ui:field").unwrap_or_default(),
            argument: None,
        });
    }
    errors
}

/// A Kubernetes-style object name: 1 to 63 characters, letters, digits, `-`, `_` and `.`,
/// starting and ending with a letter or digit.
fn is_valid_entity_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge = |b: &u8| b.is_ascii_alphanumeric();
    (1..=63).contains(&bytes.len())
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::is_valid_entity_name;

    #[test]
    fn entity_names() {
        assert!(is_valid_entity_name("my-service"));
        assert!(is_valid_entity_name("a"));
        assert!(is_valid_entity_name("My_Service.v2"));
        assert!(!is_valid_entity_name("-leading"));
        assert!(!is_valid_entity_name("trailing."));
        assert!(!is_valid_entity_name("has space"));
        assert!(!is_valid_entity_name(""));
        assert!(!is_valid_entity_name(&"a".repeat(64)));
    }
}
