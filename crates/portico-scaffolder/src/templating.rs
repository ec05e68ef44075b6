//! `${{ }}` templating with Backstage's semantics.
//!
//! Templates are untrusted: the environment has no loader (so no file system access), reads no
//! environment variables, and every render runs on a fuel budget so a pathological template
//! ends with [`TemplateError::OutOfFuel`] instead of hanging the task.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use minijinja::syntax::SyntaxConfig;
use minijinja::value::ValueKind;
use minijinja::{
    AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior, Value as MjValue,
};
use serde_json::{Map, Value};

use crate::filters::{self, Integrations};

/// Instructions one render may execute. Generous for real templates (a skeleton file with a few
/// loops uses thousands), small enough that a runaway loop ends in well under a second.
const FUEL: u64 = 2_000_000;

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Syntax error, unknown filter or a filter's own error (message as the filter words it).
    #[error("{message}")]
    Render {
        /// The error message.
        message: String,
    },
    /// The template used up its fuel budget (a runaway loop or recursion).
    #[error("Template rendering exceeded its evaluation budget")]
    OutOfFuel,
}

impl From<Error> for TemplateError {
    fn from(error: Error) -> Self {
        match error.kind() {
            ErrorKind::OutOfFuel => TemplateError::OutOfFuel,
            // Filter errors carry Backstage's message as the detail; keep it verbatim.
            ErrorKind::InvalidOperation => TemplateError::Render {
                message: error.detail().map_or_else(|| error.to_string(), str::to_owned),
            },
            _ => TemplateError::Render { message: error.to_string() },
        }
    }
}

/// A configured template environment: `${{ }}` variables, `{% %}` blocks, `{# #}` comments, no
/// autoescaping, lenient undefined values, the scaffolder's filters.
pub struct Templater {
    env: Environment<'static>,
    /// `${{`, or `{{` in cookiecutter mode.
    variable_start: &'static str,
}

impl Default for Templater {
    fn default() -> Self {
        Templater::new(Integrations::default())
    }
}

/// The nunjucks options `fetch:template` exposes for file rendering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileRenderOptions {
    /// `cookiecutterCompat`: variables are `{{ }}` and the `jsonify` filter (= `dump`) exists.
    /// The caller puts the values under the `cookiecutter` key of the context.
    pub cookiecutter_compat: bool,
    /// `trimBlocks`: drop the first newline after a block tag.
    pub trim_blocks: bool,
    /// `lstripBlocks`: strip whitespace before a block tag at the start of a line.
    pub lstrip_blocks: bool,
}

impl Templater {
    /// An environment whose `parseRepoUrl`/`projectSlug` know the given integrations.
    pub fn new(integrations: Integrations) -> Self {
        Templater::with_file_options(integrations, FileRenderOptions::default())
    }

    /// An environment for `fetch:template` file rendering with the step's nunjucks options.
    pub fn with_file_options(integrations: Integrations, options: FileRenderOptions) -> Self {
        let variable_start = if options.cookiecutter_compat { "{{" } else { "${{" };
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .block_delimiters("{%", "%}")
            .variable_delimiters(variable_start, "}}")
            .comment_delimiters("{#", "#}")
            .build()
            .expect("the scaffolder's delimiters are a valid syntax");
        env.set_syntax(syntax);
        // nunjucks: `values.a.b` with `a` missing is undefined, not an error.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // Generated files must end exactly like their skeletons.
        env.set_keep_trailing_newline(true);
        env.set_trim_blocks(options.trim_blocks);
        env.set_lstrip_blocks(options.lstrip_blocks);
        env.set_fuel(Some(FUEL));
        env.set_formatter(js_formatter);
        filters::register(&mut env, Arc::new(integrations), options.cookiecutter_compat);
        Templater { env, variable_start }
    }

    /// Renders every string leaf of `value` (keys are not rendered).
    ///
    /// A string that is exactly one `${{ expr }}` keeps the JSON type of `expr`; other strings are
    /// rendered as text. A leaf rendering to `""` or undefined is dropped from its object (`null`
    /// in an array; `null` at the top level). A leaf whose template fails (syntax error, unknown
    /// filter, filter error) is kept unchanged, as Backstage's workflow runner does; only running
    /// out of fuel is an error.
    pub fn render_value(&self, value: &Value, context: &Value) -> Result<Value, TemplateError> {
        let context = MjValue::from_serialize(context);
        Ok(self.render_node(value, &context)?.unwrap_or(Value::Null))
    }

