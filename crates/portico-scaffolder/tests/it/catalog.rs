use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use portico_plugin::Access;
use portico_scaffolder::actions::{CatalogFetchAction, CatalogRegisterAction, CatalogWriteAction};
use portico_scaffolder::api::{
    Action, ActionError, AddLocationOptions, CatalogClient, CatalogError, TaskUser, example_output,
};
use serde_json::{Value, json};

use crate::support::{Harness, assert_outside, symlink};

/// A catalog in memory: registered location targets, the entities each target yields, and
/// the entities by reference.
#[derive(Default)]
struct MemoryCatalog {
    locations: Mutex<Vec<String>>,
    calls: Mutex<Vec<(String, AddLocationOptions)>>,
    by_target: BTreeMap<String, Vec<Value>>,
    by_ref: BTreeMap<String, Value>,
}

#[async_trait]
impl CatalogClient for MemoryCatalog {
    async fn add_location(
        &self,
        target: &str,
        options: AddLocationOptions,
    ) -> Result<Vec<Value>, CatalogError> {
        self.calls.lock().unwrap().push((target.to_owned(), options.clone()));
        let entities = self
            .by_target
            .get(target)
            .cloned()
            .ok_or_else(|| CatalogError::NotFound(format!("Unable to read url, {target}")))?;
        let mut locations = self.locations.lock().unwrap();
        if !options.dry_run {
            if locations.iter().any(|known| known == target) {
                return Err(CatalogError::Conflict(format!("Location url:{target} already exists")));
            }
            locations.push(target.to_owned());
        }
        Ok(entities)
    }

    async fn get_entity_by_ref(
        &self,
        entity_ref: &str,
        _access: &Access,
    ) -> Result<Option<Value>, CatalogError> {
        Ok(self.by_ref.get(entity_ref).cloned())
    }

    async fn entities_matching(
        &self,
        _access: &Access,
        _catalog_filter: Option<&Value>,
        limit: usize,
    ) -> Result<Vec<Value>, CatalogError> {
        Ok(self.by_ref.values().take(limit).cloned().collect())
    }
}

const CATALOG_INFO: &str = "https://git.example.com/acme/svc/tree/main/catalog-info.yaml";

fn catalog() -> Arc<MemoryCatalog> {
    let entities = vec![
        json!({"kind": "Location", "metadata": {"name": "generated-123"}}),
        json!({"kind": "API", "metadata": {"name": "svc-api"}}),
        json!({"kind": "Component", "metadata": {"name": "Svc", "namespace": "Team"}}),
    ];
    let mut by_ref = BTreeMap::new();
    by_ref.insert(
        "component:default/svc".to_owned(),
        json!({"kind": "Component", "metadata": {"name": "svc"}}),
    );
    by_ref.insert("group:default/team".to_owned(), json!({"kind": "Group", "metadata": {"name": "team"}}));
    Arc::new(MemoryCatalog {
        by_target: BTreeMap::from([(CATALOG_INFO.to_owned(), entities)]),
        by_ref,
        ..MemoryCatalog::default()
    })
}

#[tokio::test]
async fn backstage_catalog_register_registers_then_reports_the_preferred_entity() {
    let h = Harness::new();
    let catalog = catalog();
    let mut ctx = h.context(json!({"repoContentsUrl": "https://git.example.com/acme/svc/tree/main"}));
    ctx.services.catalog = Some(catalog.clone());
    ctx.user = Some(TaskUser { entity_ref: "user:default/jane".into(), entity: None });
    CatalogRegisterAction.handle(&mut ctx).await.unwrap();
    assert_eq!(ctx.outputs()["entityRef"], "component:team/Svc");
    assert_eq!(ctx.outputs()["catalogInfoUrl"], CATALOG_INFO);
    let calls = catalog.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    assert!(!calls[0].1.dry_run && calls[1].1.dry_run, "register, then read: {calls:?}");
    assert_eq!(calls[0].1.on_behalf_of.as_deref(), Some("user:default/jane"));
    assert!(h.log.text().contains(&format!("Registering {CATALOG_INFO} in the catalog")));
}

