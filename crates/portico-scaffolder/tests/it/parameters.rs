//! Template parameter pages: validation errors exactly as Backstage's API returns them, the
//! form model and its HTML, submitted forms read back, the review page, and every demo
//! template's pages.

use std::path::Path;

use portico_model::yaml::{YamlLimits, parse_documents};
use portico_scaffolder::parameters::{
    FormContext, ItemType, PASSWORD_MASK, PickerOption, ReviewRow, Widget, page_form, pages, render_fields,
    render_page, review_rows, validate_form, validate_schema, validate_values, values_from_form,
};
use regex::Regex;
use serde_json::{Value, json};

const DEMO_TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/templates");

fn errors_json(page: &Value, values: &Value) -> String {
    let errors = validate_schema(page, values).expect_err("the values are invalid");
    serde_json::to_string(&errors).expect("errors serialise")
}

#[test]
fn backstage_required_error_is_the_jsonschema_librarys_byte_for_byte() {
    let page = json!({"title": "Info", "required": ["name"], "properties": {"name": {"type": "string"}}});
    assert_eq!(
        errors_json(&page, &json!({})),
        r#"[{"path":[],"property":"instance","message":"requires property \"name\"","schema":{"title":"Info","required":["name"],"properties":{"name":{"type":"string"}}},"instance":{},"name":"required","argument":"name","stack":"instance requires property \"name\""}]"#
    );
}

#[test]
fn backstage_keyword_errors_are_worded_and_shaped_like_the_library() {
    let cases = [
        (
            json!({"type": "number"}),
            json!("x"),
            r#"{"path":["v"],"property":"instance.v","message":"is not of a type(s) number","schema":{"type":"number"},"instance":"x","name":"type","argument":["number"],"stack":"instance.v is not of a type(s) number"}"#,
        ),
        (
            json!({"type": ["string", "null"]}),
            json!(1),
            r#"{"path":["v"],"property":"instance.v","message":"is not of a type(s) string,null","schema":{"type":["string","null"]},"instance":1,"name":"type","argument":["string","null"],"stack":"instance.v is not of a type(s) string,null"}"#,
        ),
        (
            json!({"enum": ["a", "b"]}),
            json!("c"),
            r#"{"path":["v"],"property":"instance.v","message":"is not one of enum values: a,b","schema":{"enum":["a","b"]},"instance":"c","name":"enum","argument":["a","b"],"stack":"instance.v is not one of enum values: a,b"}"#,
        ),
        (
            json!({"pattern": "^[a-z]+$"}),
            json!("ABC"),
            r#"{"path":["v"],"property":"instance.v","message":"does not match pattern \"^[a-z]+$\"","schema":{"pattern":"^[a-z]+$"},"instance":"ABC","name":"pattern","argument":"^[a-z]+$","stack":"instance.v does not match pattern \"^[a-z]+$\""}"#,
        ),
        (
            json!({"minLength": 3}),
            json!("ab"),
            r#"{"path":["v"],"property":"instance.v","message":"does not meet minimum length of 3","schema":{"minLength":3},"instance":"ab","name":"minLength","argument":3,"stack":"instance.v does not meet minimum length of 3"}"#,
        ),
        (
            json!({"maxLength": 5}),
            json!("éééééé"),
            r#"{"path":["v"],"property":"instance.v","message":"does not meet maximum length of 5","schema":{"maxLength":5},"instance":"éééééé","name":"maxLength","argument":5,"stack":"instance.v does not meet maximum length of 5"}"#,
        ),
        (
            json!({"minimum": 1}),
            json!(0),
            r#"{"path":["v"],"property":"instance.v","message":"must be greater than or equal to 1","schema":{"minimum":1},"instance":0,"name":"minimum","argument":1,"stack":"instance.v must be greater than or equal to 1"}"#,
        ),
        (
            json!({"maximum": 100}),
            json!(100.5),
            r#"{"path":["v"],"property":"instance.v","message":"must be less than or equal to 100","schema":{"maximum":100},"instance":100.5,"name":"maximum","argument":100,"stack":"instance.v must be less than or equal to 100"}"#,
        ),
        (
            json!({"exclusiveMinimum": 0}),
            json!(0),
            r#"{"path":["v"],"property":"instance.v","message":"must be strictly greater than 0","schema":{"exclusiveMinimum":0},"instance":0,"name":"exclusiveMinimum","argument":0,"stack":"instance.v must be strictly greater than 0"}"#,
        ),
        (
            json!({"minItems": 1}),
            json!([]),
            r#"{"path":["v"],"property":"instance.v","message":"does not meet minimum length of 1","schema":{"minItems":1},"instance":[],"name":"minItems","argument":1,"stack":"instance.v does not meet minimum length of 1"}"#,
        ),
        (
            json!({"uniqueItems": true}),
            json!([1, 1.0]),
            r#"{"path":["v"],"property":"instance.v","message":"contains duplicate item","schema":{"uniqueItems":true},"instance":[1,1.0],"name":"uniqueItems","stack":"instance.v contains duplicate item"}"#,
        ),
        (
            json!({"const": "on"}),
            json!("off"),
            r#"{"path":["v"],"property":"instance.v","message":"does not exactly match expected constant: on","schema":{"const":"on"},"instance":"off","name":"const","argument":"on","stack":"instance.v does not exactly match expected constant: on"}"#,
        ),
        (
            json!({"format": "email"}),
            json!("nope"),
            r#"{"path":["v"],"property":"instance.v","message":"does not conform to the \"email\" format","schema":{"format":"email"},"instance":"nope","name":"format","argument":"email","stack":"instance.v does not conform to the \"email\" format"}"#,
        ),
        (
            json!({"multipleOf": 0.1}),
            json!(0.35),
            r#"{"path":["v"],"property":"instance.v","message":"is not a multiple of (divisible by) 0.1","schema":{"multipleOf":0.1},"instance":0.35,"name":"multipleOf","argument":0.1,"stack":"instance.v is not a multiple of (divisible by) 0.1"}"#,
        ),
        (
            json!({"anyOf": [{"type": "string"}, {"title": "Count", "type": "integer"}]}),
            json!(true),
            r#"{"path":["v"],"property":"instance.v","message":"is not any of [subschema 0],\"Count\"","schema":{"anyOf":[{"type":"string"},{"title":"Count","type":"integer"}]},"instance":true,"name":"anyOf","argument":["[subschema 0]","\"Count\""],"stack":"instance.v is not any of [subschema 0],\"Count\""}"#,
        ),
        (
            json!({"oneOf": [{"type": "number"}, {"type": "integer"}]}),
            json!(2),
            r#"{"path":["v"],"property":"instance.v","message":"is not exactly one from [subschema 0],[subschema 1]","schema":{"oneOf":[{"type":"number"},{"type":"integer"}]},"instance":2,"name":"oneOf","argument":["[subschema 0]","[subschema 1]"],"stack":"instance.v is not exactly one from [subschema 0],[subschema 1]"}"#,
        ),
        (
            json!({"$id": "#port", "type": "integer"}),
            json!("80"),
            r##"{"path":["v"],"property":"instance.v","message":"is not of a type(s) integer","schema":"#port","instance":"80","name":"type","argument":["integer"],"stack":"instance.v is not of a type(s) integer"}"##,
        ),
    ];
    for (schema, value, expected) in cases {
        let page = json!({"properties": {"v": schema}});
        assert_eq!(errors_json(&page, &json!({"v": value})), format!("[{expected}]"));
    }
}

