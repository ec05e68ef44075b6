//! The contracts every [`crate::CatalogStore`], [`crate::UserDataStore`], [`crate::TaskStore`]
//! and [`crate::AuditStore`] implementation must pass.
//!
//! Backends call [`run_catalog_contract`], [`run_user_data_contract`], [`run_task_contract`] and
//! [`run_audit_contract`] from their own tests with a fresh store factory.
//! Each scenario gets its own store, so scenarios cannot influence each other. Failures panic
//! with a message naming the scenario and the broken expectation.

use std::future::Future;

use serde_json::{Value, json};

use crate::{
    ActionFilter, AuditEntry, AuditOutcome, AuditQuery, AuditStore, CatalogStore, Conflict, FinalChange,
    FinalWrite, LocationRecord, NewAuditEntry, NewTask, Parent, ProcessingOutcome, ProcessingResult,
    RelationRow, StoreError, StoreResult, TaskEventRecord, TaskEventType, TaskOrderField, TaskQuery,
    TaskRecord, TaskStatus, TaskStore, UnprocessedEntity, UserDataStore,
};

/// Runs the per-user data scenario against a store returned by `make_store`.
pub async fn run_user_data_contract<S, F, Fut>(make_store: F)
where
    S: UserDataStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    stars(&make_store().await).await;
}

async fn stars(store: &impl UserDataStore) {
    let jane = "user:default/jane";
    let joe = "user:default/joe";
    assert!(store.starred(jane).await.expect("starred").is_empty(), "stars: nothing starred at first");
    store.star(jane, "component:default/b").await.expect("star");
    store.star(jane, "component:default/a").await.expect("star");
    store.star(jane, "component:default/b").await.expect("star twice is fine");
    store.star(joe, "api:default/x").await.expect("star");
    assert_eq!(
        store.starred(jane).await.expect("starred"),
        ["component:default/b", "component:default/a"],
        "stars: each once, oldest first, only the user's own"
    );
    store.unstar(jane, "component:default/b").await.expect("unstar");
    store.unstar(jane, "component:default/missing").await.expect("unstar a missing star");
    assert_eq!(store.starred(jane).await.expect("starred"), ["component:default/a"], "stars: unstarred");
    assert_eq!(store.starred(joe).await.expect("starred"), ["api:default/x"], "stars: other users untouched");
}

/// Runs every scenario of the contract, each against a store returned by `make_store`.
pub async fn run_catalog_contract<S, F, Fut>(make_store: F)
where
    S: CatalogStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    locations(&make_store().await).await;
    update_location(&make_store().await).await;
    provider_roots(&make_store().await).await;
    provider_roots_prune_unreachable_descendants(&make_store().await).await;
    claim_due(&make_store().await).await;
    outcomes_ok(&make_store().await).await;
    outcomes_failed(&make_store().await).await;
    conflicts(&make_store().await).await;
    stitch_inputs(&make_store().await).await;
    finals_and_change_feed(&make_store().await).await;
    delete_orphans(&make_store().await).await;
    delete_entity(&make_store().await).await;
    schedule_now(&make_store().await).await;
}

// ----- helpers

fn parse(body: &str) -> Value {
    serde_json::from_str(body).expect("test bodies are JSON")
}

fn entity(entity_ref: &str, hash: &str, location_key: Option<&str>) -> UnprocessedEntity {
    UnprocessedEntity {
        entity_ref: entity_ref.to_owned(),
        body: json!({ "ref": entity_ref, "hash": hash, "nested": { "list": [1, 2.5, "x", null] } })
            .to_string(),
        hash: hash.to_owned(),
        location_key: location_key.map(str::to_owned),
    }
}

fn relation(source: &str, relation_type: &str, target: &str) -> RelationRow {
    RelationRow {
        source: source.to_owned(),
        relation_type: relation_type.to_owned(),
        target: target.to_owned(),
    }
}

fn refs(list: &[&str]) -> Vec<String> {
    list.iter().map(|r| (*r).to_owned()).collect()
}

/// Asserts that `actual` holds exactly `expected`, in any order.
#[track_caller]
fn assert_set(actual: &[String], expected: &[&str], message: &str) {
    let mut actual = actual.to_vec();
    actual.sort();
    let mut expected = refs(expected);
    expected.sort();
    assert_eq!(actual, expected, "{message}");
}

async fn id_of<S: CatalogStore>(store: &S, entity_ref: &str) -> String {
    match store.entity_id_of(entity_ref).await.expect("entity_id_of") {
        Some(id) => id,
        None => panic!("expected a row for {entity_ref}"),
    }
}

/// A successful outcome for `entity_ref` emitting `relations` and `children`.
async fn ok<S: CatalogStore>(
    store: &S,
    entity_ref: &str,
    relations: Vec<RelationRow>,
    children: Vec<UnprocessedEntity>,
) -> ProcessingOutcome {
    ProcessingOutcome {
        entity_id: id_of(store, entity_ref).await,
        entity_ref: entity_ref.to_owned(),
        result_hash: format!("result-of-{entity_ref}"),
        result: ProcessingResult::Ok {
            processed: json!({ "processed": entity_ref }),
            relations,
            children,
            warnings: Vec::new(),
        },
    }
}

/// Entity ids (`metadata.uid`) are time-ordered UUIDs (v7) where Backstage uses random ones
/// (v4): rows and index entries keyed by them are then written in the order entities arrive.
fn assert_entity_id(id: &str) {
    let parsed = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("entity id {id} is not a UUID: {e}"));
    assert_eq!(parsed.get_version_num(), 7, "entity id {id} must be a time-ordered UUID (v7)");
    assert_eq!(id, parsed.hyphenated().to_string(), "entity id {id} must be lowercase and hyphenated");
}

async fn due_refs<S: CatalogStore>(store: &S, now: i64) -> Vec<String> {
    let due = store.claim_due(now, 1000, now + 1_000_000).await.expect("claim_due");
    let mut due: Vec<String> = due.into_iter().map(|d| d.entity_ref).collect();
    due.sort();
    due
}

// ----- scenarios

async fn locations<S: CatalogStore>(store: &S) {
    let first = LocationRecord {
        id: uuid::Uuid::new_v4().to_string(),
        kind: "url".into(),
        target: "https://a/x.yaml".into(),
    };
    let second = LocationRecord {
        id: uuid::Uuid::new_v4().to_string(),
        kind: "file".into(),
        target: "/b.yaml".into(),
    };
    assert!(store.list_locations().await.expect("list").is_empty(), "locations: a new store has none");
    store.insert_location(&first).await.expect("insert first");
    store.insert_location(&second).await.expect("insert second");

    let mut listed = store.list_locations().await.expect("list");
    listed.sort_by(|a, b| a.id.cmp(&b.id));
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(listed, expected, "locations: list returns every inserted location");
    assert_eq!(
        store.get_location(&first.id).await.expect("get"),
        Some(first.clone()),
        "locations: get by id"
    );
    assert_eq!(store.get_location("nope").await.expect("get"), None, "locations: get of an unknown id");
    assert_eq!(
        store.find_location("url", "https://a/x.yaml").await.expect("find"),
        Some(first.clone()),
        "locations: find by type and target"
    );
    assert_eq!(
        store.find_location("file", "https://a/x.yaml").await.expect("find"),
        None,
        "locations: type matters"
    );

    let duplicate = LocationRecord { id: uuid::Uuid::new_v4().to_string(), ..first.clone() };
    let result = store.insert_location(&duplicate).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "locations: a duplicate (type, target) must be a Conflict, got {result:?}"
    );
    assert_eq!(
        store.list_locations().await.expect("list").len(),
        2,
        "locations: the duplicate was not stored"
    );

    assert_eq!(
        store.delete_location(&first.id).await.expect("delete"),
        Some(first.clone()),
        "locations: delete"
    );
    assert_eq!(store.delete_location(&first.id).await.expect("delete"), None, "locations: delete twice");
    assert_eq!(store.list_locations().await.expect("list"), vec![second], "locations: deleted one is gone");
    store.insert_location(&duplicate).await.expect("the target can be registered again after deletion");
}

async fn update_location<S: CatalogStore>(store: &S) {
    let first = LocationRecord {
        id: uuid::Uuid::new_v4().to_string(),
        kind: "url".into(),
        target: "https://a/x.yaml".into(),
    };
    let second = LocationRecord {
        id: uuid::Uuid::new_v4().to_string(),
        kind: "url".into(),
        target: "https://b/y.yaml".into(),
    };
    store.insert_location(&first).await.expect("insert first");
    store.insert_location(&second).await.expect("insert second");

    let moved = LocationRecord { target: "https://a/moved.yaml".into(), ..first.clone() };
    assert!(store.update_location(&moved).await.expect("update"), "update_location: an existing id");
    assert_eq!(
        store.get_location(&first.id).await.expect("get"),
        Some(moved.clone()),
        "update_location: the new target is stored under the same id"
    );
    assert_eq!(
        store.find_location("url", "https://a/x.yaml").await.expect("find"),
        None,
        "update_location: the old target is gone"
    );
    assert_eq!(
        store.find_location("url", "https://a/moved.yaml").await.expect("find"),
        Some(moved.clone()),
        "update_location: found by the new target"
    );
    assert!(
        store.update_location(&moved).await.expect("update to the same values"),
        "update_location: unchanged values are not a conflict with itself"
    );

    let clash = LocationRecord { target: second.target.clone(), ..moved.clone() };
    let result = store.update_location(&clash).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "update_location: taking another location's (type, target) must be a Conflict, got {result:?}"
    );
    assert_eq!(
        store.get_location(&first.id).await.expect("get"),
        Some(moved),
        "update_location: a conflicting update changes nothing"
    );

    let unknown = LocationRecord { id: uuid::Uuid::new_v4().to_string(), ..second.clone() };
    assert!(
        !store.update_location(&unknown).await.expect("update unknown"),
        "update_location: an unknown id is reported, not created"
    );
    assert_eq!(store.list_locations().await.expect("list").len(), 2, "update_location: nothing was added");
}

