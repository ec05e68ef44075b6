//! The shipped example policies, alone and together, with realistic entities.

use portico_permission::permission::{
    AUDIT_ENTRY_READ, CATALOG_ENTITY_DELETE, CATALOG_ENTITY_READ, CATALOG_ENTITY_REFRESH,
    CATALOG_LOCATION_DELETE, SCAFFOLDER_TASK_CREATE,
};
use portico_permission::{Decision, PolicyEngine, Principal, Resource};
use serde_json::json;

use crate::{bob, component, demo_policies, demo_policy, jane, template};

fn engine_of(files: &[&str]) -> PolicyEngine {
    PolicyEngine::from_files(files.iter().map(|file| demo_policy(file))).unwrap()
}

fn allowed(
    engine: &PolicyEngine,
    principal: &Principal,
    permission: &portico_permission::Permission,
    entity: &serde_json::Value,
) -> bool {
    engine.authorize(principal, permission, Some(Resource::Entity(entity))).is_allowed()
}

#[test]
fn default_alone_allows_everything() {
    let engine = engine_of(&["default.cedar"]);
    let entity = component("payments", "team-a", json!({ "portico.io/restricted": "true" }));
    for principal in [jane(), bob(), Principal::service("catalog-sync"), Principal::Anonymous] {
        assert!(allowed(&engine, &principal, &CATALOG_ENTITY_DELETE, &entity));
        assert!(allowed(&engine, &principal, &CATALOG_ENTITY_READ, &entity));
        assert!(engine.authorize(&principal, &SCAFFOLDER_TASK_CREATE, None).is_allowed());
    }
}

#[test]
fn owners_may_delete_through_their_group() {
    let engine = engine_of(&["default.cedar", "owners-delete.cedar"]);
    // `team-a` is short for group:default/team-a, which jane is a member of.
    let owned_by_team_a = component("payments", "team-a", json!({}));
    assert!(allowed(&engine, &jane(), &CATALOG_ENTITY_DELETE, &owned_by_team_a));
    assert!(allowed(&engine, &jane(), &CATALOG_LOCATION_DELETE, &owned_by_team_a));
    assert!(!allowed(&engine, &bob(), &CATALOG_ENTITY_DELETE, &owned_by_team_a));
    assert!(!allowed(&engine, &bob(), &CATALOG_LOCATION_DELETE, &owned_by_team_a));
    // Reading and refreshing are not restricted.
    assert!(allowed(&engine, &bob(), &CATALOG_ENTITY_READ, &owned_by_team_a));
    assert!(allowed(&engine, &bob(), &CATALOG_ENTITY_REFRESH, &owned_by_team_a));
    let Decision::Deny { reason } =
        engine.authorize(&bob(), &CATALOG_ENTITY_DELETE, Some(Resource::Entity(&owned_by_team_a)))
    else {
        panic!("bob does not own payments")
    };
    assert!(reason.contains("only-owners-delete"), "{reason}");
    assert!(reason.contains("owners-delete.cedar:"), "{reason}");
}

#[test]
fn owner_refs_are_resolved_like_backstage_does() {
    let engine = engine_of(&["default.cedar", "owners-delete.cedar"]);
    // A user owner, written in mixed case.
    let owned_by_jane = component("notes", "User:default/Jane", json!({}));
    assert!(allowed(&engine, &jane(), &CATALOG_ENTITY_DELETE, &owned_by_jane));
    assert!(!allowed(&engine, &bob(), &CATALOG_ENTITY_DELETE, &owned_by_jane));
    // A short owner resolves in the entity's namespace: ops/team-a is not default/team-a.
    let mut in_ops = component("ledger", "team-a", json!({}));
    in_ops["metadata"]["namespace"] = json!("ops");
    assert!(!allowed(&engine, &jane(), &CATALOG_ENTITY_DELETE, &in_ops));
    let ops_member = Principal::user("user:default/jane", ["group:ops/team-a"]);
    assert!(allowed(&engine, &ops_member, &CATALOG_ENTITY_DELETE, &in_ops));
}

#[test]
fn entities_without_owner_and_non_users_cannot_delete() {
    let engine = engine_of(&["default.cedar", "owners-delete.cedar"]);
    let location = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": { "name": "generated-0d3b8f", "namespace": "default" },
        "spec": { "type": "url", "target": "https://example.com/catalog-info.yaml" }
    });
    assert!(!allowed(&engine, &jane(), &CATALOG_ENTITY_DELETE, &location));
    let owned = component("payments", "team-a", json!({}));
    assert!(!allowed(&engine, &Principal::service("catalog-sync"), &CATALOG_ENTITY_DELETE, &owned));
    assert!(!allowed(&engine, &Principal::Anonymous, &CATALOG_ENTITY_DELETE, &owned));
    // Deleting a location by id, without an entity at hand, is not covered by the policy.
    assert!(engine.authorize(&bob(), &CATALOG_LOCATION_DELETE, None).is_allowed());
}

