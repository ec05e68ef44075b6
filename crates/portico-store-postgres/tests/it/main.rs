//! Runs the storage contract against PostgreSQL when `PORTICO_TEST_DATABASE_URL` is set, e.g.
//! `postgres://postgres@127.0.0.1:5432/test`. Every scenario gets its own schema, so runs
//! (and scenarios) never see each other's rows; the schemas are dropped afterwards.

use std::sync::Mutex;

use portico_store::contract::{
    run_audit_contract, run_catalog_contract, run_task_contract, run_user_data_contract,
};
use portico_store_postgres::PostgresStore;
use sqlx::Executor;
use sqlx::postgres::PgPoolOptions;

const URL_VAR: &str = "PORTICO_TEST_DATABASE_URL";

/// A store whose connections all use the fresh schema `schema`.
async fn store_in_schema(url: &str, schema: &str) -> PostgresStore {
    let admin = PgPoolOptions::new().max_connections(1).connect(url).await.expect("connect");
    admin.execute(format!("CREATE SCHEMA {schema}").as_str()).await.expect("create schema");
    admin.close().await;
    let set_path = format!("SET search_path TO {schema}");
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .after_connect(move |conn, _| {
            let set_path = set_path.clone();
            Box::pin(async move {
                conn.execute(set_path.as_str()).await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .expect("connect");
    let store = PostgresStore::from_pool(pool);
    store.migrate().await.expect("migrate");
    store.migrate().await.expect("migrating twice is a no-op");
    store
}

/// Names schemas for the scenarios of one test and drops them all when the test is done.
#[derive(Default)]
struct Schemas(Mutex<Vec<String>>);

impl Schemas {
    fn fresh(&self) -> String {
        let schema = format!("portico_test_{}", uuid::Uuid::new_v4().simple());
        self.0.lock().expect("lock").push(schema.clone());
        schema
    }

    async fn drop_all(self, url: &str) {
        let admin = PgPoolOptions::new().max_connections(1).connect(url).await.expect("connect");
        for schema in self.0.into_inner().expect("lock") {
            admin.execute(format!("DROP SCHEMA {schema} CASCADE").as_str()).await.expect("drop schema");
        }
    }
}

#[tokio::test]
async fn contract() {
    let Ok(url) = std::env::var(URL_VAR) else {
        println!("skipped: set {URL_VAR} to run the PostgreSQL contract tests");
        return;
    };
    let plain = PostgresStore::connect(&url).await.expect("connect by URL");
    sqlx::query("SELECT 1").execute(plain.pool()).await.expect("the connected pool works");

    let schemas = Schemas::default();
    run_catalog_contract(|| {
        let schema = schemas.fresh();
        let url = url.clone();
        async move { store_in_schema(&url, &schema).await }
    })
    .await;
    run_user_data_contract(|| {
        let schema = schemas.fresh();
        let url = url.clone();
        async move { store_in_schema(&url, &schema).await }
    })
    .await;
    schemas.drop_all(&url).await;
}

/// Several worker threads, so that the contract's concurrent claims really overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn task_contract() {
    let Ok(url) = std::env::var(URL_VAR) else {
        println!("skipped: set {URL_VAR} to run the PostgreSQL contract tests");
        return;
    };
    let schemas = Schemas::default();
    run_task_contract(|| {
        let schema = schemas.fresh();
        let url = url.clone();
        async move { store_in_schema(&url, &schema).await }
    })
    .await;
    schemas.drop_all(&url).await;
}

#[tokio::test]
async fn audit_contract() {
    let Ok(url) = std::env::var(URL_VAR) else {
        println!("skipped: set {URL_VAR} to run the PostgreSQL contract tests");
        return;
    };
    let schemas = Schemas::default();
    run_audit_contract(|| {
        let schema = schemas.fresh();
        let url = url.clone();
        async move { store_in_schema(&url, &schema).await }
    })
    .await;
    schemas.drop_all(&url).await;
}

/// The audit log stays append-only even for SQL sent straight to the database.
#[tokio::test]
async fn the_database_refuses_to_change_or_remove_audit_rows() {
    use portico_store::{AuditOutcome, AuditQuery, AuditStore, NewAuditEntry};

    let Ok(url) = std::env::var(URL_VAR) else {
        println!("skipped: set {URL_VAR} to run the PostgreSQL contract tests");
        return;
    };
    let schemas = Schemas::default();
    let store = store_in_schema(&url, &schemas.fresh()).await;
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

    for statement in [
        "UPDATE audit_log SET actor = 'user:default/mallory'",
        "UPDATE audit_log SET outcome = 'failed' WHERE id = 1",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = 1",
        "TRUNCATE audit_log",
    ] {
        let error = sqlx::query(statement).execute(store.pool()).await.expect_err(statement);
        assert!(error.to_string().contains("append-only"), "{statement}: {error}");
    }
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, outcome) VALUES (2000, 'a', 'b', 'c', 'denied')",
    )
    .execute(store.pool())
    .await
    .expect("appending stays possible");

    let (entries, total) = store.list(&AuditQuery::default()).await.expect("list");
    assert_eq!(total, 2);
    assert_eq!(entries[1..], before.0[..], "the first row is unchanged");
    schemas.drop_all(&url).await;
}

#[tokio::test]
async fn signing_key_contract() {
    let Ok(url) = std::env::var(URL_VAR) else {
        println!("skipped: set {URL_VAR} to run the PostgreSQL contract tests");
        return;
    };
    let schemas = Schemas::default();
    portico_store::contract::run_signing_key_contract(|| {
        let schema = schemas.fresh();
        let url = url.clone();
        async move { store_in_schema(&url, &schema).await }
    })
    .await;
    schemas.drop_all(&url).await;
}
