//! Which properties an object schema shows for the current values, as the form library
//! Backstage uses decides it: the object's own `properties` and `required`, merged with those
//! of its `allOf` parts, of the `then` or `else` of an `if` (judged against the values), and
//! of `dependencies` whose property has a value — for a dependency with `oneOf`, the one
//! branch whose copy of that property accepts its value.

use serde_json::{Map, Value};

use super::js::js_string;
use super::validate::is_valid;

/// Deeper nesting of `allOf`/`then`/`dependencies` is not followed.
const MAX_MERGE_DEPTH: usize = 16;

/// The properties an object shows, in order, and the names it requires.
#[derive(Debug, Default)]
pub(crate) struct ObjectView<'s> {
    pub properties: Vec<(&'s str, &'s Value)>,
    pub required: Vec<String>,
}

impl<'s> ObjectView<'s> {
    pub fn resolve(schema: &'s Value, value: Option<&Value>) -> ObjectView<'s> {
        let values = with_defaults(schema, value);
        let mut view = ObjectView::default();
        view.merge(schema, &values, 0);
        view.order(schema.get("ui:order"));
        view
    }

    pub fn requires(&self, name: &str) -> bool {
        self.required.iter().any(|required| required == name)
    }

    fn add_property(&mut self, name: &'s str, schema: &'s Value) {
        if !self.properties.iter().any(|(known, _)| *known == name) {
            self.properties.push((name, schema));
        }
    }

    fn add_required(&mut self, name: String) {
        if !self.requires(&name) {
            self.required.push(name);
        }
    }

    fn merge(&mut self, schema: &'s Value, values: &Value, depth: usize) {
        if depth > MAX_MERGE_DEPTH {
            return;
        }
        let Some(object) = schema.as_object() else { return };
        if let Some(properties) = object.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                self.add_property(name, property);
            }
        }
        if let Some(required) = object.get("required").and_then(Value::as_array) {
            for name in required {
                self.add_required(js_string(name));
            }
        }
        for part in object.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            self.merge(part, values, depth + 1);
        }
        if let Some(condition @ (Value::Object(_) | Value::Bool(_))) = object.get("if") {
            let branch = if is_valid(condition, values) { "then" } else { "else" };
            if let Some(branch) = object.get(branch) {
                self.merge(branch, values, depth + 1);
            }
        }
        let Some(dependencies) = object.get("dependencies").and_then(Value::as_object) else { return };
        for (property, dependency) in dependencies {
            let Some(controlling) = values.get(property) else { continue };
            match dependency {
                Value::String(name) => self.add_required(name.clone()),
                Value::Array(names) => names.iter().for_each(|name| self.add_required(js_string(name))),
                Value::Object(_) => {
                    self.merge(dependency, values, depth + 1);
                    if let Some(branches) = dependency.get("oneOf").and_then(Value::as_array) {
                        let mut matching = branches.iter().filter(|branch| {
                            branch
                                .get("properties")
                                .and_then(|properties| properties.get(property))
                                .is_some_and(|accepted| is_valid(accepted, controlling))
                        });
                        // Like the form library: a branch is used only when exactly one matches.
                        if let (Some(branch), None) = (matching.next(), matching.next()) {
                            self.merge(branch, values, depth + 1);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// `ui:order`: the listed names first, the rest where `*` stands (at the end without one).
    fn order(&mut self, order: Option<&Value>) {
        let Some(order) = order.and_then(Value::as_array) else { return };
        let mut remaining = std::mem::take(&mut self.properties);
        let mut ordered = Vec::with_capacity(remaining.len());
        let mut rest_at = None;
        for entry in order.iter().filter_map(Value::as_str) {
            if entry == "*" {
                rest_at.get_or_insert(ordered.len());
            } else if let Some(index) = remaining.iter().position(|(name, _)| *name == entry) {
                ordered.push(remaining.remove(index));
            }
        }
        let at = rest_at.unwrap_or(ordered.len());
        ordered.splice(at..at, remaining);
        self.properties = ordered;
    }
}

/// Every property name the schema could ever show, whatever the values.
pub(crate) fn possible_properties(schema: &Value) -> Vec<&str> {
    let mut names = Vec::new();
    collect_possible(schema, &mut names, 0);
    names
}

fn collect_possible<'s>(schema: &'s Value, names: &mut Vec<&'s str>, depth: usize) {
    if depth > MAX_MERGE_DEPTH {
        return;
    }
    let Some(object) = schema.as_object() else { return };
    for name in object.get("properties").and_then(Value::as_object).into_iter().flat_map(Map::keys) {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let parts = object.get("allOf").and_then(Value::as_array).into_iter().flatten();
    let branches = ["then", "else"].into_iter().filter_map(|key| object.get(key));
    let dependencies =
        object.get("dependencies").and_then(Value::as_object).into_iter().flat_map(Map::values);
    for nested in parts.chain(branches).chain(dependencies) {
        collect_possible(nested, names, depth + 1);
        for branch in nested.get("oneOf").and_then(Value::as_array).into_iter().flatten() {
            collect_possible(branch, names, depth + 1);
        }
    }
}

/// The values with each missing own property's `default` filled in, as the form shows them.
pub(crate) fn with_defaults(schema: &Value, value: Option<&Value>) -> Value {
    let mut values = match value {
        Some(Value::Object(object)) => object.clone(),
        _ => Map::new(),
    };
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            if let Some(default) = property.get("default")
                && !values.contains_key(name)
            {
                values.insert(name.clone(), default.clone());
            }
        }
    }
    Value::Object(values)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn names(view: &ObjectView<'_>) -> Vec<String> {
        view.properties.iter().map(|(name, _)| (*name).to_owned()).collect()
    }

    #[test]
    fn one_of_dependencies_pick_the_branch_matching_the_value() {
        let schema = json!({
            "properties": {"kind": {"enum": ["lib", "service"], "default": "lib"}},
            "dependencies": {"kind": {"oneOf": [
                {"properties": {"kind": {"enum": ["lib"]}, "registry": {"type": "string"}}},
                {"properties": {"kind": {"enum": ["service"]}, "port": {"type": "integer"}}, "required": ["port"]}
            ]}}
        });
        let view = ObjectView::resolve(&schema, None);
        assert_eq!(names(&view), ["kind", "registry"]);
        let view = ObjectView::resolve(&schema, Some(&json!({"kind": "service"})));
        assert_eq!(names(&view), ["kind", "port"]);
        assert!(view.requires("port"));
        assert_eq!(possible_properties(&schema), ["kind", "registry", "port"]);
    }

    #[test]
    fn if_then_else_and_all_of_merge() {
        let schema = json!({
            "properties": {"public": {"type": "boolean"}},
            "allOf": [{"if": {"properties": {"public": {"const": true}}, "required": ["public"]},
                       "then": {"properties": {"domain": {"type": "string"}}, "required": ["domain"]},
                       "else": {"properties": {"network": {"type": "string"}}}}]
        });
        assert_eq!(
            names(&ObjectView::resolve(&schema, Some(&json!({"public": true})))),
            ["public", "domain"]
        );
        assert_eq!(names(&ObjectView::resolve(&schema, Some(&json!({})))), ["public", "network"]);
    }

    #[test]
    fn ui_order_puts_the_rest_at_the_star() {
        let schema = json!({"ui:order": ["c", "*", "a"], "properties": {"a": {}, "b": {}, "c": {}, "d": {}}});
        assert_eq!(names(&ObjectView::resolve(&schema, None)), ["c", "b", "d", "a"]);
        let schema = json!({"ui:order": ["b"], "properties": {"a": {}, "b": {}}});
        assert_eq!(names(&ObjectView::resolve(&schema, None)), ["b", "a"]);
    }
}
