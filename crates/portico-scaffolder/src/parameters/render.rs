//! HTML for a page's fields. Every text (labels, help, values, option titles) comes from
//! templates and users and is escaped; nothing is passed through as HTML.

use std::fmt::Write as _;

use portico_web::{Markup, escape};
use serde_json::Value;

use super::fields::{Choice, FormField, ItemType, PageForm, Widget, value_text};
use super::pickers::{PickerOption, humanize_entity_ref};
use super::repo_url::RepoUrlParts;
use super::submit::repo_url_input_names;

/// Empty inputs a multi-entity picker offers after the chosen entities.
const SPARE_ENTITY_INPUTS: usize = 2;

/// The page's errors that belong to no field (as an alert list), then its fields.
pub fn render_page(form: &PageForm) -> Markup {
    let mut out = String::new();
    if !form.errors.is_empty() {
        out.push_str("<div class=\"form-page-errors\" role=\"alert\"><ul>");
        for error in &form.errors {
            let _ = write!(out, "<li>{}</li>", escape(error));
        }
        out.push_str("</ul></div>");
    }
    out.push_str(&render_fields(&form.fields).to_string());
    Markup::trusted(out)
}

/// The fields as labelled form controls (see the module documentation for the classes).
pub fn render_fields(fields: &[FormField]) -> Markup {
    let mut out = String::new();
    for field in fields {
        render_field(&mut out, field);
    }
    Markup::trusted(out)
}

