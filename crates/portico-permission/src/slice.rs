//! The policies that can apply to one action, and what they read of the resource: a check then
//! evaluates only those policies, builds only the resource attributes they read, and decides once
//! per resource type when they do not look at the resource at all.

use std::collections::HashSet;

use cedar_policy::{Entities, EntityUid, Policy, PolicySet};
use serde_json::Value;

/// What the policies read of the resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Attributes read with `resource.<attribute>` or `resource has <attribute>`.
    pub attributes: HashSet<String>,
    /// Whether the resource's Cedar tags (an entity's annotations) are read.
    pub tags: bool,
    /// Whether policies look at which resource it is (`resource == …`, `resource in …`).
    pub identity: bool,
}

impl Needs {
    /// Everything, for resources described in full.
    pub fn everything() -> Needs {
        let attributes = ["ref", "kind", "namespace", "name", "owner", "labels", "tags", "lifecycle", "type"];
        Needs { attributes: attributes.map(str::to_owned).into(), tags: true, identity: true }
    }

    pub fn attribute(&self, name: &str) -> bool {
        self.attributes.contains(name)
    }

    /// Whether the decision can differ between two resources of the same type.
    pub fn resource_dependent(&self) -> bool {
        self.identity || self.tags || !self.attributes.is_empty()
    }
}

/// The policies of a set whose action scope includes one action.
#[derive(Debug)]
pub(crate) struct ActionSlice {
    pub set: PolicySet,
    pub needs: Needs,
}

impl ActionSlice {
    /// Slices `policies` for `action`; `actions` are the schema's action entities (for groups).
    pub fn new(policies: &PolicySet, action: &EntityUid, actions: &Entities) -> Result<ActionSlice, String> {
        let groups: Vec<String> =
            actions.ancestors(action).into_iter().flatten().map(ToString::to_string).collect();
        let mut set = PolicySet::new();
        let mut needs = Needs::default();
        for policy in policies.policies() {
            let json = policy.to_json().map_err(|e| format!("cannot inspect policy {}: {e}", policy.id()))?;
            if !action_scope_includes(&json["action"], &action.to_string(), &groups) {
                continue;
            }
            read_needs(&json, &mut needs);
            set.add(Policy::clone(policy)).map_err(|e| e.to_string())?;
        }
        Ok(ActionSlice { set, needs })
    }
}

/// Whether a policy's action scope (Cedar's JSON form) includes the action in `groups`.
fn action_scope_includes(scope: &Value, action: &str, groups: &[String]) -> bool {
    let names =
        |entity: &Value| entity_name(entity).is_some_and(|name| name == action || groups.contains(&name));
    match scope["op"].as_str() {
        Some("==") => entity_name(&scope["entity"]).is_some_and(|name| name == action),
        Some("in") => match scope.get("entities").and_then(Value::as_array) {
            Some(entities) => entities.iter().any(names),
            None => names(&scope["entity"]),
        },
        // `All`, and anything this reading does not know, keeps the policy.
        _ => true,
    }
}

/// `Type::"id"` of an entity literal in Cedar's JSON form.
fn entity_name(entity: &Value) -> Option<String> {
    let entity_type = entity["type"].as_str()?;
    let id = entity["id"].as_str()?;
    Some(format!("{entity_type}::{}", Value::from(id)))
}

/// Adds what a policy (Cedar's JSON form) reads of the resource.
fn read_needs(policy: &Value, needs: &mut Needs) {
    let scope = &policy["resource"];
    if scope.get("entity").is_some() || scope.get("in").is_some() {
        needs.identity = true;
    }
    if let Some(conditions) = policy.get("conditions") {
        walk(conditions, needs);
    }
}

fn walk(expression: &Value, needs: &mut Needs) {
    match expression {
        Value::Object(object) => {
            if object.get("Var").and_then(Value::as_str) == Some("resource") {
                // Anything but reading an attribute or a tag compares the resource itself.
                needs.identity = true;
            }
            for (operator, operands) in object {
                let on_resource =
                    operands.get("left").and_then(|left| left.get("Var")).and_then(Value::as_str)
                        == Some("resource");
                match operator.as_str() {
                    "." | "has" if on_resource => {
                        if let Some(attribute) = operands["attr"].as_str() {
                            needs.attributes.insert(attribute.to_owned());
                        }
                    }
                    "hasTag" | "getTag" if on_resource => {
                        needs.tags = true;
                        walk(&operands["right"], needs);
                    }
                    _ => walk(operands, needs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| walk(item, needs)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::vocabulary::{PARSED_SCHEMA, TYPES, uid};

    fn slice(text: &str, action: &str) -> ActionSlice {
        let policies = PolicySet::from_str(text).unwrap();
        let actions = PARSED_SCHEMA.action_entities().unwrap();
        ActionSlice::new(&policies, &uid(&TYPES.action, action), &actions).unwrap()
    }

    const POLICIES: &str = r#"
        permit (principal, action, resource);
        forbid (principal, action == Portico::Action::"catalog.entity.read", resource is Portico::Entity)
        when { resource.labels.contains("portico.io/restricted=true") }
        unless { principal is Portico::User && resource has owner && principal.ownership_refs.contains(resource.owner) };
        forbid (principal, action in [Portico::Action::"scaffolder.task.create"], resource is Portico::Entity)
        when { resource.hasTag("portico.io/allowed-group") };
        forbid (principal, action in Portico::Action::"delete", resource == Portico::Entity::"component:default/x");
    "#;

    #[test]
    fn keeps_the_policies_of_the_action_and_what_they_read() {
        let read = slice(POLICIES, "catalog.entity.read");
        assert_eq!(read.set.num_of_policies(), 2);
        let attributes: HashSet<String> = ["labels", "owner"].map(str::to_owned).into();
        assert_eq!(read.needs, Needs { attributes, tags: false, identity: false });

        let create = slice(POLICIES, "scaffolder.task.create");
        assert_eq!(create.set.num_of_policies(), 2);
        assert!(create.needs.tags && create.needs.attributes.is_empty() && !create.needs.identity);

        // Through the action group `delete`, with a scope naming one entity.
        let delete = slice(POLICIES, "catalog.entity.delete");
        assert_eq!(delete.set.num_of_policies(), 2);
        assert!(delete.needs.identity && delete.needs.attributes.is_empty());

        let refresh = slice(POLICIES, "catalog.entity.refresh");
        assert_eq!(refresh.set.num_of_policies(), 1);
        assert!(!refresh.needs.resource_dependent());
    }

    #[test]
    fn nested_attributes_count_as_reading_the_first_one() {
        let text = r#"forbid (principal, action == Portico::Action::"scaffolder.action.execute", resource)
            when { resource.template has owner && resource.template.owner == "group:default/a" };"#;
        let execute = slice(text, "scaffolder.action.execute");
        assert_eq!(execute.needs.attributes, ["template".to_owned()].into());
        assert!(!execute.needs.identity);
        let compared =
            r#"permit (principal, action, resource) when { resource == Portico::Plugin::"catalog" };"#;
        assert!(slice(compared, "catalog.entity.create").needs.identity);
    }
}
