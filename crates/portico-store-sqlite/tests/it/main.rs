//! Integration tests of the SQLite store: the storage contracts on a file and in memory, and
//! ingestion at scale.

mod bulk;

use portico_store::contract::{run_catalog_contract, run_task_contract, run_user_data_contract};
use portico_store_sqlite::SqliteStore;

#[tokio::test]
async fn contract_on_a_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let counter = std::sync::atomic::AtomicUsize::new(0);
    run_catalog_contract(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = dir.path().join(format!("catalog-{n}.db"));
        async move {
            let store = SqliteStore::open(&path).await.expect("open");
            store.migrate().await.expect("migrate");
            store
        }
    })
    .await;
}

#[tokio::test]
async fn contract_in_memory() {
    run_catalog_contract(|| async {
        let store = SqliteStore::in_memory().await.expect("open");
        store.migrate().await.expect("migrate");
        store
    })
    .await;
}

#[tokio::test]
async fn user_data_contract() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let counter = std::sync::atomic::AtomicUsize::new(0);
    run_user_data_contract(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = dir.path().join(format!("user-data-{n}.db"));
        async move {
            let store = SqliteStore::open(&path).await.expect("open");
            store.migrate().await.expect("migrate");
            store
        }
    })
    .await;
    run_user_data_contract(|| async {
        let store = SqliteStore::in_memory().await.expect("open");
        store.migrate().await.expect("migrate");
        store
    })
    .await;
}

/// Several worker threads, so that the contract's concurrent claims really overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn task_contract_on_a_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let counter = std::sync::atomic::AtomicUsize::new(0);
    run_task_contract(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = dir.path().join(format!("tasks-{n}.db"));
        async move {
            let store = SqliteStore::open(&path).await.expect("open");
            store.migrate().await.expect("migrate");
            store
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn task_contract_in_memory() {
    run_task_contract(|| async {
        let store = SqliteStore::in_memory().await.expect("open");
        store.migrate().await.expect("migrate");
        store
    })
    .await;
}