async fn provider_roots<S: CatalogStore>(store: &S) {
    let a = "location:default/a";
    let b = "location:default/b";
    let report = store
        .replace_provider_roots(
            "config",
            vec![entity(a, "h1", Some("url:a")), entity(b, "h1", Some("url:b"))],
            1000,
        )
        .await
        .expect("sync");
    assert!(
        report.stitch.is_empty(),
        "roots: new roots have nothing to serve until processed, got {:?}",
        report.stitch
    );
    assert!(report.conflicts.is_empty() && report.deleted.is_empty(), "roots: nothing conflicted or deleted");
    let a_id = id_of(store, a).await;
    assert_entity_id(&a_id);
    assert_ne!(a_id, id_of(store, b).await, "roots: every row has its own id");
    assert_eq!(store.parents_of(a).await.expect("parents"), vec![Parent::Provider("config".into())]);
    assert_eq!(store.next_due_at().await.expect("next due"), Some(1000), "roots: new roots are due now");

    let due = store.claim_due(1000, 10, 5000).await.expect("claim");
    assert_eq!(due.len(), 2, "roots: both new roots are due");
    let due_a = due.iter().find(|d| d.entity_ref == a).expect("a is due");
    assert_eq!(due_a.unprocessed, parse(&entity(a, "h1", None).body), "roots: the body round-trips exactly");
    assert_eq!(due_a.location_key.as_deref(), Some("url:a"));
    assert_eq!(due_a.result_hash, None, "roots: a new row has no result hash");

    // An identical sync changes nothing.
    let report = store
        .replace_provider_roots(
            "config",
            vec![entity(a, "h1", Some("url:a")), entity(b, "h1", Some("url:b"))],
            2000,
        )
        .await
        .expect("sync again");
    assert!(report.stitch.is_empty(), "roots: an identical sync stitches nothing, got {:?}", report.stitch);
    assert!(due_refs(store, 2000).await.is_empty(), "roots: unchanged roots are not made due");

    // A changed root becomes due now and keeps its id.
    store
        .replace_provider_roots(
            "config",
            vec![entity(a, "h2", Some("url:a")), entity(b, "h1", Some("url:b"))],
            3000,
        )
        .await
        .expect("sync changed");
    let due = store.claim_due(3000, 10, 9000).await.expect("claim");
    assert_eq!(due.len(), 1, "roots: only the changed root is due");
    assert_eq!(due[0].entity_ref, a);
    assert_eq!(due[0].unprocessed, parse(&entity(a, "h2", None).body), "roots: the changed body is stored");
    assert_eq!(id_of(store, a).await, a_id, "roots: an update keeps the entity id");

    // Another provider claiming a with a different key conflicts.
    let report = store
        .replace_provider_roots("other", vec![entity(a, "h9", Some("url:elsewhere"))], 4000)
        .await
        .expect("other provider");
    assert_eq!(
        report.conflicts,
        vec![Conflict {
            entity_ref: a.into(),
            existing_location_key: Some("url:a".into()),
            new_location_key: Some("url:elsewhere".into()),
            parent: Parent::Provider("other".into()),
        }],
        "roots: a root claimed by another key conflicts"
    );
    assert_eq!(store.parents_of(a).await.expect("parents"), vec![Parent::Provider("config".into())]);
    assert!(due_refs(store, 4000).await.is_empty(), "roots: the conflicting root changed nothing");

    // Dropping a root deletes it at once, with its final entity.
    store
        .write_finals(
            vec![FinalWrite {
                entity_id: id_of(store, b).await,
                entity_ref: b.into(),
                hash: "f".into(),
                body: "{}".into(),
            }],
            4000,
        )
        .await
        .expect("final");
    let report = store
        .replace_provider_roots("config", vec![entity(a, "h2", Some("url:a"))], 5000)
        .await
        .expect("drop b");
    assert_eq!(report.deleted, refs(&[b]), "roots: a dropped root is deleted");
    assert!(report.stitch.contains(&b.to_owned()), "roots: a deleted root is reported for stitching");
    assert_eq!(store.entity_id_of(b).await.expect("id"), None, "roots: the dropped root has no row");
    let (finals, _) = store.final_snapshot().await.expect("snapshot");
    assert!(finals.is_empty(), "roots: the dropped root's final entity is gone");
    let changes = store.final_changes_since(0, 10).await.expect("changes");
    assert!(
        matches!(changes.last(), Some(FinalChange::Delete { entity_ref, .. }) if entity_ref == b),
        "roots: the dropped root is tombstoned, got {changes:?}"
    );

    // An empty sync removes everything the provider emitted.
    let report = store.replace_provider_roots("config", Vec::new(), 6000).await.expect("empty sync");
    assert_eq!(report.deleted, refs(&[a]));
    assert_eq!(store.next_due_at().await.expect("next due"), None, "roots: no rows are left");
}

async fn provider_roots_prune_unreachable_descendants<S: CatalogStore>(store: &S) {
    let loc1 = "location:default/one";
    let loc2 = "location:default/two";
    let other = "component:default/other";
    let child = "component:default/child";
    let grandchild = "component:default/grandchild";
    let shared = "component:default/shared";
    let roots = |with_one: bool| {
        let mut roots = vec![entity(loc2, "h", Some("url:two")), entity(other, "h", Some("url:other"))];
        if with_one {
            roots.push(entity(loc1, "h", Some("url:one")));
        }
        roots
    };
    store.replace_provider_roots("config", roots(true), 100).await.expect("sync");
    let outcomes = vec![
        ok(store, loc1, vec![], vec![entity(child, "h", Some("file:one")), entity(shared, "h", None)]).await,
        ok(store, loc2, vec![], vec![entity(shared, "h", None)]).await,
    ];
    store.write_outcomes(outcomes, 100).await.expect("write locations");
    let outcome = ok(
        store,
        child,
        vec![relation(other, "ownerOf", child)],
        vec![entity(grandchild, "h", Some("file:child"))],
    )
    .await;
    store.write_outcomes(vec![outcome], 100).await.expect("write child");
    assert_eq!(
        store.parents_of(shared).await.expect("parents"),
        vec![Parent::Entity(loc1.into()), Parent::Entity(loc2.into())],
        "prune: shared has both locations as parents"
    );
    let child_id = id_of(store, child).await;
    store
        .write_finals(
            vec![FinalWrite {
                entity_id: child_id.clone(),
                entity_ref: child.into(),
                hash: "f".into(),
                body: "{}".into(),
            }],
            100,
        )
        .await
        .expect("final");

    let report = store.replace_provider_roots("config", roots(false), 200).await.expect("drop one");
    let mut deleted = report.deleted.clone();
    deleted.sort();
    assert_eq!(
        deleted,
        refs(&[child, grandchild, loc1]),
        "prune: the dropped root and its unreachable subtree go"
    );
    for gone in [loc1, child, grandchild] {
        assert_eq!(store.entity_id_of(gone).await.expect("id"), None, "prune: {gone} has no row");
    }
    assert!(
        store.entity_id_of(shared).await.expect("id").is_some(),
        "prune: shared is still reachable via two"
    );
    assert_eq!(store.parents_of(shared).await.expect("parents"), vec![Parent::Entity(loc2.into())]);
    assert!(report.stitch.contains(&shared.to_owned()), "prune: shared lost an edge and is restitched");
    assert!(report.stitch.contains(&other.to_owned()), "prune: other lost a relation row and is restitched");
    let changes = store.final_changes_since(0, 10).await.expect("changes");
    assert!(
        changes.iter().any(|c| matches!(c, FinalChange::Delete { entity_id, .. } if *entity_id == child_id)),
        "prune: the child's final entity is tombstoned, got {changes:?}"
    );
    assert!(
        store.stitch_inputs(&refs(&[other])).await.expect("stitch")[0].relations.is_empty(),
        "prune: relation rows emitted by deleted entities are gone"
    );
}

async fn claim_due<S: CatalogStore>(store: &S) {
    let (r1, r2, r3) = ("component:default/r1", "component:default/r2", "component:default/r3");
    store.replace_provider_roots("p", vec![entity(r1, "h", None)], 100).await.expect("r1");
    store
        .replace_provider_roots("p", vec![entity(r1, "h", None), entity(r2, "h", None)], 50)
        .await
        .expect("r2");
    store
        .replace_provider_roots(
            "p",
            vec![entity(r1, "h", None), entity(r2, "h", None), entity(r3, "h", None)],
            75,
        )
        .await
        .expect("r3");
    assert_eq!(store.next_due_at().await.expect("next"), Some(50));
    assert_eq!(due_refs(store, 49).await, Vec::<String>::new(), "claim: nothing is due before 50");

    let due = store.claim_due(60, 10, 1000).await.expect("claim");
    assert_eq!(
        due.iter().map(|d| d.entity_ref.as_str()).collect::<Vec<_>>(),
        vec![r2],
        "claim: only r2 is due at 60"
    );
    let due = store.claim_due(100, 1, 1000).await.expect("claim");
    assert_eq!(
        due.iter().map(|d| d.entity_ref.as_str()).collect::<Vec<_>>(),
        vec![r3],
        "claim: oldest first, limited"
    );
    let due = store.claim_due(100, 10, 2000).await.expect("claim");
    assert_eq!(due.iter().map(|d| d.entity_ref.as_str()).collect::<Vec<_>>(), vec![r1], "claim: the rest");
    assert!(
        store.claim_due(100, 10, 3000).await.expect("claim").is_empty(),
        "claim: claimed rows were pushed forward"
    );
    assert_eq!(
        store.next_due_at().await.expect("next"),
        Some(1000),
        "claim: due times were pushed to next_update_at"
    );
    let due = store.claim_due(1500, 10, 3000).await.expect("claim");
    assert_eq!(due.len(), 2, "claim: r2 and r3 are due again at 1500");

    let outcome = ok(store, r1, vec![], vec![]).await;
    store.write_outcomes(vec![outcome], 1500).await.expect("write");
    let due = store.claim_due(2000, 10, 3000).await.expect("claim");
    assert_eq!(due.len(), 1);
    assert_eq!(
        due[0].result_hash.as_deref(),
        Some("result-of-component:default/r1"),
        "claim: result hash is handed out"
    );
}

