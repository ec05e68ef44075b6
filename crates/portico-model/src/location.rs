//! Location references (`<type>:<target>`), the spec of `Location` entities, and the Location
//! entities generated for registered locations.

use serde_json::{Map, Value, json};

use crate::SerializedError;
use crate::hash::sha1_hex;

/// Annotation holding the location ref an entity was read from.
pub const ANNOTATION_LOCATION: &str = "backstage.io/managed-by-location";
/// Annotation holding the location ref of the registered root location that led to an entity.
pub const ANNOTATION_ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";

/// Parses `<type>:<target>` (split at the first colon, both parts trimmed) into
/// `(type, target)`, with `parseLocationRef`'s `TypeError`s.
pub fn parse_location_ref(text: &str) -> Result<(String, String), SerializedError> {
    let malformed = || {
        SerializedError::type_error(format!(
            "Unable to parse location ref '{text}', expected '<type>:<target>', e.g. 'url:https://host/path'"
        ))
    };
    let (kind, target) = text.split_once(':').ok_or_else(malformed)?;
    let (kind, target) = (kind.trim(), target.trim());
    if kind.is_empty() || target.is_empty() {
        return Err(malformed());
    }
    if kind == "http" || kind == "https" {
        return Err(SerializedError::type_error(format!(
            "Invalid location ref '{text}', please prefix it with 'url:', e.g. 'url:{text}'"
        )));
    }
    Ok((kind.to_owned(), target.to_owned()))
}

/// `<type>:<target>`.
pub fn stringify_location_ref(kind: &str, target: &str) -> String {
    format!("{kind}:{target}")
}

/// Whether a missing target is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Presence {
    /// A missing target is an error (the default).
    #[default]
    Required,
    /// A missing target is silently skipped.
    Optional,
}

impl Presence {
    /// The spec value: `required` or `optional`.
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Required => "required",
            Presence::Optional => "optional",
        }
    }
}

/// The spec of a `Location` entity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocationSpec {
    /// `spec.type`; when absent the type of the location the entity was read from applies.
    pub kind: Option<String>,
    /// `spec.target`.
    pub target: Option<String>,
    /// `spec.targets`, read after `target`.
    pub targets: Vec<String>,
    /// `spec.presence` (default `required`).
    pub presence: Presence,
}

impl LocationSpec {
    /// Reads the spec of a (schema-valid) Location entity; fields of the wrong type are ignored.
    pub fn from_entity(entity: &Value) -> LocationSpec {
        let spec = entity.get("spec");
        let text = |key: &str| spec.and_then(|s| s.get(key)).and_then(Value::as_str);
        LocationSpec {
            kind: text("type").filter(|t| !t.is_empty()).map(str::to_owned),
            target: text("target").filter(|t| !t.is_empty()).map(str::to_owned),
            targets: spec
                .and_then(|s| s.get("targets"))
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
            presence: if text("presence") == Some("optional") {
                Presence::Optional
            } else {
                Presence::Required
            },
        }
    }

    /// The location type to read targets with: `spec.type`, else `inherited`.
    pub fn type_or<'a>(&'a self, inherited: &'a str) -> &'a str {
        self.kind.as_deref().unwrap_or(inherited)
    }

    /// Every target in processing order: `target`, then each of `targets`.
    pub fn all_targets(&self) -> impl Iterator<Item = &str> {
        self.target.as_deref().into_iter().chain(self.targets.iter().map(String::as_str))
    }
}

/// `generated-<sha1 hex of "<type>:<target>">`, the name of a registered location's entity.
pub fn generated_location_name(kind: &str, target: &str) -> String {
    format!("generated-{}", sha1_hex(&stringify_location_ref(kind, target)))
}

/// The Location entity Backstage generates for a registered location
/// (`locationSpecToLocationEntity`): both managed-by annotations are `<type>:<target>`.
/// Like Backstage it carries no `metadata.namespace`; the default-namespace policy adds it.
pub fn generated_location_entity(kind: &str, target: &str, presence: Option<&str>) -> Value {
    let location_ref = stringify_location_ref(kind, target);
    let mut spec = Map::new();
    spec.insert("type".to_owned(), Value::String(kind.to_owned()));
    spec.insert("target".to_owned(), Value::String(target.to_owned()));
    if let Some(presence) = presence {
        spec.insert("presence".to_owned(), Value::String(presence.to_owned()));
    }
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {
            "name": generated_location_name(kind, target),
            "annotations": {
                ANNOTATION_LOCATION: location_ref,
                ANNOTATION_ORIGIN_LOCATION: location_ref,
            }
        },
        "spec": spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_ref_splits_at_first_colon() {
        assert_eq!(
            parse_location_ref("url:https://github.com/o/r/blob/main/catalog-info.yaml").expect("parses"),
            ("url".to_owned(), "https://github.com/o/r/blob/main/catalog-info.yaml".to_owned())
        );
        assert_eq!(parse_location_ref("file:/abs/path.yaml").expect("parses").1, "/abs/path.yaml");
        assert_eq!(parse_location_ref(" file : x ").expect("parses"), ("file".to_owned(), "x".to_owned()));
    }

    #[test]
    fn location_ref_errors_match_backstage() {
        for text in ["", "hello", ":hello", "hello:"] {
            let err = parse_location_ref(text).expect_err(text);
            assert_eq!(err.name, "TypeError");
            assert_eq!(
                err.message,
                format!(
                    "Unable to parse location ref '{text}', expected '<type>:<target>', e.g. 'url:https://host/path'"
                )
            );
        }
        assert_eq!(
            parse_location_ref("http://blah").expect_err("http").message,
            "Invalid location ref 'http://blah', please prefix it with 'url:', e.g. 'url:http://blah'"
        );
    }

    #[test]
    fn generated_entity_shape() {
        let e = generated_location_entity("url", "https://x/y.yaml", None);
        let name = format!("generated-{}", sha1_hex("url:https://x/y.yaml"));
        assert_eq!(
            e,
            json!({
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Location",
                "metadata": {
                    "name": name,
                    "annotations": {
                        "backstage.io/managed-by-location": "url:https://x/y.yaml",
                        "backstage.io/managed-by-origin-location": "url:https://x/y.yaml"
                    }
                },
                "spec": {"type": "url", "target": "https://x/y.yaml"}
            })
        );
        let e = generated_location_entity("file", "/a.yaml", Some("optional"));
        assert_eq!(e["spec"]["presence"], "optional");
        assert!(crate::process::process_entity(e).is_ok());
    }

    #[test]
    fn location_spec_reads_targets_in_order() {
        let e = json!({"spec": {"target": "./a.yaml", "targets": ["./b.yaml", "./c.yaml"], "presence": "optional"}});
        let spec = LocationSpec::from_entity(&e);
        assert_eq!(spec.all_targets().collect::<Vec<_>>(), ["./a.yaml", "./b.yaml", "./c.yaml"]);
        assert_eq!(spec.presence, Presence::Optional);
        assert_eq!(spec.type_or("file"), "file");
        let spec = LocationSpec::from_entity(&json!({"spec": {"type": "url"}}));
        assert_eq!(spec.type_or("file"), "url");
        assert_eq!(spec.presence.as_str(), "required");
        assert_eq!(spec.all_targets().count(), 0);
    }
}