fn render_field(out: &mut String, field: &FormField) {
    let id = &field.id;
    match &field.widget {
        Widget::Hidden => {
            let value = field.value.as_ref().map(value_text).unwrap_or_default();
            let _ = write!(
                out,
                "<input type=\"hidden\" id=\"{}\" name=\"{}\" value=\"{}\">",
                escape(id),
                escape(&field.name),
                escape(&value)
            );
        }
        Widget::Section => {
            let _ = write!(out, "<div class=\"form-section\" id=\"{}\">", escape(id));
            let _ = write!(out, "<h3 class=\"form-section-title\">{}</h3>", escape(&field.label));
            notes(out, field, None);
            out.push_str("</div>");
        }
        Widget::Checkbox => {
            open_wrapper(out, field, "checkbox", "div", false);
            let checked = field.value.as_ref().and_then(Value::as_bool).unwrap_or(false);
            let _ = write!(out, "<label class=\"form-choice\" for=\"{}\">", escape(id));
            out.push_str("<input class=\"form-checkbox\" type=\"checkbox\" value=\"true\"");
            control_attributes(out, field, id, None, Lock::Disable, false);
            flag_attribute(out, "checked", checked);
            let _ = write!(out, "> {}</label>", escape(&field.label));
            notes(out, field, None);
            out.push_str("</div>");
        }
        Widget::Radio { choices } => {
            open_wrapper(out, field, "radio", "fieldset", true);
            legend(out, field);
            out.push_str("<div class=\"form-choices\">");
            for (index, choice) in choices.iter().enumerate() {
                let checked =
                    field.value.as_ref().is_some_and(|value| super::validate::same(value, &choice.value));
                choice_input(out, field, index, choice, "radio", checked, field.required);
            }
            out.push_str("</div>");
            notes(out, field, None);
            out.push_str("</fieldset>");
        }
        Widget::Checkboxes { choices } => {
            open_wrapper(out, field, "checkboxes", "fieldset", true);
            legend(out, field);
            out.push_str("<div class=\"form-choices\">");
            let chosen = field.value.as_ref().and_then(Value::as_array);
            for (index, choice) in choices.iter().enumerate() {
                let checked = chosen
                    .is_some_and(|items| items.iter().any(|item| super::validate::same(item, &choice.value)));
                choice_input(out, field, index, choice, "checkbox", checked, false);
            }
            out.push_str("</div>");
            notes(out, field, None);
            out.push_str("</fieldset>");
        }
        Widget::Select { choices } => {
            open_wrapper(out, field, "select", "div", false);
            label(out, field);
            out.push_str("<select class=\"form-select\"");
            control_attributes(out, field, id, None, Lock::Disable, field.required);
            out.push('>');
            let selected = field.value.as_ref();
            if selected.is_none() || !field.required {
                let _ = write!(
                    out,
                    "<option value=\"\">{}</option>",
                    escape(field.placeholder.as_deref().unwrap_or("Choose…"))
                );
            }
            let mut matched = false;
            for choice in choices {
                let is_selected = selected.is_some_and(|value| super::validate::same(value, &choice.value));
                matched |= is_selected;
                option(out, &value_text(&choice.value), &choice.label, is_selected);
            }
            if let (Some(value), false) = (selected, matched) {
                // A value no option has (from a previous submission) stays visible with its error.
                let text = value_text(value);
                option(out, &text, &text, true);
            }
            out.push_str("</select>");
            notes(out, field, None);
            out.push_str("</div>");
        }
        Widget::Entity { options, allow_arbitrary, multiple, default_kind, default_namespace } => {
            let picker = EntityPicker {
                options,
                allow_arbitrary: *allow_arbitrary,
                default_kind: default_kind.as_deref(),
                default_namespace: default_namespace.as_deref(),
            };
            if *multiple {
                picker.render_many(out, field);
            } else {
                picker.render_one(out, field);
            }
        }
        Widget::RepoUrl { hosts, owners, repos } => render_repo_url(out, field, hosts, owners, repos),
        Widget::Textarea { rows } => {
            let text = field.value.as_ref().map(value_text).unwrap_or_default();
            textarea(out, field, "textarea", &text, *rows, None);
        }
        Widget::List { items } => {
            let text = match field.value.as_ref() {
                Some(Value::Array(items)) => items.iter().map(value_text).collect::<Vec<_>>().join("\n"),
                Some(other) => value_text(other),
                None => String::new(),
            };
            let hint = match items {
                ItemType::Text => "One item per line.",
                ItemType::Number | ItemType::Integer => "One number per line.",
            };
            textarea(out, field, "list", &text, None, Some(hint));
        }
        Widget::Json => {
            let text = match field.value.as_ref() {
                Some(Value::String(text)) => text.clone(),
                Some(value) => serde_json::to_string_pretty(value).unwrap_or_default(),
                None => String::new(),
            };
            textarea(out, field, "json", &text, None, Some("A JSON value."));
        }
        Widget::Tags => {
            let text = match field.value.as_ref() {
                Some(Value::Array(items)) => items.iter().map(value_text).collect::<Vec<_>>().join(", "),
                Some(other) => value_text(other),
                None => String::new(),
            };
            let attributes = " type=\"text\" autocomplete=\"off\" spellcheck=\"false\"".to_owned();
            text_input(out, field, "tags", &text, &attributes, Some("Separate tags with commas or spaces."));
        }
        Widget::EntityName => {
            let text = field.value.as_ref().map(value_text).unwrap_or_default();
            // The entity name rule, for browsers to check before the server does.
            let attributes = " type=\"text\" autocomplete=\"off\" spellcheck=\"false\" maxlength=\"63\" \
                 pattern=\"[A-Za-z0-9]([A-Za-z0-9_.\\-]*[A-Za-z0-9])?\""
                .to_owned();
            text_input(out, field, "entity-name", &text, &attributes, None);
        }
        Widget::Password => {
            let text = field.value.as_ref().map(value_text).unwrap_or_default();
            text_input(
                out,
                field,
                "password",
                &text,
                " type=\"password\" autocomplete=\"new-password\"",
                None,
            );
        }
        Widget::Text { input_type, min_length, max_length } => {
            let text = field.value.as_ref().map(value_text).unwrap_or_default();
            let mut attributes = format!(" type=\"{}\"", escape(input_type));
            if let Some(min) = min_length {
                let _ = write!(attributes, " minlength=\"{min}\"");
            }
            if let Some(max) = max_length {
                let _ = write!(attributes, " maxlength=\"{max}\"");
            }
            text_input(out, field, "text", &text, &attributes, None);
        }
        Widget::Number { integer, minimum, maximum } => {
            let value = field.value.as_ref();
            // Text that is no number stays visible (a number input would drop it).
            let numeric = value.is_none_or(Value::is_number);
            let mut attributes = if numeric {
                format!(" type=\"number\" step=\"{}\"", if *integer { "1" } else { "any" })
            } else {
                " type=\"text\"".to_owned()
            };
            let _ = write!(attributes, " inputmode=\"{}\"", if *integer { "numeric" } else { "decimal" });
            if numeric {
                if let Some(min) = minimum {
                    let _ = write!(attributes, " min=\"{min}\"");
                }
                if let Some(max) = maximum {
                    let _ = write!(attributes, " max=\"{max}\"");
                }
            }
            let text = value.map(value_text).unwrap_or_default();
            text_input(out, field, "number", &text, &attributes, None);
        }
    }
}

