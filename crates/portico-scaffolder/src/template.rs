//! What the scaffolder reads off a Template entity: its parameter pages, where its files are
//! (the base URL relative `fetch:*` urls resolve against), and the actions its steps use.

use serde_json::{Value, json};

use crate::parameters::{self, DEFAULT_PAGE_TITLE};

/// The annotation naming a template's source folder.
const SOURCE_LOCATION: &str = "backstage.io/source-location";
/// The annotation naming the location a template was read from.
const MANAGED_BY_LOCATION: &str = "backstage.io/managed-by-location";

/// The template's parameter pages (see [`parameters::pages`]).
pub fn parameter_pages(template: &Value) -> Vec<Value> {
    template.pointer("/spec/parameters").map(parameters::pages).unwrap_or_default()
}

/// `GET /v2/templates/.../parameter-schema`'s body: `{title, description, steps: [{title,
/// description?, schema}], presentation?, formDecorators?}`, each step's schema the whole
/// page object.
pub fn parameter_schema(template: &Value) -> Value {
    let metadata = template.get("metadata");
    let title =
        metadata.and_then(|m| m.get("title").or_else(|| m.get("name"))).cloned().unwrap_or(Value::Null);
    let steps: Vec<Value> = parameter_pages(template)
        .into_iter()
        .map(|page| {
            let mut step = serde_json::Map::new();
            step.insert(
                "title".into(),
                page.get("title").cloned().unwrap_or_else(|| json!(DEFAULT_PAGE_TITLE)),
            );
            if let Some(description) = page.get("description") {
                step.insert("description".into(), description.clone());
            }
            step.insert("schema".into(), page);
            Value::Object(step)
        })
        .collect();
    let mut body = serde_json::Map::new();
    body.insert("title".into(), title);
    body.insert(
        "description".into(),
        metadata.and_then(|m| m.get("description")).cloned().unwrap_or(Value::Null),
    );
    if let Some(options) = template.pointer("/spec/ui:options") {
        body.insert("ui:options".into(), options.clone());
    }
    if let Some(presentation) = template.pointer("/spec/presentation") {
        body.insert("presentation".into(), presentation.clone());
    }
    body.insert("steps".into(), Value::Array(steps));
    let decorators = template
        .pointer("/spec/formDecorators")
        .or_else(|| template.pointer("/spec/EXPERIMENTAL_formDecorators"));
    if let Some(decorators) = decorators {
        body.insert("formDecorators".into(), decorators.clone());
    }
    Value::Object(body)
}

/// The base URL of the template's files: the target of `backstage.io/source-location`, else
/// of `backstage.io/managed-by-location`; a `url:` target as written, a `file:` target as a
/// `file://` URL of the file. Other location types give none.
pub fn base_url(template: &Value) -> Option<String> {
    let annotations = template.pointer("/metadata/annotations")?;
    let location = annotations
        .get(SOURCE_LOCATION)
        .or_else(|| annotations.get(MANAGED_BY_LOCATION))
        .and_then(Value::as_str)?;
    let (kind, target) = location.split_once(':')?;
    match kind {
        "url" => Some(target.to_owned()),
        "file" => url::Url::from_file_path(target).ok().map(|url| url.to_string()),
        _ => None,
    }
}

/// The action ids of the template's steps, in order, each once.
pub fn step_actions(template: &Value) -> Vec<String> {
    let mut actions: Vec<String> = Vec::new();
    for step in template.pointer("/spec/steps").and_then(Value::as_array).into_iter().flatten() {
        if let Some(action) = step.get("action").and_then(Value::as_str)
            && !actions.iter().any(|known| known == action)
        {
            actions.push(action.to_owned());
        }
    }
    actions
}

/// The schema of the request secrets: `spec.secrets.schema`, or a schema put directly at
/// `spec.secrets` (one of Backstage's own fixtures does that).
pub fn secrets_schema(template: &Value) -> Option<&Value> {
    let secrets = template.pointer("/spec/secrets")?;
    Some(secrets.get("schema").unwrap_or(secrets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_parameter_object_is_one_page() {
        let template = json!({"spec": {"parameters": {"properties": {"name": {"type": "string"}}}}});
        assert_eq!(parameter_pages(&template).len(), 1);
        let schema = parameter_schema(&template);
        assert_eq!(schema["steps"][0]["title"], DEFAULT_PAGE_TITLE);
    }

    #[test]
    fn the_base_url_comes_from_the_source_or_managing_location() {
        let template = |annotations: Value| json!({"metadata": {"annotations": annotations}});
        assert_eq!(
            base_url(&template(json!({MANAGED_BY_LOCATION: "file:/srv/templates/a/template.yaml"}))),
            Some("file:///srv/templates/a/template.yaml".to_owned())
        );
        assert_eq!(
            base_url(&template(json!({
                MANAGED_BY_LOCATION: "file:/srv/t.yaml",
                SOURCE_LOCATION: "url:https://git.example.com/t/",
            }))),
            Some("https://git.example.com/t/".to_owned())
        );
        assert_eq!(base_url(&template(json!({MANAGED_BY_LOCATION: "bitbucket:x"}))), None);
    }
}
