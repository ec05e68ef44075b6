//! The form model of one parameter page: the fields a server-rendered form shows for the
//! current values, with their widgets, values and error messages.

use serde_json::Value;

use super::js::js_string;
use super::pickers::{EntityFilter, FilterCondition, PickerCatalog, PickerOption, humanize_entity_ref};
use super::resolve::ObjectView;
use super::validate::ValidationError;

/// The heading of a page without a title (Backstage's).
pub const DEFAULT_PAGE_TITLE: &str = "Please enter the following information";

/// A page shows at most this many fields; a schema asking for more is cut short.
pub const MAX_FIELDS: usize = 500;

/// A picker offers at most this many entities (the first ones by label).
pub const MAX_PICKER_OPTIONS: usize = 1000;

/// Objects nested deeper than this are edited as JSON text.
const MAX_NESTING: usize = 8;

/// What a form needs beyond the page and its values.
#[derive(Clone, Copy, Default)]
pub struct FormContext<'a> {
    /// Entities for the pickers; without it pickers offer nothing (and accept typed refs).
    pub catalog: Option<&'a dyn PickerCatalog>,
    /// Hosts a `RepoUrlPicker` offers when its `ui:options.allowedHosts` names none
    /// (the configured integrations' hosts).
    pub scm_hosts: &'a [String],
    /// The signed-in user's entity ref (`MyGroupsPicker` offers the groups they are in).
    pub user_ref: Option<&'a str>,
    /// The refs the signed-in user owns through (`OwnedEntityPicker` offers what they own).
    pub ownership_refs: &'a [String],
}

/// One page as a form.
#[derive(Debug, Clone, PartialEq)]
pub struct PageForm {
    /// The page's `title` ([`DEFAULT_PAGE_TITLE`] when it has none).
    pub title: String,
    /// The page's `description`.
    pub description: Option<String>,
    /// The fields, in display order.
    pub fields: Vec<FormField>,
    /// Error texts no field could take (an error about the page as a whole).
    pub errors: Vec<String>,
}

/// One field of a form.
#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    /// Property names from the values object down to this field.
    pub path: Vec<String>,
    /// The form control's name: the path joined with `.`.
    pub name: String,
    /// The control's HTML id: `field-` and the name, whitespace replaced by `_`.
    pub id: String,
    /// `ui:title`, `title`, or the property name.
    pub label: String,
    /// `ui:description` or `description`.
    pub description: Option<String>,
    /// `ui:help`.
    pub help: Option<String>,
    /// `ui:placeholder`.
    pub placeholder: Option<String>,
    /// Whether the page (or its dependencies) requires the property.
    pub required: bool,
    /// `ui:readonly` (or `readOnly`): shown, not editable, submitted values ignored.
    pub readonly: bool,
    /// `ui:disabled`: shown greyed out, submitted values ignored.
    pub disabled: bool,
    /// `ui:autofocus`.
    pub autofocus: bool,
    /// The current value: the one in the values, else the schema's `default`.
    pub value: Option<Value>,
    /// How the value is edited.
    pub widget: Widget,
    /// Error messages for this field, ready to show.
    pub errors: Vec<String>,
}

