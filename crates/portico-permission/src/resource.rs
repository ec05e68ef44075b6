//! What a resource permission is checked against, and how each resource becomes Cedar entities.

use cedar_policy::{Entity, EntityTypeName, EntityUid, RestrictedExpression};
use portico_model::entity_ref::canonical_ref;
use portico_model::{DEFAULT_NAMESPACE, EntityRef, RefDefaults};
use serde_json::Value;

use crate::slice::Needs;
use crate::vocabulary::{TYPES, uid};

/// A resource, as the plugin that checks a permission has it at hand.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// A catalog entity (any kind) as the catalog serves it; a Template entity for
    /// `scaffolder.task.create`; the entity being unregistered for `catalog.location.delete`.
    Entity(&'a Value),
    /// A parameter page (an element of `spec.parameters`) or a step (`spec.steps`) of a template.
    TemplatePart { template: &'a Value, part: &'a Value },
    /// The action `id` a step of `template` is about to run.
    Action { id: &'a str, template: &'a Value },
    /// A scaffolder task as the API serves it: `id`, `createdBy`, `spec.templateInfo.entityRef`.
    Task(&'a Value),
}

impl Resource<'_> {
    /// The Cedar entity type this resource becomes.
    pub(crate) fn type_name(&self) -> &'static EntityTypeName {
        match self {
            Resource::Entity(_) => &TYPES.entity,
            Resource::TemplatePart { .. } => &TYPES.template_part,
            Resource::Action { .. } => &TYPES.scaffolder_action,
            Resource::Task(_) => &TYPES.task,
        }
    }

    /// What the policies get to see of the resource: a catalog entity is reduced to what `needs`
    /// says the policies read; the other resources are small and become all their entities.
    pub(crate) fn describe(&self, needs: &Needs) -> Result<Described, String> {
        match *self {
            Resource::Entity(entity) => EntityProjection::of(entity, needs).map(Described::Entity),
            Resource::TemplatePart { template, part } => {
                let template = EntityProjection::of(template, &Needs::everything())?.to_entity()?;
                let index = part_identity(part);
                let part_uid =
                    uid(&TYPES.template_part, &format!("{}#{index}", template.uid().id().unescaped()));
                let mut attributes = vec![
                    ("template".to_owned(), RestrictedExpression::new_entity_uid(template.uid())),
                    ("tags".to_owned(), string_set(permission_tags(part))),
                ];
                for (attribute, key) in [("id", "id"), ("action", "action")] {
                    if let Some(value) = part.get(key).and_then(Value::as_str) {
                        attributes
                            .push((attribute.to_owned(), RestrictedExpression::new_string(value.to_owned())));
                    }
                }
                let part = new_entity(part_uid.clone(), attributes, Vec::new())?;
                Ok(Described::Entities(part_uid, vec![part, template]))
            }
            Resource::Action { id, template } => {
                let template = EntityProjection::of(template, &Needs::everything())?.to_entity()?;
                let action_uid = uid(&TYPES.scaffolder_action, id);
                let attributes = vec![
                    ("id".to_owned(), RestrictedExpression::new_string(id.to_owned())),
                    ("template".to_owned(), RestrictedExpression::new_entity_uid(template.uid())),
                ];
                let action = new_entity(action_uid.clone(), attributes, Vec::new())?;
                Ok(Described::Entities(action_uid, vec![action, template]))
            }
            Resource::Task(task) => {
                let id = task.get("id").and_then(Value::as_str).ok_or("the task has no id")?;
                let task_uid = uid(&TYPES.task, id);
                let mut attributes = vec![("id".to_owned(), RestrictedExpression::new_string(id.to_owned()))];
                if let Some(created_by) = task.get("createdBy").and_then(Value::as_str) {
                    attributes.push(("created_by".to_owned(), lower_string(created_by)));
                }
                let template_ref = task.pointer("/spec/templateInfo/entityRef").and_then(Value::as_str);
                if let Some(template_ref) = template_ref {
                    attributes.push(("template".to_owned(), lower_string(template_ref)));
                }
                let task = new_entity(task_uid.clone(), attributes, Vec::new())?;
                Ok(Described::Entities(task_uid, vec![task]))
            }
        }
    }
}

/// A resource as policies get to see it.
pub(crate) enum Described {
    /// A catalog entity, reduced to what the policies read.
    Entity(EntityProjection),
    /// The resource's uid and its entities: itself first, then those its attributes refer to.
    Entities(EntityUid, Vec<Entity>),
}

