//! Template parameters: the wizard pages of a template's `spec.parameters`, each a JSON Schema
//! with UI keys (`ui:field`, `ui:widget`, `ui:options`, …).
//!
//! * [`pages`] reads `spec.parameters` (one object or a list) into pages; [`page_is_shown`]
//!   judges a page's `if` with Backstage's tiny condition language ([`condition_holds`]).
//! * [`validate_values`] checks values the way the scaffolder's API does, with errors shaped
//!   like the `jsonschema` library's ([`ValidationError`]); [`validate_form`] makes the checks
//!   Backstage's form makes first (required fields shown through dependencies, custom fields).
//! * [`page_form`] is the form model of one page for the current values ([`FormField`],
//!   [`Widget`]); pickers take entities from a [`PickerCatalog`] given in the
//!   [`FormContext`].
//! * [`values_from_form`] reads a submitted page back into typed values.
//! * [`render_fields`] / [`render_page`] write the fields as HTML; [`review_rows`] is the
//!   review page.
//!
//! # The HTML
//!
//! Each field is a wrapper `div` (a `fieldset` with a `legend` for radio groups, checkbox
//! groups, multi-entity pickers and repository locations) holding its label, control and
//! notes. Controls are named after the field's dotted path (a `RepoUrlPicker`'s three inputs
//! `<name>[host]`, `<name>[owner]`, `<name>[repo]`) and have the field's `id`; the notes are
//! linked with `aria-describedby`, and a field with errors has `aria-invalid`. Required
//! controls carry `required`, so a wizard's Back button needs `formnovalidate`.
//!
//! Classes, for the stylesheet:
//!
//! | class | on |
//! |---|---|
//! | `form-field` | every field's wrapper, with `form-field-<kind>`: `text`, `textarea`, `password`, `number`, `checkbox`, `radio`, `select`, `checkboxes`, `list`, `tags`, `json`, `entity-name`, `entity`, `entities`, `repo-url` |
//! | `form-field-invalid` | a wrapper whose field has errors |
//! | `form-label` | the `label` or `legend` |
//! | `form-required` | the `*` after a required field's label |
//! | `form-input`, `form-textarea`, `form-select`, `form-checkbox` | the controls |
//! | `form-choices` | the options of a radio or checkbox group; each option is a `label.form-choice` (so is a single checkbox's label) |
//! | `form-entity-list` | the repeated inputs of a multi-entity picker |
//! | `form-repo-url` | the three parts of a repository location, each a `form-repo-part` with a `label.form-sublabel` |
//! | `form-description`, `form-hint`, `form-help` | the schema's description, the widget's own hint (`One item per line.`), `ui:help` |
//! | `form-errors` | the list of a field's errors, each `li.form-error` |
//! | `form-section` | a nested object's heading block (`h3.form-section-title` and description) |
//! | `form-page-errors` | errors of the page as a whole (`role="alert"`), from [`render_page`] |

mod condition;
mod fields;
mod form_checks;
mod formats;
mod js;
mod pickers;
mod render;
mod repo_url;
mod resolve;
mod review;
mod submit;
mod validate;

use serde_json::Value;

pub use condition::{condition_holds, page_is_shown};
pub use fields::{
    Choice, DEFAULT_PAGE_TITLE, FormContext, FormField, ItemType, MAX_FIELDS, MAX_PICKER_OPTIONS, PageForm,
    Widget, page_form,
};
pub use form_checks::{ENTITY_NAME_MESSAGE, validate_form};
pub use pickers::{EntityFilter, FilterCondition, PickerCatalog, PickerOption, humanize_entity_ref};
pub use render::{render_fields, render_page};
pub use repo_url::RepoUrlParts;
pub use review::{PASSWORD_MASK, ReviewRow, review_rows};
pub use submit::{repo_url_input_names, values_from_form};
pub use validate::{
    MAX_ERRORS, MAX_SCHEMA_DEPTH, PathSegment, ValidationError, validate_schema, validate_values,
};

/// The pages of a template's `spec.parameters`: the objects of a list, a single object as a
/// list of one, nothing for anything else.
pub fn pages(parameters: &Value) -> Vec<Value> {
    match parameters {
        Value::Array(pages) => pages.iter().filter(|page| page.is_object()).cloned().collect(),
        Value::Object(_) => vec![parameters.clone()],
        _ => Vec::new(),
    }
}

/// `values` with the `default` of every page's missing top-level property filled in, as the
/// form starts out (for callers without a form, such as `portico template run`).
pub fn values_with_defaults(pages: &[Value], values: &Value) -> Value {
    pages.iter().fold(values.clone(), |values, page| resolve::with_defaults(page, Some(&values)))
}