    /// Evaluates a step or output `if`: a literal boolean as is, anything else rendered and then
    /// judged by [`is_truthy`].
    pub fn evaluate_condition(&self, condition: &Value, context: &Value) -> Result<bool, TemplateError> {
        match condition {
            Value::Bool(flag) => Ok(*flag),
            other => Ok(is_truthy(&self.render_value(other, context)?)),
        }
    }

    /// Renders a file or directory name for `fetch:template`; errors fail the step.
    pub fn render_file_name(&self, name: &str, context: &Value) -> Result<String, TemplateError> {
        self.render_text(name, &MjValue::from_serialize(context))
    }

    /// Renders file contents for `fetch:template`; errors fail the step.
    pub fn render_file(&self, contents: &str, context: &Value) -> Result<String, TemplateError> {
        self.render_text(contents, &MjValue::from_serialize(context))
    }

    fn render_node(&self, value: &Value, context: &MjValue) -> Result<Option<Value>, TemplateError> {
        match value {
            Value::String(source) => self.render_leaf(source, context),
            Value::Array(items) => {
                let rendered = items
                    .iter()
                    .map(|item| Ok(self.render_node(item, context)?.unwrap_or(Value::Null)))
                    .collect::<Result<Vec<_>, TemplateError>>()?;
                Ok(Some(Value::Array(rendered)))
            }
            Value::Object(entries) => {
                let mut rendered = Map::new();
                for (key, item) in entries {
                    if let Some(item) = self.render_node(item, context)? {
                        rendered.insert(key.clone(), item);
                    }
                }
                Ok(Some(Value::Object(rendered)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    fn render_leaf(&self, source: &str, context: &MjValue) -> Result<Option<Value>, TemplateError> {
        let attempt = match single_expression(source) {
            Some(expression) => self.evaluate(expression, context),
            None => self
                .render_text(source, context)
                .map(|text| (!text.is_empty()).then_some(Value::String(text))),
        };
        match attempt {
            Err(TemplateError::OutOfFuel) => Err(TemplateError::OutOfFuel),
            Err(TemplateError::Render { .. }) => Ok(Some(Value::String(source.to_owned()))),
            Ok(rendered) => Ok(rendered),
        }
    }

    /// The value of one expression as JSON; `None` when undefined (Backstage renders
    /// `${{ (expr) | dump }}` and JSON-parses the text, which loses exactly undefined).
    fn evaluate(&self, expression: &str, context: &MjValue) -> Result<Option<Value>, TemplateError> {
        let source = nunjucks_compat(expression, self.variable_start, true);
        let compiled = self.env.compile_expression(&source)?;
        let value = compiled.eval(context)?;
        if value.is_undefined() {
            return Ok(None);
        }
        Ok(Some(filters::to_json(&value)?))
    }

    fn render_text(&self, source: &str, context: &MjValue) -> Result<String, TemplateError> {
        if !source.contains(self.variable_start) && !source.contains("{%") && !source.contains("{#") {
            return Ok(source.to_owned());
        }
        Ok(self.env.render_str(&nunjucks_compat(source, self.variable_start, false), context)?)
    }
}

/// The shared environment with the default integrations.
static DEFAULT: LazyLock<Templater> = LazyLock::new(Templater::default);

/// [`Templater::render_value`] with the default integrations.
pub fn render_value(value: &Value, context: &Value) -> Result<Value, TemplateError> {
    DEFAULT.render_value(value, context)
}

/// [`Templater::render_file_name`] with the default integrations.
pub fn render_file_name(name: &str, context: &Value) -> Result<String, TemplateError> {
    DEFAULT.render_file_name(name, context)
}

/// [`Templater::render_file`] with the default integrations.
pub fn render_file(contents: &str, context: &Value) -> Result<String, TemplateError> {
    DEFAULT.render_file(contents, context)
}

/// Truthiness of a rendered `if`: false for `false`, `null`, `""`, `0` and `[]`; true otherwise
/// (including the string `"false"`). Undefined (a dropped value) is the caller's `None`: false.
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0 && !n.is_nan()),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(_) => true,
    }
}

/// [`Templater::evaluate_condition`] with the default integrations.
pub fn evaluate_condition(condition: &Value, context: &Value) -> Result<bool, TemplateError> {
    DEFAULT.evaluate_condition(condition, context)
}

/// A string that is exactly one `${{ expr }}`: its expression. Any character outside the
/// delimiters (even a space) makes the string a text template.
fn single_expression(source: &str) -> Option<&str> {
    let inner = source.strip_prefix("${{")?.strip_suffix("}}")?;
    (!inner.contains("}}") && !inner.contains("${{")).then_some(inner)
}

/// Rewrites what nunjucks (and Backstage's engine) accept but the template engine does not:
/// JavaScript's strict comparisons (`===`, `!==`) and the `elseif` tag. Only code inside
/// variables and `{% %}` outside string literals is touched, so file text such as JavaScript
/// sources keeps its operators. `in_code` says `source` is a bare expression.
fn nunjucks_compat<'a>(source: &'a str, variable_start: &str, in_code: bool) -> Cow<'a, str> {
    if !source.contains("===") && !source.contains("!==") && !source.contains("elseif") {
        return Cow::Borrowed(source);
    }
    let bytes = source.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut close: Option<&[u8]> = in_code.then_some(b"}}");
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let rest = &bytes[i..];
        match (close, quote) {
            (None, _) => {
                let opener: Option<(&[u8], &[u8])> = if rest.starts_with(variable_start.as_bytes()) {
                    Some((variable_start.as_bytes(), b"}}"))
                } else if rest.starts_with(b"{%") {
                    Some((b"{%", b"%}"))
                } else {
                    None
                };
                if let Some((open, end)) = opener {
                    out.extend_from_slice(open);
                    i += open.len();
                    close = Some(end);
                    continue;
                }
            }
            (Some(_), Some(q)) => {
                if byte == b'\\' && rest.len() > 1 {
                    out.extend_from_slice(&rest[..2]);
                    i += 2;
                    continue;
                }
                if byte == q {
                    quote = None;
                }
            }
            (Some(end), None) => {
                if rest.starts_with(end) {
                    out.extend_from_slice(end);
                    i += end.len();
                    close = None;
                    continue;
                }
                if byte == b'\'' || byte == b'"' {
                    quote = Some(byte);
                } else if rest.starts_with(b"===") || rest.starts_with(b"!==") {
                    out.extend_from_slice(&rest[..2]);
                    i += 3;
                    continue;
                } else if end == b"%}" && is_elseif_tag(&bytes[..i], rest) {
                    out.extend_from_slice(b"elif");
                    i += b"elseif".len();
                    continue;
                }
            }
        }
        out.push(byte);
        i += 1;
    }
    // Only ASCII sequences were rewritten, so the bytes stay valid UTF-8.
    String::from_utf8(out).map_or(Cow::Borrowed(source), Cow::Owned)
}

