//! Runs the storage contract against PostgreSQL when `PORTICO_TEST_DATABASE_URL` is set, e.g.
//! `postgres://postgres@127.0.0.1:5432/test`. Every scenario gets its own schema, so runs
//! (and scenarios) never see each other's rows; the schemas are dropped afterwards.

use std::sync::Mutex;

use portico_store::contract::{run_catalog_contract, run_task_contract, run_user_data_contract};
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
