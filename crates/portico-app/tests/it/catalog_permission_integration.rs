//! Backstage's permission-framework integration routes of the catalog (other-apis.md §5.3–5.6,
//! catalog-api.md §5 item 21): the metadata the permission backend reads, and conditional
//! decisions resolved against catalog entities by `apply-conditions`.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use portico_testkit::{TestApp, TestDatabase, TestResponse, TokenSigner, write_file};
use serde_json::{Value, json};

use crate::support::config_with_locations;

const METADATA: &str = "/api/catalog/.well-known/backstage/permissions/metadata";
const APPLY: &str = "/api/catalog/.well-known/backstage/permissions/apply-conditions";
const SERVICE: &str = "component:default/service-a";

/// `service-a` (owned by team-a, annotated, labelled, tagged, with a nested spec field) and a
/// system owned by team-b.
const CATALOG: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: service-a
  annotations:
    backstage.io/techdocs-ref: dir:.
    example.com/tier: gold
  labels:
    team: a
  tags: [java, web]
  links:
    - url: https://example.com/dashboard
      title: Dashboard
spec:
  type: service
  lifecycle: production
  owner: team-a
  system: platform
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: platform
spec:
  owner: team-b
"#;

async fn app() -> TestApp {
    let dir = tempfile::tempdir().expect("temporary folder");
    let file = write_file(dir.path(), "catalog-info.yaml", CATALOG);
    let config = config_with_locations(&[("file", &file.to_string_lossy())]);
    let app = TestApp::start_in(dir, &config, TestDatabase::Sqlite).await;
    app.settle().await;
    assert!(app.entity(SERVICE).await.is_some(), "the catalog is loaded");
    app
}

fn condition(rule: &str, params: Value) -> Value {
    json!({"rule": rule, "resourceType": "catalog-entity", "params": params})
}

fn item(id: &str, resource_ref: &str, conditions: Value) -> Value {
    json!({"id": id, "resourceRef": resource_ref, "resourceType": "catalog-entity", "conditions": conditions})
}

async fn apply(app: &TestApp, items: Vec<Value>) -> TestResponse {
    app.post(APPLY, json!({ "items": items })).await
}

/// The result of one item asking `conditions` about `resource_ref`.
async fn decide(app: &TestApp, resource_ref: &str, conditions: Value) -> String {
    let response = apply(app, vec![item("1", resource_ref, conditions.clone())]).await;
    assert_eq!(response.status, StatusCode::OK, "{conditions}: {}", response.text());
    let body = response.json();
    assert_eq!(body["items"][0]["id"], "1");
    body["items"][0]["result"].as_str().expect("a result").to_owned()
}

/// A 400 `InputError` in the catalog's error envelope; its message.
fn input_error(response: &TestResponse) -> String {
    assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.text());
    let body = response.json();
    assert_eq!(body["error"]["name"], "InputError", "{body:#}");
    assert_eq!(body["request"]["method"], "POST");
    assert_eq!(body["request"]["url"], APPLY);
    assert_eq!(body["response"]["statusCode"], 400);
    body["error"]["message"].as_str().expect("a message").to_owned()
}