/// How a field is edited.
#[derive(Debug, Clone, PartialEq)]
pub enum Widget {
    /// A one-line text input of the given HTML type (`text`, `email`, `url`, `date`, …).
    Text {
        /// The `type` attribute.
        input_type: String,
        /// `minLength`.
        min_length: Option<u64>,
        /// `maxLength`.
        max_length: Option<u64>,
    },
    /// `ui:widget: textarea`, with `ui:options.rows`.
    Textarea {
        /// Visible rows.
        rows: Option<u64>,
    },
    /// `ui:widget: password`; masked on the review page.
    Password,
    /// A number input; `integer` for `type: integer`.
    Number {
        /// Whole numbers only.
        integer: bool,
        /// `minimum`.
        minimum: Option<f64>,
        /// `maximum`.
        maximum: Option<f64>,
    },
    /// A boolean as one checkbox.
    Checkbox,
    /// One of the choices, as radio buttons (`ui:widget: radio`).
    Radio {
        /// The choices.
        choices: Vec<Choice>,
    },
    /// One of the choices, as a drop-down.
    Select {
        /// The choices.
        choices: Vec<Choice>,
    },
    /// Several of the choices (an array of `enum` items), as checkboxes.
    Checkboxes {
        /// The choices.
        choices: Vec<Choice>,
    },
    /// An array of plain items, one per line of a text area.
    List {
        /// How each line is read.
        items: ItemType,
    },
    /// `EntityTagsPicker`: tags separated by commas or spaces.
    Tags,
    /// `EntityNamePicker`: text that must be a valid entity name.
    EntityName,
    /// An entity picker (`EntityPicker`, `OwnerPicker`, `OwnedEntityPicker`,
    /// `MultiEntityPicker`, `MyGroupsPicker`).
    Entity {
        /// The offered entities.
        options: Vec<PickerOption>,
        /// `ui:options.allowArbitraryValues` (default true): free text with suggestions
        /// rather than a fixed list.
        allow_arbitrary: bool,
        /// Several entities (`MultiEntityPicker`, or an array property).
        multiple: bool,
        /// `ui:options.defaultKind` (`Group` for `OwnerPicker`).
        default_kind: Option<String>,
        /// `ui:options.defaultNamespace`.
        default_namespace: Option<String>,
    },
    /// `RepoUrlPicker`: host, owner and repository, stored as `host?owner=o&repo=r`.
    RepoUrl {
        /// Hosts to choose from (free text when empty).
        hosts: Vec<String>,
        /// `ui:options.allowedOwners` (free text when empty).
        owners: Vec<String>,
        /// `ui:options.allowedRepos` (free text when empty).
        repos: Vec<String>,
    },
    /// A value of a shape the form cannot edit field by field, as JSON text.
    Json,
    /// `ui:widget: hidden`: kept in a hidden input.
    Hidden,
    /// The heading of a nested object; its properties follow as their own fields.
    Section,
}

/// One choice of a radio group, drop-down or checkbox group.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The value stored when chosen.
    pub value: Value,
    /// What is shown: `enumNames`/`ui:enumNames`, a `oneOf` branch's `title`, or the value.
    pub label: String,
}

/// How the lines of a [`Widget::List`] are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemType {
    /// Text as it is.
    Text,
    /// Numbers.
    Number,
    /// Whole numbers.
    Integer,
}

/// The form of one page for the current values: its fields with the errors of a failed
/// validation (from [`validate_form`](super::validate_form) or
/// [`validate_values`](super::validate_values)) placed on them.
pub fn page_form(
    page: &Value,
    values: &Value,
    errors: &[ValidationError],
    context: &FormContext<'_>,
) -> PageForm {
    let mut fields: Vec<FormField> =
        collect_fields(page, values, context).into_iter().map(|leaf| leaf.field).collect();
    let errors = place_errors(&mut fields, errors);
    PageForm {
        title: text(page, "title").unwrap_or_else(|| DEFAULT_PAGE_TITLE.to_owned()),
        description: text(page, "description"),
        fields,
        errors,
    }
}

/// A field and the schema it came from.
pub(crate) struct Leaf<'s> {
    pub field: FormField,
    pub schema: &'s Value,
}

/// The fields of a page for the given values, in display order.
pub(crate) fn collect_fields<'s>(
    page: &'s Value,
    values: &Value,
    context: &FormContext<'_>,
) -> Vec<Leaf<'s>> {
    let mut builder = Builder { context, leaves: Vec::new() };
    builder.object(page, Some(values), &[], 0);
    builder.leaves
}

struct Builder<'c, 's> {
    context: &'c FormContext<'c>,
    leaves: Vec<Leaf<'s>>,
}

