//! Ingestion at scale: the write pattern of the processing loop over many entities, checking
//! that multi-thousand-row batches (far beyond one `IN (...)` chunk) are stored completely.
//! `PORTICO_BULK_ENTITIES` raises the entity count to measure throughput.

use std::time::Instant;

use portico_store::{
    CatalogStore, FinalWrite, ProcessingOutcome, ProcessingResult, RelationRow, UnprocessedEntity,
};
use portico_store_sqlite::SqliteStore;
use serde_json::json;

const LOCATIONS: usize = 20;
const BATCH: usize = 2000;

fn unprocessed(entity_ref: &str, location_key: &str) -> UnprocessedEntity {
    UnprocessedEntity {
        entity_ref: entity_ref.to_owned(),
        body: json!({ "kind": "Component", "metadata": { "name": entity_ref }, "spec": { "owner": "team" } })
            .to_string(),
        hash: format!("h-{entity_ref}"),
        location_key: Some(location_key.to_owned()),
    }
}

/// Processes everything due until nothing is, stitching after every batch like the engine.
async fn ingest(store: &SqliteStore, per_location: usize) {
    let now = 1;
    loop {
        let due = store.claim_due(now, BATCH, now + 1_000_000).await.expect("claim");
        if due.is_empty() {
            break;
        }
        let outcomes = due
            .into_iter()
            .map(|d| {
                let children = match d.entity_ref.strip_prefix("location:default/") {
                    Some(loc) => (0..per_location)
                        .map(|i| unprocessed(&format!("component:default/{loc}-{i}"), &format!("file:{loc}")))
                        .collect(),
                    None => Vec::new(),
                };
                let relations = vec![
                    RelationRow {
                        source: d.entity_ref.clone(),
                        relation_type: "ownedBy".into(),
                        target: "group:default/team".into(),
                    },
                    RelationRow {
                        source: "group:default/team".into(),
                        relation_type: "ownerOf".into(),
                        target: d.entity_ref.clone(),
                    },
                ];
                ProcessingOutcome {
                    result_hash: format!("r-{}", d.entity_ref),
                    result: ProcessingResult::Ok {
                        processed: d.unprocessed,
                        relations,
                        children,
                        warnings: Vec::new(),
                    },
                    entity_id: d.entity_id,
                    entity_ref: d.entity_ref,
                }
            })
            .collect();
        let report = store.write_outcomes(outcomes, now).await.expect("write outcomes");
        for chunk in report.stitch.chunks(BATCH) {
            let inputs = store.stitch_inputs(chunk).await.expect("stitch inputs");
            let finals = inputs
                .into_iter()
                .filter_map(|input| {
                    let processed = input.processed?;
                    Some(FinalWrite {
                        hash: format!("f-{}-{}", input.entity_ref, input.relations.len()),
                        body: json!({ "entity": processed, "relations": input.relations.len() }).to_string(),
                        entity_id: input.entity_id,
                        entity_ref: input.entity_ref,
                    })
                })
                .collect();
            store.write_finals(finals, now).await.expect("write finals");
        }
    }
}

#[tokio::test]
async fn ingests_many_entities_completely() {
    let total: usize =
        std::env::var("PORTICO_BULK_ENTITIES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let per_location = total / LOCATIONS;
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(&dir.path().join("bulk.db")).await.expect("open");
    store.migrate().await.expect("migrate");

    let started = Instant::now();
    let roots = (0..LOCATIONS)
        .map(|i| unprocessed(&format!("location:default/loc{i}"), &format!("url:loc{i}")))
        .collect();
    store.replace_provider_roots("config", roots, 1).await.expect("roots");
    ingest(&store, per_location).await;
    let ingested = started.elapsed();

    let started = Instant::now();
    let (finals, seq) = store.final_snapshot().await.expect("snapshot");
    let snapshot = started.elapsed();
    println!("ingested {} entities in {ingested:?}; snapshot in {snapshot:?}", finals.len());
    assert_eq!(finals.len(), LOCATIONS + LOCATIONS * per_location, "every entity has a final entity");
    assert!(seq >= finals.len() as i64);

    // Dropping every root prunes everything at once.
    let started = Instant::now();
    let report = store.replace_provider_roots("config", Vec::new(), 2).await.expect("drop all");
    println!("pruned {} entities in {:?}", report.deleted.len(), started.elapsed());
    assert_eq!(report.deleted.len(), finals.len());
    let (finals, _) = store.final_snapshot().await.expect("snapshot");
    assert!(finals.is_empty(), "every final entity was removed");
    let tombstones = store.final_changes_since(seq, usize::MAX).await.expect("changes");
    assert_eq!(tombstones.len(), report.deleted.len(), "every removal left a tombstone");
}