async fn outcomes_ok<S: CatalogStore>(store: &S) {
    let loc = "location:default/root";
    let (c1, c2, c3) = ("component:default/c1", "component:default/c2", "component:default/c3");
    let (x, y) = ("group:default/x", "group:default/y");
    store.replace_provider_roots("config", vec![entity(loc, "h", Some("url:root"))], 10).await.expect("sync");
    store.claim_due(10, 10, 10_000).await.expect("claim");

    let mut outcome = ok(
        store,
        loc,
        vec![relation(loc, "ownedBy", x), relation(x, "ownerOf", loc), relation(loc, "ownedBy", x)],
        vec![entity(c1, "h1", Some("file:f")), entity(c2, "h1", Some("file:f"))],
    )
    .await;
    if let ProcessingResult::Ok { warnings, .. } = &mut outcome.result {
        warnings.push(json!({ "name": "Warning", "message": "careful" }));
    }
    let report = store.write_outcomes(vec![outcome], 20).await.expect("write");
    assert_set(
        &report.stitch,
        &[loc, x],
        "ok: entity and relation sources are stitched, new children after processing",
    );
    assert!(report.conflicts.is_empty() && report.deleted.is_empty());

    let input = store.stitch_inputs(&refs(&[loc])).await.expect("stitch").remove(0);
    assert_eq!(input.processed, Some(json!({ "processed": loc })), "ok: processed body stored");
    assert_eq!(
        input.warnings,
        vec![json!({ "name": "Warning", "message": "careful" })],
        "ok: warnings stored"
    );
    assert!(input.errors.is_empty());
    assert_eq!(input.relations, vec![relation(loc, "ownedBy", x)], "ok: relations are distinct");
    for child in [c1, c2] {
        assert_eq!(store.parents_of(child).await.expect("parents"), vec![Parent::Entity(loc.into())]);
        assert_entity_id(&id_of(store, child).await);
    }
    assert!(
        id_of(store, c1).await < id_of(store, c2).await,
        "ok: entity ids sort in the order the entities were first emitted"
    );
    assert_eq!(due_refs(store, 20).await, refs(&[c1, c2]), "ok: new children are due now");
    let c2_id = id_of(store, c2).await;

    // Unchanged c1, changed c2, new c3, and a replaced relation set.
    let outcome = ok(
        store,
        loc,
        vec![relation(loc, "ownedBy", y)],
        vec![
            entity(c1, "h1", Some("file:f")),
            entity(c2, "h2", Some("file:f")),
            entity(c3, "h1", Some("file:f")),
        ],
    )
    .await;
    let report = store.write_outcomes(vec![outcome], 30).await.expect("write");
    assert_set(&report.stitch, &[loc, x], "ok: changed relation sources are stitched, not the new child");
    assert_eq!(due_refs(store, 30).await, refs(&[c2, c3]), "ok: only changed and new children become due");
    assert_eq!(id_of(store, c2).await, c2_id, "ok: an updated child keeps its id");
    let input = store.stitch_inputs(&refs(&[loc])).await.expect("stitch").remove(0);
    assert_eq!(input.relations, vec![relation(loc, "ownedBy", y)], "ok: relations were replaced");

    // c2 and c3 are no longer emitted: they lose their edge but keep their rows.
    let outcome =
        ok(store, loc, vec![relation(loc, "ownedBy", y)], vec![entity(c1, "h1", Some("file:f"))]).await;
    let report = store.write_outcomes(vec![outcome], 40).await.expect("write");
    assert_set(&report.stitch, &[c2, c3, loc], "ok: children that lost their edge are stitched");
    assert!(report.deleted.is_empty(), "ok: children are not deleted by write_outcomes");
    assert!(store.parents_of(c2).await.expect("parents").is_empty(), "ok: c2 lost its edge");
    assert_eq!(store.entity_id_of(c2).await.expect("id"), Some(c2_id), "ok: c2 keeps its row");
    let inputs = store.stitch_inputs(&refs(&[c2, c1])).await.expect("stitch");
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0].entity_ref, c2, "ok: stitch inputs come in the requested order");
    assert!(!inputs[0].has_parents, "ok: c2 is an orphan");
    assert!(inputs[1].has_parents, "ok: c1 still has a parent");
    assert_eq!(
        store.children_of(&Parent::Entity(loc.into())).await.expect("children"),
        vec![entity(c1, "h1", Some("file:f"))]
    );

    // An orphan that is emitted again gains an edge: it is stitched (it stops being an orphan).
    let outcome = ok(
        store,
        loc,
        vec![relation(loc, "ownedBy", y)],
        vec![entity(c1, "h1", Some("file:f")), entity(c2, "h2", Some("file:f"))],
    )
    .await;
    let report = store.write_outcomes(vec![outcome], 45).await.expect("write");
    assert_set(&report.stitch, &[c2, loc], "ok: an existing child that gains an edge is stitched");
    let outcome =
        ok(store, loc, vec![relation(loc, "ownedBy", y)], vec![entity(c1, "h1", Some("file:f"))]).await;
    store.write_outcomes(vec![outcome], 46).await.expect("write");
    assert_eq!(
        store.children_of(&Parent::Provider("config".into())).await.expect("children"),
        vec![entity(loc, "h", Some("url:root"))],
        "ok: children_of a provider returns its roots"
    );

    // An outcome for an entity that no longer exists is skipped.
    let mut gone = ok(store, c1, vec![], vec![]).await;
    gone.entity_id = uuid::Uuid::new_v4().to_string();
    let report = store.write_outcomes(vec![gone], 50).await.expect("write unknown");
    assert!(report.stitch.is_empty(), "ok: an outcome for an unknown entity id writes nothing");
}

async fn outcomes_failed<S: CatalogStore>(store: &S) {
    let loc = "location:default/root";
    let child = "component:default/child";
    let x = "group:default/x";
    store.replace_provider_roots("config", vec![entity(loc, "h", Some("url:root"))], 10).await.expect("sync");
    let mut outcome =
        ok(store, loc, vec![relation(loc, "ownedBy", x)], vec![entity(child, "h", Some("file:f"))]).await;
    if let ProcessingResult::Ok { warnings, .. } = &mut outcome.result {
        warnings.push(json!("w"));
    }
    store.write_outcomes(vec![outcome], 20).await.expect("write ok");

    let error = json!({ "name": "InputError", "message": "broken" });
    let failed = ProcessingOutcome {
        entity_id: id_of(store, loc).await,
        entity_ref: loc.into(),
        result_hash: "failed-hash".into(),
        result: ProcessingResult::Failed { errors: vec![error.clone()] },
    };
    let report = store.write_outcomes(vec![failed], 30).await.expect("write failed");
    assert_set(&report.stitch, &[loc], "failed: only the entity itself is stitched");
    let input = store.stitch_inputs(&refs(&[loc])).await.expect("stitch").remove(0);
    assert_eq!(input.processed, Some(json!({ "processed": loc })), "failed: the processed body is kept");
    assert_eq!(input.errors, vec![error], "failed: errors are stored");
    assert_eq!(input.warnings, vec![json!("w")], "failed: warnings of the last success are kept");
    assert_eq!(input.relations, vec![relation(loc, "ownedBy", x)], "failed: relations are kept");
    assert_eq!(
        store.parents_of(child).await.expect("parents"),
        vec![Parent::Entity(loc.into())],
        "failed: edges kept"
    );
    let due = store.claim_due(i64::MAX - 1, 10, i64::MAX).await.expect("claim");
    let due_loc = due.iter().find(|d| d.entity_ref == loc).expect("loc row");
    assert_eq!(due_loc.result_hash.as_deref(), Some("failed-hash"), "failed: the result hash is written");

    let outcome =
        ok(store, loc, vec![relation(loc, "ownedBy", x)], vec![entity(child, "h", Some("file:f"))]).await;
    store.write_outcomes(vec![outcome], 40).await.expect("write ok");
    let input = store.stitch_inputs(&refs(&[loc])).await.expect("stitch").remove(0);
    assert!(input.errors.is_empty(), "failed: a later success clears the errors");
    assert!(input.warnings.is_empty(), "failed: a later success replaces the warnings");
}

async fn conflicts<S: CatalogStore>(store: &S) {
    let (l1, l2) = ("location:default/l1", "location:default/l2");
    let (c, n) = ("component:default/c", "component:default/n");
    store
        .replace_provider_roots(
            "config",
            vec![entity(l1, "h", Some("url:1")), entity(l2, "h", Some("url:2"))],
            10,
        )
        .await
        .expect("sync");
    let outcome = ok(store, l1, vec![], vec![entity(c, "h1", Some("file:a")), entity(n, "h1", None)]).await;
    store.write_outcomes(vec![outcome], 10).await.expect("l1");
    store.claim_due(10, 10, 1000).await.expect("claim");
    let c_id = id_of(store, c).await;

    for new_key in [Some("file:b"), None] {
        let outcome = ok(store, l2, vec![], vec![entity(c, "h2", new_key)]).await;
        let report = store.write_outcomes(vec![outcome], 20).await.expect("l2");
        assert_eq!(
            report.conflicts,
            vec![Conflict {
                entity_ref: c.into(),
                existing_location_key: Some("file:a".into()),
                new_location_key: new_key.map(str::to_owned),
                parent: Parent::Entity(l2.into()),
            }],
            "conflicts: a different key ({new_key:?}) conflicts"
        );
        assert!(!report.stitch.contains(&c.to_owned()), "conflicts: the rejected child gained no edge");
        assert_eq!(
            store.parents_of(c).await.expect("parents"),
            vec![Parent::Entity(l1.into())],
            "conflicts: no edge"
        );
        assert!(due_refs(store, 20).await.is_empty(), "conflicts: the existing row is untouched");
    }
    assert_eq!(
        store.children_of(&Parent::Entity(c.into())).await.expect("children"),
        Vec::new(),
        "conflicts: children_of an entity without children"
    );
    let kept = store.children_of(&Parent::Entity(l1.into())).await.expect("children");
    assert_eq!(kept[0], entity(c, "h1", Some("file:a")), "conflicts: the first claimant's body is kept");

    // The same key updates.
    let outcome = ok(store, l1, vec![], vec![entity(c, "h3", Some("file:a")), entity(n, "h1", None)]).await;
    let report = store.write_outcomes(vec![outcome], 30).await.expect("l1 again");
    assert!(report.conflicts.is_empty());
    assert_eq!(due_refs(store, 30).await, refs(&[c]), "conflicts: the same key updates a changed child");
    assert_eq!(id_of(store, c).await, c_id, "conflicts: an update keeps the entity id");

    // A row without a key can be taken over by any key.
    let outcome = ok(store, l2, vec![], vec![entity(n, "h2", Some("file:b"))]).await;
    let report = store.write_outcomes(vec![outcome], 40).await.expect("l2 takes n");
    assert!(report.conflicts.is_empty(), "conflicts: a row without a key is no conflict");
    assert_eq!(
        store.parents_of(n).await.expect("parents"),
        vec![Parent::Entity(l1.into()), Parent::Entity(l2.into())]
    );
    let due = store.claim_due(40, 10, 1000).await.expect("claim");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].entity_ref, n);
    assert_eq!(due[0].location_key.as_deref(), Some("file:b"), "conflicts: the newcomer's key is stored");
    // Now n is claimed by file:b, so l1 emitting it without a key conflicts.
    let outcome = ok(store, l1, vec![], vec![entity(c, "h3", Some("file:a")), entity(n, "h1", None)]).await;
    let report = store.write_outcomes(vec![outcome], 50).await.expect("l1 again");
    assert_eq!(report.conflicts.len(), 1, "conflicts: a keyless newcomer cannot take a claimed row");
    assert_eq!(store.parents_of(n).await.expect("parents"), vec![Parent::Entity(l2.into())]);
}