#[test]
fn backstage_valid_values_pass_every_keyword() {
    let page = json!({
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 5, "pattern": "^[a-zé]+$"},
            "count": {"type": "integer", "minimum": 1, "maximum": 3, "multipleOf": 1},
            "ratio": {"type": "number", "exclusiveMaximum": 1, "multipleOf": 0.05},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": true},
            "mode": {"enum": [1, "two", null]},
            "mail": {"type": "string", "format": "email"},
        },
        "ui:order": ["name"],
        "backstage:permissions": {"tags": ["x"]},
    });
    let values = json!({"name": "ééééé", "count": 3.0, "ratio": 0.35, "tags": ["a", "b"], "mode": 1.0,
        "mail": "ops@example.com", "extra": true});
    assert_eq!(validate_schema(&page, &values), Ok(()));
}

#[test]
fn backstage_nested_and_array_paths_name_the_failing_value() {
    let page = json!({"properties": {
        "a": {"type": "object", "required": ["c"], "properties": {"b": {"type": "string"}}},
        "list": {"type": "array", "items": {"type": "string"}},
        "my key": {"type": "string"},
        "0day": {"type": "string"},
    }});
    let errors = validate_schema(&page, &json!({"a": {"b": 1}, "list": ["x", 2], "my key": 3, "0day": 4}))
        .expect_err("invalid");
    let summary: Vec<(Value, &str, &str)> = errors
        .iter()
        .map(|error| {
            (serde_json::to_value(&error.path).unwrap(), error.property.as_str(), error.stack.as_str())
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!(["a"]), "instance.a", "instance.a requires property \"c\""),
            (json!(["a", "b"]), "instance.a.b", "instance.a.b is not of a type(s) string"),
            (json!(["list", 1]), "instance.list[1]", "instance.list[1] is not of a type(s) string"),
            (json!(["my key"]), "instance[\"my key\"]", "instance[\"my key\"] is not of a type(s) string"),
            (json!(["0day"]), "instance[\"0day\"]", "instance[\"0day\"] is not of a type(s) string"),
        ]
    );
}

#[test]
fn backstage_dependencies_additional_properties_and_combinators() {
    let page = json!({
        "properties": {"a": {}, "b": {}},
        "additionalProperties": false,
        "dependencies": {"a": ["b"], "b": {"required": ["c"]}},
    });
    let errors = validate_schema(&page, &json!({"a": 1, "x": 2})).expect_err("invalid");
    let stacks: Vec<&str> = errors.iter().map(|error| error.stack.as_str()).collect();
    assert_eq!(
        stacks,
        [
            "instance is not allowed to have the additional property \"x\"",
            "instance property b not found, required by instance.a"
        ]
    );
    assert_eq!(errors[1].argument, Some(json!("instance.a")));

    let errors = validate_schema(&page, &json!({"a": 1, "b": 2})).expect_err("invalid");
    let stacks: Vec<&str> = errors.iter().map(|error| error.stack.as_str()).collect();
    // The schema form reports under the dependency's property, as the library does.
    assert_eq!(
        stacks,
        ["instance does not meet dependency required by instance.b", "instance.b requires property \"c\""]
    );

    let page = json!({"allOf": [{"required": ["a"]}], "not": {"required": ["b"]},
        "if": {"properties": {"kind": {"const": "svc"}}}, "then": {"required": ["port"]}, "else": {"required": ["lib"]}});
    let errors = validate_schema(&page, &json!({"b": 1, "kind": "svc"})).expect_err("invalid");
    let stacks: Vec<&str> = errors.iter().map(|error| error.stack.as_str()).collect();
    assert_eq!(
        stacks,
        [
            "instance does not match allOf schema [subschema 0] with 1 error[s]:",
            "instance requires property \"a\"",
            "instance is of prohibited type [object Object]",
            "instance requires property \"port\"",
        ]
    );
    assert_eq!(errors[0].argument, Some(json!({"id": "[subschema 0]", "length": 1})));
}