#[tokio::test]
async fn metadata_lists_catalog_permissions_and_rules_with_param_schemas() {
    let app = TestApp::start("").await;
    let metadata = app.get_json(METADATA).await;

    let permissions = metadata["permissions"].as_array().expect("permissions");
    assert!(permissions.contains(&json!({
        "type": "resource",
        "name": "catalog.entity.read",
        "attributes": {"action": "read"},
        "resourceType": "catalog-entity",
    })));
    assert!(permissions.contains(&json!({
        "type": "basic",
        "name": "catalog.entity.create",
        "attributes": {"action": "create"},
    })));
    let names: Vec<&str> = permissions.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for name in [
        "catalog.entity.delete",
        "catalog.entity.refresh",
        "catalog.location.read",
        "catalog.location.create",
        "catalog.location.delete",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert!(names.iter().all(|name| name.starts_with("catalog.")), "only the catalog's: {names:?}");

    let rules = metadata["rules"].as_array().expect("rules");
    let mut rule_names: Vec<&str> = rules.iter().map(|r| r["name"].as_str().unwrap()).collect();
    rule_names.sort_unstable();
    assert_eq!(
        rule_names,
        ["HAS_ANNOTATION", "HAS_LABEL", "HAS_METADATA", "HAS_SPEC", "IS_ENTITY_KIND", "IS_ENTITY_OWNER"]
    );
    assert!(rules.iter().all(|r| r["resourceType"] == "catalog-entity" && r["description"].is_string()));
    let rule = |name: &str| rules.iter().find(|r| r["name"] == name).unwrap().clone();
    assert_eq!(
        rule("IS_ENTITY_OWNER"),
        json!({
            "name": "IS_ENTITY_OWNER",
            "description": "Allow entities owned by a specified claim",
            "resourceType": "catalog-entity",
            "paramsSchema": {
                "type": "object",
                "properties": {
                    "claims": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "List of claims to match at least one on within ownedBy",
                    },
                },
                "required": ["claims"],
                "additionalProperties": false,
                "$schema": "http://json-schema.org/draft-07/schema#",
            },
        })
    );
    let schema = |name: &str, part: &str| rule(name)["paramsSchema"][part].clone();
    assert_eq!(schema("IS_ENTITY_KIND", "required"), json!(["kinds"]));
    assert_eq!(schema("IS_ENTITY_KIND", "properties")["kinds"]["items"], json!({"type": "string"}));
    assert_eq!(schema("HAS_ANNOTATION", "required"), json!(["annotation"]));
    assert_eq!(schema("HAS_ANNOTATION", "properties")["value"]["type"], "string");
    assert_eq!(schema("HAS_LABEL", "required"), json!(["label"]));
    for name in ["HAS_METADATA", "HAS_SPEC"] {
        assert_eq!(schema(name, "required"), json!(["key"]), "{name}");
        let properties = schema(name, "properties");
        assert_eq!(properties["key"]["type"], "string", "{name}");
        assert_eq!(properties["value"]["type"], "string", "{name}");
    }
}

#[tokio::test]
async fn apply_conditions_matches_owner_claims_without_regard_to_case() {
    let app = app().await;
    let owner = |claims: Value| condition("IS_ENTITY_OWNER", json!({ "claims": claims }));
    assert_eq!(
        decide(&app, SERVICE, owner(json!(["user:default/jane", "group:default/team-a"]))).await,
        "ALLOW"
    );
    assert_eq!(decide(&app, SERVICE, owner(json!(["Group:Default/Team-A"]))).await, "ALLOW");
    assert_eq!(decide(&app, SERVICE, owner(json!(["group:default/team-b"]))).await, "DENY");
    assert_eq!(decide(&app, SERVICE, owner(json!([]))).await, "DENY");
    assert_eq!(
        decide(&app, "system:default/platform", owner(json!(["group:default/team-b"]))).await,
        "ALLOW"
    );
}

#[tokio::test]
async fn apply_conditions_matches_kinds_without_regard_to_case() {
    let app = app().await;
    let kind = |kinds: Value| condition("IS_ENTITY_KIND", json!({ "kinds": kinds }));
    assert_eq!(decide(&app, SERVICE, kind(json!(["component"]))).await, "ALLOW");
    assert_eq!(decide(&app, SERVICE, kind(json!(["API", "COMPONENT"]))).await, "ALLOW");
    assert_eq!(decide(&app, SERVICE, kind(json!(["System"]))).await, "DENY");
    assert_eq!(decide(&app, "system:default/platform", kind(json!(["System"]))).await, "ALLOW");
}

#[tokio::test]
async fn apply_conditions_matches_annotations_with_and_without_a_value() {
    let app = app().await;
    let annotation = |params: Value| condition("HAS_ANNOTATION", params);
    let tier = "example.com/tier";
    assert_eq!(decide(&app, SERVICE, annotation(json!({"annotation": tier}))).await, "ALLOW");
    assert_eq!(
        decide(&app, SERVICE, annotation(json!({"annotation": tier, "value": "gold"}))).await,
        "ALLOW"
    );
    assert_eq!(
        decide(&app, SERVICE, annotation(json!({"annotation": tier, "value": "silver"}))).await,
        "DENY"
    );
    assert_eq!(decide(&app, SERVICE, annotation(json!({"annotation": "example.com/none"}))).await, "DENY");
    let techdocs = json!({"annotation": "backstage.io/techdocs-ref", "value": "dir:."});
    assert_eq!(decide(&app, SERVICE, annotation(techdocs)).await, "ALLOW");
}