/// What policies read of a catalog entity. Two entities with equal projections get the same
/// decision, which is what lets a list be filtered with one Cedar evaluation per projection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct EntityProjection {
    /// The entity's ref, kept only when policies look at which entity it is.
    reference: Option<String>,
    attributes: Vec<(&'static str, AttributeValue)>,
    /// Annotations, when policies read Cedar tags.
    annotations: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AttributeValue {
    Text(String),
    /// Sorted, so that equal sets project equally.
    Set(Vec<String>),
}

impl EntityProjection {
    /// Reads the attributes `needs` asks for (see the schema's `Portico::Entity`).
    pub(crate) fn of(entity: &Value, needs: &Needs) -> Result<EntityProjection, String> {
        let kind = entity.get("kind").and_then(Value::as_str).ok_or("the entity has no kind")?;
        let metadata = entity.get("metadata").unwrap_or(&Value::Null);
        let name = metadata.get("name").and_then(Value::as_str).ok_or("the entity has no metadata.name")?;
        let namespace = metadata
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|ns| !ns.is_empty())
            .unwrap_or(DEFAULT_NAMESPACE);
        let spec = entity.get("spec").unwrap_or(&Value::Null);
        let reference = || canonical_ref(kind, namespace, name);
        let mut attributes = Vec::new();
        if needs.attribute("ref") {
            attributes.push(("ref", AttributeValue::Text(reference())));
        }
        for (attribute, value) in [("kind", kind), ("namespace", namespace), ("name", name)] {
            if needs.attribute(attribute) {
                attributes.push((attribute, AttributeValue::Text(value.to_lowercase())));
            }
        }
        if needs.attribute("labels") {
            attributes.push(("labels", sorted_set(labels(metadata))));
        }
        if needs.attribute("tags") {
            attributes.push(("tags", sorted_set(strings(metadata.get("tags")))));
        }
        if needs.attribute("owner")
            && let Some(owner) = spec.get("owner").and_then(Value::as_str)
        {
            let defaults = RefDefaults { kind: Some("group"), namespace: Some(namespace) };
            // An owner that is not a valid ref stays as written, so it matches nothing by accident.
            let owner =
                EntityRef::parse(owner, defaults).map_or_else(|_| owner.to_lowercase(), |r| r.canonical());
            attributes.push(("owner", AttributeValue::Text(owner)));
        }
        for attribute in ["lifecycle", "type"] {
            if needs.attribute(attribute)
                && let Some(value) = spec.get(attribute).and_then(Value::as_str)
            {
                attributes.push((attribute, AttributeValue::Text(value.to_owned())));
            }
        }
        let mut annotations = Vec::new();
        if needs.tags {
            let all = metadata.get("annotations").and_then(Value::as_object).into_iter().flatten();
            annotations.extend(
                all.filter_map(|(key, value)| value.as_str().map(|value| (key.clone(), value.to_owned()))),
            );
        }
        let reference = needs.identity.then(reference);
        Ok(EntityProjection { reference, attributes, annotations })
    }

    /// The `Portico::Entity`. Without a kept ref, its id is empty: no policy looks at it.
    pub(crate) fn to_entity(&self) -> Result<Entity, String> {
        let attributes = self
            .attributes
            .iter()
            .map(|(attribute, value)| {
                let value = match value {
                    AttributeValue::Text(text) => RestrictedExpression::new_string(text.clone()),
                    AttributeValue::Set(items) => string_set(items.iter().cloned()),
                };
                ((*attribute).to_owned(), value)
            })
            .collect();
        let tags = self
            .annotations
            .iter()
            .map(|(key, value)| (key.clone(), RestrictedExpression::new_string(value.clone())))
            .collect();
        new_entity(uid(&TYPES.entity, self.reference.as_deref().unwrap_or_default()), attributes, tags)
    }
}

fn sorted_set(items: impl Iterator<Item = String>) -> AttributeValue {
    let mut items: Vec<String> = items.collect();
    items.sort_unstable();
    items.dedup();
    AttributeValue::Set(items)
}

fn new_entity(
    uid: EntityUid,
    attributes: Vec<(String, RestrictedExpression)>,
    tags: Vec<(String, RestrictedExpression)>,
) -> Result<Entity, String> {
    Entity::new_with_tags(uid, attributes, [], tags).map_err(|e| format!("cannot describe a resource: {e}"))
}

fn lower_string(text: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(text.to_lowercase())
}

fn string_set(values: impl IntoIterator<Item = String>) -> RestrictedExpression {
    RestrictedExpression::new_set(values.into_iter().map(RestrictedExpression::new_string))
}

/// The string elements of a JSON array.
fn strings(value: Option<&Value>) -> impl Iterator<Item = String> + '_ {
    value.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_owned)
}

/// `metadata.labels` as `key=value` strings.
fn labels(metadata: &Value) -> impl Iterator<Item = String> + '_ {
    let labels = metadata.get("labels").and_then(Value::as_object).into_iter().flatten();
    labels.filter_map(|(key, value)| value.as_str().map(|value| format!("{key}={value}")))
}

/// A page's or step's `backstage:permissions.tags`.
fn permission_tags(part: &Value) -> impl Iterator<Item = String> + '_ {
    strings(part.pointer("/backstage:permissions/tags"))
}

/// What tells a part apart within its template: a step's id, else its title, else `part`.
fn part_identity(part: &Value) -> &str {
    ["id", "title"].into_iter().find_map(|key| part.get(key).and_then(Value::as_str)).unwrap_or("part")
}