#[test]
fn backstage_only_the_first_failing_page_is_reported() {
    let pages = vec![
        json!({"title": "One", "required": ["a"], "properties": {"a": {"type": "string"}}}),
        json!({"title": "Two", "required": ["b"], "properties": {"b": {"type": "string"}}}),
    ];
    let errors = validate_values(&pages, &json!({})).expect_err("invalid");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].message, "requires property \"a\"");
    assert_eq!(errors[0].schema["title"], "One");

    let errors = validate_values(&pages, &json!({"a": "x"})).expect_err("invalid");
    assert_eq!(errors[0].message, "requires property \"b\"");
    assert_eq!(validate_values(&pages, &json!({"a": "x", "b": "y"})), Ok(()));
}

#[test]
fn portico_pages_whose_if_is_false_are_not_validated() {
    let pages = vec![
        json!({"properties": {"cloud": {"enum": ["AWS", "GCP"]}}}),
        json!({"if": "${{ parameters.cloud === 'AWS' }}", "required": ["region"], "properties": {"region": {}}}),
        json!({"if": "parameters.cloud === 'GCP'", "required": ["project"], "properties": {"project": {}}}),
    ];
    assert_eq!(validate_values(&pages, &json!({"cloud": "GCP", "project": "p"})), Ok(()));
    let errors = validate_values(&pages, &json!({"cloud": "AWS"})).expect_err("the AWS page applies");
    assert_eq!(errors[0].stack, "instance requires property \"region\"");
}

fn nested_schema(depth: usize) -> Value {
    (0..depth).fold(json!({"type": "string"}), |inner, _| json!({"properties": {"a": inner}}))
}

fn nested_value(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!({"a": inner}))
}

#[test]
fn portico_deep_schemas_end_with_a_depth_error_in_a_small_stack() {
    // Within the cap the leaf is reached and judged.
    let errors = validate_schema(&nested_schema(50), &nested_value(50)).expect_err("leaf is not a string");
    assert_eq!(errors[0].name, "type");
    assert_eq!(errors[0].path.len(), 50);

    let deep = nested_schema(300);
    let deep_value = nested_value(300);
    let deep_all_of = (0..300).fold(json!({}), |inner, _| json!({"allOf": [inner]}));
    // The validation itself needs little stack, however deep the schema.
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new().stack_size(512 * 1024).spawn_scoped(scope, || {
            (validate_schema(&deep, &deep_value), validate_schema(&deep_all_of, &json!({})))
        });
        let (nested, all_of) = worker.expect("thread").join().expect("no overflow");
        let errors = nested.expect_err("too deep");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].name, "depth");
        assert_eq!(errors[0].path.len(), 65);
        assert!(
            errors[0].stack.ends_with("is described by schemas nested more than 64 levels deep"),
            "{}",
            errors[0].stack
        );
        assert_eq!(all_of.expect_err("too deep")[0].name, "depth");
    });
}

#[test]
fn portico_costly_schemas_stop_at_the_work_budget() {
    // 2,000 items each checked against 1,000 failing branches: two million checks.
    let branches: Vec<Value> =
        (0..1000).map(|index| json!({"type": "string", "title": format!("b{index}")})).collect();
    let schema = json!({"properties": {"list": {"items": {"anyOf": branches}}}});
    let values = json!({"list": vec![1; 2000]});
    let started = std::time::Instant::now();
    let errors = validate_schema(&schema, &values).expect_err("stopped");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].name, "complexity");
    assert_eq!(errors[0].stack, "instance cannot be validated: the schema is too complex");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    // The same schema over a short list is checked in full.
    let errors = validate_schema(&schema, &json!({"list": [1, "a"]})).expect_err("first item fails");
    assert_eq!(errors.len(), 1);
    assert!(errors[0].stack.starts_with("instance.list[0] is not any of \"b0\",\"b1\""));
}

#[test]
fn portico_hostile_patterns_fail_the_value_without_panicking() {
    let page = json!({"properties": {"a": {"pattern": "(unclosed"}, "b": {"pattern": "a{1000}{1000}"}}});
    let errors = validate_schema(&page, &json!({"a": "x", "b": "y"})).expect_err("invalid");
    assert_eq!(errors[0].message, "cannot be checked against the invalid pattern \"(unclosed\"");
    assert_eq!(errors[1].message, "cannot be checked against the invalid pattern \"a{1000}{1000}\"");
    // Keywords of the wrong shape are ignored rather than trusted.
    let odd = json!({"properties": {"a": {"type": 5, "enum": "x", "minLength": "3", "items": null,
        "required": "a", "dependencies": 7, "anyOf": {}, "if": "${{ x }}"}}});
    assert_eq!(validate_schema(&odd, &json!({"a": "v"})), Ok(()));
}

/// Entities the pickers offer.
fn catalog() -> Vec<Value> {
    let entity = |kind: &str, name: &str, title: Option<&str>| {
        let mut metadata = json!({"name": name});
        if let Some(title) = title {
            metadata["title"] = json!(title);
        }
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": metadata, "spec": {}})
    };
    vec![
        entity("Group", "team-a", Some("Team A")),
        entity("Group", "team-b", None),
        entity("User", "jane", None),
        entity("System", "payments", Some("Payments <svg onload=alert(1)>")),
    ]
}