/// How a control is kept from being changed: text controls are `readonly`, choices (which
/// have no read-only state) `disabled`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lock {
    ReadOnly,
    Disable,
}

fn open_wrapper(out: &mut String, field: &FormField, kind: &str, element: &str, group: bool) {
    let invalid = if field.errors.is_empty() { "" } else { " form-field-invalid" };
    let _ = write!(out, "<{element} class=\"form-field form-field-{kind}{invalid}\"");
    if group {
        let _ = write!(out, " id=\"{}\"", escape(&field.id));
        described_by(out, field, None);
        if field.disabled || field.readonly {
            out.push_str(" disabled");
        }
    }
    out.push('>');
}

fn label(out: &mut String, field: &FormField) {
    let _ = write!(out, "<label class=\"form-label\" for=\"{}\">{}", escape(&field.id), escape(&field.label));
    required_mark(out, field);
    out.push_str("</label>");
}

fn legend(out: &mut String, field: &FormField) {
    let _ = write!(out, "<legend class=\"form-label\">{}", escape(&field.label));
    required_mark(out, field);
    out.push_str("</legend>");
}

fn required_mark(out: &mut String, field: &FormField) {
    if field.required {
        out.push_str("<span class=\"form-required\" aria-hidden=\"true\"> *</span>");
    }
}

/// The attributes every control has: id, name, state and its descriptions.
fn control_attributes(
    out: &mut String,
    field: &FormField,
    id: &str,
    hint: Option<&str>,
    lock: Lock,
    required: bool,
) {
    let _ = write!(out, " id=\"{}\" name=\"{}\"", escape(id), escape(&field.name));
    described_by(out, field, hint);
    if !field.errors.is_empty() {
        out.push_str(" aria-invalid=\"true\"");
    }
    flag_attribute(out, "required", required);
    flag_attribute(out, "autofocus", field.autofocus);
    flag_attribute(out, "disabled", field.disabled || (field.readonly && lock == Lock::Disable));
    flag_attribute(out, "readonly", field.readonly && lock == Lock::ReadOnly);
}

fn described_by(out: &mut String, field: &FormField, hint: Option<&str>) {
    let id = &field.id;
    let mut ids = Vec::new();
    if field.description.is_some() {
        ids.push(format!("{id}-description"));
    }
    if hint.is_some() {
        ids.push(format!("{id}-hint"));
    }
    if field.help.is_some() {
        ids.push(format!("{id}-help"));
    }
    if !field.errors.is_empty() {
        ids.push(format!("{id}-errors"));
    }
    if !ids.is_empty() {
        let _ = write!(out, " aria-describedby=\"{}\"", escape(&ids.join(" ")));
    }
}

fn flag_attribute(out: &mut String, name: &str, on: bool) {
    if on {
        out.push(' ');
        out.push_str(name);
    }
}

/// Description, hint, help and errors below a control.
fn notes(out: &mut String, field: &FormField, hint: Option<&str>) {
    let id = escape(&field.id);
    if let Some(description) = &field.description {
        let _ =
            write!(out, "<p class=\"form-description\" id=\"{id}-description\">{}</p>", escape(description));
    }
    if let Some(hint) = hint {
        let _ = write!(out, "<p class=\"form-hint\" id=\"{id}-hint\">{}</p>", escape(hint));
    }
    if let Some(help) = &field.help {
        let _ = write!(out, "<p class=\"form-help\" id=\"{id}-help\">{}</p>", escape(help));
    }
    if !field.errors.is_empty() {
        let _ = write!(out, "<ul class=\"form-errors\" id=\"{id}-errors\">");
        for error in &field.errors {
            let _ = write!(out, "<li class=\"form-error\">{}</li>", escape(error));
        }
        out.push_str("</ul>");
    }
}

fn text_input(
    out: &mut String,
    field: &FormField,
    kind: &str,
    value: &str,
    attributes: &str,
    hint: Option<&str>,
) {
    open_wrapper(out, field, kind, "div", false);
    label(out, field);
    let _ = write!(out, "<input class=\"form-input\"{attributes} value=\"{}\"", escape(value));
    if let Some(placeholder) = &field.placeholder {
        let _ = write!(out, " placeholder=\"{}\"", escape(placeholder));
    }
    control_attributes(out, field, &field.id, hint, Lock::ReadOnly, field.required);
    out.push('>');
    notes(out, field, hint);
    out.push_str("</div>");
}

