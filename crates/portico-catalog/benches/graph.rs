//! Micro-benchmark of the dependency graph of an entity with 200 relations: walking the index
//! from the entity, laying the graph out and drawing it as SVG (everything the Dependencies tab
//! does besides the page around it).
//!
//! `cargo bench -p portico-catalog --bench graph` builds an index of 10,000 components in which
//! one hub `dependsOn` 200 of them (each pointing back with `dependencyOf`), then prints the
//! median, p95 and maximum of 200 renders at depth 1 and at depth 2.

use std::hint::black_box;
use std::time::{Duration, Instant};

use portico_catalog::index::{ReadIndex, Readable};
use portico_catalog::pages::graph::{GraphOptions, render_svg, walk};
use portico_store::FinalEntityRow;
use portico_web::Query;
use serde_json::{Value, json};

const ENTITIES: usize = 10_000;
const RELATIONS: usize = 200;
const RUNS: usize = 200;

fn component(name: &str, relations: Vec<(&str, String)>) -> Value {
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
        "spec": {"type": "service", "owner": "group:default/team", "lifecycle": "production"},
        "relations": relations.iter().map(|(t, r)| json!({"type": t, "targetRef": r})).collect::<Vec<_>>(),
    })
}

fn index() -> (ReadIndex, Value) {
    let hub = component(
        "hub",
        (0..RELATIONS).map(|i| ("dependsOn", format!("component:default/service-{i:05}"))).collect(),
    );
    let mut entities = vec![hub.clone()];
    entities.extend((0..ENTITIES - 1).map(|i| {
        let mut relations = Vec::new();
        if i < RELATIONS {
            relations.push(("dependencyOf", "component:default/hub".to_owned()));
            // A second level, so depth 2 has somewhere to go.
            relations.push(("dependsOn", format!("component:default/service-{:05}", RELATIONS + i)));
        }
        component(&format!("service-{i:05}"), relations)
    }));
    let rows = entities
        .iter()
        .enumerate()
        .map(|(i, e)| FinalEntityRow {
            entity_id: e["metadata"]["uid"].as_str().unwrap_or_default().to_owned(),
            entity_ref: format!("component:default/{}", e["metadata"]["name"].as_str().unwrap_or_default()),
            hash: format!("h{i}"),
            body: e.to_string(),
            change_seq: i as i64 + 1,
            updated_at: 0,
        })
        .collect();
    let mut index = ReadIndex::new();
    index.load(rows, entities.len() as i64);
    (index, hub)
}

fn main() {
    let (index, hub) = index();
    for depth in [1, 2] {
        let options = GraphOptions::parse(&Query::parse(Some(&format!("depth={depth}"))));
        let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
        let mut size = (0, 0, 0);
        for _ in 0..RUNS {
            let start = Instant::now();
            let graph = walk(&index, &Readable::All, "component:default/hub", &hub, &options);
            let svg = render_svg(&graph);
            times.push(start.elapsed());
            size = (graph.nodes.len(), graph.edges.len(), svg.len());
            black_box(svg);
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "graph of an entity with {RELATIONS} relations in {ENTITIES} entities, depth {depth}: {} nodes, {} edges, {} B of SVG; walk+layout+SVG median {:.2} ms, p95 {:.2} ms, max {:.2} ms ({RUNS} runs)",
            size.0,
            size.1,
            size.2,
            ms(times[RUNS / 2]),
            ms(times[RUNS * 95 / 100]),
            ms(times[RUNS - 1]),
        );
    }
}