/// A page with every kind of widget.
fn everything_page() -> Value {
    json!({
        "title": "Everything",
        "required": ["name", "owner"],
        "ui:order": ["name", "*"],
        "properties": {
            "description": {"title": "Description", "type": "string", "ui:widget": "textarea", "ui:options": {"rows": 4}},
            "name": {"title": "Name", "type": "string", "ui:field": "EntityNamePicker", "ui:autofocus": true,
                     "ui:help": "Lower-case words"},
            "secret": {"title": "Token", "type": "string", "ui:widget": "password"},
            "count": {"title": "Count", "type": "integer", "minimum": 1},
            "ratio": {"title": "Ratio", "type": "number"},
            "enabled": {"title": "Enabled", "type": "boolean"},
            "flavour": {"title": "Flavour", "type": "string", "enum": ["a", "b"], "enumNames": ["Apple", "Banana"],
                        "ui:widget": "radio"},
            "version": {"title": "Version", "type": "number", "enum": [1.21, 1.22, 1.23]},
            "features": {"title": "Features", "type": "array", "items": {"type": "string", "enum": ["x", "y", "z"]},
                         "uniqueItems": true},
            "aliases": {"title": "Aliases", "type": "array", "items": {"type": "string"}},
            "ports": {"title": "Ports", "type": "array", "items": {"type": "integer"}},
            "tags": {"title": "Tags", "type": "array", "items": {"type": "string"}, "ui:field": "EntityTagsPicker"},
            "owner": {"title": "Owner", "type": "string", "ui:field": "OwnerPicker",
                      "ui:options": {"allowedKinds": ["Group"]}},
            "system": {"title": "System", "type": "string", "ui:field": "EntityPicker",
                       "ui:options": {"catalogFilter": {"kind": "System"}, "allowArbitraryValues": false}},
            "consumers": {"title": "Consumers", "type": "array", "items": {"type": "string"},
                          "ui:field": "MultiEntityPicker", "ui:options": {"catalogFilter": [{"kind": "Group"}]}},
            "repoUrl": {"title": "Repository", "type": "string", "ui:field": "RepoUrlPicker",
                        "ui:options": {"allowedHosts": ["github.com", "gitlab.com"]}},
            "settings": {"title": "Settings", "type": "object"},
            "marker": {"type": "string", "ui:widget": "hidden", "default": "v1"},
            "deploy": {"title": "Deploy", "type": "object",
                       "properties": {"region": {"title": "Region", "type": "string"}, "replicas": {"type": "integer"}}},
        }
    })
}

fn everything_values() -> Value {
    json!({
        "description": "line 1\nline 2",
        "name": "my-svc",
        "secret": "s3cret",
        "count": 3,
        "ratio": 0.5,
        "enabled": true,
        "flavour": "b",
        "version": 1.23,
        "features": ["x", "z"],
        "aliases": ["one", "two words"],
        "ports": [80, 443],
        "tags": ["rust", "web"],
        "owner": "group:default/team-a",
        "system": "system:default/payments",
        "consumers": ["group:default/team-a", "group:default/team-b"],
        "repoUrl": "github.com?owner=acme&repo=svc",
        "settings": {"a": [1, 2]},
        "marker": "v1",
        "deploy": {"region": "eu", "replicas": 2},
    })
}

fn widget_kind(widget: &Widget) -> &'static str {
    match widget {
        Widget::Text { .. } => "text",
        Widget::Textarea { .. } => "textarea",
        Widget::Password => "password",
        Widget::Number { integer: true, .. } => "integer",
        Widget::Number { integer: false, .. } => "number",
        Widget::Checkbox => "checkbox",
        Widget::Radio { .. } => "radio",
        Widget::Select { .. } => "select",
        Widget::Checkboxes { .. } => "checkboxes",
        Widget::List { items: ItemType::Text } => "list",
        Widget::List { .. } => "number list",
        Widget::Tags => "tags",
        Widget::EntityName => "entity name",
        Widget::Entity { multiple: true, .. } => "entities",
        Widget::Entity { allow_arbitrary: false, .. } => "entity select",
        Widget::Entity { .. } => "entity",
        Widget::RepoUrl { .. } => "repo url",
        Widget::Json => "json",
        Widget::Hidden => "hidden",
        Widget::Section => "section",
    }
}

#[test]
fn portico_every_widget_kind_comes_from_the_schema() {
    let catalog = catalog();
    let context = FormContext { catalog: Some(&catalog), ..FormContext::default() };
    let form = page_form(&everything_page(), &json!({}), &[], &context);
    let kinds: Vec<(&str, &str)> =
        form.fields.iter().map(|field| (field.name.as_str(), widget_kind(&field.widget))).collect();
    assert_eq!(
        kinds,
        [
            ("name", "entity name"),
            ("description", "textarea"),
            ("secret", "password"),
            ("count", "integer"),
            ("ratio", "number"),
            ("enabled", "checkbox"),
            ("flavour", "radio"),
            ("version", "select"),
            ("features", "checkboxes"),
            ("aliases", "list"),
            ("ports", "number list"),
            ("tags", "tags"),
            ("owner", "entity"),
            ("system", "entity select"),
            ("consumers", "entities"),
            ("repoUrl", "repo url"),
            ("settings", "json"),
            ("marker", "hidden"),
            ("deploy", "section"),
            ("deploy.region", "text"),
            ("deploy.replicas", "integer"),
        ]
    );
    let field = |name: &str| form.fields.iter().find(|field| field.name == name).expect("field");
    assert!(field("name").required && field("name").autofocus);
    assert_eq!(field("name").help.as_deref(), Some("Lower-case words"));
    assert_eq!(field("marker").value, Some(json!("v1")));
    assert_eq!(field("deploy.region").path, ["deploy", "region"]);
    let Widget::Entity { options, default_kind, .. } = &field("owner").widget else { panic!("owner picker") };
    assert_eq!(default_kind.as_deref(), Some("Group"));
    let refs: Vec<&str> = options.iter().map(|option| option.entity_ref.as_str()).collect();
    assert_eq!(refs, ["group:default/team-a", "group:default/team-b"]);
    let Widget::Entity { options, .. } = &field("system").widget else { panic!("system picker") };
    assert_eq!(options.len(), 1);
    // A picker with one entity to offer has it chosen.
    assert_eq!(field("system").value, Some(json!("system:default/payments")));
    let Widget::Radio { choices } = &field("flavour").widget else { panic!("radio") };
    assert_eq!(choices[1].label, "Banana");

    let html = render_fields(&form.fields).to_string();
    for class in [
        "form-field-entity-name",
        "form-field-textarea",
        "form-field-password",
        "form-field-number",
        "form-field-checkbox",
        "form-field-radio",
        "form-field-select",
        "form-field-checkboxes",
        "form-field-list",
        "form-field-tags",
        "form-field-entity",
        "form-field-entities",
        "form-field-repo-url",
        "form-field-json",
        "form-section",
    ] {
        assert!(
            html.contains(&format!(" {class}\"")) || html.contains(&format!("\"{class}\"")),
            "{class} in {html}"
        );
    }
    assert!(html.contains(
        "<label class=\"form-label\" for=\"field-name\">Name<span class=\"form-required\" aria-hidden=\"true\"> *</span></label>"
    ));
    assert!(
        html.contains(
            "id=\"field-name\" name=\"name\" aria-describedby=\"field-name-help\" required autofocus"
        ),
        "{html}"
    );
    assert!(html.contains("<p class=\"form-help\" id=\"field-name-help\">Lower-case words</p>"));
    assert!(html.contains("<textarea class=\"form-textarea\" rows=\"4\" id=\"field-description\""));
    assert!(html.contains("type=\"number\" step=\"1\" inputmode=\"numeric\" min=\"1\""));
    assert!(html.contains("<input type=\"hidden\" id=\"field-marker\" name=\"marker\" value=\"v1\">"));
    assert!(html.contains("list=\"field-owner-options\""));
    assert!(html.contains("<datalist id=\"field-owner-options\"><option value=\"team-a\">Team A</option><option value=\"team-b\"></option></datalist>"));
    assert!(html.contains("<select class=\"form-select\" id=\"field-system\" name=\"system\">"), "{html}");
    assert!(html.contains("<select class=\"form-select\" id=\"field-repoUrl-host\" name=\"repoUrl[host]\">"));
    assert!(
        html.contains(
            "<option value=\"github.com\" selected>github.com</option><option value=\"gitlab.com\">"
        )
    );
    assert!(html.contains("name=\"deploy.region\""));
}

