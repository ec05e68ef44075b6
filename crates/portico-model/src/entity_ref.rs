//! Entity references: `[<kind>:][<namespace>/]<name>` with Backstage's parsing quirks.

use std::fmt;

use serde_json::Value;

use crate::SerializedError;

/// The namespace of entities that declare none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Defaults applied when parsing a reference that omits parts.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefDefaults<'a> {
    /// Kind used when the reference has none; without it such a reference is an error.
    pub kind: Option<&'a str>,
    /// Namespace used when the reference has none (an empty value means `default`).
    pub namespace: Option<&'a str>,
}

/// A parsed entity reference. Keeps the original casing; [`EntityRef::canonical`] lowercases.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityRef {
    /// The kind, as written.
    pub kind: String,
    /// The namespace, as written (or defaulted).
    pub namespace: String,
    /// The name, as written. May contain `/` and `:`.
    pub name: String,
}

impl EntityRef {
    /// Parses a string reference (see catalog-api.md §1.4), with `parseEntityRef`'s errors.
    pub fn parse(text: &str, defaults: RefDefaults<'_>) -> Result<EntityRef, SerializedError> {
        if text.is_empty() {
            return Err(SerializedError::error("Entity reference must not be empty"));
        }
        let slash = text.find('/');
        // A `/` ahead of the first `:` means the colon belongs to the name.
        let colon = text.find(':').filter(|&c| slash.is_none_or(|s| c < s));
        let kind = colon.map(|c| &text[..c]);
        let name_start = colon.map_or(0, |c| c + 1);
        let namespace = slash.map(|s| &text[name_start..s]);
        let name = &text[name_start.max(slash.map_or(0, |s| s + 1))..];
        if kind == Some("") || namespace == Some("") || name.is_empty() {
            return Err(SerializedError::type_error(format!(
                "Entity reference \"{text}\" was not on the form [<kind>:][<namespace>/]<name>"
            )));
        }
        Self::complete(kind, namespace, name, defaults, || json_text(text))
    }

    /// Parses the compound form `{kind?, namespace?, name}`.
    pub fn parse_compound(value: &Value, defaults: RefDefaults<'_>) -> Result<EntityRef, SerializedError> {
        let Some(object) = value.as_object() else {
            return match value.as_str() {
                Some(text) => Self::parse(text, defaults),
                None => Err(SerializedError::error("Entity reference must not be empty")),
            };
        };
        let part = |key: &str| object.get(key).and_then(Value::as_str);
        let name = part("name").unwrap_or_default();
        Self::complete(part("kind"), part("namespace"), name, defaults, || value.to_string())
    }

    /// Applies the defaults and rejects empty parts with `parseEntityRef`'s messages.
    fn complete(
        kind: Option<&str>,
        namespace: Option<&str>,
        name: &str,
        defaults: RefDefaults<'_>,
        textual: impl Fn() -> String,
    ) -> Result<EntityRef, SerializedError> {
        let default_namespace = defaults.namespace.filter(|ns| !ns.is_empty()).unwrap_or(DEFAULT_NAMESPACE);
        let kind = kind.or(defaults.kind).unwrap_or_default();
        let namespace = namespace.unwrap_or(default_namespace);
        let missing = if kind.is_empty() {
            "kind (e.g. did not start with \"component:\" or similar)"
        } else if namespace.is_empty() {
            "namespace"
        } else if name.is_empty() {
            "name"
        } else {
            return Ok(EntityRef {
                kind: kind.to_owned(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            });
        };
        Err(SerializedError::error(format!("Entity reference {} had missing or empty {missing}", textual())))
    }

    /// The reference of an entity itself: its kind, `metadata.namespace` (default `default`)
    /// and `metadata.name`. `None` when kind or name is not a string.
    pub fn from_entity(entity: &Value) -> Option<EntityRef> {
        let kind = entity.get("kind")?.as_str()?;
        let metadata = entity.get("metadata")?;
        let name = metadata.get("name")?.as_str()?;
        let namespace = metadata
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|ns| !ns.is_empty())
            .unwrap_or(DEFAULT_NAMESPACE);
        Some(EntityRef { kind: kind.to_owned(), namespace: namespace.to_owned(), name: name.to_owned() })
    }