#[tokio::test]
async fn backstage_catalog_register_accepts_a_catalog_info_url() {
    let h = Harness::new();
    let mut ctx = h.context(json!({"catalogInfoUrl": CATALOG_INFO}));
    ctx.services.catalog = Some(catalog());
    CatalogRegisterAction.handle(&mut ctx).await.unwrap();
    assert_eq!(ctx.outputs()["catalogInfoUrl"], CATALOG_INFO);
}

#[tokio::test]
async fn backstage_catalog_register_optional_tolerates_existing_and_missing_locations() {
    let h = Harness::new();
    let catalog = catalog();
    catalog.locations.lock().unwrap().push(CATALOG_INFO.to_owned());
    let mut ctx = h.context(json!({"catalogInfoUrl": CATALOG_INFO}));
    ctx.services.catalog = Some(catalog.clone());
    let error = CatalogRegisterAction.handle(&mut ctx).await.unwrap_err();
    assert_eq!(error.name(), "ConflictError");

    let mut ctx = h.context(json!({"catalogInfoUrl": CATALOG_INFO, "optional": true}));
    ctx.services.catalog = Some(catalog.clone());
    CatalogRegisterAction.handle(&mut ctx).await.unwrap();
    assert_eq!(ctx.outputs()["entityRef"], "component:team/Svc");

    let missing = "https://git.example.com/acme/none/tree/main/catalog-info.yaml";
    let mut ctx = h.context(json!({"catalogInfoUrl": missing, "optional": true}));
    ctx.services.catalog = Some(catalog);
    CatalogRegisterAction.handle(&mut ctx).await.unwrap();
    assert_eq!(ctx.outputs().get("entityRef"), None);
    assert_eq!(ctx.outputs()["catalogInfoUrl"], missing);
}

#[tokio::test]
async fn portico_catalog_register_needs_a_catalog_and_an_url_and_is_skipped_in_dry_runs() {
    let h = Harness::new();
    let mut ctx = h.context(json!({"catalogInfoUrl": CATALOG_INFO}));
    let error = CatalogRegisterAction.handle(&mut ctx).await.unwrap_err();
    assert!(error.to_string().contains("needs the software catalog"), "{error}");

    let mut ctx = h.context(json!({"optional": true}));
    ctx.services.catalog = Some(catalog());
    assert!(matches!(CatalogRegisterAction.handle(&mut ctx).await, Err(ActionError::Input(_))));

    let catalog = catalog();
    let mut ctx = h.context(json!({"catalogInfoUrl": CATALOG_INFO}));
    ctx.services.catalog = Some(catalog.clone());
    ctx.dry_run = true;
    assert!(CatalogRegisterAction.handle(&mut ctx).await.is_err());
    assert!(catalog.calls.lock().unwrap().is_empty(), "no registration in a dry run");
    assert!(!CatalogRegisterAction.supports_dry_run());
    let faked = example_output(&CatalogRegisterAction.schema().output);
    assert_eq!(faked["entityRef"], "component:default/my-service");
}

#[tokio::test]
async fn backstage_catalog_write_writes_the_entity_as_yaml_with_its_source_template() {
    let h = Harness::new();
    let entity = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "svc", "annotations": {"github.com/project-slug": "acme/svc"}},
        "spec": {"type": "service", "owner": "team", "lifecycle": "experimental"},
    });
    let mut ctx = h.context(json!({"entity": entity}));
    CatalogWriteAction.handle(&mut ctx).await.unwrap();
    let text = h.read("catalog-info.yaml");
    assert!(text.starts_with("apiVersion: backstage.io/v1alpha1\nkind: Component\n"), "{text}");
    let written = &yaml_rust2::YamlLoader::load_from_str(&text).unwrap()[0];
    assert_eq!(written["metadata"]["annotations"]["github.com/project-slug"].as_str(), Some("acme/svc"));
    assert_eq!(
        written["metadata"]["annotations"]["backstage.io/source-template"].as_str(),
        Some("template:default/demo")
    );

    let mut ctx = h.context(json!({"entity": {"kind": "Group"}, "filePath": "groups/team.yaml"}));
    CatalogWriteAction.handle(&mut ctx).await.unwrap();
    assert_eq!(h.read("groups/team.yaml"), "kind: Group\n");
    assert!(CatalogWriteAction.supports_dry_run());
}