impl<'s> Builder<'_, 's> {
    fn object(&mut self, schema: &'s Value, value: Option<&Value>, path: &[String], depth: usize) {
        let view = ObjectView::resolve(schema, value);
        for (name, property) in &view.properties {
            if self.leaves.len() >= MAX_FIELDS {
                return;
            }
            let mut child_path = path.to_vec();
            child_path.push((*name).to_owned());
            let child_value = value.and_then(|value| value.get(*name));
            self.property(property, child_value, child_path, view.requires(name), depth);
        }
    }

    fn property(
        &mut self,
        schema: &'s Value,
        value: Option<&Value>,
        path: Vec<String>,
        required: bool,
        depth: usize,
    ) {
        if !schema.is_object() || primary_type(schema) == Some("null") {
            return;
        }
        let nested = primary_type(schema) == Some("object")
            && schema.get("properties").is_some_and(Value::is_object)
            && text(schema, "ui:field").is_none()
            && text(schema, "ui:widget").is_none();
        let widget = if nested && depth < MAX_NESTING { Widget::Section } else { self.widget(schema) };
        let mut value = value.or_else(|| schema.get("default")).cloned();
        if let Widget::Entity { options, multiple: false, .. } = &widget
            && value.is_none()
            && let [only] = options.as_slice()
        {
            // A picker with a single choice has it chosen (as Backstage's does).
            value = Some(Value::String(only.entity_ref.clone()));
        }
        let field = FormField {
            id: field_id(&path),
            name: path.join("."),
            label: text(schema, "ui:title")
                .or_else(|| text(schema, "title"))
                .or_else(|| picker_title(schema).map(str::to_owned))
                .unwrap_or_else(|| path.last().cloned().unwrap_or_default()),
            path,
            description: text(schema, "ui:description").or_else(|| text(schema, "description")),
            help: text(schema, "ui:help"),
            placeholder: text(schema, "ui:placeholder"),
            required,
            readonly: flag(schema, "ui:readonly") || flag(schema, "readOnly"),
            disabled: flag(schema, "ui:disabled"),
            autofocus: flag(schema, "ui:autofocus"),
            value,
            widget,
            errors: Vec::new(),
        };
        let section =
            matches!(field.widget, Widget::Section).then(|| (field.path.clone(), field.value.clone()));
        self.leaves.push(Leaf { field, schema });
        if let Some((path, value)) = section {
            self.object(schema, value.as_ref(), &path, depth + 1);
        }
    }

    fn widget(&self, schema: &'s Value) -> Widget {
        let widget = text(schema, "ui:widget");
        if widget.as_deref() == Some("hidden") {
            return Widget::Hidden;
        }
        let options = schema.get("ui:options");
        match text(schema, "ui:field").as_deref() {
            Some(
                picker @ ("EntityPicker" | "OwnerPicker" | "OwnedEntityPicker" | "MultiEntityPicker"
                | "MyGroupsPicker"),
            ) => return self.entity_widget(picker, schema),
            Some("EntityNamePicker") => return Widget::EntityName,
            Some("EntityTagsPicker") => return Widget::Tags,
            Some("RepoUrlPicker") => {
                let hosts = strings(options, "allowedHosts");
                return Widget::RepoUrl {
                    hosts: if hosts.is_empty() { self.context.scm_hosts.to_vec() } else { hosts },
                    owners: strings(options, "allowedOwners"),
                    repos: strings(options, "allowedRepos"),
                };
            }
            _ => {}
        }
        let kind = primary_type(schema);
        match kind {
            Some("boolean") => {
                let yes_no = || {
                    vec![
                        Choice { value: Value::Bool(true), label: "Yes".to_owned() },
                        Choice { value: Value::Bool(false), label: "No".to_owned() },
                    ]
                };
                match widget.as_deref() {
                    Some("radio") => Widget::Radio { choices: yes_no() },
                    Some("select") => Widget::Select { choices: yes_no() },
                    _ => Widget::Checkbox,
                }
            }
            Some("array") => array_widget(schema),
            Some("object") => Widget::Json,
            _ => {
                if let Some(choices) = choices(schema) {
                    return if widget.as_deref() == Some("radio") {
                        Widget::Radio { choices }
                    } else {
                        Widget::Select { choices }
                    };
                }
                match kind {
                    Some(kind @ ("number" | "integer")) => Widget::Number {
                        integer: kind == "integer",
                        minimum: schema.get("minimum").and_then(Value::as_f64),
                        maximum: schema.get("maximum").and_then(Value::as_f64),
                    },
                    _ => text_widget(schema, widget.as_deref(), options),
                }
            }
        }
    }

    fn entity_widget(&self, picker: &str, schema: &Value) -> Widget {
        let options = schema.get("ui:options");
        let option_text = |key: &str| {
            options
                .and_then(|options| options.get(key))
                .and_then(Value::as_str)
                .filter(|text| !text.is_empty())
        };
        let default_kind =
            option_text("defaultKind").or((picker == "OwnerPicker").then_some("Group")).map(str::to_owned);
        let default_namespace = option_text("defaultNamespace").map(str::to_owned);
        let allow_arbitrary = options
            .and_then(|options| options.get("allowArbitraryValues"))
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let allowed_kinds = strings(options, "allowedKinds");
        let mut filter = match options.and_then(|options| options.get("catalogFilter")) {
            Some(catalog_filter) => EntityFilter::from_catalog_filter(catalog_filter),
            None if !allowed_kinds.is_empty() => EntityFilter::kinds(&allowed_kinds),
            None if picker == "OwnerPicker" => EntityFilter::kinds(&["Group".to_owned(), "User".to_owned()]),
            None if picker == "MyGroupsPicker" => EntityFilter::kinds(&["Group".to_owned()]),
            None => EntityFilter::default(),
        };
        if picker == "OwnedEntityPicker" {
            filter = filter.and(FilterCondition {
                key: "relations.ownedBy".to_owned(),
                values: Some(self.context.ownership_refs.to_vec()),
            });
        }
        if picker == "MyGroupsPicker" {
            filter = filter.and(FilterCondition {
                key: "relations.hasMember".to_owned(),
                values: Some(self.context.user_ref.map(str::to_owned).into_iter().collect()),
            });
        }
        let mut offered = self.context.catalog.map(|catalog| catalog.options(&filter)).unwrap_or_default();
        let label = |option: &PickerOption| {
            humanize_entity_ref(&option.entity_ref, default_kind.as_deref(), default_namespace.as_deref())
        };
        offered.sort_by_cached_key(label);
        offered.dedup_by(|a, b| a.entity_ref == b.entity_ref);
        offered.truncate(MAX_PICKER_OPTIONS);
        Widget::Entity {
            options: offered,
            allow_arbitrary,
            multiple: picker == "MultiEntityPicker" || primary_type(schema) == Some("array"),
            default_kind,
            default_namespace,
        }
    }
}