    /// `lower(kind):lower(namespace)/lower(name)`.
    pub fn canonical(&self) -> String {
        canonical_ref(&self.kind, &self.namespace, &self.name)
    }
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

/// `stringifyEntityRef` of three parts: `lower(kind):lower(namespace)/lower(name)`.
pub fn canonical_ref(kind: &str, namespace: &str, name: &str) -> String {
    let mut out = String::with_capacity(kind.len() + namespace.len() + name.len() + 2);
    push_lower(&mut out, kind);
    out.push(':');
    push_lower(&mut out, namespace);
    out.push('/');
    push_lower(&mut out, name);
    out
}

fn push_lower(out: &mut String, text: &str) {
    if text.is_ascii() {
        out.extend(text.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        out.push_str(&text.to_lowercase());
    }
}

/// `JSON.stringify` of a string.
fn json_text(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<EntityRef, SerializedError> {
        EntityRef::parse(text, RefDefaults::default())
    }

    fn parts(r: &EntityRef) -> (&str, &str, &str) {
        (&r.kind, &r.namespace, &r.name)
    }

    #[test]
    fn full_reference_parses() {
        let r = parse("Component:Ns/Name").expect("parses");
        assert_eq!(parts(&r), ("Component", "Ns", "Name"));
        assert_eq!(r.canonical(), "component:ns/name");
        assert_eq!(r.to_string(), "component:ns/name");
    }

    #[test]
    fn entity_ref_name_may_contain_slash() {
        let r = parse("component:default/a/b").expect("parses");
        assert_eq!(parts(&r), ("component", "default", "a/b"));
    }

    #[test]
    fn entity_ref_slash_before_colon_means_no_kind() {
        let defaults = RefDefaults { kind: Some("Group"), namespace: None };
        let r = EntityRef::parse("ns/x:y", defaults).expect("parses");
        assert_eq!(parts(&r), ("Group", "ns", "x:y"));
        let r = parse("k:a:b").expect("parses");
        assert_eq!(parts(&r), ("k", "default", "a:b"));
    }

    #[test]
    fn entity_ref_rejects_empty_parts() {
        for text in [":x", "k:/x", "k:ns/", "/x", "k:"] {
            let err = parse(text).expect_err(text);
            assert_eq!(err.name, "TypeError");
            assert_eq!(
                err.message,
                format!("Entity reference \"{text}\" was not on the form [<kind>:][<namespace>/]<name>")
            );
        }
        assert_eq!(parse("").expect_err("empty").message, "Entity reference must not be empty");
    }

    #[test]
    fn entity_ref_missing_kind_without_default_is_rejected() {
        let err = parse("foo").expect_err("no kind");
        assert_eq!(err.name, "Error");
        assert_eq!(
            err.message,
            "Entity reference \"foo\" had missing or empty kind (e.g. did not start with \"component:\" or similar)"
        );
    }

    #[test]
    fn entity_ref_namespace_defaults_to_default() {
        let r = EntityRef::parse("x", RefDefaults { kind: Some("User"), namespace: None }).expect("parses");
        assert_eq!(parts(&r), ("User", "default", "x"));
        let r =
            EntityRef::parse("x", RefDefaults { kind: Some("User"), namespace: Some("") }).expect("parses");
        assert_eq!(r.namespace, "default");
        let r = EntityRef::parse("x", RefDefaults { kind: Some("User"), namespace: Some("team") })
            .expect("parses");
        assert_eq!(r.namespace, "team");
        let r = EntityRef::parse("other/x", RefDefaults { kind: Some("User"), namespace: Some("team") })
            .expect("parses");
        assert_eq!(r.namespace, "other");
    }

    #[test]
    fn whitespace_is_not_trimmed() {
        let r = parse(" k:x ").expect("parses");
        assert_eq!(parts(&r), (" k", "default", "x "));
    }

    #[test]
    fn compound_refs() {
        let r = EntityRef::parse_compound(&json!({"kind": "API", "name": "a"}), RefDefaults::default())
            .expect("parses");
        assert_eq!(parts(&r), ("API", "default", "a"));
        let err = EntityRef::parse_compound(&json!({"kind": "", "name": "a"}), RefDefaults::default())
            .expect_err("empty kind");
        assert_eq!(
            err.message,
            "Entity reference {\"kind\":\"\",\"name\":\"a\"} had missing or empty kind (e.g. did not start with \"component:\" or similar)"
        );
        let err = EntityRef::parse_compound(
            &json!({"kind": "a", "namespace": "", "name": "a"}),
            RefDefaults::default(),
        )
        .expect_err("empty namespace");
        assert!(err.message.ends_with("had missing or empty namespace"), "{}", err.message);
        let err =
            EntityRef::parse_compound(&json!({"kind": "a"}), RefDefaults::default()).expect_err("no name");
        assert!(err.message.ends_with("had missing or empty name"), "{}", err.message);
    }

    #[test]
    fn from_entity_defaults_namespace() {
        let e = json!({"kind": "Component", "metadata": {"name": "Foo"}});
        let r = EntityRef::from_entity(&e).expect("has ref");
        assert_eq!(r.canonical(), "component:default/foo");
        assert!(EntityRef::from_entity(&json!({"kind": "A", "metadata": {}})).is_none());
    }
}