fn textarea(
    out: &mut String,
    field: &FormField,
    kind: &str,
    value: &str,
    rows: Option<u64>,
    hint: Option<&str>,
) {
    open_wrapper(out, field, kind, "div", false);
    label(out, field);
    let lines = value.lines().count() as u64 + 1;
    let rows = rows.unwrap_or_else(|| lines.clamp(3, 12));
    let _ = write!(out, "<textarea class=\"form-textarea\" rows=\"{rows}\"");
    if let Some(placeholder) = &field.placeholder {
        let _ = write!(out, " placeholder=\"{}\"", escape(placeholder));
    }
    control_attributes(out, field, &field.id, hint, Lock::ReadOnly, field.required);
    // A newline right after the start tag is dropped by parsers; keep the value's own.
    let _ = write!(out, ">\n{}</textarea>", escape(value));
    notes(out, field, hint);
    out.push_str("</div>");
}

fn choice_input(
    out: &mut String,
    field: &FormField,
    index: usize,
    choice: &Choice,
    kind: &str,
    checked: bool,
    required: bool,
) {
    let id = format!("{}-{index}", field.id);
    let _ = write!(out, "<label class=\"form-choice\" for=\"{}\">", escape(&id));
    let _ = write!(
        out,
        "<input type=\"{kind}\" id=\"{}\" name=\"{}\" value=\"{}\"",
        escape(&id),
        escape(&field.name),
        escape(&value_text(&choice.value))
    );
    if !field.errors.is_empty() {
        out.push_str(" aria-invalid=\"true\"");
    }
    flag_attribute(out, "checked", checked);
    flag_attribute(out, "required", required);
    flag_attribute(out, "autofocus", field.autofocus && index == 0);
    let _ = write!(out, "> {}</label>", escape(&choice.label));
}

fn option(out: &mut String, value: &str, label: &str, selected: bool) {
    let _ = write!(out, "<option value=\"{}\"", escape(value));
    flag_attribute(out, "selected", selected);
    let _ = write!(out, ">{}</option>", escape(label));
}

struct EntityPicker<'a> {
    options: &'a [PickerOption],
    allow_arbitrary: bool,
    default_kind: Option<&'a str>,
    default_namespace: Option<&'a str>,
}

impl EntityPicker<'_> {
    fn humanize(&self, entity_ref: &str) -> String {
        humanize_entity_ref(entity_ref, self.default_kind, self.default_namespace)
    }

    /// A fixed list shows titles; free text shows references, which is what is typed.
    fn option_label(&self, option: &PickerOption) -> String {
        option.title.clone().unwrap_or_else(|| self.humanize(&option.entity_ref))
    }

    fn render_one(&self, out: &mut String, field: &FormField) {
        let current = field.value.as_ref().map(value_text);
        if self.allow_arbitrary {
            let list_id = format!("{}-options", field.id);
            let attributes = format!(
                " type=\"text\" list=\"{}\" autocomplete=\"off\" spellcheck=\"false\"",
                escape(&list_id)
            );
            let text = current.as_deref().map(|value| self.humanize(value)).unwrap_or_default();
            text_input(out, field, "entity", &text, &attributes, None);
            self.datalist(out, &list_id);
            return;
        }
        open_wrapper(out, field, "entity", "div", false);
        label(out, field);
        out.push_str("<select class=\"form-select\"");
        control_attributes(out, field, &field.id, None, Lock::Disable, field.required);
        out.push('>');
        if current.is_none() || !field.required {
            let _ = write!(
                out,
                "<option value=\"\">{}</option>",
                escape(field.placeholder.as_deref().unwrap_or("Choose…"))
            );
        }
        self.options_for_select(out, current.as_slice());
        out.push_str("</select>");
        notes(out, field, None);
        out.push_str("</div>");
    }

    fn render_many(&self, out: &mut String, field: &FormField) {
        let chosen: Vec<String> = match field.value.as_ref() {
            Some(Value::Array(items)) => items.iter().map(value_text).collect(),
            Some(other) => vec![value_text(other)],
            None => Vec::new(),
        };
        if !self.allow_arbitrary {
            open_wrapper(out, field, "entity", "div", false);
            label(out, field);
            let size = self.options.len().clamp(2, 8);
            let _ = write!(out, "<select class=\"form-select\" multiple size=\"{size}\"");
            control_attributes(out, field, &field.id, None, Lock::Disable, field.required);
            out.push('>');
            self.options_for_select(out, &chosen);
            out.push_str("</select>");
            notes(out, field, None);
            out.push_str("</div>");
            return;
        }
        open_wrapper(out, field, "entities", "fieldset", true);
        legend(out, field);
        let list_id = format!("{}-options", field.id);
        out.push_str("<div class=\"form-entity-list\">");
        let inputs = chosen
            .iter()
            .map(|value| self.humanize(value))
            .chain(std::iter::repeat_n(String::new(), SPARE_ENTITY_INPUTS));
        for (index, text) in inputs.enumerate() {
            let _ = write!(
                out,
                "<input class=\"form-input\" type=\"text\" id=\"{}\" name=\"{}\" value=\"{}\" list=\"{}\" \
                 aria-label=\"{} {}\" autocomplete=\"off\" spellcheck=\"false\"",
                escape(&format!("{}-{index}", field.id)),
                escape(&field.name),
                escape(&text),
                escape(&list_id),
                escape(&field.label),
                index + 1
            );
            if !field.errors.is_empty() {
                out.push_str(" aria-invalid=\"true\"");
            }
            flag_attribute(out, "autofocus", field.autofocus && index == 0);
            out.push('>');
        }
        out.push_str("</div>");
        self.datalist(out, &list_id);
        notes(out, field, None);
        out.push_str("</fieldset>");
    }

    fn datalist(&self, out: &mut String, id: &str) {
        let _ = write!(out, "<datalist id=\"{}\">", escape(id));
        for option in self.options {
            let _ = write!(out, "<option value=\"{}\">", escape(&self.humanize(&option.entity_ref)));
            if let Some(title) = &option.title {
                out.push_str(&escape(title));
            }
            out.push_str("</option>");
        }
        out.push_str("</datalist>");
    }

    fn options_for_select(&self, out: &mut String, chosen: &[String]) {
        for entry in self.options {
            option(out, &entry.entity_ref, &self.option_label(entry), chosen.contains(&entry.entity_ref));
        }
        for value in
            chosen.iter().filter(|value| !self.options.iter().any(|entry| &entry.entity_ref == *value))
        {
            option(out, value, &self.humanize(value), true);
        }
    }
}