async fn stitch_inputs<S: CatalogStore>(store: &S) {
    let (l, a, b, c) = ("location:default/l", "component:default/a", "component:default/b", "api:default/c");
    store.replace_provider_roots("config", vec![entity(l, "h", Some("url:l"))], 10).await.expect("sync");
    let outcome =
        ok(store, l, vec![], vec![entity(a, "h", None), entity(b, "h", None), entity(c, "h", None)]).await;
    store.write_outcomes(vec![outcome], 10).await.expect("l");
    let outcomes = vec![
        ok(
            store,
            a,
            vec![relation(a, "dependsOn", c), relation(a, "dependsOn", b), relation(b, "dependencyOf", a)],
            vec![],
        )
        .await,
        ok(
            store,
            b,
            vec![
                relation(a, "apiProvidedBy", b),
                relation(a, "dependsOn", b),
                relation(b, "dependencyOf", a),
            ],
            vec![],
        )
        .await,
    ];
    store.write_outcomes(outcomes, 20).await.expect("a and b");
    let failed = ProcessingOutcome {
        entity_id: id_of(store, c).await,
        entity_ref: c.into(),
        result_hash: "x".into(),
        result: ProcessingResult::Failed { errors: vec![json!({ "message": "never worked" })] },
    };
    store.write_outcomes(vec![failed], 20).await.expect("c");

    let inputs = store.stitch_inputs(&refs(&[a, "component:default/missing", c, a])).await.expect("stitch");
    assert_eq!(inputs.len(), 2, "stitch: unknown refs are skipped and duplicates collapse");
    let input_a = &inputs[0];
    assert_eq!(input_a.entity_ref, a);
    assert_eq!(input_a.entity_id, id_of(store, a).await);
    assert_eq!(
        input_a.relations,
        vec![relation(a, "apiProvidedBy", b), relation(a, "dependsOn", c), relation(a, "dependsOn", b)],
        "stitch: relations from every emitter, distinct, sorted by type then target"
    );
    assert!(input_a.has_parents);
    assert_eq!(input_a.final_hash, None, "stitch: no final entity yet");
    let input_c = &inputs[1];
    assert_eq!(input_c.processed, None, "stitch: a never-processed entity has no body");
    assert_eq!(input_c.errors, vec![json!({ "message": "never worked" })]);
    assert!(input_c.relations.is_empty());

    store
        .write_finals(
            vec![FinalWrite {
                entity_id: input_a.entity_id.clone(),
                entity_ref: a.into(),
                hash: "fh".into(),
                body: "{}".into(),
            }],
            30,
        )
        .await
        .expect("final");
    let input_a = store.stitch_inputs(&refs(&[a])).await.expect("stitch").remove(0);
    assert_eq!(input_a.final_hash.as_deref(), Some("fh"), "stitch: the stored final hash is returned");
    let outcome = ok(store, l, vec![], vec![entity(b, "h", None), entity(c, "h", None)]).await;
    store.write_outcomes(vec![outcome], 40).await.expect("l drops a");
    assert!(
        !store.stitch_inputs(&refs(&[a])).await.expect("stitch")[0].has_parents,
        "stitch: a is now an orphan"
    );
}

async fn finals_and_change_feed<S: CatalogStore>(store: &S) {
    let (a, b) = ("component:default/a", "component:default/b");
    store
        .replace_provider_roots("p", vec![entity(a, "h", None), entity(b, "h", None)], 10)
        .await
        .expect("sync");
    let (a_id, b_id) = (id_of(store, a).await, id_of(store, b).await);
    let write = |id: &str, entity_ref: &str, hash: &str| FinalWrite {
        entity_id: id.to_owned(),
        entity_ref: entity_ref.to_owned(),
        hash: hash.to_owned(),
        body: format!(r#"{{"ref":"{entity_ref}","hash":"{hash}","text":"ünïcode \"quoted\""}}"#),
    };
    let (finals, seq0) = store.final_snapshot().await.expect("snapshot");
    assert!(finals.is_empty());
    store
        .write_finals(
            vec![
                write(&a_id, a, "1"),
                write(&b_id, b, "1"),
                write(&uuid::Uuid::new_v4().to_string(), "component:default/gone", "1"),
            ],
            100,
        )
        .await
        .expect("write");
    let (finals, seq1) = store.final_snapshot().await.expect("snapshot");
    assert_eq!(finals.len(), 2, "feed: finals of unknown entities are skipped");
    assert!(seq1 >= seq0 + 2, "feed: every write takes a sequence number");
    let fa = finals.iter().find(|f| f.entity_ref == a).expect("a");
    assert_eq!(fa.body, write(&a_id, a, "1").body, "feed: the body round-trips exactly");
    assert_eq!((fa.entity_id.as_str(), fa.hash.as_str(), fa.updated_at), (a_id.as_str(), "1", 100));
    let one = store.final_entity(a).await.expect("final entity").expect("a is served");
    assert_eq!(
        (one.entity_id.as_str(), one.body.as_str()),
        (a_id.as_str(), fa.body.as_str()),
        "feed: one final by ref"
    );
    assert!(store.final_entity("component:default/gone").await.expect("final entity").is_none());
    let fb = finals.iter().find(|f| f.entity_ref == b).expect("b");
    assert_ne!(fa.change_seq, fb.change_seq, "feed: sequence numbers are unique");
    assert!(fa.change_seq.max(fb.change_seq) == seq1, "feed: the snapshot's sequence is the highest written");

    let changes = store.final_changes_since(seq0, 10).await.expect("changes");
    assert_eq!(changes.len(), 2);
    assert!(changes[0].change_seq() < changes[1].change_seq(), "feed: changes come in sequence order");

    store.write_finals(vec![write(&a_id, a, "2")], 200).await.expect("rewrite a");
    let changes = store.final_changes_since(seq1, 10).await.expect("changes");
    match changes.as_slice() {
        [FinalChange::Upsert(row)] => {
            assert_eq!((row.entity_ref.as_str(), row.hash.as_str(), row.updated_at), (a, "2", 200));
            assert!(row.change_seq > seq1, "feed: a rewrite takes a new, higher sequence number");
        }
        other => panic!("feed: expected one upsert of a, got {other:?}"),
    }
    let seq2 = changes[0].change_seq();

    store.delete_finals(&refs(&[b, "component:default/none"])).await.expect("delete b");
    let changes = store.final_changes_since(seq2, 10).await.expect("changes");
    match changes.as_slice() {
        [FinalChange::Delete { entity_id, entity_ref, change_seq }] => {
            assert_eq!((entity_id.as_str(), entity_ref.as_str()), (b_id.as_str(), b));
            assert!(*change_seq > seq2);
        }
        other => panic!("feed: expected one tombstone of b, got {other:?}"),
    }
    let (finals, seq3) = store.final_snapshot().await.expect("snapshot");
    assert_eq!(finals.iter().map(|f| f.entity_ref.as_str()).collect::<Vec<_>>(), vec![a], "feed: b is gone");
    assert_eq!(seq3, changes[0].change_seq(), "feed: a delete advances the snapshot's sequence");

    let all = store.final_changes_since(0, 100).await.expect("changes");
    let seqs: Vec<i64> = all.iter().map(FinalChange::change_seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "feed: strictly increasing, got {seqs:?}");
    assert_eq!(store.final_changes_since(0, 1).await.expect("changes").len(), 1, "feed: limit is respected");
    assert!(
        store.final_changes_since(seq3, 10).await.expect("changes").is_empty(),
        "feed: nothing after the end"
    );
}

async fn delete_orphans<S: CatalogStore>(store: &S) {
    let (l, k) = ("location:default/l", "group:default/k");
    let (x, y, z, w) =
        ("location:default/x", "location:default/y", "component:default/z", "component:default/w");
    store
        .replace_provider_roots(
            "config",
            vec![entity(l, "h", Some("url:l")), entity(k, "h", Some("url:k"))],
            10,
        )
        .await
        .expect("sync");
    store
        .write_outcomes(
            vec![ok(store, l, vec![], vec![entity(x, "h", None), entity(w, "h", None)]).await],
            10,
        )
        .await
        .expect("l");
    let outcome =
        ok(store, x, vec![relation(k, "ownerOf", x)], vec![entity(y, "h", None), entity(w, "h", None)]).await;
    store.write_outcomes(vec![outcome], 10).await.expect("x");
    store.write_outcomes(vec![ok(store, y, vec![], vec![entity(z, "h", None)]).await], 10).await.expect("y");
    let z_id = id_of(store, z).await;
    store
        .write_finals(
            vec![FinalWrite {
                entity_id: z_id.clone(),
                entity_ref: z.into(),
                hash: "f".into(),
                body: "{}".into(),
            }],
            10,
        )
        .await
        .expect("final");

    let nothing = store.delete_orphans().await.expect("no orphans");
    assert!(nothing.deleted.is_empty(), "orphans: nothing is deleted while everything has a parent");

    store
        .write_outcomes(vec![ok(store, l, vec![], vec![entity(w, "h", None)]).await], 20)
        .await
        .expect("l drops x");
    let report = store.delete_orphans().await.expect("delete orphans");
    let mut deleted = report.deleted.clone();
    deleted.sort();
    assert_eq!(deleted, refs(&[z, x, y]), "orphans: the orphan and its descendants are deleted");
    assert!(report.stitch.contains(&k.to_owned()), "orphans: k lost a relation row emitted by x");
    assert!(report.stitch.contains(&w.to_owned()), "orphans: w lost an edge");
    assert_eq!(
        store.parents_of(w).await.expect("parents"),
        vec![Parent::Entity(l.into())],
        "orphans: w survives"
    );
    assert!(store.stitch_inputs(&refs(&[k])).await.expect("stitch")[0].relations.is_empty());
    let changes = store.final_changes_since(0, 10).await.expect("changes");
    assert!(
        changes.iter().any(|c| matches!(c, FinalChange::Delete { entity_id, .. } if *entity_id == z_id)),
        "orphans: z's final entity is tombstoned"
    );
    assert!(
        store.delete_orphans().await.expect("again").deleted.is_empty(),
        "orphans: a second run finds none"
    );
}

async fn delete_entity<S: CatalogStore>(store: &S) {
    let (l, c, g) = ("location:default/l", "component:default/c", "component:default/g");
    store.replace_provider_roots("config", vec![entity(l, "h", Some("url:l"))], 10).await.expect("sync");
    store
        .write_outcomes(vec![ok(store, l, vec![], vec![entity(c, "h", Some("file:f"))]).await], 10)
        .await
        .expect("l");
    store
        .write_outcomes(vec![ok(store, c, vec![relation(g, "ownerOf", c)], vec![]).await], 10)
        .await
        .expect("c");
    store.claim_due(10, 10, 1000).await.expect("claim");
    let c_id = id_of(store, c).await;
    store
        .write_finals(
            vec![FinalWrite {
                entity_id: c_id.clone(),
                entity_ref: c.into(),
                hash: "f".into(),
                body: "{}".into(),
            }],
            10,
        )
        .await
        .expect("final");

    assert_eq!(store.delete_entity(&uuid::Uuid::new_v4().to_string(), 20).await.expect("delete"), None);
    let deleted = store.delete_entity(&c_id, 20).await.expect("delete").expect("c existed");
    assert_eq!(deleted.entity_ref, c);
    assert_eq!(deleted.parents, vec![Parent::Entity(l.into())]);
    assert_eq!(deleted.report.deleted, refs(&[c]));
    assert!(deleted.report.stitch.contains(&g.to_owned()), "delete: g lost a relation row emitted by c");
    assert_eq!(store.entity_id_of(c).await.expect("id"), None, "delete: the row is gone");
    let (finals, _) = store.final_snapshot().await.expect("snapshot");
    assert!(finals.is_empty(), "delete: the final entity is gone");
    assert!(
        matches!(store.final_changes_since(0, 10).await.expect("changes").last(), Some(FinalChange::Delete { entity_ref, .. }) if entity_ref == c),
        "delete: the final entity is tombstoned"
    );
    let due = store.claim_due(20, 10, 1000).await.expect("claim");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].entity_ref, l, "delete: the parent is due now");
    assert_eq!(due[0].result_hash, None, "delete: the parent's result hash is cleared");

    store
        .write_outcomes(vec![ok(store, l, vec![], vec![entity(c, "h", Some("file:f"))]).await], 30)
        .await
        .expect("l");
    let new_id = id_of(store, c).await;
    assert_ne!(new_id, c_id, "delete: a re-emitted entity gets a new id");
    assert_entity_id(&new_id);
    assert_eq!(store.parents_of(c).await.expect("parents"), vec![Parent::Entity(l.into())]);
}

