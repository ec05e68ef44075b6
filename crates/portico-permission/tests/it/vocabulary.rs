//! The Cedar vocabulary: principals, action groups and each resource type, as policies see them.

use portico_permission::permission::{
    CATALOG_ENTITY_CREATE, CATALOG_ENTITY_DELETE, CATALOG_ENTITY_READ, CATALOG_LOCATION_CREATE,
    CATALOG_LOCATION_DELETE, SCAFFOLDER_ACTION_EXECUTE, SCAFFOLDER_TASK_CANCEL, SCAFFOLDER_TASK_READ,
    SCAFFOLDER_TEMPLATE_PARAMETER_READ, SCAFFOLDER_TEMPLATE_STEP_READ,
};
use portico_permission::{Decision, PolicyEngine, Principal, Resource};
use serde_json::json;

use crate::{bob, component, jane, template};

fn engine(text: &str) -> PolicyEngine {
    PolicyEngine::from_text("test.cedar", text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn service_principals_are_named_by_subject() {
    let engine = engine(
        "permit (principal, action, resource);\n\
         forbid (principal is Portico::Service, action in Portico::Action::\"delete\", resource);\n\
         permit (principal == Portico::Service::\"janitor\", action, resource);\n\
         forbid (principal is Portico::Service, action == Portico::Action::\"catalog.entity.read\", resource is Portico::Entity)\n\
         unless { principal.subject == \"search\" || principal.subject == \"janitor\" };",
    );
    let entity = component("payments", "team-a", json!({}));
    let search = Principal::service("search");
    let reader = Resource::Entity(&entity);
    assert!(engine.authorize(&search, &CATALOG_ENTITY_READ, Some(reader)).is_allowed());
    assert!(!engine.authorize(&Principal::service("other"), &CATALOG_ENTITY_READ, Some(reader)).is_allowed());
    // A forbid wins over the permit that names the janitor.
    assert!(
        !engine.authorize(&Principal::service("janitor"), &CATALOG_ENTITY_DELETE, Some(reader)).is_allowed()
    );
    assert!(!engine.authorize(&search, &CATALOG_LOCATION_DELETE, None).is_allowed());
    assert!(engine.authorize(&jane(), &CATALOG_ENTITY_DELETE, Some(reader)).is_allowed());
}

#[test]
fn group_membership_and_action_groups() {
    let engine = engine(
        "permit (principal in Portico::Group::\"group:default/team-a\", action in Portico::Action::\"create\", resource);\n\
         permit (principal, action in Portico::Action::\"read\", resource);",
    );
    assert!(engine.authorize(&jane(), &CATALOG_ENTITY_CREATE, None).is_allowed());
    assert!(engine.authorize(&jane(), &CATALOG_LOCATION_CREATE, None).is_allowed());
    assert!(!engine.authorize(&bob(), &CATALOG_LOCATION_CREATE, None).is_allowed());
    assert!(!engine.authorize(&jane(), &CATALOG_LOCATION_DELETE, None).is_allowed());
    let entity = component("payments", "team-a", json!({}));
    assert!(
        engine
            .authorize(&Principal::Anonymous, &CATALOG_ENTITY_READ, Some(Resource::Entity(&entity)))
            .is_allowed()
    );
    // Refs are compared in lower case, as Backstage's catalog writes them.
    let shouting = Principal::user("User:Default/Jane", ["Group:Default/Team-A"]);
    assert!(engine.authorize(&shouting, &CATALOG_ENTITY_CREATE, None).is_allowed());
}

#[test]
fn entity_attributes_and_annotations() {
    let engine = engine(
        "permit (principal, action == Portico::Action::\"catalog.entity.read\", resource is Portico::Entity)\n\
         when {\n\
           resource.kind == \"component\" && resource.namespace == \"default\" && resource.name == \"payments\" &&\n\
           resource.ref == \"component:default/payments\" && resource.tags.contains(\"rust\") &&\n\
           resource has lifecycle && resource.lifecycle == \"production\" && resource has type && resource.type == \"service\" &&\n\
           resource.labels.contains(\"tier=1\") &&\n\
           resource.hasTag(\"backstage.io/managed-by-location\") &&\n\
           resource.getTag(\"backstage.io/managed-by-location\") like \"url:*\"\n\
         };",
    );
    let payments = component("Payments", "team-a", json!({ "tier": "1" }));
    assert!(engine.authorize(&bob(), &CATALOG_ENTITY_READ, Some(Resource::Entity(&payments))).is_allowed());
    let other_tier = component("payments", "team-a", json!({ "tier": "2" }));
    assert!(
        !engine.authorize(&bob(), &CATALOG_ENTITY_READ, Some(Resource::Entity(&other_tier))).is_allowed()
    );
}

#[test]
fn tasks_by_their_creator() {
    let engine = engine(
        "permit (principal, action, resource);\n\
         forbid (principal, action in [Portico::Action::\"scaffolder.task.read\", Portico::Action::\"scaffolder.task.cancel\"], resource is Portico::Task)\n\
         unless { principal is Portico::User && resource has created_by && resource.created_by == principal.ref };",
    );
    let task = json!({
        "id": "5b5e9d3c-8a63-4f4e-a2a7-3f3f7c1d8e21",
        "status": "processing",
        "createdBy": "user:default/jane",
        "spec": { "templateInfo": { "entityRef": "template:default/create-service" } }
    });
    assert!(engine.authorize(&jane(), &SCAFFOLDER_TASK_READ, Some(Resource::Task(&task))).is_allowed());
    assert!(engine.authorize(&jane(), &SCAFFOLDER_TASK_CANCEL, Some(Resource::Task(&task))).is_allowed());
    assert!(!engine.authorize(&bob(), &SCAFFOLDER_TASK_READ, Some(Resource::Task(&task))).is_allowed());
    // Listing tasks at all (no task at hand) is checked against the plugin.
    assert!(engine.authorize(&bob(), &SCAFFOLDER_TASK_READ, None).is_allowed());
    let anonymous_task = json!({ "id": "7c0d", "status": "open", "spec": {} });
    assert!(
        !engine.authorize(&jane(), &SCAFFOLDER_TASK_READ, Some(Resource::Task(&anonymous_task))).is_allowed()
    );
}

#[test]
fn template_parts_and_actions() {
    let engine = engine(
        "permit (principal, action, resource);\n\
         forbid (principal, action in [Portico::Action::\"scaffolder.template.parameter.read\", Portico::Action::\"scaffolder.template.step.read\"], resource is Portico::TemplatePart)\n\
         when { resource.tags.contains(\"secret\") }\n\
         unless { principal in Portico::Group::\"group:default/team-a\" };\n\
         forbid (principal, action == Portico::Action::\"scaffolder.action.execute\", resource is Portico::ScaffolderAction)\n\
         when { resource.id == \"publish:git\" && resource.template has owner && resource.template.owner != \"group:default/platform\" };",
    );
    let gated = template("create-service", json!({}));
    let secret_step =
        json!({ "id": "vault", "action": "debug:log", "backstage:permissions": { "tags": ["secret"] } });
    let plain_page = json!({ "title": "Name", "properties": {} });
    let part = |part| Some(Resource::TemplatePart { template: &gated, part });
    assert!(engine.authorize(&jane(), &SCAFFOLDER_TEMPLATE_STEP_READ, part(&secret_step)).is_allowed());
    assert!(!engine.authorize(&bob(), &SCAFFOLDER_TEMPLATE_STEP_READ, part(&secret_step)).is_allowed());
    assert!(engine.authorize(&bob(), &SCAFFOLDER_TEMPLATE_PARAMETER_READ, part(&plain_page)).is_allowed());
    let platform = Some(Resource::Action { id: "publish:git", template: &gated });
    assert!(engine.authorize(&bob(), &SCAFFOLDER_ACTION_EXECUTE, platform).is_allowed());
    let mut foreign = gated.clone();
    foreign["spec"]["owner"] = json!("team-b");
    let foreign_publish = Some(Resource::Action { id: "publish:git", template: &foreign });
    assert!(!engine.authorize(&bob(), &SCAFFOLDER_ACTION_EXECUTE, foreign_publish).is_allowed());
    let foreign_fetch = Some(Resource::Action { id: "fetch:template", template: &foreign });
    assert!(engine.authorize(&bob(), &SCAFFOLDER_ACTION_EXECUTE, foreign_fetch).is_allowed());
}

#[test]
fn resources_must_fit_the_permission() {
    let engine = engine("permit (principal, action, resource);");
    let task = json!({ "id": "5b5e" });
    let Decision::Deny { reason } =
        engine.authorize(&jane(), &CATALOG_ENTITY_READ, Some(Resource::Task(&task)))
    else {
        panic!("a task is not a catalog entity")
    };
    assert!(reason.contains("catalog.entity.read is not checked against a Portico::Task"), "{reason}");
    let Decision::Deny { reason } = engine.authorize(&jane(), &CATALOG_ENTITY_READ, None) else {
        panic!("a resource permission needs its resource")
    };
    assert!(reason.contains("needs a resource"), "{reason}");
    // Policies that do not look at the resource decide without reading it; those that do
    // deny what cannot be described.
    let nameless = json!({ "kind": "Component", "metadata": {} });
    assert!(engine.authorize(&jane(), &CATALOG_ENTITY_READ, Some(Resource::Entity(&nameless))).is_allowed());
    let reading = self::engine(
        "permit (principal, action == Portico::Action::\"catalog.entity.read\", resource) when { resource.kind == \"component\" };",
    );
    let Decision::Deny { reason } =
        reading.authorize(&jane(), &CATALOG_ENTITY_READ, Some(Resource::Entity(&nameless)))
    else {
        panic!("an entity without a name cannot be described")
    };
    assert_eq!(reason, "the entity has no metadata.name");
}
