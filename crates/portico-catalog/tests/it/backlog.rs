//! The processing loop tells background work when it is working through a backlog, so that
//! search indexing and docs checks wait for a large ingestion instead of competing with it; the
//! index follower holds that signal until the read index has applied the ingestion.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use portico_catalog::config::CatalogConfig;
use portico_catalog::engine::Engine;
use portico_catalog::index::{self, Follower, SharedIndex};
use portico_config::Config;
use portico_plugin::{Backlog, Shutdown};
use portico_store::CatalogStore;
use portico_store_sqlite::SqliteStore;
use tokio::sync::Notify;

/// More entities than one processing batch, so the loop has a backlog to work through.
const ENTITIES: usize = 2_500;

/// A store whose one configured location holds [`ENTITIES`] components, and the engine that
/// ingests them (notifying the returned `Notify`), with the providers synced. The folder must
/// outlive the ingestion.
async fn large_ingestion() -> (tempfile::TempDir, Arc<dyn CatalogStore>, Engine, Arc<Notify>) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let documents: Vec<String> = (0..ENTITIES)
        .map(|i| {
            format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: service-{i}\n\
                 spec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
            )
        })
        .collect();
    std::fs::write(dir.path().join("catalog-info.yaml"), documents.join("---\n")).expect("catalog written");
    let config_yaml = "catalog:\n  rules:\n    - allow: [Component, Location]\n  locations:\n    - type: file\n      target: ./catalog-info.yaml\n";
    let config = Config::from_yaml_str(config_yaml, dir.path(), &|_| None).expect("valid config");
    let config = Arc::new(CatalogConfig::from_config(&config).expect("valid catalog config"));
    let sqlite = SqliteStore::in_memory().await.expect("store opens");
    sqlite.migrate().await.expect("store migrates");
    let store: Arc<dyn CatalogStore> = Arc::new(sqlite);
    let changed = Arc::new(Notify::new());
    let engine = Engine::new(store.clone(), config, changed.clone());
    engine.sync_providers().await.expect("configured locations stored");

    (dir, store, engine, changed)
}

#[tokio::test]
async fn the_backlog_is_raised_during_a_large_ingestion_and_cleared_after_it() {
    let (_dir, store, engine, _changed) = large_ingestion().await;

    let backlog = Backlog::default();
    let (stop, shutdown) = Shutdown::new();
    let running = tokio::spawn(engine.clone().run(shutdown, backlog.clone()));

    let started = Instant::now();
    let mut raised = false;
    for poll in 0u64.. {
        raised |= backlog.is_working();
        // The store is asked less often than the flag is looked at: a whole snapshot is costly.
        if poll % 25 == 0 && !backlog.is_working() {
            let (finals, _) = store.final_snapshot().await.expect("snapshot");
            if finals.iter().filter(|row| row.entity_ref.starts_with("component:")).count() == ENTITIES {
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60), "ingestion did not finish");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(raised, "the loop said it was working through a backlog while it ingested");
    tokio::time::timeout(Duration::from_secs(5), backlog.cleared_within(Duration::from_secs(60)))
        .await
        .expect("once everything is ingested nothing waits for the catalog");

    stop.send(true).expect("loop listening");
    running.await.expect("loop stops");
}

#[tokio::test]
async fn others_wait_until_the_read_index_has_applied_the_ingestion() {
    let (_dir, store, engine, changed) = large_ingestion().await;
    let loaded = index::load_from(store.as_ref(), None).await.expect("index loads");
    let index: SharedIndex = Arc::new(RwLock::new(loaded));
    let processing = Backlog::default();
    let backlog = Backlog::default();
    let (stop, shutdown) = Shutdown::new();
    let running = tokio::spawn(engine.clone().run(shutdown.clone(), processing.clone()));
    let follower = Follower {
        index: index.clone(),
        store: store.clone(),
        changed,
        processing,
        backlog: backlog.clone(),
    };
    let following = tokio::spawn(follower.run(shutdown));

    let started = Instant::now();
    let mut raised = false;
    loop {
        if backlog.is_working() {
            raised = true;
        } else if raised {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the backlog was not raised and cleared");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // The moment the backlog clears, the read index already serves the whole ingestion.
    let indexed = index.read().expect("index lock").len();
    let (finals, _) = store.final_snapshot().await.expect("snapshot");
    assert_eq!(finals.iter().filter(|row| row.entity_ref.starts_with("component:")).count(), ENTITIES);
    assert_eq!(indexed, finals.len(), "the index had applied every final entity when the backlog cleared");

    stop.send(true).expect("loops listening");
    running.await.expect("processing loop stops");
    following.await.expect("follower stops");
}
