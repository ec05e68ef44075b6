//! Indexing 100,000 catalog-like documents and query latency over them.
//! Run with `cargo bench -p portico-search`; prints the numbers BENCHMARKS.md quotes.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use portico_plugin::Access;
use portico_search::api::{PushCollator, ReadableRef, SearchCollator};
use portico_search::catalog::{DEFAULT_LOCATION_TEMPLATE, entity_document};
use portico_search::engine::{self, SearchQuery};
use portico_search::{IndexLocation, Indexer, SearchConfig, SearchService};
use serde_json::json;

const DOCUMENTS: usize = 100_000;
const WORDS: [&str; 16] = [
    "payments",
    "billing",
    "ledger",
    "gateway",
    "search",
    "catalog",
    "orders",
    "shipping",
    "identity",
    "metrics",
    "alerts",
    "storage",
    "queue",
    "profile",
    "checkout",
    "inventory",
];

/// The words of the `i`th document.
fn words(i: usize) -> (&'static str, &'static str, &'static str) {
    (WORDS[i % 16], WORDS[(i / 16) % 16], WORDS[(i / 256) % 16])
}

/// The entity ref of the `i`th document.
fn entity_ref(i: usize) -> String {
    let (a, b, _) = words(i);
    format!("component:default/{a}-{b}-{i}")
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let collator = PushCollator::new("software-catalog");
    for i in 0..DOCUMENTS {
        let (a, b, c) = words(i);
        let entity = json!({
            "kind": "Component",
            "metadata": {"name": format!("{a}-{b}-{i}"), "description": format!("The {b} service for {c} and {a} teams, number {i}")},
            "spec": {"type": "service", "lifecycle": if i % 3 == 0 { "production" } else { "experimental" }, "owner": format!("team-{}", i % 50)}
        });
        collator.upsert(entity_document(&entity, &entity_ref(i), DEFAULT_LOCATION_TEMPLATE));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("search");
    let start = Instant::now();
    let indexer = Indexer::open(IndexLocation::Dir(root.clone()), vec![collator as Arc<dyn SearchCollator>])
        .await
        .expect("index builds");
    let build = start.elapsed();
    let size: u64 = walk(&root);
    println!(
        "indexed {DOCUMENTS} documents in {:.2} s; index size {:.1} MiB",
        build.as_secs_f64(),
        size as f64 / 1048576.0
    );
    let config = SearchConfig {
        max_term_length: 100,
        max_page_limit: 100,
        boosts: Default::default(),
        catalog_location_template: DEFAULT_LOCATION_TEMPLATE.into(),
        location: IndexLocation::Memory,
    };
    let service = SearchService::new(indexer.index(), Arc::new(config), vec!["software-catalog".into()]);
    let terms = [
        "payments",
        "paymnts",
        "pay",
        "ledger gateway",
        "checkout-search-12345",
        "inventory queue",
        "al",
        "team",
    ];
    time_queries("queries", &terms, |query| {
        service.query(&Access::unrestricted(), query).expect("query");
    });
    // A caller who may read every other entity: the check runs while matches are collected.
    let readable_refs: HashSet<String> = (0..DOCUMENTS).step_by(2).map(entity_ref).collect();
    let readable: ReadableRef = Arc::new(move |entity_ref: &str| readable_refs.contains(entity_ref));
    let types = [("software-catalog".to_owned(), 1.0)];
    let tags = engine::highlight_tags();
    time_queries("queries by a caller who may read half the entities", &terms, |query| {
        engine::search(&indexer.index(), query, &types, &tags, Some(&readable)).expect("query");
    });
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM"))
    {
        println!(
            "peak resident memory (whole process, documents held in memory too): {}",
            line.trim_start_matches("VmHWM:").trim()
        );
    }
}

/// Runs every term 50 times over the first three pages and prints the latencies.
fn time_queries(label: &str, terms: &[&str], run: impl Fn(&SearchQuery)) {
    let mut timings = Vec::new();
    for round in 0..50 {
        for term in terms {
            let query = SearchQuery {
                term: (*term).into(),
                page_limit: 25,
                page: round % 3,
                ..SearchQuery::default()
            };
            let start = Instant::now();
            run(&query);
            timings.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    timings.sort_by(f64::total_cmp);
    let at = |q: f64| timings[((timings.len() as f64 - 1.0) * q) as usize];
    println!(
        "{} {label}: median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        timings.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

fn walk(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() { walk(&p) } else { e.metadata().map(|m| m.len()).unwrap_or(0) }
                })
                .sum()
        })
        .unwrap_or(0)
}