#[tokio::test]
async fn apply_conditions_matches_labels() {
    let app = app().await;
    assert_eq!(decide(&app, SERVICE, condition("HAS_LABEL", json!({"label": "team"}))).await, "ALLOW");
    assert_eq!(decide(&app, SERVICE, condition("HAS_LABEL", json!({"label": "tier"}))).await, "DENY");
    let platform = "system:default/platform";
    assert_eq!(decide(&app, platform, condition("HAS_LABEL", json!({"label": "team"}))).await, "DENY");
}

#[tokio::test]
async fn apply_conditions_reads_metadata_arrays_and_scalars() {
    let app = app().await;
    let metadata = |params: Value| condition("HAS_METADATA", params);
    // Arrays: contains the value, or is not empty.
    assert_eq!(decide(&app, SERVICE, metadata(json!({"key": "tags", "value": "java"}))).await, "ALLOW");
    assert_eq!(decide(&app, SERVICE, metadata(json!({"key": "tags", "value": "go"}))).await, "DENY");
    assert_eq!(decide(&app, SERVICE, metadata(json!({"key": "tags"}))).await, "ALLOW");
    assert_eq!(decide(&app, "system:default/platform", metadata(json!({"key": "tags"}))).await, "DENY");
    // Scalars: equal to the value, or truthy; paths are read like lodash `get`.
    assert_eq!(decide(&app, SERVICE, metadata(json!({"key": "name", "value": "service-a"}))).await, "ALLOW");
    assert_eq!(decide(&app, SERVICE, metadata(json!({"key": "name", "value": "other"}))).await, "DENY");
    assert_eq!(decide(&app, SERVICE, metadata(json!({"key": "annotations"}))).await, "ALLOW");
    assert_eq!(decide(&app, SERVICE, metadata(json!({"key": "labels.team", "value": "a"}))).await, "ALLOW");
    let link_title = json!({"key": "links[0].title", "value": "Dashboard"});
    assert_eq!(decide(&app, SERVICE, metadata(link_title)).await, "ALLOW");
    assert_eq!(decide(&app, SERVICE, metadata(json!({"key": "description"}))).await, "DENY");
}

#[tokio::test]
async fn apply_conditions_reads_spec_fields() {
    let app = app().await;
    let spec = |params: Value| condition("HAS_SPEC", params);
    assert_eq!(
        decide(&app, SERVICE, spec(json!({"key": "lifecycle", "value": "production"}))).await,
        "ALLOW"
    );
    assert_eq!(
        decide(&app, SERVICE, spec(json!({"key": "lifecycle", "value": "experimental"}))).await,
        "DENY"
    );
    assert_eq!(decide(&app, SERVICE, spec(json!({"key": "system"}))).await, "ALLOW");
    assert_eq!(decide(&app, SERVICE, spec(json!({"key": "subcomponentOf"}))).await, "DENY");
    assert_eq!(decide(&app, "system:default/platform", spec(json!({"key": "type"}))).await, "DENY");
}

#[tokio::test]
async fn apply_conditions_combines_all_of_any_of_and_not() {
    let app = app().await;
    let component = condition("IS_ENTITY_KIND", json!({"kinds": ["Component"]}));
    let team_b = condition("IS_ENTITY_OWNER", json!({"claims": ["group:default/team-b"]}));
    let labelled = condition("HAS_LABEL", json!({"label": "team"}));
    let cases = [
        (json!({"allOf": [component, labelled]}), "ALLOW"),
        (json!({"allOf": [component, team_b]}), "DENY"),
        (json!({"anyOf": [team_b, labelled]}), "ALLOW"),
        (json!({"anyOf": [team_b, {"not": component}]}), "DENY"),
        (json!({"not": team_b}), "ALLOW"),
        (json!({"not": {"not": team_b}}), "DENY"),
        (json!({"allOf": [{"anyOf": [team_b, component]}, {"not": {"allOf": [labelled, team_b]}}]}), "ALLOW"),
        (json!({"allOf": [{"anyOf": [team_b, component]}, {"not": {"anyOf": [labelled, team_b]}}]}), "DENY"),
    ];
    for (conditions, expected) in cases {
        assert_eq!(decide(&app, SERVICE, conditions.clone()).await, expected, "{conditions}");
    }
}

