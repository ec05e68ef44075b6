//! Catalog data for the entity pickers (`EntityPicker`, `OwnerPicker`, `OwnedEntityPicker`,
//! `MultiEntityPicker`, `MyGroupsPicker`).
//!
//! A picker stores the full reference of the chosen entity (`group:default/team-a`) and shows
//! it humanised: the namespace left out when it is the picker's default (`default` unless
//! `ui:options.defaultNamespace` says otherwise) and the kind left out when it is the picker's
//! default kind (`ui:options.defaultKind`; `Group` for `OwnerPicker`). Text typed into a picker
//! is completed with those defaults.

use portico_model::entity_ref::{DEFAULT_NAMESPACE, EntityRef, RefDefaults};
use portico_model::search_rows;
use serde_json::Value;

/// Which entities a picker offers: Backstage's catalog filter (`ui:options.catalogFilter`, or
/// the legacy `allowedKinds`). An entity matches when it matches any alternative, and an
/// alternative when every one of its conditions holds. No alternatives: every entity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityFilter {
    /// Alternatives, each a list of conditions that must all hold.
    pub alternatives: Vec<Vec<FilterCondition>>,
}

/// One condition of a catalog filter, on the flattened keys the catalog filters on
/// (`kind`, `spec.type`, `metadata.tags`, `relations.ownedBy`, …; keys and values compared
/// without regard to case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterCondition {
    /// The dotted key.
    pub key: String,
    /// Accepted values (any of them), or `None` when the key only has to exist.
    pub values: Option<Vec<String>>,
}

impl EntityFilter {
    /// Whether a catalog entity (as JSON, with its `relations`) passes the filter.
    pub fn matches(&self, entity: &Value) -> bool {
        if self.alternatives.is_empty() {
            return true;
        }
        let Ok(rows) = search_rows(entity) else { return false };
        self.alternatives.iter().any(|conditions| {
            conditions.iter().all(|condition| {
                let key = condition.key.to_lowercase();
                rows.iter().filter(|row| row.key == key).any(|row| match &condition.values {
                    None => true,
                    Some(values) => row
                        .value
                        .as_deref()
                        .is_some_and(|value| values.iter().any(|wanted| wanted.to_lowercase() == value)),
                })
            })
        })
    }

    /// Adds a condition to every alternative (to the only one when there are none).
    pub(crate) fn and(mut self, condition: FilterCondition) -> EntityFilter {
        if self.alternatives.is_empty() {
            self.alternatives.push(Vec::new());
        }
        for conditions in &mut self.alternatives {
            conditions.push(condition.clone());
        }
        self
    }