#[tokio::test]
async fn backstage_catalog_write_refuses_paths_outside_the_workspace() {
    let h = Harness::new();
    symlink(&h.outside(), &h.ws("escape"));
    for file_path in ["../catalog-info.yaml", "/tmp/portico-catalog-info.yaml", "escape/catalog-info.yaml"] {
        let mut ctx = h.context(json!({"entity": {"kind": "Group"}, "filePath": file_path}));
        assert_outside(CatalogWriteAction.handle(&mut ctx).await);
    }
    assert_eq!(std::fs::read_dir(h.outside()).unwrap().count(), 0);
}

#[tokio::test]
async fn backstage_catalog_fetch_returns_an_entity_or_entities() {
    let h = Harness::new();
    let mut ctx = h.context(json!({"entityRef": "svc", "defaultKind": "Component"}));
    ctx.services.catalog = Some(catalog());
    CatalogFetchAction.handle(&mut ctx).await.unwrap();
    assert_eq!(ctx.outputs()["entity"]["metadata"]["name"], "svc");

    let mut ctx = h.context(json!({"entityRefs": ["component:svc", "group:team"]}));
    ctx.services.catalog = Some(catalog());
    CatalogFetchAction.handle(&mut ctx).await.unwrap();
    assert_eq!(ctx.outputs()["entities"][1]["kind"], "Group");
}

#[tokio::test]
async fn backstage_catalog_fetch_missing_entities_fail_unless_optional() {
    let h = Harness::new();
    let mut ctx = h.context(json!({"entityRef": "component:default/nope"}));
    ctx.services.catalog = Some(catalog());
    let error = CatalogFetchAction.handle(&mut ctx).await.unwrap_err();
    assert_eq!(error.to_string(), "Entity component:default/nope not found");

    let mut ctx = h.context(json!({"entityRef": "component:default/nope", "optional": true}));
    ctx.services.catalog = Some(catalog());
    CatalogFetchAction.handle(&mut ctx).await.unwrap();
    assert_eq!(ctx.outputs()["entity"], Value::Null);

    let mut ctx = h.context(json!({"entityRefs": ["component:svc", "component:nope"], "optional": true}));
    ctx.services.catalog = Some(catalog());
    CatalogFetchAction.handle(&mut ctx).await.unwrap();
    assert_eq!(ctx.outputs()["entities"][1], Value::Null);

    let mut ctx = h.context(json!({"entityRefs": ["component:nope"]}));
    ctx.services.catalog = Some(catalog());
    let error = CatalogFetchAction.handle(&mut ctx).await.unwrap_err();
    assert_eq!(error.to_string(), "Entity component:nope not found");
}

#[tokio::test]
async fn backstage_catalog_fetch_needs_a_reference_unless_optional() {
    let h = Harness::new();
    let mut ctx = h.context(json!({}));
    ctx.services.catalog = Some(catalog());
    let error = CatalogFetchAction.handle(&mut ctx).await.unwrap_err();
    assert_eq!(error.to_string(), "Missing entity reference or references");
    let mut ctx = h.context(json!({"optional": true}));
    CatalogFetchAction.handle(&mut ctx).await.unwrap();
    assert!(ctx.outputs().is_empty());
    let mut ctx = h.context(json!({"entityRef": "svc"}));
    ctx.services.catalog = Some(catalog());
    let error = CatalogFetchAction.handle(&mut ctx).await.unwrap_err();
    assert!(error.to_string().contains("had missing or empty kind"), "{error}");
}