#[tokio::test]
async fn apply_conditions_denies_missing_resources() {
    let app = app().await;
    let anything = json!({"not": condition("HAS_LABEL", json!({"label": "nothing"}))});
    assert_eq!(decide(&app, SERVICE, anything.clone()).await, "ALLOW", "the conditions hold for entities");
    assert_eq!(decide(&app, "component:default/missing", anything.clone()).await, "DENY");
    assert_eq!(decide(&app, "not a ref", anything).await, "DENY");
    // As in Backstage, nothing of the conditions is looked at for a missing resource.
    let invalid = condition("IS_ENTITY_KIND", json!({"kinds": "component"}));
    assert_eq!(decide(&app, "component:default/missing", invalid).await, "DENY");
}

#[tokio::test]
async fn apply_conditions_answers_several_items_in_request_order() {
    let app = app().await;
    let component = condition("IS_ENTITY_KIND", json!({"kinds": ["component"]}));
    let system = condition("IS_ENTITY_KIND", json!({"kinds": ["system"]}));
    let response = apply(
        &app,
        vec![
            item("a", SERVICE, component.clone()),
            item("b", SERVICE, system.clone()),
            item("c", "component:default/missing", component.clone()),
            item("d", "system:default/platform", system),
            // Refs are case-insensitive, like everywhere in the catalog.
            item("e", "Component:default/Service-A", component),
        ],
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.json(),
        json!({"items": [
            {"id": "a", "result": "ALLOW"},
            {"id": "b", "result": "DENY"},
            {"id": "c", "result": "DENY"},
            {"id": "d", "result": "ALLOW"},
            {"id": "e", "result": "ALLOW"},
        ]})
    );
    let empty = apply(&app, vec![]).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.json(), json!({"items": []}));
}

#[tokio::test]
async fn apply_conditions_rejects_unexpected_resource_types() {
    let app = app().await;
    let kind = condition("IS_ENTITY_KIND", json!({"kinds": ["component"]}));
    let mut first = item("1", SERVICE, kind.clone());
    first["resourceType"] = json!("scaffolder-task");
    let mut third = item("3", SERVICE, kind.clone());
    third["resourceType"] = json!("test-resource");
    let response = apply(&app, vec![first, item("2", SERVICE, kind), third]).await;
    assert_eq!(input_error(&response), "Unexpected resource types: scaffolder-task, test-resource.");
}

#[tokio::test]
async fn apply_conditions_rejects_invalid_rule_parameters() {
    let app = app().await;
    for conditions in [
        condition("IS_ENTITY_OWNER", json!({"claims": "group:default/team-a"})),
        condition("IS_ENTITY_OWNER", json!({"claims": [1]})),
        condition("IS_ENTITY_KIND", json!({})),
        condition("HAS_ANNOTATION", json!({"annotation": "a", "value": null})),
        condition("HAS_LABEL", json!({"name": "team"})),
        condition("HAS_METADATA", json!({"key": ["name"]})),
        condition("HAS_SPEC", json!({"key": "type", "value": 1})),
        json!({"rule": "HAS_LABEL", "resourceType": "catalog-entity"}),
        json!({"not": condition("HAS_LABEL", json!({"label": 1}))}),
    ] {
        let response = apply(&app, vec![item("1", SERVICE, conditions.clone())]).await;
        assert_eq!(input_error(&response), "Parameters to rule are invalid", "{conditions}");
    }
}

#[tokio::test]
async fn apply_conditions_rejects_unknown_rules() {
    let app = app().await;
    let unknown = json!({"allOf": [
        condition("IS_ENTITY_KIND", json!({"kinds": ["component"]})),
        condition("IS_ENTITY_NAME", json!({"names": ["service-a"]})),
    ]});
    let response = apply(&app, vec![item("1", SERVICE, unknown)]).await;
    assert_eq!(
        input_error(&response),
        "Permission rule 'IS_ENTITY_NAME' does not exist for resource type 'catalog-entity'"
    );
}