    /// Reads `ui:options.catalogFilter` (an object or a list of objects whose values are a
    /// string, a list of strings or `{exists: true}`).
    pub(crate) fn from_catalog_filter(filter: &Value) -> EntityFilter {
        let objects: Vec<&Value> = match filter {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        let alternatives = objects
            .into_iter()
            .filter_map(Value::as_object)
            .map(|object| {
                object
                    .iter()
                    .map(|(key, value)| FilterCondition { key: key.clone(), values: filter_values(value) })
                    .collect()
            })
            .collect();
        EntityFilter { alternatives }
    }

    /// `kind` is one of `kinds`.
    pub(crate) fn kinds(kinds: &[String]) -> EntityFilter {
        EntityFilter {
            alternatives: vec![vec![FilterCondition {
                key: "kind".to_owned(),
                values: Some(kinds.to_vec()),
            }]],
        }
    }
}

fn filter_values(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Object(object) if object.get("exists") == Some(&Value::Bool(true)) => None,
        Value::Array(items) => Some(items.iter().filter_map(scalar_text).collect()),
        other => Some(scalar_text(other).into_iter().collect()),
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// One entity a picker offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickerOption {
    /// The full reference, `kind:namespace/name` (what the picker stores).
    pub entity_ref: String,
    /// `metadata.title`, when the entity has one.
    pub title: Option<String>,
}

impl PickerOption {
    /// The option for a catalog entity; `None` when it has no kind or name.
    pub fn from_entity(entity: &Value) -> Option<PickerOption> {
        let entity_ref = EntityRef::from_entity(entity)?.canonical();
        let title = entity.pointer("/metadata/title").and_then(Value::as_str).map(str::to_owned);
        Some(PickerOption { entity_ref, title })
    }
}

/// Where pickers get their options. The caller fetches what it needs first; this is
/// synchronous.
pub trait PickerCatalog {
    /// The entities passing the filter.
    fn options(&self, filter: &EntityFilter) -> Vec<PickerOption>;
}

/// A list of catalog entities (as JSON) is a catalog.
impl PickerCatalog for Vec<Value> {
    fn options(&self, filter: &EntityFilter) -> Vec<PickerOption> {
        self.iter().filter(|entity| filter.matches(entity)).filter_map(PickerOption::from_entity).collect()
    }
}

/// A reference as a picker shows it: kind left out when it is `default_kind`, namespace left
/// out when it is `default_namespace` (`default` when none). Text that is not a reference is
/// returned as it is.
pub fn humanize_entity_ref(
    entity_ref: &str,
    default_kind: Option<&str>,
    default_namespace: Option<&str>,
) -> String {
    let defaults = RefDefaults { kind: default_kind, namespace: default_namespace };
    let Ok(parsed) = EntityRef::parse(entity_ref, defaults) else { return entity_ref.to_owned() };
    let default_namespace = default_namespace.filter(|ns| !ns.is_empty()).unwrap_or(DEFAULT_NAMESPACE);
    let mut out = String::new();
    if !default_kind.is_some_and(|kind| kind.eq_ignore_ascii_case(&parsed.kind)) {
        out.push_str(&parsed.kind.to_lowercase());
        out.push(':');
    }
    if parsed.namespace != default_namespace {
        out.push_str(&parsed.namespace);
        out.push('/');
    }
    out.push_str(&parsed.name);
    out
}

/// Text typed into a picker as the reference it stores: completed with the defaults and in
/// full form; text that is not a reference (no kind and no default kind) is kept as typed.
pub(crate) fn complete_entity_ref(
    text: &str,
    default_kind: Option<&str>,
    default_namespace: Option<&str>,
) -> String {
    let defaults = RefDefaults { kind: default_kind, namespace: default_namespace };
    EntityRef::parse(text, defaults).map_or_else(|_| text.to_owned(), |parsed| parsed.canonical())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn references_are_humanised_against_the_defaults() {
        assert_eq!(humanize_entity_ref("group:default/team-a", Some("Group"), None), "team-a");
        assert_eq!(humanize_entity_ref("group:default/team-a", None, None), "group:team-a");
        assert_eq!(humanize_entity_ref("user:ops/jane", Some("group"), None), "user:ops/jane");
        assert_eq!(humanize_entity_ref("group:ops/team-a", Some("group"), Some("ops")), "team-a");
        assert_eq!(humanize_entity_ref("not a ref/", None, None), "not a ref/");
    }

    #[test]
    fn typed_text_is_completed_with_the_defaults() {
        assert_eq!(complete_entity_ref("team-a", Some("Group"), None), "group:default/team-a");
        assert_eq!(complete_entity_ref("user:jane", Some("Group"), None), "user:default/jane");
        assert_eq!(complete_entity_ref("payments", None, None), "payments");
    }

    #[test]
    fn filters_match_like_catalog_filters() {
        let team = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
            "metadata": {"name": "team-a", "title": "Team A"}, "spec": {"type": "team"}});
        let system = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "System",
            "metadata": {"name": "payments"}, "spec": {"owner": "team-a"},
            "relations": [{"type": "ownedBy", "targetRef": "group:default/team-a"}]});
        let catalog = vec![team, system];
        let groups =
            EntityFilter::from_catalog_filter(&json!({"kind": "group", "spec.type": ["team", "org"]}));
        assert_eq!(
            catalog.options(&groups),
            vec![PickerOption { entity_ref: "group:default/team-a".into(), title: Some("Team A".into()) }]
        );
        let owned = EntityFilter::default().and(FilterCondition {
            key: "relations.ownedBy".into(),
            values: Some(vec!["group:default/team-a".into()]),
        });
        assert_eq!(catalog.options(&owned)[0].entity_ref, "system:default/payments");
        let with_type = EntityFilter::from_catalog_filter(&json!([{"spec.type": {"exists": true}}]));
        assert_eq!(catalog.options(&with_type).len(), 1);
        assert_eq!(catalog.options(&EntityFilter::default()).len(), 2);
    }
}
