//! Loading policies: syntax and validation errors name the file and position, reasons name the
//! policy.

use std::fs;

use portico_permission::permission::{CATALOG_ENTITY_DELETE, CATALOG_ENTITY_READ};
use portico_permission::{Decision, PolicyEngine, PolicyError, PolicyProblem, Resource};
use serde_json::json;

use crate::{bob, component};

fn problems(result: Result<PolicyEngine, PolicyError>) -> Vec<PolicyProblem> {
    match result {
        Err(PolicyError::Invalid { problems }) => problems,
        other => panic!("expected invalid policies, got {other:?}"),
    }
}

#[test]
fn a_syntax_error_is_reported_with_file_line_and_column() {
    let text = "permit (principal, action, resource);\n\nforbid (principal action, resource);\n";
    let problems = problems(PolicyEngine::from_text("policies/broken.cedar", text));
    assert_eq!(problems.len(), 1, "{problems:?}");
    let problem = &problems[0];
    assert_eq!(problem.origin, "policies/broken.cedar");
    assert_eq!(problem.position, Some((3, 19)), "{problem}");
    assert!(problem.message.contains("unexpected token"), "{problem}");
    assert!(problem.to_string().starts_with("policies/broken.cedar:3:19: unexpected token"), "{problem}");
}

#[test]
fn a_misspelt_attribute_is_rejected_where_it_is_written() {
    let text = "// owners only\n\
                forbid (principal, action == Portico::Action::\"catalog.entity.delete\", resource)\n\
                unless { resource.ownr == \"group:default/team-a\" };\n";
    let problems = problems(PolicyEngine::from_text("owners.cedar", text));
    assert_eq!(problems.len(), 1, "{problems:?}");
    let (line, column) = problems[0].position.expect("a position");
    assert_eq!(line, 3, "{}", problems[0]);
    assert!(column >= 10, "{}", problems[0]);
    assert!(problems[0].message.contains("ownr"), "{}", problems[0]);
}

#[test]
fn an_optional_attribute_used_without_has_is_rejected() {
    let text = "forbid (principal, action == Portico::Action::\"catalog.entity.delete\", resource)\n\
                unless { resource.owner == \"group:default/team-a\" };\n";
    let problems = problems(PolicyEngine::from_text("owners.cedar", text));
    assert!(problems[0].message.contains("owner"), "{}", problems[0]);
    assert_eq!(problems[0].position.map(|(line, _)| line), Some(2));
}

#[test]
fn an_unknown_action_is_rejected() {
    let text = "permit (principal, action == Portico::Action::\"catalog.entity.raed\", resource);";
    let problems = problems(PolicyEngine::from_text("typo.cedar", text));
    assert!(problems[0].message.contains("catalog.entity.raed"), "{}", problems[0]);
    assert_eq!(problems[0].position.map(|(line, _)| line), Some(1));
}

#[test]
fn every_broken_file_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.cedar");
    let second = dir.path().join("second.cedar");
    fs::write(&first, "permit (principal, action, resource)").unwrap();
    fs::write(&second, "permit (principal, action, resource);\npermit (principal, action resource);")
        .unwrap();
    let error = PolicyEngine::from_files([&first, &second]).unwrap_err();
    let PolicyError::Invalid { problems } = &error else { panic!("{error}") };
    assert_eq!(problems.len(), 2, "{error}");
    assert_eq!(problems[0].origin, first.display().to_string());
    assert_eq!(problems[1].origin, second.display().to_string());
    assert_eq!(problems[1].position.map(|(line, _)| line), Some(2));
    let shown = error.to_string();
    assert!(shown.contains(&format!("{}:1:", first.display())), "{shown}");
    assert!(shown.contains(&format!("{}:2:", second.display())), "{shown}");
}

#[test]
fn a_missing_file_is_named() {
    let error = PolicyEngine::from_files(["/nonexistent/policies/a.cedar"]).unwrap_err();
    assert!(matches!(error, PolicyError::Read { .. }));
    assert!(error.to_string().contains("/nonexistent/policies/a.cedar"), "{error}");
}

#[test]
fn policy_templates_are_refused() {
    let text = "permit (principal == ?principal, action, resource);";
    let problems = problems(PolicyEngine::from_text("template.cedar", text));
    assert!(problems[0].message.contains("templates"), "{}", problems[0]);
}

#[test]
fn a_deny_names_the_forbidding_policy_and_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let allow = dir.path().join("allow.cedar");
    let deny = dir.path().join("deny.cedar");
    fs::write(&allow, "permit (principal, action, resource);\n").unwrap();
    fs::write(
        &deny,
        "// no deletes\n\n@id(\"no-deletes\")\nforbid (principal, action in Portico::Action::\"delete\", resource);\n\
         forbid (principal, action == Portico::Action::\"catalog.entity.read\", resource is Portico::Entity)\n\
         when { resource.name == \"secret\" };\n",
    )
    .unwrap();
    let engine = PolicyEngine::from_files([&allow, &deny]).unwrap();
    let entity = component("secret", "team-a", json!({}));
    let Decision::Deny { reason } =
        engine.authorize(&bob(), &CATALOG_ENTITY_DELETE, Some(Resource::Entity(&entity)))
    else {
        panic!("delete must be denied")
    };
    assert!(reason.contains("user:default/bob"), "{reason}");
    assert!(reason.contains(&format!("policy \"no-deletes\" ({}:3:1)", deny.display())), "{reason}");
    let Decision::Deny { reason } =
        engine.authorize(&bob(), &CATALOG_ENTITY_READ, Some(Resource::Entity(&entity)))
    else {
        panic!("read must be denied")
    };
    assert!(reason.contains(&format!("the policy at {}:5:1", deny.display())), "{reason}");
}

#[test]
fn without_any_permit_everything_is_denied() {
    let engine = PolicyEngine::from_text(
        "only-forbid.cedar",
        "forbid (principal is Portico::Anonymous, action, resource);",
    )
    .unwrap();
    let entity = component("payments", "team-a", json!({}));
    let decision = engine.authorize(&bob(), &CATALOG_ENTITY_READ, Some(Resource::Entity(&entity)));
    assert_eq!(
        decision,
        Decision::Deny { reason: "no policy permits catalog.entity.read for user:default/bob".to_owned() }
    );
}