fn array_widget(schema: &Value) -> Widget {
    let Some(items) = schema.get("items").filter(|items| items.is_object()) else {
        return if schema.get("items").is_some() {
            Widget::Json
        } else {
            Widget::List { items: ItemType::Text }
        };
    };
    if let Some(choices) = choices(items) {
        return Widget::Checkboxes { choices };
    }
    match primary_type(items) {
        Some("string") | None if items.get("properties").is_none() => Widget::List { items: ItemType::Text },
        Some("number") => Widget::List { items: ItemType::Number },
        Some("integer") => Widget::List { items: ItemType::Integer },
        _ => Widget::Json,
    }
}

fn text_widget(schema: &Value, widget: Option<&str>, options: Option<&Value>) -> Widget {
    let text_input = |input_type: &str| Widget::Text {
        input_type: input_type.to_owned(),
        min_length: schema.get("minLength").and_then(Value::as_u64),
        max_length: schema.get("maxLength").and_then(Value::as_u64),
    };
    match widget {
        Some("textarea") => {
            Widget::Textarea { rows: options.and_then(|options| options.get("rows")).and_then(Value::as_u64) }
        }
        Some("password") => Widget::Password,
        Some("email") => text_input("email"),
        Some("uri" | "url") => text_input("url"),
        Some("date") => text_input("date"),
        Some("color") => text_input("color"),
        _ => {
            let input_type = options.and_then(|options| options.get("inputType")).and_then(Value::as_str);
            let input_type = match input_type {
                Some(kind @ ("text" | "email" | "url" | "tel" | "search" | "date" | "time" | "color")) => {
                    kind
                }
                _ => match schema.get("format").and_then(Value::as_str) {
                    Some("email") => "email",
                    Some("uri") => "url",
                    Some("date") => "date",
                    _ => "text",
                },
            };
            text_input(input_type)
        }
    }
}

