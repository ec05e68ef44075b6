//! Stitching: building the final entity the API serves from the processed entity, its errors,
//! its relations from every emitter, and whether anyone still emits it (catalog-api.md §4.7).

use portico_model::hash::stable_hash;
use portico_store::{FinalWrite, StitchInput};
use serde_json::{Map, Value, json};

pub const ANNOTATION_ORPHAN: &str = "backstage.io/orphan";
const REJECTED_URL: &str = "https://backstage.io/annotation-rejected-for-security-reasons";

/// The final entity for `input`, or `None` when there is nothing to serve (never processed
/// successfully) or nothing changed since the stored version.
pub fn stitch(input: &StitchInput) -> Stitched {
    let Some(processed) = &input.processed else { return Stitched::NothingToServe };
    let mut entity = processed.clone();
    let Some(object) = entity.as_object_mut() else { return Stitched::NothingToServe };

    if !input.has_parents {
        annotations_mut(object).insert(ANNOTATION_ORPHAN.into(), Value::String("true".into()));
    }
    sanitize_urls(object);

    let mut items: Vec<Value> = Vec::new();
    if let Some(existing) = object.get("status").and_then(|s| s.get("items")).and_then(Value::as_array) {
        items.extend(existing.iter().cloned());
    }
    for error in &input.errors {
        items.push(status_item(error));
    }
    items.extend(input.warnings.iter().cloned());
    if !items.is_empty() {
        object.insert("status".into(), json!({ "items": items }));
    }

    let relations: Vec<Value> =
        input.relations.iter().map(|r| json!({ "type": r.relation_type, "targetRef": r.target })).collect();
    object.insert("relations".into(), Value::Array(relations));

    let metadata = metadata_mut(object);
    metadata.insert("uid".into(), Value::String(input.entity_id.clone()));
    let had_etag = metadata.contains_key("etag");
    let hash = stable_hash(&entity);
    if input.final_hash.as_deref() == Some(hash.as_str()) {
        return Stitched::Unchanged;
    }
    if !had_etag && let Some(object) = entity.as_object_mut() {
        metadata_mut(object).insert("etag".into(), Value::String(hash.clone()));
    }
    Stitched::Write(FinalWrite {
        entity_id: input.entity_id.clone(),
        entity_ref: input.entity_ref.clone(),
        hash,
        body: serde_json::to_string(&entity).unwrap_or_default(),
    })
}

/// What stitching decided.
#[derive(Debug, PartialEq)]
pub enum Stitched {
    Write(FinalWrite),
    Unchanged,
    NothingToServe,
}

/// A processing error as a `status.items` entry.
fn status_item(error: &Value) -> Value {
    let name = error.get("name").and_then(Value::as_str).unwrap_or("Error");
    let message = error.get("message").and_then(Value::as_str).unwrap_or_default();
    json!({
        "type": "backstage.io/catalog-processing",
        "level": "error",
        "message": format!("{name}: {message}"),
        "error": error,
    })
}

fn metadata_mut(object: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let metadata = object.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    metadata.as_object_mut().expect("made an object above")
}

fn annotations_mut(object: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let annotations = metadata_mut(object).entry("annotations").or_insert_with(|| Value::Object(Map::new()));
    if !annotations.is_object() {
        *annotations = Value::Object(Map::new());
    }
    annotations.as_object_mut().expect("made an object above")
}

/// Replaces `javascript:` view/edit urls, which the UI would otherwise render as live links.
fn sanitize_urls(object: &mut Map<String, Value>) {
    let Some(annotations) =
        object.get_mut("metadata").and_then(|m| m.get_mut("annotations")).and_then(Value::as_object_mut)
    else {
        return;
    };
    for key in ["backstage.io/view-url", "backstage.io/edit-url"] {
        if let Some(Value::String(url)) = annotations.get(key)
            && is_javascript_url(url)
        {
            annotations.insert(key.into(), Value::String(REJECTED_URL.into()));
        }
    }
}

/// Tolerant match: browsers ignore leading whitespace and control characters and embedded
/// tabs/newlines in the scheme.
pub fn is_javascript_url(url: &str) -> bool {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .take(11)
        .collect::<String>()
        .to_ascii_lowercase();
    cleaned.starts_with("javascript:")
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_store::RelationRow;

    fn input(processed: Option<Value>) -> StitchInput {
        StitchInput {
            entity_id: "00000000-0000-4000-8000-000000000001".into(),
            entity_ref: "component:default/a".into(),
            processed,
            errors: Vec::new(),
            warnings: Vec::new(),
            has_parents: true,
            relations: vec![RelationRow {
                source: "component:default/a".into(),
                relation_type: "ownedBy".into(),
                target: "group:default/team".into(),
            }],
            final_hash: None,
        }
    }

    fn component() -> Value {
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
               "metadata": {"name": "a", "namespace": "default"}, "spec": {"owner": "team"}})
    }

    #[test]
    fn stitched_entity_has_uid_etag_and_relations() {
        let Stitched::Write(write) = stitch(&input(Some(component()))) else { panic!("expected a write") };
        let entity: Value = serde_json::from_str(&write.body).unwrap();
        assert_eq!(entity["metadata"]["uid"], "00000000-0000-4000-8000-000000000001");
        assert_eq!(entity["metadata"]["etag"], write.hash.as_str());
        assert_eq!(entity["relations"], json!([{"type": "ownedBy", "targetRef": "group:default/team"}]));
        assert!(entity.get("status").is_none(), "no status without errors");
    }

    #[test]
    fn orphans_are_annotated() {
        let mut orphan = input(Some(component()));
        orphan.has_parents = false;
        let Stitched::Write(write) = stitch(&orphan) else { panic!("expected a write") };
        assert!(write.body.contains(r#""backstage.io/orphan":"true""#));
    }

    #[test]
    fn errors_become_status_items_and_unchanged_hash_skips() {
        let mut failing = input(Some(component()));
        failing.errors = vec![json!({"name": "InputError", "message": "boom"})];
        let Stitched::Write(write) = stitch(&failing) else { panic!("expected a write") };
        let entity: Value = serde_json::from_str(&write.body).unwrap();
        assert_eq!(entity["status"]["items"][0]["message"], "InputError: boom");
        assert_eq!(entity["status"]["items"][0]["type"], "backstage.io/catalog-processing");
        failing.final_hash = Some(write.hash);
        assert_eq!(stitch(&failing), Stitched::Unchanged);
    }

    #[test]
    fn never_processed_entities_are_not_served() {
        assert_eq!(stitch(&input(None)), Stitched::NothingToServe);
    }

    #[test]
    fn javascript_view_urls_are_rejected() {
        let mut entity = component();
        entity["metadata"]["annotations"] = json!({"backstage.io/view-url": " JavaScript:alert(1)"});
        let Stitched::Write(write) = stitch(&input(Some(entity))) else { panic!("expected a write") };
        assert!(write.body.contains(REJECTED_URL));
    }
}