async fn schedule_now<S: CatalogStore>(store: &S) {
    let (a, b) = ("component:default/a", "component:default/b");
    store
        .replace_provider_roots("p", vec![entity(a, "h", None), entity(b, "h", None)], 10)
        .await
        .expect("sync");
    store.write_outcomes(vec![ok(store, a, vec![], vec![]).await], 10).await.expect("a");
    store.claim_due(10, 10, 1000).await.expect("claim");
    let scheduled = store.schedule_now(&refs(&["component:default/none", a]), 20).await.expect("schedule");
    assert_eq!(scheduled, refs(&[a]), "schedule: only refs with a row are returned");
    let due = store.claim_due(20, 10, 1000).await.expect("claim");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].entity_ref, a);
    assert_eq!(due[0].result_hash, None, "schedule: the result hash is cleared");
    assert_eq!(store.parents_of("component:default/none").await.expect("parents"), Vec::new());
    assert_eq!(store.entity_id_of("component:default/none").await.expect("id"), None);
}

// ----- scaffolder tasks

/// Runs every scenario of the task contract, each against a store returned by `make_store`.
///
/// Stores are `Clone` so that the concurrency scenario can claim from several tasks at once
/// through clones sharing one database.
pub async fn run_task_contract<S, F, Fut>(make_store: F)
where
    S: TaskStore + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    create_and_get(&make_store().await).await;
    claim_in_creation_order(&make_store().await).await;
    concurrent_claims(make_store().await).await;
    heartbeat(&make_store().await).await;
    complete(&make_store().await).await;
    complete_only_processing(&make_store().await).await;
    forget_secrets_and_state(&make_store().await).await;
    reopen(&make_store().await).await;
    stale_tasks(&make_store().await).await;
    missing_tasks(&make_store().await).await;
    events(&make_store().await).await;
    events_after(&make_store().await).await;
    list_filters_and_pages(&make_store().await).await;
    list_order(&make_store().await).await;
}

fn new_task(id: &str, created_by: Option<&str>, secrets: Option<Value>) -> NewTask {
    NewTask {
        id: id.to_owned(),
        spec: json!({
            "apiVersion": "scaffolder.backstage.io/v1beta3",
            "steps": [{
                "id": "fetch",
                "action": "fetch:template",
                "input": { "z": 1, "a": [true, null, 2.5] }
            }],
            "output": {},
            "parameters": { "zeta": "last key first", "alpha": "ü ✓" },
            "templateInfo": { "entityRef": "template:default/demo" }
        }),
        created_by: created_by.map(str::to_owned),
        secrets,
    }
}

/// Creates tasks one after the other with distinct creation times (creation time has
/// millisecond resolution), so their order by creation time is the order of `ids`.
async fn create_in_order(store: &impl TaskStore, ids: &[&str], created_by: Option<&str>) {
    for id in ids {
        store.create_task(new_task(id, created_by, None)).await.expect("create task");
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
}

async fn stored_task(store: &impl TaskStore, id: &str) -> TaskRecord {
    store.task(id).await.expect("task").unwrap_or_else(|| panic!("task {id} exists"))
}

async fn claimed(store: &impl TaskStore) -> Option<String> {
    store.claim_task().await.expect("claim").map(|task| task.id)
}

fn event_ids(events: &[TaskEventRecord]) -> Vec<i64> {
    events.iter().map(|event| event.id).collect()
}

fn messages(events: &[TaskEventRecord]) -> Vec<&str> {
    events.iter().map(|event| event.body["message"].as_str().unwrap_or("<no message>")).collect()
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: StoreResult<T>, message: &str) {
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{message}: expected a conflict, got {result:?}");
}

fn listed_ids(listed: &(Vec<TaskRecord>, u64)) -> Vec<&str> {
    listed.0.iter().map(|task| task.id.as_str()).collect()
}

async fn create_and_get(store: &impl TaskStore) {
    assert_eq!(store.task("t1").await.expect("task"), None, "create: no task before creation");
    let secrets = json!({ "backstageToken": "token", "NPM_TOKEN": "npm" });
    let task = new_task("t1", Some("user:default/jane"), Some(secrets.clone()));
    let before = crate::now_millis();
    store.create_task(task.clone()).await.expect("create");
    let after = crate::now_millis();

    let stored = stored_task(store, "t1").await;
    assert_eq!(stored.id, "t1");
    assert_eq!(stored.status, TaskStatus::Open, "create: a new task is open");
    assert!(
        (before..=after).contains(&stored.created_at),
        "create: created_at {} is the time of creation ({before}..={after})",
        stored.created_at
    );
    assert_eq!(stored.last_heartbeat_at, None, "create: no heartbeat before a claim");
    assert_eq!(stored.created_by.as_deref(), Some("user:default/jane"));
    assert_eq!(stored.secrets, Some(secrets), "create: secrets are kept until the claim");
    assert_eq!(stored.state, None, "create: no state yet");
    assert_eq!(
        serde_json::to_string(&stored.spec).expect("spec"),
        serde_json::to_string(&task.spec).expect("spec"),
        "create: the spec round-trips with its key order"
    );

    store.create_task(new_task("t2", None, None)).await.expect("create without creator or secrets");
    let anonymous = stored_task(store, "t2").await;
    assert_eq!(
        (anonymous.created_by, anonymous.secrets),
        (None, None),
        "create: optional columns stay empty"
    );
    assert_conflict(store.create_task(new_task("t1", None, None)).await, "create: a task id is unique");
    assert_eq!(stored_task(store, "t1").await.created_by.as_deref(), Some("user:default/jane"));
}

async fn claim_in_creation_order(store: &impl TaskStore) {
    assert_eq!(store.claim_task().await.expect("claim"), None, "claim: nothing to claim in an empty store");
    store
        .create_task(new_task("first", Some("user:default/jane"), Some(json!({ "token": "s" }))))
        .await
        .expect("create");
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    create_in_order(store, &["second", "third"], None).await;

    let before = crate::now_millis();
    let task = store.claim_task().await.expect("claim").expect("a task to claim");
    let after = crate::now_millis();
    assert_eq!(task.id, "first", "claim: the oldest open task first");
    assert_eq!(task.status, TaskStatus::Processing, "claim: the claimed task is processing");
    assert_eq!(task.secrets, Some(json!({ "token": "s" })), "claim: the claim returns the secrets");
    let heartbeat = task.last_heartbeat_at.expect("claim: a claimed task has a heartbeat");
    assert!((before..=after).contains(&heartbeat), "claim: the heartbeat is the time of the claim");
    assert_eq!(stored_task(store, "first").await, task, "claim: the claim is stored as returned");

    assert_eq!(claimed(store).await.as_deref(), Some("second"), "claim: FIFO");
    assert_eq!(claimed(store).await.as_deref(), Some("third"), "claim: FIFO");
    assert_eq!(claimed(store).await, None, "claim: processing tasks are not claimed again");
    store.complete_task("first", TaskStatus::Failed, json!({ "message": "failed" })).await.expect("complete");
    assert_eq!(claimed(store).await, None, "claim: finished tasks are not claimed");
}

async fn concurrent_claims<S: TaskStore + Clone>(store: S) {
    let ids: Vec<String> = (0..6).map(|n| format!("task-{n}")).collect();
    for id in &ids {
        store.create_task(new_task(id, None, None)).await.expect("create");
    }
    let mut claims = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let store = store.clone();
        claims.spawn(async move { store.claim_task().await.expect("claim").map(|task| task.id) });
    }
    let mut won = Vec::new();
    while let Some(claim) = claims.join_next().await {
        won.extend(claim.expect("claim task"));
    }
    assert!(!won.is_empty(), "concurrent claims: some claim got a task");
    // A claim may skip a task another claim holds at that moment; what it skipped stays open.
    while let Some(id) = claimed(&store).await {
        won.push(id);
    }
    won.sort();
    assert_eq!(won, ids, "concurrent claims: every task is claimed exactly once");
}

