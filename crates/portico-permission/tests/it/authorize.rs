//! `POST /api/permission/authorize` bodies: Backstage's validation and the answers.

use portico_permission::authorize::{
    AuthorizeError, ResourceRefs, WirePermission, authorize_body, parse_authorize_request,
};
use portico_permission::{PermissionAction, PolicyEngine, Principal, ResourceType};
use serde_json::{Value, json};

use crate::{bob, component, demo_policy, jane};

const READ: &str = r#"{"type": "resource", "name": "catalog.entity.read", "attributes": {"action": "read"}, "resourceType": "catalog-entity"}"#;
const DELETE: &str = r#"{"type": "resource", "name": "catalog.entity.delete", "attributes": {"action": "delete"}, "resourceType": "catalog-entity"}"#;
const CREATE_TASK: &str =
    r#"{"type": "basic", "name": "scaffolder.task.create", "attributes": {"action": "create"}}"#;

fn permission(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn input_error(body: Value) -> String {
    match parse_authorize_request(&body) {
        Err(AuthorizeError::Input(message)) => message,
        other => panic!("expected an input error for {body}, got {other:?}"),
    }
}

/// The catalog as the lookup sees it: restricted `salaries` owned by team-a, open `payments`.
fn lookup(resource_type: ResourceType, reference: &str) -> Option<Value> {
    assert_eq!(resource_type, ResourceType::CatalogEntity);
    match reference {
        "component:default/salaries" => {
            Some(component("salaries", "team-a", json!({ "portico.io/restricted": "true" })))
        }
        "component:default/payments" => Some(component("payments", "team-b", json!({}))),
        _ => None,
    }
}

fn demo_engine() -> PolicyEngine {
    PolicyEngine::from_files(
        ["default.cedar", "owners-delete.cedar", "restricted-entities.cedar"].map(demo_policy),
    )
    .unwrap()
}

#[test]
fn parses_basic_and_resource_items() {
    let body = json!({ "items": [
        { "id": "a", "permission": permission(CREATE_TASK) },
        { "id": "b", "permission": permission(READ), "resourceRef": "component:default/payments" },
        { "id": "c", "permission": permission(READ), "resourceRef": ["component:default/a", "component:default/b"] },
    ]});
    let request = parse_authorize_request(&body).unwrap();
    assert_eq!(request.items.len(), 3);
    assert_eq!(
        request.items[0].permission,
        WirePermission {
            name: "scaffolder.task.create".to_owned(),
            resource_type: None,
            action: Some(PermissionAction::Create)
        }
    );
    assert_eq!(request.items[1].permission.resource_type.as_deref(), Some("catalog-entity"));
    assert_eq!(
        request.items[1].resource_ref,
        Some(ResourceRefs::One("component:default/payments".to_owned()))
    );
    assert!(matches!(&request.items[2].resource_ref, Some(ResourceRefs::Many(refs)) if refs.len() == 2));
}

#[test]
fn malformed_bodies_are_input_errors() {
    assert!(input_error(json!({})).contains("items must be an array"));
    assert!(input_error(json!([])).contains("items must be an array"));
    assert!(
        input_error(json!({ "items": [{ "permission": permission(CREATE_TASK) }] })).contains("items[0].id")
    );
    let wrong_type = json!({ "type": "fancy", "name": "x", "attributes": {} });
    assert!(input_error(json!({ "items": [{ "id": "1", "permission": wrong_type }] })).contains(".type"));
    let no_attributes = json!({ "type": "basic", "name": "x" });
    assert!(
        input_error(json!({ "items": [{ "id": "1", "permission": no_attributes }] })).contains(".attributes")
    );
    let bad_action = json!({ "type": "basic", "name": "x", "attributes": { "action": "execute" } });
    assert!(
        input_error(json!({ "items": [{ "id": "1", "permission": bad_action }] }))
            .contains(".attributes.action")
    );
    let no_resource_type = json!({ "type": "resource", "name": "x", "attributes": {} });
    let body = json!({ "items": [{ "id": "1", "permission": no_resource_type, "resourceRef": "component:default/x" }] });
    assert!(input_error(body).contains(".resourceType"));
    let basic_with_ref = json!({ "items": [
        { "id": "1", "permission": permission(CREATE_TASK), "resourceRef": "component:default/x" }
    ]});
    assert!(
        input_error(basic_with_ref).contains("items[0].resourceRef is not allowed with a basic permission")
    );
    let bad_refs = json!({ "items": [{ "id": "1", "permission": permission(READ), "resourceRef": [1] }] });
    assert!(input_error(bad_refs).contains("items[0].resourceRef"));
    let second_item = json!({ "items": [
        { "id": "1", "permission": permission(CREATE_TASK) },
        { "id": 2, "permission": permission(CREATE_TASK) },
    ]});
    assert!(input_error(second_item).contains("items[1].id"));
}

#[test]
fn resource_permissions_need_a_resource_ref() {
    let body = json!({ "items": [{ "id": "1", "permission": permission(READ) }] });
    assert_eq!(
        input_error(body),
        "Resource permissions require a resourceRef to be set. Direct user requests without a resourceRef are not allowed."
    );
}

#[test]
fn answers_in_request_order_with_ids() {
    let engine = demo_engine();
    let body = json!({ "items": [
        { "id": "read-salaries", "permission": permission(READ), "resourceRef": "component:default/salaries" },
        { "id": "read-payments", "permission": permission(READ), "resourceRef": "component:default/payments" },
        { "id": "delete-payments", "permission": permission(DELETE), "resourceRef": "component:default/payments" },
        { "id": "create-task", "permission": permission(CREATE_TASK) },
        { "id": "missing", "permission": permission(READ), "resourceRef": "component:default/nowhere" },
        { "id": "many", "permission": permission(READ),
          "resourceRef": ["component:default/payments", "component:default/salaries", "component:default/nowhere"] },
    ]});
    let answer = authorize_body(&engine, &bob(), &body, lookup).unwrap();
    assert_eq!(
        answer,
        json!({ "items": [
            { "id": "read-salaries", "result": "DENY" },
            { "id": "read-payments", "result": "ALLOW" },
            { "id": "delete-payments", "result": "ALLOW" },
            { "id": "create-task", "result": "ALLOW" },
            { "id": "missing", "result": "DENY" },
            { "id": "many", "result": ["ALLOW", "DENY", "DENY"] },
        ]})
    );
    let answer = authorize_body(&engine, &jane(), &body, lookup).unwrap();
    assert_eq!(answer["items"][0]["result"], "ALLOW");
    assert_eq!(answer["items"][2]["result"], "DENY", "jane is not in team-b");
    assert_eq!(answer["items"][5]["result"], json!(["ALLOW", "ALLOW", "DENY"]));
}

#[test]
fn unknown_permissions_are_denied_unless_everything_is_allowed() {
    let unknown = json!({ "type": "basic", "name": "kubernetes.proxy", "attributes": {} });
    let body = json!({ "items": [{ "id": "1", "permission": unknown }] });
    let denied = authorize_body(&demo_engine(), &jane(), &body, lookup).unwrap();
    assert_eq!(denied["items"][0]["result"], "DENY");
    let allowed = authorize_body(&PolicyEngine::allow_all(), &jane(), &body, lookup).unwrap();
    assert_eq!(allowed["items"][0]["result"], "ALLOW");
}

#[test]
fn anonymous_callers_are_answered_and_services_refused() {
    let body = json!({ "items": [
        { "id": "1", "permission": permission(READ), "resourceRef": "component:default/salaries" },
    ]});
    let anonymous = authorize_body(&demo_engine(), &Principal::Anonymous, &body, lookup).unwrap();
    assert_eq!(anonymous["items"][0]["result"], "DENY");
    let service = authorize_body(&demo_engine(), &Principal::service("catalog"), &body, lookup).unwrap_err();
    assert!(matches!(service, AuthorizeError::NotAllowed(message) if message.contains("'service'")));
}
