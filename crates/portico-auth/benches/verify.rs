//! User token verification: the cost every authenticated request pays. Issues one token with
//! a key kept in a SQLite store, then verifies it many times (signature, header, claims) and
//! prints the median and 99th percentile.
//!
//! `cargo bench -p portico-auth --bench verify`

use std::sync::Arc;
use std::time::{Duration, Instant};

use portico_auth::TokenFactory;
use portico_store_sqlite::SqliteStore;

const WARM_UP: usize = 1_000;
const ITERATIONS: usize = 20_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let (median, p99) = runtime.block_on(async {
        let store = SqliteStore::in_memory().await.expect("store");
        store.migrate().await.expect("migrate");
        let tokens =
            TokenFactory::new("http://127.0.0.1:7007/api/auth", Duration::from_secs(3600), Arc::new(store));
        let ownership = ["user:default/jane.doe".to_owned(), "group:default/team-a".to_owned()];
        let issued = tokens.issue("user:default/jane.doe", &ownership).await.expect("issue");
        for _ in 0..WARM_UP {
            tokens.verify(&issued.token).await.expect("valid");
        }
        let mut samples = Vec::with_capacity(ITERATIONS);
        for _ in 0..ITERATIONS {
            let started = Instant::now();
            let principal = tokens.verify(&issued.token).await.expect("valid");
            samples.push(started.elapsed());
            std::hint::black_box(principal);
        }
        samples.sort();
        (samples[ITERATIONS / 2], samples[ITERATIONS * 99 / 100])
    });
    println!(
        "verify a user token (ES256): median {} ns, p99 {} ns over {ITERATIONS} iterations",
        median.as_nanos(),
        p99.as_nanos()
    );
}