async fn heartbeat(store: &impl TaskStore) {
    create_in_order(store, &["t"], None).await;
    assert_conflict(store.heartbeat_task("t").await, "heartbeat: an open task has no heartbeat");
    assert_eq!(stored_task(store, "t").await.last_heartbeat_at, None, "heartbeat: refused, nothing written");
    let claimed_at =
        store.claim_task().await.expect("claim").expect("task").last_heartbeat_at.expect("heartbeat");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store.heartbeat_task("t").await.expect("heartbeat of a processing task");
    let beat = stored_task(store, "t").await.last_heartbeat_at.expect("heartbeat");
    assert!(beat > claimed_at, "heartbeat: the heartbeat moves forward ({claimed_at} -> {beat})");
    assert_eq!(stored_task(store, "t").await.status, TaskStatus::Processing, "heartbeat: status unchanged");

    store.complete_task("t", TaskStatus::Completed, json!({ "message": "done" })).await.expect("complete");
    assert_conflict(store.heartbeat_task("t").await, "heartbeat: a completed task has no heartbeat");
    assert_eq!(
        stored_task(store, "t").await.last_heartbeat_at,
        Some(beat),
        "heartbeat: refused, nothing written"
    );
}

async fn complete(store: &impl TaskStore) {
    store.create_task(new_task("ok", None, Some(json!({ "token": "s" })))).await.expect("create");
    store.create_task(new_task("ko", None, Some(json!({ "token": "s" })))).await.expect("create");
    claimed(store).await.expect("claim");
    claimed(store).await.expect("claim");
    store.append_task_event("ok", TaskEventType::Log, json!({ "message": "step" })).await.expect("append");

    let output = json!({ "message": "Run completed with status: completed", "output": { "z": 1, "a": 2 } });
    let before = crate::now_millis();
    store.complete_task("ok", TaskStatus::Completed, output.clone()).await.expect("complete");
    let after = crate::now_millis();
    let done = stored_task(store, "ok").await;
    assert_eq!(done.status, TaskStatus::Completed, "complete: status set");
    assert_eq!(done.secrets, None, "complete: secrets removed");
    let events = store.task_events("ok", None).await.expect("events");
    assert_eq!(events.len(), 2, "complete: exactly one event appended");
    let completion = &events[1];
    assert_eq!(completion.event_type, TaskEventType::Completion, "complete: a completion event");
    assert_eq!(completion.task_id, "ok");
    assert_eq!(
        serde_json::to_string(&completion.body).expect("body"),
        serde_json::to_string(&output).expect("body"),
        "complete: the body round-trips with its key order"
    );
    assert!((before..=after).contains(&completion.created_at), "complete: the event is stamped now");

    let error = json!({
        "message": "Run completed with status: failed",
        "error": { "name": "Error", "message": "x" }
    });
    store.complete_task("ko", TaskStatus::Failed, error.clone()).await.expect("fail");
    let failed = stored_task(store, "ko").await;
    assert_eq!(
        (failed.status, failed.secrets),
        (TaskStatus::Failed, None),
        "complete: failed, secrets removed"
    );
    let events = store.task_events("ko", None).await.expect("events");
    assert_eq!(events.len(), 1, "complete: one completion event for the failed task");
    assert_eq!((events[0].event_type, &events[0].body), (TaskEventType::Completion, &error));
}

async fn complete_only_processing(store: &impl TaskStore) {
    store.create_task(new_task("t", None, Some(json!({ "token": "s" })))).await.expect("create");
    let body = json!({ "message": "Run completed with status: completed" });
    assert_conflict(
        store.complete_task("t", TaskStatus::Completed, body.clone()).await,
        "complete: not when open",
    );
    let open = stored_task(store, "t").await;
    assert_eq!(
        (open.status, open.secrets),
        (TaskStatus::Open, Some(json!({ "token": "s" }))),
        "complete: refused"
    );
    assert!(store.task_events("t", None).await.expect("events").is_empty(), "complete: refused, no event");

    claimed(store).await.expect("claim");
    assert_conflict(
        store.complete_task("t", TaskStatus::Open, body.clone()).await,
        "complete: only with a final status",
    );
    assert_eq!(
        stored_task(store, "t").await.status,
        TaskStatus::Processing,
        "complete: bad status, unchanged"
    );
    store.complete_task("t", TaskStatus::Completed, body.clone()).await.expect("complete");
    assert_conflict(
        store.complete_task("t", TaskStatus::Failed, body).await,
        "complete: not twice (a completed task is not processing)",
    );
    assert_eq!(stored_task(store, "t").await.status, TaskStatus::Completed, "complete: the first end stays");
    assert_eq!(
        store.task_events("t", None).await.expect("events").len(),
        1,
        "complete: one completion event"
    );
}

async fn forget_secrets_and_state(store: &impl TaskStore) {
    store.create_task(new_task("t", None, Some(json!({ "token": "s" })))).await.expect("create");
    store.create_task(new_task("other", None, Some(json!({ "token": "o" })))).await.expect("create");
    store.forget_secrets("t").await.expect("forget secrets");
    assert_eq!(stored_task(store, "t").await.secrets, None, "secrets: forgotten");
    assert_eq!(
        stored_task(store, "other").await.secrets,
        Some(json!({ "token": "o" })),
        "secrets: others kept"
    );

    let state = json!({ "checkpoints": { "z": { "status": "success", "value": [1, "b"] }, "a": {} } });
    store.save_task_state("t", state.clone()).await.expect("save state");
    let saved = stored_task(store, "t").await.state.expect("state: saved");
    assert_eq!(
        serde_json::to_string(&saved).expect("state"),
        serde_json::to_string(&state).expect("state"),
        "state: round-trips with its key order"
    );
    store.save_task_state("t", json!({ "checkpoints": {} })).await.expect("save state again");
    assert_eq!(stored_task(store, "t").await.state, Some(json!({ "checkpoints": {} })), "state: replaced");
    assert_eq!(stored_task(store, "other").await.state, None, "state: others untouched");
}

async fn reopen(store: &impl TaskStore) {
    store.create_task(new_task("t", None, Some(json!({ "token": "old" })))).await.expect("create");
    claimed(store).await.expect("claim");
    store.forget_secrets("t").await.expect("forget");
    store
        .complete_task("t", TaskStatus::Failed, json!({ "message": "Run completed with status: failed" }))
        .await
        .expect("fail");

    let before = crate::now_millis();
    store
        .reopen_task("t", Some(json!({ "token": "new" })), json!({ "recoverStrategy": "none" }))
        .await
        .expect("reopen");
    let after = crate::now_millis();
    let reopened = stored_task(store, "t").await;
    assert_eq!(reopened.status, TaskStatus::Open, "reopen: open again");
    assert_eq!(reopened.secrets, Some(json!({ "token": "new" })), "reopen: the new secrets");
    let beat = reopened.last_heartbeat_at.expect("reopen: a fresh heartbeat");
    assert!((before..=after).contains(&beat), "reopen: the heartbeat is the time of reopening");
    let events = store.task_events("t", None).await.expect("events");
    let types: Vec<TaskEventType> = events.iter().map(|event| event.event_type).collect();
    assert_eq!(types, [TaskEventType::Completion, TaskEventType::Recovered], "reopen: a recovered event");
    assert_eq!(events[1].body, json!({ "recoverStrategy": "none" }));

    let again = store.claim_task().await.expect("claim").expect("reopened task is claimed again");
    assert_eq!((again.id.as_str(), again.secrets), ("t", Some(json!({ "token": "new" }))));
    store.reopen_task("t", None, json!({ "recoverStrategy": "startOver" })).await.expect("reopen processing");
    assert_eq!(stored_task(store, "t").await.secrets, None, "reopen: without secrets there are none");
}

async fn stale_tasks(store: &impl TaskStore) {
    create_in_order(store, &["stale", "fresh", "done", "open"], None).await;
    for id in ["stale", "fresh", "done", "open"] {
        assert_eq!(claimed(store).await.as_deref(), Some(id), "stale: claim");
    }
    store.complete_task("done", TaskStatus::Completed, json!({})).await.expect("complete");
    store.reopen_task("open", None, json!({})).await.expect("reopen");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let cutoff = crate::now_millis();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store.heartbeat_task("fresh").await.expect("heartbeat");

    let stale = store.stale_tasks(cutoff).await.expect("stale");
    let ids: Vec<&str> = stale.iter().map(|task| task.id.as_str()).collect();
    assert_eq!(ids, ["stale"], "stale: only processing tasks whose heartbeat is older than the time");
    assert_eq!(stale[0], stored_task(store, "stale").await, "stale: whole records");
    let all = store.stale_tasks(crate::now_millis() + 60_000).await.expect("stale");
    let mut ids: Vec<&str> = all.iter().map(|task| task.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["fresh", "stale"], "stale: every processing task is older than the future");
    assert!(store.stale_tasks(0).await.expect("stale").is_empty(), "stale: nothing older than the epoch");
}

async fn missing_tasks(store: &impl TaskStore) {
    let body = json!({ "message": "x" });
    assert_conflict(store.heartbeat_task("missing").await, "missing: heartbeat");
    assert_conflict(
        store.complete_task("missing", TaskStatus::Completed, body.clone()).await,
        "missing: complete",
    );
    assert_conflict(store.reopen_task("missing", None, body.clone()).await, "missing: reopen");
    assert_conflict(store.forget_secrets("missing").await, "missing: forget secrets");
    assert_conflict(store.save_task_state("missing", body.clone()).await, "missing: save state");
    assert_conflict(store.append_task_event("missing", TaskEventType::Log, body).await, "missing: append");
    assert!(store.task_events("missing", None).await.expect("events").is_empty(), "missing: no events");
    assert_eq!(
        store.list_tasks(&TaskQuery::default()).await.expect("list"),
        (Vec::new(), 0),
        "missing: none"
    );
}

