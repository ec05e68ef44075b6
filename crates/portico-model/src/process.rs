//! Processing one entity: envelope → policies → kind validation → relations, in the order and
//! with the error messages of Backstage's `DefaultCatalogProcessingOrchestrator`.

use serde_json::{Map, Value};

use crate::entity_ref::{DEFAULT_NAMESPACE, canonical_ref};
use crate::error::names;
use crate::kinds::{self, KindDef};
use crate::schema::{ENTITY_SCHEMA, ENVELOPE_SCHEMA};
use crate::{Relation, SerializedError};

pub use crate::kinds::kind_is_known;

/// The root keys an ingested entity may have (`NoForeignRootFieldsEntityPolicy`).
const KNOWN_ROOT_FIELDS: [&str; 4] = ["apiVersion", "kind", "metadata", "spec"];

/// An entity that passed every check, with the relations it emits (both directions).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedEntity {
    /// The entity with `metadata.namespace` defaulted.
    pub entity: Value,
    /// Canonical ref of the entity.
    pub entity_ref: String,
    /// Relations emitted by the entity's kind: forward and reverse, deduplicated.
    pub relations: Vec<Relation>,
}

/// Checks the envelope schema (`apiVersion`, `kind`, `metadata.name`, …). The error is ajv's
/// `TypeError`, e.g. `<root> must be object - type: object`.
pub fn validate_envelope(entity: &Value) -> Result<(), SerializedError> {
    match ENVELOPE_SCHEMA.validate(entity) {
        None => Ok(()),
        Some(error) => Err(SerializedError::type_error(error.with_params())),
    }
}

/// Runs every model check on an entity whose placeholders are already resolved (and whose
/// location annotations are already set), returning the processed entity or the error
/// Backstage would record for it.
pub fn process_entity(entity: Value) -> Result<ProcessedEntity, SerializedError> {
    if let Err(cause) = validate_envelope(&entity) {
        return Err(SerializedError::wrapping(
            names::INPUT_ERROR,
            "Entity envelope failed validation before processing",
            cause,
        ));
    }
    let entity_ref = loose_ref(&entity);

    let entity = apply_policies(entity).map_err(|message| {
        SerializedError::wrapping(
            names::INPUT_ERROR,
            format!("Policy check failed for {entity_ref}"),
            SerializedError::error(message),
        )
    })?;

    // Backstage validates the full entity schema again here ("Entity envelope for <ref> failed
    // validation after preprocessing"); the schema-valid policy above already checked the same
    // schema and the namespace default cannot break it, so that check cannot fail and is skipped.
    let kind = validate_kind(&entity, &entity_ref)?;
    let relations = kind.relations(&entity).map_err(|cause| {
        SerializedError::wrapping(
            names::INPUT_ERROR,
            format!("Processor {} threw an error while postprocessing", kind.processor),
            cause,
        )
    })?;
    Ok(ProcessedEntity { entity, entity_ref, relations })
}

/// `stringifyEntityRef(entity)` on an envelope-valid entity: a missing namespace counts as
/// `default` (an empty one does not).
fn loose_ref(entity: &Value) -> String {
    fn text(v: Option<&Value>) -> &str {
        v.and_then(Value::as_str).unwrap_or_default()
    }
    let metadata = entity.get("metadata");
    let namespace = match metadata.and_then(|m| m.get("namespace")) {
        None | Some(Value::Null) => DEFAULT_NAMESPACE,
        Some(ns) => ns.as_str().unwrap_or_default(),
    };
    canonical_ref(text(entity.get("kind")), namespace, text(metadata.and_then(|m| m.get("name"))))
}

/// The default policies in order: schema-valid envelope, default namespace, no foreign root
/// fields, field formats. Returns the policy's plain `Error` message on failure.
fn apply_policies(entity: Value) -> Result<Value, String> {
    if let Some(error) = ENTITY_SCHEMA.validate(&entity) {
        return Err(format!("Malformed envelope, {}", error.without_params()));
    }
    let entity = default_namespace(entity);
    if let Some(object) = entity.as_object()
        && let Some(key) = object.keys().find(|k| !KNOWN_ROOT_FIELDS.contains(&k.as_str()))
    {
        return Err(format!("Unknown field {key}"));
    }
    crate::validation::check_field_formats(&entity)?;
    Ok(entity)
}

/// `DefaultNamespaceEntityPolicy`: adds `metadata.namespace: "default"` when it is absent.
///
/// Backstage does this with `lodash.merge({metadata: {namespace}}, entity)`, which puts
/// `metadata` first among the root keys and `namespace` first inside it; the key order is kept
/// so that serialized entities read the same.
fn default_namespace(entity: Value) -> Value {
    let Value::Object(root) = entity else {
        return entity;
    };
    let has_namespace = root
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .is_some_and(|ns| !matches!(ns, Value::Null) && ns.as_str() != Some(""));
    if has_namespace {
        return Value::Object(root);
    }
    let mut out = Map::with_capacity(root.len());
    out.insert("metadata".to_owned(), Value::Object(Map::new()));
    for (key, value) in root {
        if key == "metadata" {
            let mut metadata = Map::new();
            metadata.insert("namespace".to_owned(), Value::String(DEFAULT_NAMESPACE.to_owned()));
            if let Value::Object(fields) = value {
                for (k, v) in fields {
                    // lodash.merge skips `undefined` only: an explicit value (even `null` or
                    // an empty string) replaces the default.
                    metadata.insert(k, v);
                }
            }
            out.insert(key, Value::Object(metadata));
        } else {
            out.insert(key, value);
        }
    }
    Value::Object(out)
}

