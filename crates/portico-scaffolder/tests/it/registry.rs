use std::sync::Arc;

use portico_scaffolder::actions::DebugLogAction;
use portico_scaffolder::api::{ActionRegistry, RegistryError};
use portico_scaffolder::config::ActionsConfig;

#[test]
fn backstage_registry_lists_builtins_sorted_and_refuses_duplicate_ids() {
    let mut registry = ActionRegistry::with_builtins(&ActionsConfig::default()).unwrap();
    let ids: Vec<_> = registry.list().map(|action| action.id().to_owned()).collect();
    assert_eq!(
        ids,
        [
            "catalog:fetch",
            "catalog:register",
            "catalog:write",
            "debug:log",
            "debug:wait",
            "fetch:plain",
            "fetch:plain:file",
            "fetch:template",
            "fetch:template:file",
            "fs:delete",
            "fs:rename",
            "publish:git",
        ]
    );
    let error = registry.register(Arc::new(DebugLogAction)).unwrap_err();
    assert_eq!(error, RegistryError::Duplicate("debug:log".into()));
    assert_eq!(error.to_string(), "Template action with ID 'debug:log' has already been registered");
    let missing = registry.get("publish:github").err().unwrap();
    assert_eq!(missing.to_string(), "Template action with ID 'publish:github' is not registered.");
}

#[test]
fn backstage_dry_run_support_matches_the_builtins() {
    let registry = ActionRegistry::with_builtins(&ActionsConfig::default()).unwrap();
    let dry: Vec<_> = registry
        .list()
        .filter(|action| action.supports_dry_run())
        .map(|action| action.id().to_owned())
        .collect();
    assert_eq!(
        dry,
        [
            "catalog:fetch",
            "catalog:write",
            "debug:log",
            "fetch:plain",
            "fetch:plain:file",
            "fetch:template",
            "fetch:template:file",
            "fs:delete",
            "fs:rename",
        ]
    );
    for action in registry.list() {
        assert!(action.schema().input.is_object(), "{}", action.id());
        assert!(!action.description().is_empty());
    }
}