async fn events(store: &impl TaskStore) {
    create_in_order(store, &["a", "b"], None).await;
    assert!(store.task_events("a", None).await.expect("events").is_empty(), "events: none at first");
    let first =
        store.append_task_event("a", TaskEventType::Log, json!({ "message": "a 1" })).await.expect("a 1");
    let other =
        store.append_task_event("b", TaskEventType::Log, json!({ "message": "b 1" })).await.expect("b 1");
    let body =
        json!({ "message": "a 2", "stepId": "fetch", "status": "processing", "meta": { "z": 1, "a": 2 } });
    let second = store.append_task_event("a", TaskEventType::Log, body.clone()).await.expect("a 2");
    let cancel =
        json!({ "message": "Step fetch has been cancelled.", "stepId": "fetch", "status": "cancelled" });
    let third = store.append_task_event("a", TaskEventType::Cancelled, cancel).await.expect("a 3");
    assert!(
        first < other && other < second && second < third,
        "events: one increasing id sequence over all tasks"
    );

    let before = crate::now_millis();
    let events = store.task_events("a", None).await.expect("events");
    assert_eq!(event_ids(&events), [first, second, third], "events: only the task's own, in id order");
    assert_eq!(messages(&events), ["a 1", "a 2", "Step fetch has been cancelled."]);
    assert!(events.iter().all(|event| event.task_id == "a" && event.created_at <= before));
    assert_eq!(
        events.iter().map(|event| event.event_type).collect::<Vec<_>>(),
        [TaskEventType::Log, TaskEventType::Log, TaskEventType::Cancelled]
    );
    assert_eq!(
        serde_json::to_string(&events[1].body).expect("body"),
        serde_json::to_string(&body).expect("body"),
        "events: bodies round-trip with their key order"
    );
    assert_eq!(event_ids(&store.task_events("b", None).await.expect("events")), [other], "events: no leaks");
}

async fn events_after(store: &impl TaskStore) {
    create_in_order(store, &["t", "other"], None).await;
    claimed(store).await.expect("claim");
    claimed(store).await.expect("claim other");
    let mut ids = Vec::new();
    for message in ["log 1", "log 2", "log 3"] {
        ids.push(
            store
                .append_task_event("t", TaskEventType::Log, json!({ "message": message }))
                .await
                .expect("log"),
        );
    }
    store
        .complete_task(
            "t",
            TaskStatus::Completed,
            json!({ "message": "Run completed with status: completed" }),
        )
        .await
        .expect("complete");
    store
        .complete_task("other", TaskStatus::Completed, json!({ "message": "other completed" }))
        .await
        .expect("complete other");

    let later = store.task_events("t", Some(ids[1])).await.expect("events");
    assert_eq!(
        messages(&later),
        ["log 3", "Run completed with status: completed"],
        "after: later events plus the completion"
    );
    let completion_id = later[1].id;
    let at_end = store.task_events("t", Some(completion_id)).await.expect("events");
    assert_eq!(
        messages(&at_end),
        ["Run completed with status: completed"],
        "after: the completion event whatever its id"
    );
    assert_eq!(at_end[0].event_type, TaskEventType::Completion);
    assert_eq!(
        messages(&store.task_events("t", Some(0)).await.expect("events")),
        ["log 1", "log 2", "log 3", "Run completed with status: completed"],
        "after 0: everything"
    );
    assert_eq!(
        messages(&store.task_events("t", Some(i64::MAX)).await.expect("events")),
        ["Run completed with status: completed"],
        "after the last id: only the completion; never another task's"
    );
}

async fn list_filters_and_pages(store: &impl TaskStore) {
    let (jane, joe) = ("user:default/jane", "user:default/joe");
    create_in_order(store, &["j1", "j2"], Some(jane)).await;
    create_in_order(store, &["o1"], Some(joe)).await;
    create_in_order(store, &["n1"], None).await;
    create_in_order(store, &["j3"], Some(jane)).await;
    claimed(store).await.expect("claim j1");
    claimed(store).await.expect("claim j2");
    store.complete_task("j2", TaskStatus::Failed, json!({})).await.expect("fail j2");

    let all = store.list_tasks(&TaskQuery::default()).await.expect("list");
    assert_eq!(listed_ids(&all), ["j3", "n1", "o1", "j2", "j1"], "list: newest first by default");
    assert_eq!(all.1, 5, "list: total");
    assert_eq!(all.0[4], stored_task(store, "j1").await, "list: whole records, as `task` returns them");

    let query = TaskQuery { created_by: vec![jane.to_owned()], ..TaskQuery::default() };
    let mine = store.list_tasks(&query).await.expect("list");
    assert_eq!((listed_ids(&mine), mine.1), (vec!["j3", "j2", "j1"], 3), "list: created by one user");
    let query = TaskQuery { created_by: vec![jane.to_owned(), joe.to_owned()], ..TaskQuery::default() };
    let ours = store.list_tasks(&query).await.expect("list");
    assert_eq!(
        (listed_ids(&ours), ours.1),
        (vec!["j3", "o1", "j2", "j1"], 4),
        "list: created by any of the users"
    );
    let query = TaskQuery { created_by: vec!["user:default/nobody".to_owned()], ..TaskQuery::default() };
    assert_eq!(store.list_tasks(&query).await.expect("list"), (Vec::new(), 0), "list: nobody's tasks");

    let query = TaskQuery { status: vec![TaskStatus::Open], ..TaskQuery::default() };
    let open = store.list_tasks(&query).await.expect("list");
    assert_eq!((listed_ids(&open), open.1), (vec!["j3", "n1", "o1"], 3), "list: by status");
    let query =
        TaskQuery { status: vec![TaskStatus::Processing, TaskStatus::Failed], ..TaskQuery::default() };
    let busy = store.list_tasks(&query).await.expect("list");
    assert_eq!((listed_ids(&busy), busy.1), (vec!["j2", "j1"], 2), "list: by any of the states");
    let query = TaskQuery {
        created_by: vec![jane.to_owned()],
        status: vec![TaskStatus::Open, TaskStatus::Processing],
        ..TaskQuery::default()
    };
    let both = store.list_tasks(&query).await.expect("list");
    assert_eq!((listed_ids(&both), both.1), (vec!["j3", "j1"], 2), "list: both filters apply");

    let query = TaskQuery { limit: Some(2), ..TaskQuery::default() };
    let page = store.list_tasks(&query).await.expect("list");
    assert_eq!((listed_ids(&page), page.1), (vec!["j3", "n1"], 5), "list: limit; the total ignores it");
    let query = TaskQuery { limit: Some(2), offset: Some(2), ..TaskQuery::default() };
    let page = store.list_tasks(&query).await.expect("list");
    assert_eq!((listed_ids(&page), page.1), (vec!["o1", "j2"], 5), "list: limit and offset");
    let query = TaskQuery { offset: Some(3), ..TaskQuery::default() };
    let page = store.list_tasks(&query).await.expect("list");
    assert_eq!((listed_ids(&page), page.1), (vec!["j2", "j1"], 5), "list: offset alone");
    let query = TaskQuery { offset: Some(10), ..TaskQuery::default() };
    assert_eq!(store.list_tasks(&query).await.expect("list"), (Vec::new(), 5), "list: past the end");
    let query = TaskQuery { limit: Some(0), status: vec![TaskStatus::Open], ..TaskQuery::default() };
    assert_eq!(store.list_tasks(&query).await.expect("list"), (Vec::new(), 3), "list: limit 0 counts only");
}

async fn list_order(store: &impl TaskStore) {
    let (ann, bob) = ("user:default/ann", "user:default/bob");
    create_in_order(store, &["b-old"], Some(bob)).await;
    create_in_order(store, &["a-old"], Some(ann)).await;
    create_in_order(store, &["none"], None).await;
    create_in_order(store, &["b-new"], Some(bob)).await;
    create_in_order(store, &["a-new"], Some(ann)).await;
    claimed(store).await.expect("claim b-old");
    claimed(store).await.expect("claim a-old");
    store.complete_task("a-old", TaskStatus::Completed, json!({})).await.expect("complete");
    // Statuses now: b-old processing, a-old completed, the rest open.

    let ordered = |order: Vec<(TaskOrderField, bool)>| TaskQuery { order, ..TaskQuery::default() };
    let list = |query: TaskQuery| async move { store.list_tasks(&query).await.expect("list") };

    let oldest_first = list(ordered(vec![(TaskOrderField::CreatedAt, false)])).await;
    assert_eq!(
        listed_ids(&oldest_first),
        ["b-old", "a-old", "none", "b-new", "a-new"],
        "order: created_at asc"
    );
    let newest_first = list(ordered(vec![(TaskOrderField::CreatedAt, true)])).await;
    assert_eq!(
        listed_ids(&newest_first),
        ["a-new", "b-new", "none", "a-old", "b-old"],
        "order: created_at desc"
    );

    let by_status =
        list(ordered(vec![(TaskOrderField::Status, false), (TaskOrderField::CreatedAt, false)])).await;
    assert_eq!(
        listed_ids(&by_status),
        ["a-old", "none", "b-new", "a-new", "b-old"],
        "order: status asc (completed < open < processing), then created_at"
    );
    let by_status =
        list(ordered(vec![(TaskOrderField::Status, true), (TaskOrderField::CreatedAt, true)])).await;
    assert_eq!(listed_ids(&by_status), ["b-old", "a-new", "b-new", "none", "a-old"], "order: status desc");

    let by_creator =
        list(ordered(vec![(TaskOrderField::CreatedBy, false), (TaskOrderField::CreatedAt, true)])).await;
    assert_eq!(
        listed_ids(&by_creator),
        ["a-new", "a-old", "b-new", "b-old", "none"],
        "order: created_by asc, tasks without a creator last"
    );
    let by_creator =
        list(ordered(vec![(TaskOrderField::CreatedBy, true), (TaskOrderField::CreatedAt, false)])).await;
    assert_eq!(
        listed_ids(&by_creator),
        ["none", "b-old", "b-new", "a-old", "a-new"],
        "order: created_by desc, tasks without a creator first"
    );

    let query = TaskQuery {
        status: vec![TaskStatus::Open],
        order: vec![(TaskOrderField::CreatedBy, false), (TaskOrderField::CreatedAt, false)],
        limit: Some(2),
        offset: Some(1),
        ..TaskQuery::default()
    };
    let page = list(query).await;
    assert_eq!(
        (listed_ids(&page), page.1),
        (vec!["b-new", "none"], 3),
        "order: applies before limit and offset"
    );
}

/// Runs the audit log scenarios, each against a store returned by `make_store`. That the
/// database itself refuses updates and deletes is checked by each backend's own tests, with
/// its own SQL.
pub async fn run_audit_contract<S, F, Fut>(make_store: F)
where
    S: AuditStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    audit_append_and_read_back(&make_store().await).await;
    audit_newest_first(&make_store().await).await;
    audit_filters(&make_store().await).await;
    audit_pages_and_totals(&make_store().await).await;
}

fn audit_entry(at: i64, actor: &str, action: &str, target: &str, outcome: AuditOutcome) -> NewAuditEntry {
    NewAuditEntry {
        at,
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        outcome,
        details: serde_json::Map::new(),
    }
}

async fn audit_list(store: &impl AuditStore, query: AuditQuery) -> (Vec<String>, u64) {
    let (entries, total) = store.list(&query).await.expect("list audit entries");
    (entries.iter().map(|entry| entry.target.clone()).collect(), total)
}

