//! Integration tests of the SQLite store: the storage contracts on a file and in memory, and
//! ingestion at scale.

mod bulk;

use portico_store::contract::{
    run_audit_contract, run_catalog_contract, run_task_contract, run_user_data_contract,
};
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

#[tokio::test]
async fn audit_contract() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let counter = std::sync::atomic::AtomicUsize::new(0);
    run_audit_contract(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = dir.path().join(format!("audit-{n}.db"));
        async move {
            let store = SqliteStore::open(&path).await.expect("open");
            store.migrate().await.expect("migrate");
            store
        }
    })
    .await;
    run_audit_contract(|| async {
        let store = SqliteStore::in_memory().await.expect("open");
        store.migrate().await.expect("migrate");
        store
    })
    .await;
}

/// The audit log stays append-only even for SQL sent straight to the database file.
#[tokio::test]
async fn the_database_refuses_to_change_or_remove_audit_rows() {
    use portico_store::{AuditOutcome, AuditQuery, AuditStore, NewAuditEntry};
    use sqlx::Connection;

    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("audit.db");
    let store = SqliteStore::open(&path).await.expect("open");
    store.migrate().await.expect("migrate");
    let entry = NewAuditEntry {
        at: 1_000,
        actor: "user:default/jane".to_owned(),
        action: "catalog.location.delete".to_owned(),
        target: "url:https://git.example/catalog-info.yaml".to_owned(),
        outcome: AuditOutcome::Succeeded,
        details: serde_json::Map::new(),
    };
    store.append(entry).await.expect("append");
    let before = store.list(&AuditQuery::default()).await.expect("list");

    let mut connection =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.expect("connect");
    for statement in [
        "UPDATE audit_log SET actor = 'user:default/mallory'",
        "UPDATE audit_log SET outcome = 'failed' WHERE id = 1",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = 1",
    ] {
        let error = sqlx::query(statement).execute(&mut connection).await.expect_err(statement);
        assert!(error.to_string().contains("append-only"), "{statement}: {error}");
    }
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, outcome) VALUES (2000, 'a', 'b', 'c', 'denied')",
    )
    .execute(&mut connection)
    .await
    .expect("appending stays possible");
    connection.close().await.expect("close");

    let (entries, total) = store.list(&AuditQuery::default()).await.expect("list");
    assert_eq!(total, 2);
    assert_eq!(entries[1..], before.0[..], "the first row is unchanged");
}

#[tokio::test]
async fn signing_key_contract() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let counter = std::sync::atomic::AtomicUsize::new(0);
    portico_store::contract::run_signing_key_contract(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = dir.path().join(format!("signing-keys-{n}.db"));
        async move {
            let store = SqliteStore::open(&path).await.expect("open");
            store.migrate().await.expect("migrate");
            store
        }
    })
    .await;
    portico_store::contract::run_signing_key_contract(|| async {
        let store = SqliteStore::in_memory().await.expect("open");
        store.migrate().await.expect("migrate");
        store
    })
    .await;
}