/// The kind-validation step: the first processor that recognizes the kind validates it.
fn validate_kind(entity: &Value, entity_ref: &str) -> Result<&'static KindDef, SerializedError> {
    let Some(kind) = kinds::kind_of(entity) else {
        return Err(SerializedError::input(format!(
            "No processor recognized the entity {entity_ref} as valid, possibly caused by a foreign kind or apiVersion"
        )));
    };
    kind.validate(entity).map_err(|cause| {
        SerializedError::wrapping(
            names::INPUT_ERROR,
            format!("Processor {} threw an error while validating the entity {entity_ref}", kind.processor),
            cause,
        )
    })?;
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn component() -> Value {
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "web", "annotations": {"backstage.io/managed-by-location": "url:x"}},
            "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}
        })
    }

    #[test]
    fn happy_path_defaults_namespace_and_emits_relations() {
        let processed = process_entity(component()).expect("valid");
        assert_eq!(processed.entity_ref, "component:default/web");
        assert_eq!(processed.entity["metadata"]["namespace"], "default");
        let root_keys: Vec<&str> =
            processed.entity.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(root_keys, ["metadata", "apiVersion", "kind", "spec"]);
        let meta_keys: Vec<&str> =
            processed.entity["metadata"].as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(meta_keys, ["namespace", "name", "annotations"]);
        assert_eq!(
            processed.relations,
            vec![
                Relation::new("component:default/web", "ownedBy", "group:default/team-a"),
                Relation::new("group:default/team-a", "ownerOf", "component:default/web"),
            ]
        );
    }

    #[test]
    fn explicit_namespace_keeps_key_order() {
        let mut e = component();
        e["metadata"]["namespace"] = json!("Shop");
        let err = process_entity(e).expect_err("uppercase namespace");
        assert!(err.message.contains("\"metadata.namespace\" is not valid"), "{}", err.message);
        let mut e = component();
        e["metadata"]["namespace"] = json!("shop");
        let processed = process_entity(e.clone()).expect("valid");
        assert_eq!(processed.entity, e);
        assert_eq!(processed.entity_ref, "component:shop/web");
        assert_eq!(processed.relations[0].target, "group:shop/team-a");
    }

    #[test]
    fn non_object_fails_envelope_validation() {
        let err = process_entity(json!(null)).expect_err("null");
        assert_eq!(err.name, "InputError");
        assert_eq!(
            err.message,
            "Entity envelope failed validation before processing; caused by TypeError: <root> must be object - type: object"
        );
        let cause = err.cause.expect("cause");
        assert_eq!(cause.name, "TypeError");
        assert_eq!(cause.message, "<root> must be object - type: object");
        assert_eq!(
            validate_envelope(&json!([])).expect_err("array").message,
            "<root> must be object - type: object"
        );
    }

    #[test]
    fn status_in_yaml_is_an_unknown_field() {
        for (key, value) in [("status", json!({"items": []})), ("relations", json!([]))] {
            let mut e = component();
            e[key] = value;
            let err = process_entity(e).expect_err(key);
            assert_eq!(err.name, "InputError");
            assert_eq!(
                err.message,
                format!(
                    "Policy check failed for component:default/web; caused by Error: Unknown field {key}"
                )
            );
            assert_eq!(err.cause.expect("cause").message, format!("Unknown field {key}"));
        }
    }

    #[test]
    fn foreign_root_key_fails_the_schema_policy() {
        let mut e = component();
        e["extra"] = json!(1);
        let err = process_entity(e).expect_err("extra key");
        assert_eq!(
            err.message,
            "Policy check failed for component:default/web; caused by Error: Malformed envelope, <root> must NOT have additional properties"
        );
    }

    #[test]
    fn field_format_failure_is_a_policy_error() {
        let mut e = component();
        e["metadata"]["name"] = json!("-web");
        let err = process_entity(e).expect_err("bad name");
        assert!(
            err.message.starts_with(
                "Policy check failed for component:default/-web; caused by Error: \"metadata.name\" is not valid; expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total but found \"-web\"."
            ),
            "{}",
            err.message
        );
    }

    #[test]
    fn unknown_kind_is_not_recognized() {
        let mut e = component();
        e["kind"] = json!("Widget");
        let err = process_entity(e).expect_err("unknown kind");
        assert_eq!(err.name, "InputError");
        assert_eq!(
            err.message,
            "No processor recognized the entity widget:default/web as valid, possibly caused by a foreign kind or apiVersion"
        );
        assert!(err.cause.is_none());
    }

    #[test]
    fn spec_schema_failure_names_the_processor() {
        let mut e = component();
        e["spec"].as_object_mut().expect("spec").remove("owner");
        let err = process_entity(e).expect_err("no owner");
        assert_eq!(
            err.message,
            "Processor BuiltinKindsEntityProcessor threw an error while validating the entity component:default/web; caused by TypeError: /spec must have required property 'owner' - missingProperty: owner"
        );
    }

    #[test]
    fn unparseable_ref_fails_postprocessing() {
        let mut e = component();
        e["spec"]["dependsOn"] = json!(["foo"]);
        let err = process_entity(e).expect_err("no kind in dependsOn");
        assert_eq!(
            err.message,
            "Processor BuiltinKindsEntityProcessor threw an error while postprocessing; caused by Error: Entity reference \"foo\" had missing or empty kind (e.g. did not start with \"component:\" or similar)"
        );
    }

    #[test]
    fn template_errors_name_the_scaffolder_processor() {
        let e = json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
                       "metadata": {"name": "t"}, "spec": {"type": "service"}});
        let err = process_entity(e).expect_err("no steps");
        assert!(err.message.starts_with("Processor ScaffolderEntitiesProcessor threw an error while validating the entity template:default/t; caused by TypeError: /spec must have required property 'steps'"), "{}", err.message);
    }
}