/// What a browser submits for a form: enabled inputs (checkboxes and radios when checked),
/// selected options (the first of a single select when none is) and text areas, in order.
fn submitted(html: &str) -> Vec<(String, String)> {
    let element =
        Regex::new(r"(?s)<input((?:\s[^>]*)?)>|<(select|textarea)((?:\s[^>]*)?)>(.*?)</(?:select|textarea)>")
            .unwrap();
    let attribute = Regex::new(r#"([a-z-]+)(?:="([^"]*)")?"#).unwrap();
    let option = Regex::new(r"(?s)<option((?:\s[^>]*)?)>.*?</option>").unwrap();
    let attributes = |text: &str| -> Vec<(String, Option<String>)> {
        attribute
            .captures_iter(text)
            .map(|c| (c[1].to_owned(), c.get(2).map(|value| unescape(value.as_str()))))
            .collect()
    };
    let get = |attrs: &[(String, Option<String>)], name: &str| {
        attrs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone().unwrap_or_default())
    };
    let mut pairs = Vec::new();
    for captures in element.captures_iter(html) {
        let attrs = attributes(captures.get(1).or(captures.get(3)).map_or("", |m| m.as_str()));
        let Some(name) = get(&attrs, "name") else { continue };
        if get(&attrs, "disabled").is_some() {
            continue;
        }
        let body = captures.get(4).map_or("", |body| body.as_str());
        match captures.get(2).map(|m| m.as_str()) {
            None => {
                let kind = get(&attrs, "type").unwrap_or_else(|| "text".to_owned());
                if matches!(kind.as_str(), "checkbox" | "radio") && get(&attrs, "checked").is_none() {
                    continue;
                }
                pairs.push((name, get(&attrs, "value").unwrap_or_default()));
            }
            Some("select") => {
                let options: Vec<_> = option.captures_iter(body).map(|c| attributes(&c[1])).collect();
                let mut chosen: Vec<_> =
                    options.iter().filter(|attrs| get(attrs, "selected").is_some()).collect();
                if chosen.is_empty() && get(&attrs, "multiple").is_none() {
                    chosen.extend(options.first());
                }
                for attrs in chosen {
                    pairs.push((name.clone(), get(attrs, "value").unwrap_or_default()));
                }
            }
            Some(_) => pairs.push((name, unescape(body.strip_prefix('\n').unwrap_or(body)))),
        }
    }
    pairs
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[test]
fn portico_a_rendered_form_submitted_unchanged_gives_back_its_values() {
    let catalog = catalog();
    let context = FormContext { catalog: Some(&catalog), ..FormContext::default() };
    let page = everything_page();
    let values = everything_values();
    let form = page_form(&page, &values, &[], &context);
    let pairs = submitted(&render_fields(&form.fields).to_string());
    assert_eq!(values_from_form(&page, &pairs, &values), values);

    // An unchecked checkbox and emptied inputs.
    let mut changed = values.clone();
    changed["enabled"] = json!(false);
    changed.as_object_mut().unwrap().remove("aliases");
    changed.as_object_mut().unwrap().remove("description");
    let form = page_form(&page, &changed, &[], &context);
    let pairs = submitted(&render_fields(&form.fields).to_string());
    assert!(!pairs.iter().any(|(name, _)| name == "enabled"));
    assert_eq!(values_from_form(&page, &pairs, &values), changed);
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

#[test]
fn portico_submitted_text_is_typed_by_the_schema() {
    let page = everything_page();
    let previous = json!({"secret": "old", "marker": "v1"});
    let values = values_from_form(
        &page,
        &pairs(&[
            ("name", "svc"),
            ("description", "a\r\nb"),
            ("secret", ""),
            ("count", "abc"),
            ("ratio", " 2.50 "),
            ("enabled", "true"),
            ("flavour", "a"),
            ("version", "1.21"),
            ("features", "z"),
            ("features", "x"),
            ("aliases", "first\r\n\r\n  second  \r\n"),
            ("ports", "8080\nhttp"),
            ("tags", "rust, web  rust,,api"),
            ("owner", "team-b"),
            ("system", "system:default/payments"),
            ("consumers", "group:team-a"),
            ("consumers", ""),
            ("consumers", "user:jane"),
            ("repoUrl[host]", "gitlab.com"),
            ("repoUrl[owner]", "acme corp"),
            ("repoUrl[repo]", "svc"),
            ("settings", "{not json"),
            ("deploy.region", "eu"),
            ("deploy.replicas", "3"),
        ]),
        &previous,
    );
    assert_eq!(
        values,
        json!({
            "marker": "v1",
            "name": "svc",
            "description": "a\nb",
            "count": "abc",
            "ratio": 2.5,
            "enabled": true,
            "flavour": "a",
            "version": 1.21,
            "features": ["x", "z"],
            "aliases": ["first", "second"],
            "ports": [8080, "http"],
            "tags": ["rust", "web", "api"],
            "owner": "group:default/team-b",
            "system": "system:default/payments",
            "consumers": ["group:default/team-a", "user:default/jane"],
            "repoUrl": "gitlab.com?owner=acme+corp&repo=svc",
            "settings": "{not json",
            "deploy": {"region": "eu", "replicas": 3},
        })
    );
    // Text that is no number stays, so validation names the problem.
    let errors = validate_values(&[page], &values).expect_err("invalid");
    let stacks: Vec<&str> = errors.iter().map(|error| error.stack.as_str()).collect();
    assert_eq!(
        stacks,
        [
            "instance.count is not of a type(s) integer",
            "instance.ports[1] is not of a type(s) integer",
            "instance.settings is not of a type(s) object",
        ]
    );
}

#[test]
fn portico_read_only_fields_keep_their_value_and_unknown_choices_are_kept_for_validation() {
    let page = json!({"properties": {
        "locked": {"type": "string", "ui:readonly": true, "default": "fixed"},
        "off": {"type": "boolean", "ui:disabled": true},
        "size": {"type": "string", "enum": ["s", "m"]},
    }});
    let values = values_from_form(
        &page,
        &pairs(&[("locked", "changed"), ("off", "true"), ("size", "xl")]),
        &json!({"off": false}),
    );
    assert_eq!(values, json!({"off": false, "locked": "fixed", "size": "xl"}));
    let errors = validate_values(&[page], &values).expect_err("invalid");
    assert_eq!(errors[0].stack, "instance.size is not one of enum values: s,m");
}

#[test]
fn portico_errors_land_on_their_fields_with_accessible_markup() {
    let page = json!({
        "required": ["name", "owner"],
        "properties": {
            "name": {"title": "Name", "type": "string", "minLength": 3, "description": "What to call it"},
            "owner": {"title": "Owner", "type": "string"},
            "deploy": {"type": "object", "required": ["region"], "properties": {"region": {"type": "string"}}},
        },
        "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
    });
    let values = json!({"name": "ab", "deploy": {}});
    let errors = validate_values(std::slice::from_ref(&page), &values).expect_err("invalid");
    let form = page_form(&page, &values, &errors, &FormContext::default());
    let field = |name: &str| form.fields.iter().find(|field| field.name == name).expect("field");
    assert_eq!(field("name").errors, ["Does not meet minimum length of 3"]);
    assert_eq!(field("owner").errors, ["This field is required."]);
    assert_eq!(field("deploy.region").errors, ["This field is required."]);
    assert_eq!(form.errors, ["instance is not exactly one from [subschema 0],[subschema 1]"]);
    assert_eq!(form.title, "Please enter the following information");

    let html = render_page(&form).to_string();
    assert!(html.starts_with(
        "<div class=\"form-page-errors\" role=\"alert\"><ul><li>instance is not exactly one from"
    ));
    assert!(html.contains("<div class=\"form-field form-field-text form-field-invalid\">"));
    assert!(
        html.contains(
            "aria-describedby=\"field-name-description field-name-errors\" aria-invalid=\"true\" required"
        ),
        "{html}"
    );
    assert!(html.contains("<ul class=\"form-errors\" id=\"field-name-errors\"><li class=\"form-error\">Does not meet minimum length of 3</li></ul>"));
}

#[test]
fn portico_hostile_template_text_is_escaped_everywhere() {
    let evil = "\"><script>alert(1)</script><b x='";
    let page = json!({
        "title": evil,
        "required": ["x\"<y"],
        "properties": {
            "x\"<y": {"title": evil, "description": evil, "ui:help": evil, "ui:placeholder": evil, "type": "string"},
            "pick": {"title": "Pick", "enum": ["<i>", "b"], "enumNames": [evil, "<img src=x onerror=alert(1)>"]},
            "flags": {"type": "array", "items": {"enum": [evil]}},
            "sys": {"type": "string", "ui:field": "EntityPicker", "ui:options": {"catalogFilter": {"kind": "System"}}},
            "notes": {"type": "string", "ui:widget": "textarea"},
            "repo": {"type": "string", "ui:field": "RepoUrlPicker", "ui:options": {"allowedHosts": [evil]}},
        }
    });
    let values = json!({"x\"<y": evil, "pick": "<i>", "flags": [evil], "sys": "system:default/x\"><script>", "notes": "</textarea><script>",
        "repo": "github.com?owner=%22%3E%3Cscript%3E&repo=x"});
    let catalog = catalog();
    let context = FormContext { catalog: Some(&catalog), ..FormContext::default() };
    let errors = validate_values(std::slice::from_ref(&page), &json!({})).expect_err("invalid");
    let mut form = page_form(&page, &values, &errors, &context);
    form.errors.push(evil.to_owned());
    let html = render_page(&form).to_string();
    for forbidden in ["<script", "<b ", "<img", "<svg", "<i>", "</textarea><script"] {
        assert!(!html.contains(forbidden), "{forbidden} in {html}");
    }
    assert!(html.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;b x=&#39;"));
    assert!(html.contains("name=\"x&quot;&lt;y\""));
    assert!(html.contains("Payments &lt;svg onload=alert(1)&gt;"));
    // Every attribute value is a quoted string without a raw quote inside: no attribute can end early.
    let tag = Regex::new(r"<[a-z]+(\s[^>]*)?>").unwrap();
    let attributes = Regex::new(r#"^(\s+[a-z-]+(="[^"<>]*")?)*$"#).unwrap();
    for found in tag.captures_iter(&html) {
        let text = found.get(1).map_or("", |m| m.as_str());
        assert!(attributes.is_match(text), "malformed attributes: {text}");
    }
}

#[test]
fn portico_one_of_dependencies_show_the_branch_for_the_chosen_value() {
    let page = json!({
        "title": "Kind",
        "required": ["kind"],
        "properties": {"kind": {"title": "Kind", "type": "string", "enum": ["library", "service"], "default": "library"}},
        "dependencies": {"kind": {"oneOf": [
            {"properties": {"kind": {"enum": ["library"]}, "registry": {"title": "Registry", "type": "string"}}},
            {"properties": {"kind": {"enum": ["service"]}, "port": {"title": "Port", "type": "integer"}},
             "required": ["port"]},
        ]}},
    });
    let names = |values: &Value| -> Vec<(String, bool)> {
        page_form(&page, values, &[], &FormContext::default())
            .fields
            .into_iter()
            .map(|field| (field.name, field.required))
            .collect()
    };
    // The default chooses the first branch before anything is submitted.
    assert_eq!(names(&json!({})), [("kind".to_owned(), true), ("registry".to_owned(), false)]);
    assert_eq!(names(&json!({"kind": "service"})), [("kind".to_owned(), true), ("port".to_owned(), true)]);

    // Switching the kind drops the library-only value; the service's port is asked next.
    let values =
        values_from_form(&page, &pairs(&[("kind", "service"), ("registry", "crates.io")]), &json!({}));
    assert_eq!(values, json!({"kind": "service"}));
    // The API's check words it as the library does; the form's own check names the field.
    let errors = validate_values(std::slice::from_ref(&page), &values).expect_err("port is required");
    let stacks: Vec<&str> = errors.iter().map(|error| error.stack.as_str()).collect();
    assert_eq!(
        stacks,
        [
            "instance does not meet dependency required by instance.kind",
            "instance.kind is not exactly one from [subschema 0],[subschema 1]",
        ]
    );
    let errors = validate_form(&page, &values);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].stack, "instance requires property \"port\"");
    let form = page_form(&page, &values, &errors, &FormContext::default());
    assert_eq!(form.fields[1].errors, ["This field is required."]);
    let values = values_from_form(&page, &pairs(&[("kind", "service"), ("port", "8080")]), &values);
    assert_eq!(values, json!({"kind": "service", "port": 8080}));
    assert_eq!(validate_values(&[page], &values), Ok(()));
}

#[test]
fn portico_if_then_else_inside_a_page_shows_fields_for_the_values() {
    let page = json!({
        "properties": {"public": {"title": "Public", "type": "boolean"}},
        "if": {"properties": {"public": {"const": true}}, "required": ["public"]},
        "then": {"properties": {"domain": {"type": "string"}}, "required": ["domain"]},
        "else": {"properties": {"network": {"type": "string"}}},
    });
    let names = |values: &Value| -> Vec<String> {
        page_form(&page, values, &[], &FormContext::default())
            .fields
            .into_iter()
            .map(|field| field.name)
            .collect()
    };
    assert_eq!(names(&json!({})), ["public", "network"]);
    assert_eq!(names(&json!({"public": true})), ["public", "domain"]);
    let values = values_from_form(&page, &pairs(&[("public", "true"), ("network", "internal")]), &json!({}));
    assert_eq!(values, json!({"public": true}));
    let errors = validate_values(&[page], &values).expect_err("domain is required");
    assert_eq!(errors[0].stack, "instance requires property \"domain\"");
}

#[test]
fn portico_review_rows_honour_masks_and_hidden_fields() {
    let pages = vec![
        json!({"properties": {
            "name": {"title": "Name", "type": "string"},
            "token": {"title": "Token", "type": "string", "ui:widget": "password"},
            "internal": {"type": "string", "ui:backstage": {"review": {"show": false}}},
            "pin": {"title": "PIN", "type": "string", "ui:backstage": {"review": {"mask": "<hidden>"}}},
            "size": {"title": "Size", "enum": ["s", "m"], "enumNames": ["Small", "Medium"]},
            "ci": {"title": "CI", "type": "boolean"},
            "tags": {"title": "Tags", "type": "array", "items": {"type": "string"}},
        }}),
        json!({"if": "${{ parameters.size === 'm' }}", "properties": {"extra": {"title": "Extra"}}}),
    ];
    let values = json!({"name": "svc", "token": "t0k3n", "internal": "x", "pin": "1234", "size": "s", "ci": false,
        "tags": ["a", "b"], "extra": "left over"});
    let row = |name: &str, label: &str, value: &str| ReviewRow {
        name: name.to_owned(),
        label: label.to_owned(),
        value: value.to_owned(),
    };
    assert_eq!(
        review_rows(&pages, &values),
        [
            row("name", "Name", "svc"),
            row("token", "Token", PASSWORD_MASK),
            row("pin", "PIN", "<hidden>"),
            row("size", "Size", "Small"),
            row("ci", "CI", "No"),
            row("tags", "Tags", "a, b"),
            // On a page whose condition does not hold, yet submitted all the same.
            row("extra", "extra", "left over"),
        ]
    );
}

#[test]
fn portico_custom_field_checks_match_backstages_form() {
    let page = json!({"properties": {
        "name": {"type": "string", "ui:field": "EntityNamePicker"},
        "repo": {"type": "string", "ui:field": "RepoUrlPicker"},
    }});
    let errors = validate_form(&page, &json!({"name": "-bad-", "repo": "github.com?owner=acme"}));
    let json = serde_json::to_value(&errors).unwrap();
    assert_eq!(
        json,
        json!([
            {"path": ["name"], "property": "instance.name",
             "message": "Must start and end with an alphanumeric character, and contain only alphanumeric characters, hyphens, underscores, and periods. Maximum length is 63 characters.",
             "schema": {"type": "string", "ui:field": "EntityNamePicker"}, "instance": "-bad-", "name": "EntityNamePicker",
             "stack": "instance.name Must start and end with an alphanumeric character, and contain only alphanumeric characters, hyphens, underscores, and periods. Maximum length is 63 characters."},
            {"path": ["repo"], "property": "instance.repo", "message": "Incomplete repository location provided",
             "schema": {"type": "string", "ui:field": "RepoUrlPicker"}, "instance": "github.com?owner=acme",
             "name": "RepoUrlPicker", "stack": "instance.repo Incomplete repository location provided"},
        ])
    );
    assert!(
        validate_form(&page, &json!({"name": "good.name", "repo": "github.com?owner=a&repo=b"})).is_empty()
    );
}

fn template_pages(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("template file");
    let mut documents = parse_documents(&text, &YamlLimits::default());
    let template = documents.remove(0).expect("template YAML").value;
    pages(&template["spec"]["parameters"])
}

fn template_files() -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/examples/templates");
    for root in [Path::new(DEMO_TEMPLATES).to_path_buf(), shared] {
        for entry in std::fs::read_dir(&root).into_iter().flatten() {
            let path = entry.expect("entry").path().join("template.yaml");
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn portico_every_demo_template_page_makes_a_sensible_form() {
    let files = template_files();
    assert!(files.len() >= 6, "{files:?}");
    let catalog = catalog();
    let hosts = vec!["github.com".to_owned()];
    let context = FormContext { catalog: Some(&catalog), scm_hosts: &hosts, ..FormContext::default() };
    for file in &files {
        let pages = template_pages(file);
        assert!(!pages.is_empty(), "{} has pages", file.display());
        for page in &pages {
            let form = page_form(page, &json!({}), &[], &context);
            assert!(!form.fields.is_empty(), "{}: {}", file.display(), form.title);
            for field in &form.fields {
                assert!(!field.label.is_empty() && !field.name.is_empty(), "{}: {field:?}", file.display());
            }
            let html = render_fields(&form.fields).to_string();
            // Submitting the untouched form yields the defaults and validates like the API does.
            let values = values_from_form(page, &submitted(&html), &json!({}));
            let result = validate_values(std::slice::from_ref(page), &values);
            for error in result.err().unwrap_or_default() {
                assert_eq!(error.name, "required", "{}: {}", file.display(), error.stack);
            }
        }
    }
}

#[test]
fn portico_demo_templates_keep_backstages_meaning() {
    let demo = Path::new(DEMO_TEMPLATES);
    let pages = template_pages(&demo.join("create-react-app/template.yaml"));
    let catalog = catalog();
    let context = FormContext { catalog: Some(&catalog), ..FormContext::default() };
    let form = page_form(&pages[0], &json!({}), &[], &context);
    let owner = form.fields.iter().find(|field| field.name == "owner").expect("owner");
    let Widget::Entity { options, default_kind, allow_arbitrary: true, multiple: false, .. } = &owner.widget
    else {
        panic!("owner picker: {:?}", owner.widget)
    };
    assert_eq!(default_kind.as_deref(), Some("Group"));
    assert_eq!(
        options,
        &[
            PickerOption { entity_ref: "group:default/team-a".into(), title: Some("Team A".into()) },
            PickerOption { entity_ref: "group:default/team-b".into(), title: None },
        ]
    );
    let form = page_form(&pages[1], &json!({}), &[], &context);
    assert_eq!(
        form.fields[0].widget,
        Widget::RepoUrl { hosts: vec!["github.com".into()], owners: vec![], repos: vec![] }
    );
    let values = values_from_form(
        &pages[1],
        &pairs(&[("repoUrl[host]", "github.com"), ("repoUrl[owner]", "acme"), ("repoUrl[repo]", "web")]),
        &json!({"component_id": "web", "owner": "group:default/team-a"}),
    );
    assert_eq!(values["repoUrl"], "github.com?owner=acme&repo=web");
    assert_eq!(validate_values(&pages, &values), Ok(()));

    let pages = template_pages(&demo.join("conditional-parameters-demo/template.yaml"));
    assert_eq!(
        validate_values(&pages, &json!({"name": "x", "cloudProvider": "GCP", "gcpProjectId": "p"})),
        Ok(())
    );
    let errors =
        validate_values(&pages, &json!({"name": "x", "cloudProvider": "AWS"})).expect_err("AWS page");
    assert_eq!(errors[0].stack, "instance requires property \"awsRegion\"");
    let errors = validate_values(
        &pages,
        &json!({"name": "x", "cloudProvider": "Azure", "azureSubscriptionId": "s", "enableMonitoring": true,
            "alertEmail": "not-an-email", "alertThreshold": 20}),
    )
    .expect_err("monitoring page");
    let stacks: Vec<&str> = errors.iter().map(|error| error.stack.as_str()).collect();
    assert_eq!(
        stacks,
        [
            "instance.alertEmail does not conform to the \"email\" format",
            "instance.alertThreshold must be greater than or equal to 50"
        ]
    );

    let pages = template_pages(&demo.join("gin-golan-template/template.yaml"));
    let form = page_form(&pages[0], &json!({}), &[], &context);
    let version = form.fields.iter().find(|field| field.name == "go_version").expect("go_version");
    assert_eq!(version.value, Some(json!(1.23)));
    let values = values_from_form(&pages[0], &pairs(&[("go_version", "1.22")]), &json!({}));
    assert_eq!(values["go_version"], json!(1.22));
}