#[tokio::test]
async fn apply_conditions_rejects_malformed_bodies() {
    let app = app().await;
    let kind = condition("IS_ENTITY_KIND", json!({"kinds": ["component"]}));
    let without = |key: &str| {
        let mut one = item("1", SERVICE, kind.clone());
        one.as_object_mut().unwrap().remove(key);
        json!({ "items": [one] })
    };
    let bodies = [
        json!({}),
        json!({"items": {}}),
        json!([item("1", SERVICE, kind.clone())]),
        json!({"items": ["1"]}),
        without("id"),
        without("resourceRef"),
        without("resourceType"),
        without("conditions"),
        json!({"items": [item("1", SERVICE, json!({"allOf": []}))]}),
        json!({"items": [item("1", SERVICE, json!({"anyOf": []}))]}),
        json!({"items": [item("1", SERVICE, json!({"anyOf": [kind, {"rule": "HAS_LABEL"}]}))]}),
        json!({"items": [item("1", SERVICE, json!({"rule": "HAS_LABEL", "params": {"label": "team"}}))]}),
        json!({"items": [item("1", SERVICE, condition("HAS_LABEL", json!(["team"])))]}),
        json!({"items": [item("1", SERVICE, json!("IS_ENTITY_KIND"))]}),
    ];
    for body in bodies {
        let response = app.post(APPLY, body.clone()).await;
        let message = input_error(&response);
        assert!(message.starts_with("Invalid request body: "), "{body}: {message}");
    }
    for raw in ["", "{\"items\": [", "items=1"] {
        let request = Request::builder()
            .method(Method::POST)
            .uri(APPLY)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(raw))
            .expect("request");
        let response = app.send(request).await;
        let message = input_error(&response);
        assert!(message.starts_with("Invalid request body: "), "{raw:?}: {message}");
    }
}

/// Entities are looked up as the caller may read them, like every read route: under the
/// example policies an entity labelled restricted exists for its owners only, so for anyone
/// else (a static service token too) its conditions are never applied.
#[tokio::test]
async fn apply_conditions_treats_entities_the_caller_may_not_read_as_missing() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let file = write_file(
        dir.path(),
        "catalog-info.yaml",
        &format!(
            "{CATALOG}---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: secret\n  labels:\n    portico.io/restricted: \"true\"\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
        ),
    );
    let demo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo/policies");
    let config = format!(
        "{}backend:\n  auth:\n    externalAccess:\n      - type: static\n        options:\n          token: permission-backend-0123456789\n          subject: permission-backend\npermission:\n  enabled: true\n  policies:\n    - {}\n    - {}\n",
        config_with_locations(&[("file", &file.to_string_lossy())]),
        demo.join("default.cedar").display(),
        demo.join("restricted-entities.cedar").display(),
    );
    let app = TestApp::start_in(dir, &config, TestDatabase::Sqlite).await;
    app.settle().await;
    let signer = TokenSigner::join(&app).await;
    let jane = signer.token("user:default/jane", &["user:default/jane", "group:default/team-a"]);
    let bob = signer.token("user:default/bob", &["user:default/bob", "group:default/team-b"]);

    let ask = |token: String| {
        let app = &app;
        async move {
            let kind = condition("IS_ENTITY_KIND", json!({"kinds": ["component"]}));
            let body = json!({"items": [
                item("open", SERVICE, kind.clone()),
                item("secret", "component:default/secret", kind),
            ]});
            let request = Request::builder()
                .method(Method::POST)
                .uri(APPLY)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(body.to_string()))
                .expect("request");
            let response = app.send(request).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            let body = response.json();
            let results: Vec<String> = body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["result"].as_str().unwrap().into())
                .collect();
            results
        }
    };
    assert_eq!(ask(jane).await, ["ALLOW", "ALLOW"], "the owner reads both");
    assert_eq!(ask(bob).await, ["ALLOW", "DENY"], "someone else does not see the restricted one");
    assert_eq!(ask("permission-backend-0123456789".into()).await, ["ALLOW", "DENY"]);
}

#[tokio::test]
async fn openapi_documents_the_permission_integration_routes() {
    let app = TestApp::start("").await;
    let openapi = app.get_json("/api/catalog/openapi.json").await;
    let paths = &openapi["paths"];
    let metadata = &paths["/.well-known/backstage/permissions/metadata"]["get"];
    assert_eq!(metadata["operationId"], "GetPermissionMetadata");
    let apply = &paths["/.well-known/backstage/permissions/apply-conditions"]["post"];
    assert_eq!(apply["operationId"], "ApplyPermissionConditions");
    assert_eq!(
        apply["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ApplyConditionsRequest"
    );
    assert!(openapi["components"]["schemas"]["PermissionCriteria"]["anyOf"].is_array());
}
