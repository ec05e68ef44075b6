//! `catalog:register`, `catalog:write` and `catalog:fetch`: the software catalog from a template.

use std::sync::Arc;

use async_trait::async_trait;
use portico_model::{EntityRef, RefDefaults};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter};

use super::{blocking, parse_input};
use crate::api::{Action, ActionContext, ActionError, ActionSchema, AddLocationOptions, CatalogClient};

/// The annotation `catalog:write` records the template in.
const SOURCE_TEMPLATE_ANNOTATION: &str = "backstage.io/source-template";

fn catalog_of(ctx: &ActionContext, id: &str) -> Result<Arc<dyn CatalogClient>, ActionError> {
    ctx.services.catalog.clone().ok_or_else(|| {
        ActionError::Failed(format!("{id} needs the software catalog, which is not available here"))
    })
}

/// `stringifyEntityRef`: kind and namespace lower-cased, the name as written.
fn stringify_ref(kind: &str, namespace: &str, name: &str) -> String {
    format!("{}:{}/{name}", kind.to_lowercase(), namespace.to_lowercase())
}

/// `catalog:register`: registers a catalog descriptor URL as a location.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogRegisterAction;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterInput {
    catalog_info_url: Option<String>,
    repo_contents_url: Option<String>,
    catalog_info_path: Option<String>,
    #[serde(default)]
    optional: bool,
}

/// The descriptor URL below a repository contents URL: a path is taken from the repository
/// root (as Backstage's SCM integrations resolve `/catalog-info.yaml`), keeping the base's query;
/// an absolute URL is used as is.
fn catalog_info_url(repo_contents_url: &str, path: &str) -> Result<String, ActionError> {
    if url::Url::parse(path).is_ok() {
        return Ok(path.to_owned());
    }
    let mut url = url::Url::parse(repo_contents_url).map_err(|error| {
        ActionError::Input(format!("Invalid repoContentsUrl {repo_contents_url}: {error}"))
    })?;
    let relative = path.trim_start_matches("./").trim_start_matches('/');
    let joined = format!("{}/{relative}", url.path().trim_end_matches('/'));
    url.set_path(&joined);
    Ok(url.to_string())
}

/// The entity `catalog:register` reports: a Component not named `generated-*`, else any entity
/// not so named, else the first.
fn preferred_entity(entities: &[Value]) -> Option<&Value> {
    let generated = |entity: &&Value| {
        entity
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .is_some_and(|name| name.starts_with("generated-"))
    };
    entities
        .iter()
        .find(|entity| !generated(entity) && entity.get("kind").and_then(Value::as_str) == Some("Component"))
        .or_else(|| entities.iter().find(|entity| !generated(entity)))
        .or_else(|| entities.first())
}

#[async_trait]
impl Action for CatalogRegisterAction {
    fn id(&self) -> &str {
        "catalog:register"
    }

    fn description(&self) -> &str {
        "Registers entities from a catalog descriptor file in the workspace into the software catalog."
    }