async fn audit_append_and_read_back(store: &impl AuditStore) {
    assert_eq!(
        store.list(&AuditQuery::default()).await.expect("list"),
        (Vec::new(), 0),
        "audit append: the log starts empty"
    );
    let mut failed = audit_entry(
        1_000,
        "user:default/jane",
        "catalog.location.create",
        "url:https://git.example/a/catalog-info.yaml",
        AuditOutcome::Failed,
    );
    failed.details = json!({"error": "Location url:https://git.example/a already exists", "n": [1, 2]})
        .as_object()
        .cloned()
        .expect("object");
    let first = store.append(failed.clone()).await.expect("append");
    let plain =
        audit_entry(1_000, "service:ci-bot", "scaffolder.task.create", "task-1", AuditOutcome::Succeeded);
    let second = store.append(plain.clone()).await.expect("append");
    assert!(second > first, "audit append: ids grow ({first}, {second})");

    let (entries, total) = store.list(&AuditQuery::default()).await.expect("list");
    assert_eq!(total, 2, "audit append: both counted");
    let expected = [(second, plain), (first, failed)].map(|(id, entry)| AuditEntry {
        id,
        at: entry.at,
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        outcome: entry.outcome,
        details: entry.details,
    });
    assert_eq!(
        entries, expected,
        "audit append: every field round-trips, details as an object or empty; the same time lists the later id first"
    );
}

async fn audit_newest_first(store: &impl AuditStore) {
    for (at, target) in [(300, "c"), (100, "a"), (200, "b"), (300, "d")] {
        store
            .append(audit_entry(
                at,
                "user:default/jane",
                "catalog.entity.refresh",
                target,
                AuditOutcome::Succeeded,
            ))
            .await
            .expect("append");
    }
    assert_eq!(
        audit_list(store, AuditQuery::default()).await,
        (refs(&["d", "c", "b", "a"]), 4),
        "audit order: newest first by time, then by id, whatever the order of appends"
    );
}

async fn audit_filters(store: &impl AuditStore) {
    let jane = "user:default/jane";
    let guest = "user:default/guest";
    let rows = [
        (
            100,
            jane,
            "catalog.location.create",
            "url:https://git.example/Payments/catalog-info.yaml",
            AuditOutcome::Succeeded,
        ),
        (
            200,
            jane,
            "catalog.location.delete",
            "url:https://git.example/payments/catalog-info.yaml",
            AuditOutcome::Failed,
        ),
        (300, guest, "catalog.entity.delete", "component:default/payments", AuditOutcome::Denied),
        (400, guest, "scaffolder.task.create", "task-7", AuditOutcome::Succeeded),
        (500, "service:ci-bot", "catalogue.import", "task-8", AuditOutcome::Succeeded),
        (600, jane, "auth.sign-in", "user:default/jane", AuditOutcome::Succeeded),
    ];
    for (at, actor, action, target, outcome) in rows {
        store.append(audit_entry(at, actor, action, target, outcome)).await.expect("append");
    }
    let targets_of = |query: AuditQuery| audit_list(store, query);

    let by_actor = targets_of(AuditQuery { actor: Some(guest.to_owned()), ..AuditQuery::default() }).await;
    assert_eq!(by_actor, (refs(&["task-7", "component:default/payments"]), 2), "audit filter: actor");
    let by_partial_actor =
        targets_of(AuditQuery { actor: Some("jane".to_owned()), ..AuditQuery::default() }).await;
    assert_eq!(by_partial_actor, (Vec::new(), 0), "audit filter: the actor matches exactly");

    let exact = targets_of(AuditQuery {
        action: Some(ActionFilter::Exact("catalog.location.delete".to_owned())),
        ..AuditQuery::default()
    })
    .await;
    assert_eq!(
        exact,
        (refs(&["url:https://git.example/payments/catalog-info.yaml"]), 1),
        "audit filter: exact action"
    );
    let exact_prefix_only = targets_of(AuditQuery {
        action: Some(ActionFilter::Exact("catalog".to_owned())),
        ..AuditQuery::default()
    })
    .await;
    assert_eq!(exact_prefix_only, (Vec::new(), 0), "audit filter: an exact action is not a prefix");
    let prefix = targets_of(AuditQuery {
        action: Some(ActionFilter::Prefix("catalog.".to_owned())),
        ..AuditQuery::default()
    })
    .await;
    assert_eq!(
        prefix.1, 3,
        "audit filter: the action prefix `catalog.` leaves out `catalogue.import`: {prefix:?}"
    );
    let percent = targets_of(AuditQuery {
        action: Some(ActionFilter::Prefix("catalog%".to_owned())),
        ..AuditQuery::default()
    })
    .await;
    assert_eq!(percent, (Vec::new(), 0), "audit filter: a prefix has no wildcards");

    let by_target =
        targets_of(AuditQuery { target: Some("PAYMENTS".to_owned()), ..AuditQuery::default() }).await;
    assert_eq!(by_target.1, 3, "audit filter: target substring, ASCII letters in either case: {by_target:?}");
    let underscore =
        targets_of(AuditQuery { target: Some("task_".to_owned()), ..AuditQuery::default() }).await;
    assert_eq!(underscore, (Vec::new(), 0), "audit filter: a target substring has no wildcards");

    let by_outcome =
        targets_of(AuditQuery { outcome: Some(AuditOutcome::Failed), ..AuditQuery::default() }).await;
    assert_eq!(by_outcome.1, 1, "audit filter: outcome");
    let denied =
        targets_of(AuditQuery { outcome: Some(AuditOutcome::Denied), ..AuditQuery::default() }).await;
    assert_eq!(denied, (refs(&["component:default/payments"]), 1), "audit filter: denied outcome");

    let window = targets_of(AuditQuery { since: Some(200), until: Some(400), ..AuditQuery::default() }).await;
    assert_eq!(
        window,
        (refs(&["component:default/payments", "url:https://git.example/payments/catalog-info.yaml"]), 2),
        "audit filter: since is inclusive, until exclusive"
    );

    let combined = targets_of(AuditQuery {
        actor: Some(jane.to_owned()),
        action: Some(ActionFilter::Prefix("catalog.location.".to_owned())),
        target: Some("payments".to_owned()),
        outcome: Some(AuditOutcome::Succeeded),
        since: Some(50),
        ..AuditQuery::default()
    })
    .await;
    assert_eq!(
        combined,
        (refs(&["url:https://git.example/Payments/catalog-info.yaml"]), 1),
        "audit filter: filters combine with AND"
    );
}

async fn audit_pages_and_totals(store: &impl AuditStore) {
    for n in 0..7 {
        let outcome = if n % 2 == 0 { AuditOutcome::Succeeded } else { AuditOutcome::Failed };
        store
            .append(audit_entry(
                1_000 + n,
                "user:default/jane",
                "scaffolder.task.cancel",
                &format!("t{n}"),
                outcome,
            ))
            .await
            .expect("append");
    }
    let page =
        |limit, offset| AuditQuery { limit: Some(limit), offset: Some(offset), ..AuditQuery::default() };
    assert_eq!(
        audit_list(store, page(3, 0)).await,
        (refs(&["t6", "t5", "t4"]), 7),
        "audit pages: first page"
    );
    assert_eq!(
        audit_list(store, page(3, 3)).await,
        (refs(&["t3", "t2", "t1"]), 7),
        "audit pages: second page"
    );
    assert_eq!(audit_list(store, page(3, 6)).await, (refs(&["t0"]), 7), "audit pages: last page");
    assert_eq!(audit_list(store, page(3, 9)).await, (Vec::new(), 7), "audit pages: past the end");
    let offset_only = AuditQuery { offset: Some(5), ..AuditQuery::default() };
    assert_eq!(audit_list(store, offset_only).await, (refs(&["t1", "t0"]), 7), "audit pages: offset alone");
    let filtered = AuditQuery {
        outcome: Some(AuditOutcome::Succeeded),
        limit: Some(2),
        offset: Some(1),
        ..AuditQuery::default()
    };
    assert_eq!(
        audit_list(store, filtered).await,
        (refs(&["t4", "t2"]), 4),
        "audit pages: the total counts the filtered entries, not the page"
    );
}

/// Runs the signing key scenario against a store returned by `make_store`.
pub async fn run_signing_key_contract<S, F, Fut>(make_store: F)
where
    S: crate::SigningKeyStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    signing_keys(&make_store().await).await;
}

async fn signing_keys(store: &impl crate::SigningKeyStore) {
    let key = |kid: &str, created_at: i64| crate::StoredSigningKey {
        kid: kid.to_owned(),
        public_jwk: format!(r#"{{"kty":"EC","crv":"P-256","kid":"{kid}","x":"x-{kid}","y":"y-{kid}"}}"#),
        created_at,
    };
    let kids = |keys: Vec<crate::StoredSigningKey>| keys.into_iter().map(|k| k.kid).collect::<Vec<_>>();
    assert!(store.signing_keys().await.expect("list").is_empty(), "signing keys: none at first");

    store.add_signing_key(&key("newer", 2_000)).await.expect("add");
    store.add_signing_key(&key("older", 1_000)).await.expect("add");
    store.add_signing_key(&key("also-newer", 2_000)).await.expect("add");
    assert_eq!(
        store.signing_keys().await.expect("list"),
        [key("older", 1_000), key("also-newer", 2_000), key("newer", 2_000)],
        "signing keys: read back whole, oldest first, ties by key id"
    );

    let duplicate = store.add_signing_key(&key("older", 3_000)).await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "signing keys: a key id is stored once, got {duplicate:?}"
    );
    assert_eq!(
        store.signing_keys().await.expect("list")[0],
        key("older", 1_000),
        "signing keys: not replaced"
    );

    assert_eq!(
        store.prune_signing_keys(1_000).await.expect("prune"),
        0,
        "signing keys: the cut-off is exclusive"
    );
    assert_eq!(store.prune_signing_keys(2_000).await.expect("prune"), 1, "signing keys: older keys pruned");
    assert_eq!(
        kids(store.signing_keys().await.expect("list")),
        ["also-newer", "newer"],
        "signing keys: newer keys kept"
    );
    assert_eq!(
        store.prune_signing_keys(2_000).await.expect("prune"),
        0,
        "signing keys: pruning twice is fine"
    );
    assert_eq!(store.prune_signing_keys(i64::MAX).await.expect("prune"), 2, "signing keys: all pruned");
    assert!(store.signing_keys().await.expect("list").is_empty(), "signing keys: none left");
}
