//! The built-in kinds: their accepted `apiVersion`s, their spec schemas (checked with ajv's
//! messages) and the relations they emit.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde_json::Value;

use crate::entity_ref::{EntityRef, RefDefaults};
use crate::relations::*;
use crate::schema::{Schema, Ty};
use crate::{Relation, SerializedError};

/// The `apiVersion`s every core kind accepts.
pub const CORE_API_VERSIONS: &[&str] = &["backstage.io/v1alpha1", "backstage.io/v1beta1"];
/// The `apiVersion` of scaffolder templates.
pub const TEMPLATE_API_VERSION: &str = "scaffolder.backstage.io/v1beta3";

/// Name of the processor that validates and relates the catalog's core kinds.
pub const BUILTIN_PROCESSOR: &str = "BuiltinKindsEntityProcessor";
/// Name of the processor that validates and relates scaffolder templates.
pub const SCAFFOLDER_PROCESSOR: &str = "ScaffolderEntitiesProcessor";

/// One spec field that holds references, and the relation pair it produces.
#[derive(Debug, Clone, Copy)]
pub struct RelationRule {
    /// The spec field (a string or an array of strings).
    pub field: &'static str,
    /// Kind assumed for references that name none; `None` makes such references an error.
    pub default_kind: Option<&'static str>,
    /// Relation from the declaring entity to the target.
    pub outgoing: &'static str,
    /// Relation from the target back to the declaring entity.
    pub incoming: &'static str,
}

const fn rule(
    field: &'static str,
    default_kind: Option<&'static str>,
    outgoing: &'static str,
    incoming: &'static str,
) -> RelationRule {
    RelationRule { field, default_kind, outgoing, incoming }
}

const OWNER: RelationRule = rule("owner", Some("Group"), RELATION_OWNED_BY, RELATION_OWNER_OF);
const SYSTEM: RelationRule = rule("system", Some("System"), RELATION_PART_OF, RELATION_HAS_PART);
const DEPENDS_ON: RelationRule = rule("dependsOn", None, RELATION_DEPENDS_ON, RELATION_DEPENDENCY_OF);
const DEPENDENCY_OF: RelationRule = rule("dependencyOf", None, RELATION_DEPENDENCY_OF, RELATION_DEPENDS_ON);

const COMPONENT_RELATIONS: &[RelationRule] = &[
    OWNER,
    rule("subcomponentOf", Some("Component"), RELATION_PART_OF, RELATION_HAS_PART),
    rule("providesApis", Some("API"), RELATION_PROVIDES_API, RELATION_API_PROVIDED_BY),
    rule("consumesApis", Some("API"), RELATION_CONSUMES_API, RELATION_API_CONSUMED_BY),
    DEPENDS_ON,
    DEPENDENCY_OF,
    SYSTEM,
];
const GROUP_RELATIONS: &[RelationRule] = &[
    rule("parent", Some("Group"), RELATION_CHILD_OF, RELATION_PARENT_OF),
    rule("children", Some("Group"), RELATION_PARENT_OF, RELATION_CHILD_OF),
    rule("members", Some("User"), RELATION_HAS_MEMBER, RELATION_MEMBER_OF),
];
const USER_RELATIONS: &[RelationRule] =
    &[rule("memberOf", Some("Group"), RELATION_MEMBER_OF, RELATION_HAS_MEMBER)];
const SYSTEM_RELATIONS: &[RelationRule] =
    &[OWNER, rule("domain", Some("Domain"), RELATION_PART_OF, RELATION_HAS_PART)];
const DOMAIN_RELATIONS: &[RelationRule] =
    &[OWNER, rule("subdomainOf", Some("Domain"), RELATION_PART_OF, RELATION_HAS_PART)];

/// A kind some processor recognizes.
#[derive(Debug)]
pub struct KindDef {
    /// The exact (case-sensitive) `kind`.
    pub kind: &'static str,
    /// Accepted `apiVersion`s.
    pub api_versions: &'static [&'static str],
    /// The processor that validates it, as named in Backstage's error messages.
    pub processor: &'static str,
    /// Reference fields, in the order relations are emitted.
    pub relations: &'static [RelationRule],
    spec: Schema,
}