    fn schema(&self) -> ActionSchema {
        let optional = json!({"title": "Optional", "type": "boolean",
            "description": "Permit the registered location to optionally exist. Default: false"});
        ActionSchema {
            input: json!({
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["catalogInfoUrl"],
                        "properties": {
                            "catalogInfoUrl": {"title": "Catalog Info URL", "type": "string",
                                "description": "An absolute URL pointing to the catalog info file location"},
                            "optional": optional,
                        },
                    },
                    {
                        "type": "object",
                        "required": ["repoContentsUrl"],
                        "properties": {
                            "repoContentsUrl": {"title": "Repository Contents URL", "type": "string",
                                "description": "An absolute URL pointing to the root of a repository directory tree"},
                            "catalogInfoPath": {"title": "Fetch URL", "type": "string",
                                "description": "A relative path from the repo root pointing to the catalog info file, defaults to /catalog-info.yaml"},
                            "optional": optional,
                        },
                    },
                ],
            }),
            output: json!({
                "type": "object",
                "properties": {
                    "entityRef": {"type": "string", "examples": ["component:default/my-service"]},
                    "catalogInfoUrl": {"type": "string",
                        "examples": ["https://git.example.com/acme/my-service/tree/main/catalog-info.yaml"]},
                },
            }),
        }
    }

    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        if ctx.dry_run {
            return Err(ActionError::NotSupported(format!("{} does not support dry-run", self.id())));
        }
        let input: RegisterInput = parse_input(self.id(), &ctx.input)?;
        let url = match (&input.catalog_info_url, &input.repo_contents_url) {
            (Some(url), _) => url.clone(),
            (None, Some(base)) => {
                catalog_info_url(base, input.catalog_info_path.as_deref().unwrap_or("/catalog-info.yaml"))?
            }
            (None, None) => {
                return Err(ActionError::Input(
                    "Invalid input passed to action catalog:register, requires property \"catalogInfoUrl\" or \"repoContentsUrl\""
                        .to_owned(),
                ));
            }
        };
        let catalog = catalog_of(ctx, self.id())?;
        let caller = ctx.user_ref().map(str::to_owned);
        ctx.logger.info(format!("Registering {url} in the catalog"));
        let register = AddLocationOptions { dry_run: false, on_behalf_of: caller.clone() };
        if let Err(error) = catalog.add_location(&url, register).await {
            // An optional registration may already exist, or its file may be missing.
            if !input.optional {
                return Err(error.into());
            }
            ctx.logger.warn(format!("Could not register {url}, carrying on as it is optional: {error}"));
        }
        // A dry run reads the entities even when the location was registered before.
        let read = AddLocationOptions { dry_run: true, on_behalf_of: caller };
        match catalog.add_location(&url, read).await {
            Ok(entities) => {
                if let Some(entity_ref) = preferred_entity(&entities).and_then(EntityRef::from_entity) {
                    let entity_ref = stringify_ref(&entity_ref.kind, &entity_ref.namespace, &entity_ref.name);
                    ctx.output("entityRef", Value::String(entity_ref));
                }
            }
            Err(error) if input.optional => {
                ctx.logger.warn(format!("Could not read the entities of {url}: {error}"));
            }
            Err(error) => return Err(error.into()),
        }
        ctx.output("catalogInfoUrl", Value::String(url));
        Ok(())
    }
}

/// `catalog:write`: writes an entity as YAML into the workspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogWriteAction;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WriteInput {
    file_path: Option<String>,
    entity: Map<String, Value>,
}

/// JSON as a YAML node (key order kept).
fn to_yaml(value: &Value) -> Yaml {
    match value {
        Value::Null => Yaml::Null,
        Value::Bool(flag) => Yaml::Boolean(*flag),
        Value::Number(number) => match number.as_i64() {
            Some(integer) => Yaml::Integer(integer),
            None => Yaml::Real(number.to_string()),
        },
        Value::String(text) => Yaml::String(text.clone()),
        Value::Array(items) => Yaml::Array(items.iter().map(to_yaml).collect()),
        Value::Object(entries) => {
            let mut hash = Hash::new();
            for (key, item) in entries {
                hash.insert(Yaml::String(key.clone()), to_yaml(item));
            }
            Yaml::Hash(hash)
        }
    }
}

/// A YAML document of `value`, without the `---` marker, ending in a newline.
fn yaml_text(value: &Value) -> Result<String, ActionError> {
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    emitter.multiline_strings(true);
    emitter
        .dump(&to_yaml(value))
        .map_err(|error| ActionError::Failed(format!("Could not write YAML: {error}")))?;
    let body = out.strip_prefix("---\n").or_else(|| out.strip_prefix("---")).unwrap_or(&out).trim_start();
    Ok(format!("{body}\n"))
}