/// The choices of an `enum` (labelled by `enumNames`/`ui:enumNames`) or of a `oneOf`/`anyOf`
/// whose branches are all `const`s (labelled by their titles).
fn choices(schema: &Value) -> Option<Vec<Choice>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let names = schema.get("ui:enumNames").or_else(|| schema.get("enumNames")).and_then(Value::as_array);
        return Some(
            values
                .iter()
                .enumerate()
                .map(|(index, value)| Choice {
                    value: value.clone(),
                    label: names
                        .and_then(|names| names.get(index))
                        .and_then(Value::as_str)
                        .map_or_else(|| value_text(value), str::to_owned),
                })
                .collect(),
        );
    }
    let branches = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array)?;
    branches
        .iter()
        .map(|branch| {
            let value = branch.get("const")?;
            Some(Choice {
                value: value.clone(),
                label: text(branch, "title").unwrap_or_else(|| value_text(value)),
            })
        })
        .collect::<Option<Vec<_>>>()
        .filter(|choices| !choices.is_empty())
}

/// A property's type: its `type` (the first one other than `null` of a list), else what its
/// keywords imply.
pub(crate) fn primary_type(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(kind)) => Some(kind),
        Some(Value::Array(kinds)) => {
            let mut names = kinds.iter().filter_map(Value::as_str);
            let first = names.clone().find(|kind| *kind != "null");
            first.or_else(|| names.next())
        }
        _ if schema.get("properties").is_some() => Some("object"),
        _ if schema.get("items").is_some() => Some("array"),
        _ => match schema.get("enum").and_then(Value::as_array).and_then(|values| values.first()) {
            Some(Value::Bool(_)) => Some("boolean"),
            Some(Value::Number(number)) if number.is_f64() => Some("number"),
            Some(Value::Number(_)) => Some("integer"),
            _ => None,
        },
    }
}

/// How a value shows in a form control or on the review page.
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(_) | Value::Object(_) => value.to_string(),
        other => js_string(other),
    }
}

fn picker_title(schema: &Value) -> Option<&'static str> {
    Some(match schema.get("ui:field")?.as_str()? {
        "EntityPicker" | "OwnedEntityPicker" => "Entity",
        "OwnerPicker" => "Owner",
        "EntityNamePicker" => "Name",
        "EntityTagsPicker" => "Tags",
        "RepoUrlPicker" => "Repository Location",
        _ => return None,
    })
}

fn field_id(path: &[String]) -> String {
    let name = path.join(".");
    format!("field-{}", name.replace(char::is_whitespace, "_"))
}

pub(crate) fn text(schema: &Value, key: &str) -> Option<String> {
    schema.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn strings(options: Option<&Value>, key: &str) -> Vec<String> {
    options
        .and_then(|options| options.get(key))
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The value at a path of property names.
pub(crate) fn lookup<'v>(values: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(values, |value, key| value.as_object()?.get(key))
}

/// Puts each error on the field it is about (the deepest field whose path leads to the
/// failing value; for `required`, to the missing property) and returns the texts of those no
/// field takes.
fn place_errors(fields: &mut [FormField], errors: &[ValidationError]) -> Vec<String> {
    let mut unplaced = Vec::new();
    for error in errors {
        let mut target: Vec<&str> = error
            .path
            .iter()
            .map_while(|segment| match segment {
                super::PathSegment::Key(key) => Some(key.as_str()),
                super::PathSegment::Index(_) => None,
            })
            .collect();
        let complete = target.len() == error.path.len();
        if error.name == "required"
            && complete
            && let Some(Value::String(missing)) = &error.argument
        {
            target.push(missing);
        }
        let field = fields
            .iter_mut()
            .filter(|field| {
                field.path.len() <= target.len() && field.path.iter().zip(&target).all(|(a, b)| a == b)
            })
            .max_by_key(|field| field.path.len());
        match field {
            Some(field) if !field.path.is_empty() => field.errors.push(field_message(error)),
            _ => unplaced.push(error.stack.clone()),
        }
    }
    unplaced
}

/// An error as shown under its field.
fn field_message(error: &ValidationError) -> String {
    if error.name == "required" {
        return "This field is required.".to_owned();
    }
    let mut chars = error.message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