fn render_repo_url(
    out: &mut String,
    field: &FormField,
    hosts: &[String],
    owners: &[String],
    repos: &[String],
) {
    let parts =
        field.value.as_ref().and_then(Value::as_str).and_then(RepoUrlParts::parse).unwrap_or_default();
    let [host_name, owner_name, repo_name] = repo_url_input_names(&field.name);
    open_wrapper(out, field, "repo-url", "fieldset", true);
    legend(out, field);
    out.push_str("<div class=\"form-repo-url\">");
    let host = if parts.host.is_empty() { hosts.first().cloned().unwrap_or_default() } else { parts.host };
    let inputs = [
        ("host", "Host", &host_name, hosts, &host, field.required),
        ("owner", "Owner", &owner_name, owners, &parts.owner, false),
        ("repo", "Repository", &repo_name, repos, &parts.repo, field.required),
    ];
    for (part, caption, name, allowed, current, required) in inputs {
        let id = format!("{}-{part}", field.id);
        let _ = write!(
            out,
            "<div class=\"form-repo-part\"><label class=\"form-sublabel\" for=\"{}\">{caption}</label>",
            escape(&id)
        );
        let common = format!(" id=\"{}\" name=\"{}\"", escape(&id), escape(name));
        let mut state = String::new();
        flag_attribute(&mut state, "required", required);
        flag_attribute(&mut state, "autofocus", field.autofocus && part == "host");
        if !field.errors.is_empty() {
            state.push_str(" aria-invalid=\"true\"");
        }
        if allowed.is_empty() {
            let _ = write!(
                out,
                "<input class=\"form-input\" type=\"text\"{common}{state} value=\"{}\" autocomplete=\"off\" \
                 spellcheck=\"false\"",
                escape(current)
            );
            flag_attribute(out, "readonly", field.readonly);
            out.push('>');
        } else {
            let _ = write!(out, "<select class=\"form-select\"{common}{state}>");
            if current.is_empty() {
                out.push_str("<option value=\"\">Choose…</option>");
            }
            for entry in allowed {
                option(out, entry, entry, entry == current);
            }
            if !current.is_empty() && !allowed.contains(current) {
                option(out, current, current, true);
            }
            out.push_str("</select>");
        }
        out.push_str("</div>");
    }
    out.push_str("</div>");
    notes(out, field, None);
    out.push_str("</fieldset>");
}