/// The entity with `backstage.io/source-template` set to the template's reference.
fn with_source_template(mut entity: Map<String, Value>, template_ref: Option<&str>) -> Map<String, Value> {
    let Some(template_ref) = template_ref else {
        return entity;
    };
    if let Some(Value::Object(metadata)) = entity.get_mut("metadata") {
        let annotations = metadata.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(annotations) = annotations {
            annotations.insert(SOURCE_TEMPLATE_ANNOTATION.to_owned(), Value::String(template_ref.to_owned()));
        }
    }
    entity
}

#[async_trait]
impl Action for CatalogWriteAction {
    fn id(&self) -> &str {
        "catalog:write"
    }

    fn description(&self) -> &str {
        "Writes the catalog-info.yaml for your template"
    }

    fn schema(&self) -> ActionSchema {
        ActionSchema {
            input: json!({
                "type": "object",
                "required": ["entity"],
                "properties": {
                    "filePath": {"title": "Catalog file path", "type": "string",
                        "description": "Defaults to catalog-info.yaml"},
                    "entity": {"title": "Entity info to write catalog-info.yaml", "type": "object",
                        "description": "You can provide the same values used in the Entity schema."},
                },
            }),
            output: json!({"type": "object", "properties": {}}),
        }
    }

    fn supports_dry_run(&self) -> bool {
        true
    }

    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let input: WriteInput = parse_input(self.id(), &ctx.input)?;
        let file_path = input.file_path.unwrap_or_else(|| "catalog-info.yaml".to_owned());
        ctx.logger.info(format!("Writing {file_path}"));
        let entity = with_source_template(input.entity, ctx.template_info.entity_ref.as_deref());
        let text = yaml_text(&Value::Object(entity))?;
        let path = ctx.workspace.resolve(&file_path)?;
        let workspace = ctx.workspace.clone();
        blocking(move || Ok(workspace.write_file(&path, text.as_bytes(), None)?)).await
    }
}

/// `catalog:fetch`: reads entities from the catalog by reference.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogFetchAction;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FetchInput {
    entity_ref: Option<String>,
    entity_refs: Option<Vec<String>>,
    #[serde(default)]
    optional: bool,
    default_kind: Option<String>,
    default_namespace: Option<String>,
}

impl FetchInput {
    /// `parseEntityRef` with the step's defaults, then `stringifyEntityRef`.
    fn full_ref(&self, reference: &str) -> Result<String, ActionError> {
        let defaults =
            RefDefaults { kind: self.default_kind.as_deref(), namespace: self.default_namespace.as_deref() };
        let parsed =
            EntityRef::parse(reference, defaults).map_err(|error| ActionError::Input(error.message))?;
        Ok(stringify_ref(&parsed.kind, &parsed.namespace, &parsed.name))
    }
}

#[async_trait]
impl Action for CatalogFetchAction {
    fn id(&self) -> &str {
        "catalog:fetch"
    }

    fn description(&self) -> &str {
        "Returns entity or entities from the catalog by entity reference(s)"
    }

    fn schema(&self) -> ActionSchema {
        ActionSchema {
            input: json!({
                "type": "object",
                "properties": {
                    "entityRef": {"type": "string", "description": "Entity reference of the entity to get"},
                    "entityRefs": {"type": "array", "items": {"type": "string"},
                        "description": "Entity references of the entities to get"},
                    "optional": {"type": "boolean",
                        "description": "Allow the entity or entities to optionally exist. Default: false"},
                    "defaultKind": {"type": "string", "description": "The default kind"},
                    "defaultNamespace": {"type": "string", "description": "The default namespace"},
                },
            }),
            output: json!({
                "type": "object",
                "properties": {
                    "entity": {"description": "Object containing same values used in the Entity schema. Only when used with `entityRef` parameter."},
                    "entities": {"type": "array", "items": {},
                        "description": "Array containing objects with same values used in the Entity schema. Only when used with `entityRefs` parameter."},
                },
            }),
        }
    }