impl KindDef {
    /// Checks the entity against the kind's schema; the error is ajv's `TypeError`, e.g.
    /// `/spec must have required property 'owner' - missingProperty: owner`.
    pub fn validate(&self, entity: &Value) -> Result<(), SerializedError> {
        let error = match entity.get("spec") {
            None => Some(crate::schema::SchemaError {
                path: String::new(),
                message: "must have required property 'spec'".to_owned(),
                params: "missingProperty: spec".to_owned(),
            }),
            Some(spec) => {
                let mut path = String::from("/spec");
                self.spec.first_error(spec, &mut path)
            }
        };
        match error {
            None => Ok(()),
            Some(error) => Err(SerializedError::type_error(error.with_params())),
        }
    }

    /// The relations the kind's processor emits for `entity` (both directions, deduplicated,
    /// canonical refs). References default to the entity's own namespace.
    pub fn relations(&self, entity: &Value) -> Result<Vec<Relation>, SerializedError> {
        let Some(me) = EntityRef::from_entity(entity) else {
            return Ok(Vec::new());
        };
        let self_ref = me.canonical();
        let spec = entity.get("spec");
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for rule in self.relations {
            let targets: Vec<&str> = match spec.and_then(|s| s.get(rule.field)) {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let defaults = RefDefaults { kind: rule.default_kind, namespace: Some(&me.namespace) };
            // Backstage skips falsy values (`if (!targets) return`), i.e. an empty string.
            for target in targets.into_iter().filter(|t| !t.is_empty()) {
                let target_ref = EntityRef::parse(target, defaults)?.canonical();
                for relation in [
                    Relation::new(self_ref.as_str(), rule.outgoing, target_ref.as_str()),
                    Relation::new(target_ref.as_str(), rule.incoming, self_ref.as_str()),
                ] {
                    if seen.insert(relation.clone()) {
                        out.push(relation);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Every known kind, in the order Backstage's processors try them.
static KINDS: LazyLock<Vec<KindDef>> = LazyLock::new(|| {
    let s = Schema::non_empty_string;
    let refs = Schema::non_empty_strings;
    let profile = |extra: &[&'static str]| {
        let mut schema = Schema::object().prop("displayName", s()).prop("email", s()).prop("picture", s());
        for key in extra {
            schema = schema.prop(key, s());
        }
        schema
    };
    let core = |kind, relations, spec| KindDef {
        kind,
        api_versions: CORE_API_VERSIONS,
        processor: BUILTIN_PROCESSOR,
        relations,
        spec,
    };
    vec![
        core(
            "API",
            &[OWNER, SYSTEM],
            Schema::object()
                .required(&["type", "lifecycle", "owner", "definition"])
                .prop("type", s())
                .prop("lifecycle", s())
                .prop("owner", s())
                .prop("system", s())
                .prop("definition", s()),
        ),
        core(
            "Component",
            COMPONENT_RELATIONS,
            Schema::object()
                .required(&["type", "lifecycle", "owner"])
                .prop("type", s())
                .prop("lifecycle", s())
                .prop("owner", s())
                .prop("system", s())
                .prop("subcomponentOf", s())
                .prop("providesApis", refs())
                .prop("consumesApis", refs())
                .prop("dependsOn", refs())
                .prop("dependencyOf", refs()),
        ),
        core(
            "Resource",
            &[OWNER, DEPENDS_ON, DEPENDENCY_OF, SYSTEM],
            Schema::object()
                .required(&["type", "owner"])
                .prop("type", s())
                .prop("owner", s())
                .prop("dependsOn", refs())
                .prop("dependencyOf", refs())
                .prop("system", s()),
        ),
        core(
            "Group",
            GROUP_RELATIONS,
            Schema::object()
                .required(&["type", "children"])
                .prop("type", s())
                .prop("profile", profile(&[]))
                .prop("parent", s())
                .prop("children", refs())
                .prop("members", refs()),
        ),
        core(
            "Location",
            &[],
            Schema::object()
                .prop("type", s())
                .prop("target", s())
                .prop("targets", refs())
                .prop("presence", Schema::string().enum_of(&["required", "optional"])),
        ),
        core(
            "User",
            USER_RELATIONS,
            Schema::object()
                .required(&["memberOf"])
                .prop(
                    "profile",
                    profile(&[
                        "pronouns",
                        "jobTitle",
                        "startDateISO",
                        "manager",
                        "timezoneISO",
                        "location",
                        "directMessageURL",
                    ])
                    .prop(
                        "externalHandles",
                        Schema::object()
                            .prop("facebook", s())
                            .prop("github", s())
                            .prop("instagram", s())
                            .prop("spotify", s())
                            .prop("twitter", s())
                            .prop("youtube", s()),
                    ),
                )
                .prop("memberOf", refs()),
        ),
        core(
            "System",
            SYSTEM_RELATIONS,
            Schema::object().required(&["owner"]).prop("owner", s()).prop("domain", s()).prop("type", s()),
        ),
        core(
            "Domain",
            DOMAIN_RELATIONS,
            Schema::object()
                .required(&["owner"])
                .prop("owner", s())
                .prop("subdomainOf", s())
                .prop("type", s()),
        ),
        KindDef {
            kind: "Template",
            api_versions: &[TEMPLATE_API_VERSION],
            processor: SCAFFOLDER_PROCESSOR,
            relations: &[OWNER],
            spec: template_spec_schema(),
        },
    ]
});

/// `Template.v1beta3.schema.json`'s spec.
fn template_spec_schema() -> Schema {
    let permissions = || Schema::object().prop("tags", Schema::of(Ty::Array).items(Schema::string()));
    let form = || Schema::object().prop("backstage:permissions", permissions());
    let condition = || Schema::of_types(&[Ty::String, Ty::Boolean]);
    let step = Schema::object()
        .required(&["action"])
        .prop("id", Schema::string())
        .prop("name", Schema::string())
        .prop("action", Schema::string())
        .prop("input", Schema::object())
        .prop("if", condition())
        .prop("backstage:permissions", permissions());
    let link = Schema::object()
        .prop("if", condition())
        .prop("url", Schema::non_empty_string())
        .prop("entityRef", Schema::non_empty_string())
        .prop("title", Schema::non_empty_string())
        .prop("icon", Schema::non_empty_string());
    let text = Schema::object()
        .prop("if", condition())
        .prop("title", Schema::non_empty_string())
        .prop("icon", Schema::non_empty_string())
        .prop("content", Schema::string());
    Schema::object()
        .required(&["type", "steps"])
        .prop("type", Schema::non_empty_string())
        .prop("owner", Schema::non_empty_string())
        .prop("lifecycle", Schema::non_empty_string())
        .prop("parameters", Schema::default().one_of(vec![form(), Schema::of(Ty::Array).items(form())]))
        .prop("secrets", Schema::object().prop("schema", Schema::object()))
        .prop(
            "presentation",
            Schema::object().prop(
                "buttonLabels",
                Schema::object()
                    .prop("backButtonText", Schema::string())
                    .prop("createButtonText", Schema::string())
                    .prop("reviewButtonText", Schema::string()),
            ),
        )
        .prop("EXPERIMENTAL_recovery", Schema::object().prop("EXPERIMENTAL_strategy", Schema::string()))
        .prop(
            "EXPERIMENTAL_formDecorators",
            Schema::of(Ty::Array)
                .items(Schema::object().prop("id", Schema::string()).prop("input", Schema::object())),
        )
        .prop("steps", Schema::of(Ty::Array).items(step))
        .prop(
            "output",
            Schema::object()
                .prop("links", Schema::of(Ty::Array).items(link))
                .prop("text", Schema::of(Ty::Array).items(text))
                .additional(Schema::string()),
        )
}

/// The kind definition matching `apiVersion` and `kind` exactly, if any processor knows it.
pub fn find_kind(api_version: &str, kind: &str) -> Option<&'static KindDef> {
    KINDS.iter().find(|k| k.kind == kind && k.api_versions.contains(&api_version))
}

/// Whether some processor recognizes this `apiVersion` + `kind` pair.
pub fn kind_is_known(api_version: &str, kind: &str) -> bool {
    find_kind(api_version, kind).is_some()
}

/// The kind definition for an entity's own `apiVersion` and `kind`.
pub fn kind_of(entity: &Value) -> Option<&'static KindDef> {
    let api_version = entity.get("apiVersion")?.as_str()?;
    let kind = entity.get("kind")?.as_str()?;
    find_kind(api_version, kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn component(spec: Value) -> Value {
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
               "metadata": {"name": "web", "namespace": "shop"}, "spec": spec})
    }

    fn validate(entity: &Value) -> Result<(), String> {
        kind_of(entity).expect("known kind").validate(entity).map_err(|e| e.message)
    }

    #[test]
    fn known_kinds() {
        assert!(kind_is_known("backstage.io/v1alpha1", "Component"));
        assert!(kind_is_known("backstage.io/v1beta1", "Location"));
        assert!(kind_is_known("scaffolder.backstage.io/v1beta3", "Template"));
        assert!(!kind_is_known("backstage.io/v1alpha1", "component"));
        assert!(!kind_is_known("backstage.io/v1alpha2", "Component"));
        assert!(!kind_is_known("backstage.io/v1alpha1", "Template"));
        for kind in ["API", "Resource", "System", "Domain", "Group", "User"] {
            assert!(kind_is_known("backstage.io/v1alpha1", kind), "{kind}");
        }
    }

    #[test]
    fn missing_owner_has_ajv_message() {
        let e = component(json!({"type": "service", "lifecycle": "production"}));
        assert_eq!(
            validate(&e),
            Err("/spec must have required property 'owner' - missingProperty: owner".into())
        );
    }

    #[test]
    fn wrong_type_has_ajv_message() {
        let e = component(json!({"type": 7, "lifecycle": "production", "owner": "x"}));
        assert_eq!(validate(&e), Err("/spec/type must be string - type: string".into()));
        let e = component(json!({"type": "a", "lifecycle": "b", "owner": "x", "dependsOn": ["ok", ""]}));
        assert_eq!(
            validate(&e),
            Err("/spec/dependsOn/1 must NOT have fewer than 1 characters - limit: 1".into())
        );
    }

    #[test]
    fn missing_spec_is_reported_at_root() {
        let e = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "g"}});
        assert_eq!(
            validate(&e),
            Err("<root> must have required property 'spec' - missingProperty: spec".into())
        );
    }

    #[test]
    fn api_without_definition_fails() {
        let e = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "API", "metadata": {"name": "mcp"},
                       "spec": {"type": "mcp-server", "lifecycle": "x", "owner": "y", "remotes": []}});
        assert_eq!(
            validate(&e),
            Err("/spec must have required property 'definition' - missingProperty: definition".into())
        );
    }

    #[test]
    fn group_children_required_and_location_presence_enum() {
        let e = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "g"},
                       "spec": {"type": "team"}});
        assert_eq!(
            validate(&e),
            Err("/spec must have required property 'children' - missingProperty: children".into())
        );
        let e = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Location", "metadata": {"name": "l"},
                       "spec": {"target": "./a.yaml", "presence": "maybe"}});
        assert_eq!(
            validate(&e),
            Err("/spec/presence must be equal to one of the allowed values - allowedValues: required,optional".into())
        );
    }

    #[test]
    fn template_requires_steps_with_actions() {
        let mut e = json!({"apiVersion": TEMPLATE_API_VERSION, "kind": "Template", "metadata": {"name": "t"},
                           "spec": {"type": "service", "steps": [{"id": "a"}]}});
        assert_eq!(
            validate(&e),
            Err("/spec/steps/0 must have required property 'action' - missingProperty: action".into())
        );
        e["spec"]["steps"] = json!([{"action": "fetch:plain"}]);
        e["spec"]["parameters"] = json!([{"properties": {}}]);
        e["spec"]["output"] = json!({"links": [{"url": "https://x"}], "other": "text"});
        assert_eq!(validate(&e), Ok(()));
        e["spec"]["output"]["other"] = json!(1);
        assert_eq!(validate(&e), Err("/spec/output/other must be string - type: string".into()));
    }

    #[test]
    fn component_relations_use_defaults_and_own_namespace() {
        let e = component(json!({
            "type": "service", "lifecycle": "production", "owner": "team-a",
            "system": "default/shop-system", "providesApis": ["orders"], "consumesApis": ["api:other/pay"],
            "dependsOn": ["resource:db"], "subcomponentOf": "Platform"
        }));
        let relations = kind_of(&e).expect("kind").relations(&e).expect("relations");
        let triples: Vec<(&str, &str, &str)> = relations
            .iter()
            .map(|r| (r.source.as_str(), r.relation_type.as_str(), r.target.as_str()))
            .collect();
        assert_eq!(
            triples,
            vec![
                ("component:shop/web", "ownedBy", "group:shop/team-a"),
                ("group:shop/team-a", "ownerOf", "component:shop/web"),
                ("component:shop/web", "partOf", "component:shop/platform"),
                ("component:shop/platform", "hasPart", "component:shop/web"),
                ("component:shop/web", "providesApi", "api:shop/orders"),
                ("api:shop/orders", "apiProvidedBy", "component:shop/web"),
                ("component:shop/web", "consumesApi", "api:other/pay"),
                ("api:other/pay", "apiConsumedBy", "component:shop/web"),
                ("component:shop/web", "dependsOn", "resource:shop/db"),
                ("resource:shop/db", "dependencyOf", "component:shop/web"),
                ("component:shop/web", "partOf", "system:default/shop-system"),
                ("system:default/shop-system", "hasPart", "component:shop/web"),
            ]
        );
    }

    #[test]
    fn depends_on_without_kind_fails() {
        let e = component(json!({"type": "s", "lifecycle": "p", "owner": "o", "dependsOn": ["foo"]}));
        let err = kind_of(&e).expect("kind").relations(&e).expect_err("no kind");
        assert_eq!(
            err.message,
            "Entity reference \"foo\" had missing or empty kind (e.g. did not start with \"component:\" or similar)"
        );
    }

    #[test]
    fn relations_are_deduplicated() {
        let e = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "g"},
                       "spec": {"type": "team", "children": [], "members": ["u", "User:u", "user:default/U"]}});
        let relations = kind_of(&e).expect("kind").relations(&e).expect("relations");
        assert_eq!(
            relations,
            vec![
                Relation::new("group:default/g", "hasMember", "user:default/u"),
                Relation::new("user:default/u", "memberOf", "group:default/g"),
            ]
        );
    }

    #[test]
    fn every_kind_emits_its_relations() {
        let cases = [
            (
                "API",
                json!({"owner": "o", "system": "s"}),
                vec!["ownedBy group:default/o", "partOf system:default/s"],
            ),
            (
                "Resource",
                json!({"owner": "o", "dependencyOf": ["component:c"]}),
                vec!["ownedBy group:default/o", "dependencyOf component:default/c"],
            ),
            ("User", json!({"memberOf": ["g"]}), vec!["memberOf group:default/g"]),
            (
                "Group",
                json!({"parent": "p", "children": ["c"]}),
                vec!["childOf group:default/p", "parentOf group:default/c"],
            ),
            (
                "System",
                json!({"owner": "o", "domain": "d"}),
                vec!["ownedBy group:default/o", "partOf domain:default/d"],
            ),
            (
                "Domain",
                json!({"owner": "user:o", "subdomainOf": "d"}),
                vec!["ownedBy user:default/o", "partOf domain:default/d"],
            ),
            ("Location", json!({"target": "x"}), vec![]),
        ];
        for (kind, spec, expected) in cases {
            let e = json!({"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": {"name": "n"}, "spec": spec});
            let forward: Vec<String> = kind_of(&e)
                .expect("kind")
                .relations(&e)
                .expect("relations")
                .into_iter()
                .filter(|r| r.source.ends_with("/n"))
                .map(|r| format!("{} {}", r.relation_type, r.target))
                .collect();
            assert_eq!(forward, expected, "{kind}");
        }
        let t = json!({"apiVersion": TEMPLATE_API_VERSION, "kind": "Template", "metadata": {"name": "t"},
                       "spec": {"type": "x", "steps": [], "owner": "team"}});
        let relations = kind_of(&t).expect("kind").relations(&t).expect("relations");
        assert_eq!(relations[0], Relation::new("template:default/t", "ownedBy", "group:default/team"));
        assert_eq!(relations[1], Relation::new("group:default/team", "ownerOf", "template:default/t"));
    }
}