/// `elseif` as the tag name: right after `{%`, `{%-` or `{%+` and optional spaces.
fn is_elseif_tag(before: &[u8], rest: &[u8]) -> bool {
    let Some(after) = rest.strip_prefix(b"elseif") else {
        return false;
    };
    let tag_start = before.trim_ascii_end();
    let tag_start =
        tag_start.strip_suffix(b"-").or_else(|| tag_start.strip_suffix(b"+")).unwrap_or(tag_start);
    tag_start.ends_with(b"{%") && after.first().is_some_and(u8::is_ascii_whitespace)
}

/// Prints values as JavaScript string conversion does: `null`/undefined as nothing, booleans in
/// lower case, objects as `[object Object]`, arrays comma-joined.
fn js_formatter(out: &mut Output<'_>, _state: &State<'_, '_>, value: &MjValue) -> Result<(), Error> {
    std::fmt::Write::write_str(out, &js_text(value)).map_err(|_| Error::from(ErrorKind::WriteFailure))
}

fn js_text(value: &MjValue) -> String {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => String::new(),
        ValueKind::Bool => value.is_true().to_string(),
        ValueKind::Map => "[object Object]".to_owned(),
        ValueKind::Seq | ValueKind::Iterable => match value.try_iter() {
            Ok(items) => items.map(|item| js_text(&item)).collect::<Vec<_>>().join(","),
            Err(_) => String::new(),
        },
        ValueKind::Number => match value.as_i64() {
            Some(integer) => integer.to_string(),
            None => {
                // JavaScript prints integral floats without a fraction.
                let text = value.to_string();
                text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
            }
        },
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn context() -> Value {
        json!({
            "parameters": {
                "number": 0,
                "text": "1",
                "name": "My-Service",
                "flag": false,
                "nested": {"a": {"b": "deep"}},
                "list": ["first", "second"],
                "repoUrl": "github.com?owner=acme&repo=svc",
            },
            "steps": {
                "test": {"output": {"mock": "value"}},
                "my-id": {"output": {"url": "https://example.com"}},
            },
            "context": {"task": {"id": "task-123"}},
            "values": {"name": "test-project", "count": 1234, "itemList": ["first", "second", "third"]},
        })
    }

    fn render(value: Value) -> Value {
        render_value(&value, &context()).expect("renders")
    }

    #[test]
    fn single_expression_keeps_number_zero() {
        assert_eq!(render(json!({"v": "${{parameters.number}}"})), json!({"v": 0}));
    }

    #[test]
    fn single_expression_keeps_string_one_a_string() {
        assert_eq!(render(json!({"v": "${{ parameters.text }}"})), json!({"v": "1"}));
    }

    #[test]
    fn single_expression_passes_objects_arrays_and_bools_through() {
        assert_eq!(
            render(
                json!({"o": "${{ parameters.nested }}", "l": "${{ parameters.list }}", "b": "${{ parameters.flag }}"})
            ),
            json!({"o": {"a": {"b": "deep"}}, "l": ["first", "second"], "b": false})
        );
    }

    #[test]
    fn nested_paths_and_bracket_access_render() {
        assert_eq!(
            render(json!(["${{ parameters.nested.a.b }}", "${{ steps['my-id'].output.url }}"])),
            json!(["deep", "https://example.com"])
        );
    }

    #[test]
    fn leading_space_makes_a_text_template() {
        assert_eq!(render(json!({"v": " ${{ parameters.number }}"})), json!({"v": " 0"}));
    }

    #[test]
    fn text_interpolation_converts_like_javascript() {
        assert_eq!(
            render(json!({
                "s": "Creating ${{ parameters.name }}",
                "o": "x ${{ parameters.nested }}",
                "l": "x ${{ parameters.list }}",
                "n": "x${{ parameters.missing }}y",
                "b": "x ${{ parameters.flag }}",
                "f": "${{ parameters.number + 2.0 }} ${{ 1.5 }}",
            })),
            json!({
                "s": "Creating My-Service",
                "o": "x [object Object]",
                "l": "x first,second",
                "n": "xy",
                "b": "x false",
                "f": "2 1.5",
            })
        );
    }

    #[test]
    fn missing_paths_render_empty_and_drop_the_key() {
        let rendered = render(json!({
            "alone": "${{ values.destination.owner }}",
            "text": "${{ parameters.nope.deeper }}",
            "skipped": "${{ steps.skipped.output.x }}",
            "kept": "yes",
        }));
        assert_eq!(rendered, json!({"kept": "yes"}));
    }

    #[test]
    fn single_expression_empty_string_is_kept_but_empty_text_is_dropped() {
        assert_eq!(
            render(
                json!({"alone": "${{ '' }}", "text": "${{ '' }}${{ parameters.missing }}", "lit": "", "arr": ["${{ nope }}"]})
            ),
            json!({"alone": "", "arr": [null]})
        );
    }

    #[test]
    fn keys_and_non_string_leaves_are_not_rendered() {
        assert_eq!(
            render(json!({"${{ x }}": 5, "b": true, "n": null})),
            json!({"${{ x }}": 5, "b": true, "n": null})
        );
    }

    #[test]
    fn filters_apply_in_inputs_and_outputs() {
        assert_eq!(
            render(json!({
                "lower": "${{ parameters.name | lower }}",
                "upper": "${{ steps.test.output.mock | upper }}",
                "id": "${{ context.task.id }}",
                "repo": "${{ parameters.repoUrl | parseRepoUrl }}",
                "slug": "${{ parameters.repoUrl | projectSlug }}",
                "pick": "${{ parameters | pick('nested.a.b') }}",
                "join": "${{ parameters.list | join('-') }}",
                "len": "${{ parameters.list | length }}",
                "default": "${{ parameters.missing | default('fallback') }}",
                "d": "${{ parameters.missing | d('short') }}",
                "replace": "${{ parameters.name | replace('-', '_') }}",
            })),
            json!({
                "lower": "my-service",
                "upper": "VALUE",
                "id": "task-123",
                "repo": {"host": "github.com", "owner": "acme", "repo": "svc"},
                "slug": "acme/svc",
                "pick": "deep",
                "join": "first-second",
                "len": 2,
                "default": "fallback",
                "d": "short",
                "replace": "My_Service",
            })
        );
    }

    #[test]
    fn parse_entity_ref_filter_takes_options() {
        assert_eq!(
            render(json!(
                "${{ 'jane' | parseEntityRef({'defaultKind': 'user', 'defaultNamespace': 'ppl'}) }}"
            )),
            json!({"kind": "user", "namespace": "ppl", "name": "jane"})
        );
    }

    #[test]
    fn strict_equality_operators_are_accepted() {
        assert_eq!(
            render(json!(["${{ parameters.text === '1' }}", "${{ parameters.text !== \"1\" }}"])),
            json!([true, false])
        );
        // Outside template code the text is left alone.
        assert_eq!(render_file("a === b ${{ 1 === 1 }}", &context()).unwrap(), "a === b true");
    }

    #[test]
    fn elseif_tags_are_accepted() {
        let source =
            "{% if values.count < 10 %}small{%- elseif values.count < 2000 %}mid{% else %}big{% endif %}";
        assert_eq!(render_file(source, &context()).unwrap(), "mid");
        // Only the tag name is rewritten.
        assert_eq!(render_file("elseif ${{ 'elseif' }}", &context()).unwrap(), "elseif elseif");
    }

    #[test]
    fn file_options_select_cookiecutter_syntax_and_whitespace_handling() {
        let compat = FileRenderOptions { cookiecutter_compat: true, ..FileRenderOptions::default() };
        let templater = Templater::with_file_options(Integrations::default(), compat);
        let ctx = json!({"cookiecutter": {"name": "test-project", "count": 1234, "itemList": ["a", "b"]}});
        assert_eq!(
            templater.render_file("{{ cookiecutter.name }}: {{ cookiecutter.count }}", &ctx).unwrap(),
            "test-project: 1234"
        );
        assert_eq!(
            templater.render_file("{{ cookiecutter.itemList | jsonify }}", &ctx).unwrap(),
            "[\"a\",\"b\"]"
        );
        assert_eq!(templater.render_file_name("${{ x }}", &ctx).unwrap(), "$");
        // `jsonify` exists only in cookiecutter mode.
        assert!(render_file("${{ values.itemList | jsonify }}", &context()).is_err());

        let source = "{% if true %}\n  yes\n{% endif %}\n";
        assert_eq!(render_file(source, &context()).unwrap(), "\n  yes\n\n");
        let trimmed =
            FileRenderOptions { trim_blocks: true, lstrip_blocks: true, ..FileRenderOptions::default() };
        let templater = Templater::with_file_options(Integrations::default(), trimmed);
        assert_eq!(templater.render_file(source, &context()).unwrap(), "  yes\n");
    }

    #[test]
    fn failing_leaves_are_kept_unchanged() {
        assert_eq!(
            render(json!({"f": "${{ parameters.name | noSuchFilter }}", "s": "${{ ( }}"})),
            json!({"f": "${{ parameters.name | noSuchFilter }}", "s": "${{ ( }}"})
        );
    }

    #[test]
    fn filter_errors_carry_backstage_messages() {
        let error = render_file("${{ 'github.com?repo=svc' | parseRepoUrl }}", &context()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Invalid repo URL passed to publisher: https://github.com/?repo=svc, missing owner"
        );
        let error = render_file("${{ 'jane' | parseEntityRef }}", &context()).unwrap_err();
        assert!(error.to_string().contains("had missing or empty kind"), "{error}");
    }

    #[test]
    fn truthiness_table() {
        for falsy in [json!(false), json!(null), json!(""), json!(0), json!(0.0), json!([])] {
            assert!(!is_truthy(&falsy), "{falsy} should be false");
        }
        for truthy in [json!(true), json!("false"), json!("0"), json!(1), json!(-1), json!({}), json!([0])] {
            assert!(is_truthy(&truthy), "{truthy} should be true");
        }
    }

    #[test]
    fn conditions_render_then_apply_truthiness() {
        let ctx = context();
        assert!(!evaluate_condition(&json!("${{ false }}"), &ctx).unwrap());
        assert!(!evaluate_condition(&json!(false), &ctx).unwrap());
        assert!(evaluate_condition(&json!(true), &ctx).unwrap());
        assert!(evaluate_condition(&json!("false"), &ctx).unwrap());
        assert!(!evaluate_condition(&json!("${{ parameters.number }}"), &ctx).unwrap());
        assert!(!evaluate_condition(&json!("${{ steps.skipped.output.x }}"), &ctx).unwrap());
        assert!(evaluate_condition(&json!("${{ parameters.name }}"), &ctx).unwrap());
    }

    #[test]
    fn runaway_loops_run_out_of_fuel() {
        let bomb = "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}";
        assert_eq!(render_file(bomb, &context()), Err(TemplateError::OutOfFuel));
        assert_eq!(render_value(&json!({"a": bomb}), &context()), Err(TemplateError::OutOfFuel));
    }

    #[test]
    fn unbounded_recursion_ends_with_an_error() {
        let recursive = "{% macro f(n) %}${{ f(n + 1) }}{% endmacro %}${{ f(0) }}";
        assert!(render_file(recursive, &context()).is_err());
    }

    #[test]
    fn templates_cannot_read_files() {
        assert!(render_file("{% include '/etc/passwd' %}", &context()).is_err());
        assert!(render_file("{% import 'Cargo.toml' as x %}", &context()).is_err());
    }

    #[test]
    fn file_rendering_supports_nunjucks_blocks() {
        let source = "{# comment #}{% set greeting = 'hi' %}${{ greeting }} ${{ values.name }}\n\
                      {%- for item in values.itemList %} ${{ loop.index }}:${{ item }}{% endfor %}\n\
                      {% if values.count > 1000 %}big{% else %}small{% endif %}\n";
        assert_eq!(
            render_file(source, &context()).unwrap(),
            "hi test-project 1:first 2:second 3:third\nbig\n"
        );
    }

    #[test]
    fn file_rendering_dumps_json_and_keeps_trailing_newline() {
        assert_eq!(
            render_file("${{ values.itemList | dump }}\n", &context()).unwrap(),
            "[\"first\",\"second\",\"third\"]\n"
        );
        assert_eq!(render_file("${{ {'a': 1} | dump(2) }}", &context()).unwrap(), "{\n  \"a\": 1\n}");
    }

    #[test]
    fn file_names_render_and_may_become_empty() {
        let ctx = context();
        assert_eq!(render_file_name("${{ values.name }}.txt", &ctx).unwrap(), "test-project.txt");
        assert_eq!(render_file_name("empty-dir-${{ values.count }}", &ctx).unwrap(), "empty-dir-1234");
        assert_eq!(
            render_file_name("{% if values.showDummyFile %}dummy.txt{% else %}{% endif %}", &ctx).unwrap(),
            ""
        );
        assert_eq!(render_file_name("${{ 'd.txt' if values.showDummyFile else '' }}", &ctx).unwrap(), "");
    }

    /// Every demo template's `parameters`, step inputs, `if`s and `output` render without error
    /// against a sample context.
    #[test]
    fn demo_templates_render() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/templates");
        let mut seen = 0;
        for entry in std::fs::read_dir(&root).expect("demo templates exist") {
            let path = entry.expect("dir entry").path().join("template.yaml");
            if !path.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable");
            let documents = portico_model::yaml::parse_documents(&text, &Default::default());
            let template = documents.into_iter().next().expect("one document").expect("valid YAML").value;
            let ctx = json!({
                "parameters": {
                    "name": "demo", "component_id": "demo", "owner": "group:default/team",
                    "repoUrl": "github.com?owner=acme&repo=demo", "enableCI": "Yes",
                    "cloudProvider": "AWS", "showDetails": true, "description": "A demo",
                },
                "steps": {"publish": {"output": {"remoteUrl": "https://github.com/acme/demo",
                    "repoContentsUrl": "https://github.com/acme/demo/blob/main"}},
                    "register": {"output": {"entityRef": "component:default/demo"}}},
                "user": {"ref": "user:default/guest"},
                "context": {"task": {"id": "t"}},
            });
            let spec = &template["spec"];
            let raw = serde_json::to_string(spec).expect("json");
            let rendered = render_value(spec, &ctx).expect("renders");
            // Nothing may be left unrendered: a failing leaf would be kept verbatim.
            let text = serde_json::to_string(&rendered).expect("json");
            assert!(!text.contains("${{"), "{}: unrendered leaf in {text}", path.display());
            for step in spec["steps"].as_array().expect("steps") {
                render_value(&step["input"], &ctx).expect("step input renders");
            }
            if raw.contains("parseRepoUrl") {
                assert!(text.contains("\"destination\":{\"host\":\"github.com\""), "{text}");
            }
            seen += 1;
        }
        assert_eq!(seen, 6);
    }
}