    fn supports_dry_run(&self) -> bool {
        true
    }

    async fn handle(&self, ctx: &mut ActionContext) -> Result<(), ActionError> {
        let input: FetchInput = parse_input(self.id(), &ctx.input)?;
        let entity_ref = input.entity_ref.clone().filter(|reference| !reference.is_empty());
        if entity_ref.is_none() && input.entity_refs.is_none() {
            if input.optional {
                return Ok(());
            }
            return Err(ActionError::Input("Missing entity reference or references".to_owned()));
        }
        let catalog = catalog_of(ctx, self.id())?;
        if let Some(reference) = entity_ref {
            let entity = catalog.get_entity_by_ref(&input.full_ref(&reference)?, &ctx.access).await?;
            if entity.is_none() && !input.optional {
                return Err(ActionError::NotFound(format!("Entity {reference} not found")));
            }
            ctx.output("entity", entity.unwrap_or(Value::Null));
        }
        if let Some(references) = &input.entity_refs {
            let full = references
                .iter()
                .map(|reference| input.full_ref(reference))
                .collect::<Result<Vec<_>, _>>()?;
            let found = catalog.get_entities_by_refs(&full, &ctx.access).await?;
            let mut entities = Vec::with_capacity(references.len());
            for (index, reference) in references.iter().enumerate() {
                match found.get(index).cloned().flatten() {
                    Some(entity) => entities.push(entity),
                    None if input.optional => entities.push(Value::Null),
                    None => return Err(ActionError::NotFound(format!("Entity {reference} not found"))),
                }
            }
            ctx.output("entities", Value::Array(entities));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_info_url_joins_from_the_repository_root() {
        assert_eq!(
            catalog_info_url("https://git.example.com/acme/svc/tree/main", "/catalog-info.yaml").unwrap(),
            "https://git.example.com/acme/svc/tree/main/catalog-info.yaml"
        );
        assert_eq!(
            catalog_info_url("https://git.example.com/acme/svc/tree/main/", "sub/catalog-info.yaml").unwrap(),
            "https://git.example.com/acme/svc/tree/main/sub/catalog-info.yaml"
        );
        assert_eq!(
            catalog_info_url("file:///srv/git/svc.git?ref=main", "/catalog-info.yaml").unwrap(),
            "file:///srv/git/svc.git/catalog-info.yaml?ref=main"
        );
        assert_eq!(
            catalog_info_url("https://a.example.com/x", "https://b.example.com/c.yaml").unwrap(),
            "https://b.example.com/c.yaml"
        );
    }

    #[test]
    fn preferred_entity_is_a_real_component() {
        let entities = vec![
            json!({"kind": "Location", "metadata": {"name": "generated-abc"}}),
            json!({"kind": "API", "metadata": {"name": "svc-api"}}),
            json!({"kind": "Component", "metadata": {"name": "svc"}}),
        ];
        assert_eq!(preferred_entity(&entities).unwrap()["metadata"]["name"], "svc");
        assert_eq!(preferred_entity(&entities[..2]).unwrap()["metadata"]["name"], "svc-api");
        assert_eq!(preferred_entity(&entities[..1]).unwrap()["metadata"]["name"], "generated-abc");
    }

    #[test]
    fn yaml_text_keeps_order_and_types() {
        let value = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {"name": "svc", "tags": ["a", "b"]}, "spec": {"port": 8080, "ratio": 1.5, "on": true}});
        let text = yaml_text(&value).unwrap();
        assert!(
            text.starts_with("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n"),
            "{text}"
        );
        assert!(text.ends_with('\n'));
        let parsed = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
        assert_eq!(parsed[0]["spec"]["port"].as_i64(), Some(8080));
        assert_eq!(parsed[0]["spec"]["ratio"].as_f64(), Some(1.5));
        assert_eq!(parsed[0]["metadata"]["tags"][1].as_str(), Some("b"));
    }
}