#[test]
fn restricted_entities_are_visible_to_their_owners_only() {
    let engine = engine_of(&["default.cedar", "restricted-entities.cedar"]);
    let restricted =
        component("salaries", "group:default/team-a", json!({ "portico.io/restricted": "true" }));
    let open = component("payments", "team-b", json!({ "portico.io/restricted": "false" }));
    assert!(allowed(&engine, &jane(), &CATALOG_ENTITY_READ, &restricted));
    assert!(!allowed(&engine, &bob(), &CATALOG_ENTITY_READ, &restricted));
    assert!(!allowed(&engine, &Principal::Anonymous, &CATALOG_ENTITY_READ, &restricted));
    assert!(!allowed(&engine, &Principal::service("search"), &CATALOG_ENTITY_READ, &restricted));
    for principal in [jane(), bob(), Principal::Anonymous] {
        assert!(allowed(&engine, &principal, &CATALOG_ENTITY_READ, &open));
    }
    // Only reading is restricted.
    assert!(allowed(&engine, &bob(), &CATALOG_ENTITY_REFRESH, &restricted));
    // A restricted entity without an owner is visible to nobody.
    let mut orphan = restricted.clone();
    orphan["spec"].as_object_mut().unwrap().remove("owner");
    assert!(!allowed(&engine, &jane(), &CATALOG_ENTITY_READ, &orphan));
}

#[test]
fn templates_for_a_group_run_for_its_members_only() {
    let engine = engine_of(&["default.cedar", "template-groups.cedar"]);
    let gated = template("create-database", json!({ "portico.io/allowed-group": "group:default/team-a" }));
    let open = template("create-service", json!({ "backstage.io/techdocs-ref": "dir:." }));
    assert!(allowed(&engine, &jane(), &SCAFFOLDER_TASK_CREATE, &gated));
    assert!(!allowed(&engine, &bob(), &SCAFFOLDER_TASK_CREATE, &gated));
    assert!(!allowed(&engine, &Principal::Anonymous, &SCAFFOLDER_TASK_CREATE, &gated));
    assert!(allowed(&engine, &bob(), &SCAFFOLDER_TASK_CREATE, &open));
    // The template is still visible, and the basic check (the "Create" button) still passes.
    assert!(allowed(&engine, &bob(), &CATALOG_ENTITY_READ, &gated));
    assert!(engine.authorize(&bob(), &SCAFFOLDER_TASK_CREATE, None).is_allowed());
}

#[test]
fn all_example_files_together() {
    let files: Vec<_> = std::fs::read_dir(demo_policies())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "cedar"))
        .collect();
    assert_eq!(files.len(), 5, "{files:?}");
    let engine = PolicyEngine::from_files(&files).unwrap();
    assert!(engine.enforces());
    let restricted = component("salaries", "team-a", json!({ "portico.io/restricted": "true" }));
    let gated = template("create-database", json!({ "portico.io/allowed-group": "group:default/team-a" }));
    assert!(allowed(&engine, &jane(), &CATALOG_ENTITY_READ, &restricted));
    assert!(allowed(&engine, &jane(), &CATALOG_ENTITY_DELETE, &restricted));
    assert!(allowed(&engine, &jane(), &SCAFFOLDER_TASK_CREATE, &gated));
    assert!(!allowed(&engine, &bob(), &CATALOG_ENTITY_READ, &restricted));
    assert!(!allowed(&engine, &bob(), &CATALOG_ENTITY_DELETE, &restricted));
    assert!(!allowed(&engine, &bob(), &SCAFFOLDER_TASK_CREATE, &gated));
    // A list filtered for bob keeps what he may see, in order.
    let list = [
        component("a", "team-b", json!({})),
        restricted.clone(),
        component("b", "team-b", json!({ "portico.io/restricted": "true" })),
    ];
    let check = engine.for_principal(&bob(), &CATALOG_ENTITY_READ);
    assert!(check.reads_resource());
    assert!(!engine.for_principal(&bob(), &CATALOG_ENTITY_REFRESH).reads_resource());
    let visible: Vec<&str> = list
        .iter()
        .filter(|entity| check.allows(Resource::Entity(entity)))
        .map(|entity| entity["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(visible, ["a", "b"]);
    // The audit log is for the administrators group only.
    let ada = Principal::user("user:default/ada", ["user:default/ada", "group:default/infrastructure"]);
    assert!(engine.authorize(&ada, &AUDIT_ENTRY_READ, None).is_allowed());
    assert!(!engine.authorize(&jane(), &AUDIT_ENTRY_READ, None).is_allowed());
    assert!(!engine.authorize(&Principal::Anonymous, &AUDIT_ENTRY_READ, None).is_allowed());
}

#[test]
fn disabled_permissions_and_no_policy_files_allow_everything() {
    let files = vec![demo_policy("owners-delete.cedar")];
    let owned = component("payments", "team-a", json!({}));
    let disabled = PolicyEngine::from_settings(false, &files).unwrap();
    assert!(!disabled.enforces());
    assert!(allowed(&disabled, &bob(), &CATALOG_ENTITY_DELETE, &owned));
    let no_files = PolicyEngine::from_settings(true, &[]).unwrap();
    assert!(!no_files.enforces());
    assert!(!no_files.for_principal(&bob(), &CATALOG_ENTITY_READ).reads_resource());
    assert!(allowed(&no_files, &Principal::Anonymous, &CATALOG_ENTITY_DELETE, &owned));
    assert!(no_files.authorize(&bob(), &CATALOG_ENTITY_READ, None).is_allowed());
    let enabled = PolicyEngine::from_settings(true, &files).unwrap();
    assert!(enabled.enforces());
    // Only a forbid: nothing permits, so everything is denied.
    assert!(!allowed(&enabled, &jane(), &CATALOG_ENTITY_DELETE, &owned));
    // Broken files are an error even when they are not needed yet.
    assert!(PolicyEngine::from_settings(true, &[demo_policy("missing.cedar")]).is_err());
}
