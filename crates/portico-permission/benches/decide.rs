//! The cost of permission decisions: one decision, and filtering a list of 10,000 entities.
//! Run with `cargo bench -p portico-permission`; prints medians over repeated rounds.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use portico_permission::permission::CATALOG_ENTITY_READ;
use portico_permission::{PolicyEngine, Principal, Resource};
use serde_json::{Value, json};

const ENTITIES: usize = 10_000;
const ROUNDS: usize = 15;

fn policy(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo/policies").join(file)
}

/// Components as the catalog serves them; one in ten is restricted, owners spread over 20 teams.
fn entities() -> Vec<Value> {
    (0..ENTITIES)
        .map(|i| {
            let mut labels = json!({ "tier": (i % 3).to_string() });
            if i % 10 == 0 {
                labels["portico.io/restricted"] = json!("true");
            }
            json!({
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {
                    "name": format!("service-{i}"),
                    "namespace": "default",
                    "uid": format!("00000000-0000-4000-8000-{i:012}"),
                    "etag": format!("{i:040x}"),
                    "description": "A service of the generated benchmark catalog, with a realistic description.",
                    "labels": labels,
                    "annotations": {
                        "backstage.io/managed-by-location": format!("url:https://git.example.com/org/service-{i}/catalog-info.yaml"),
                        "backstage.io/managed-by-origin-location": "url:https://git.example.com/org/catalog/all.yaml",
                        "backstage.io/techdocs-ref": "dir:."
                    },
                    "tags": ["rust", format!("area-{}", i % 7)]
                },
                "spec": {
                    "type": "service",
                    "lifecycle": "production",
                    "owner": format!("team-{}", i % 20),
                    "system": format!("system-{}", i % 50)
                },
                "relations": [
                    { "type": "ownedBy", "targetRef": format!("group:default/team-{}", i % 20) },
                    { "type": "partOf", "targetRef": format!("system:default/system-{}", i % 50) }
                ]
            })
        })
        .collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Median over rounds of `run`, which returns a count that keeps the work observable.
fn measure(mut run: impl FnMut() -> usize) -> (Duration, usize) {
    let mut count = 0;
    let samples = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            count = std::hint::black_box(run());
            start.elapsed()
        })
        .collect();
    (median(samples), count)
}

/// The list answer: every kept entity written as JSON into one body.
fn write_list<'a>(kept: impl Iterator<Item = &'a Value>) -> usize {
    let mut body = Vec::with_capacity(ENTITIES * 1024);
    let mut count = 0;
    for entity in kept {
        serde_json::to_writer(&mut body, entity).unwrap();
        count += 1;
    }
    std::hint::black_box(body.len());
    count
}

fn main() {
    let entities = entities();
    let principal = Principal::user("user:default/jane", ["user:default/jane", "group:default/team-3"]);
    let setups = [
        ("allow-all (no policy files)", PolicyEngine::allow_all()),
        ("default.cedar", PolicyEngine::from_files([policy("default.cedar")]).unwrap()),
        (
            "default.cedar + restricted-entities.cedar",
            PolicyEngine::from_files([policy("default.cedar"), policy("restricted-entities.cedar")]).unwrap(),
        ),
        (
            "all four example policies",
            PolicyEngine::from_files(
                ["default.cedar", "owners-delete.cedar", "template-groups.cedar", "restricted-entities.cedar"]
                    .map(policy),
            )
            .unwrap(),
        ),
        (
            "default.cedar + a policy on each entity's name (no two entities alike: no reuse)",
            PolicyEngine::from_sources(&[
                ("default.cedar".to_owned(), std::fs::read_to_string(policy("default.cedar")).unwrap()),
                (
                    "names.cedar".to_owned(),
                    "forbid (principal, action == Portico::Action::\"catalog.entity.read\", resource is Portico::Entity)\n\
                     when { resource.name like \"*-7\" };"
                        .to_owned(),
                ),
            ])
            .unwrap(),
        ),
    ];

    let (unfiltered, written) = measure(|| write_list(entities.iter()));
    println!(
        "list of {ENTITIES} entities, unfiltered (JSON body written): {unfiltered:?} ({written} entities)"
    );
    for (name, engine) in &setups {
        let (one_by_one, _) = measure(|| {
            entities
                .iter()
                .filter(|e| {
                    engine.authorize(&principal, &CATALOG_ENTITY_READ, Some(Resource::Entity(e))).is_allowed()
                })
                .count()
        });
        let (filter_only, visible) = measure(|| {
            let check = engine.for_principal(&principal, &CATALOG_ENTITY_READ);
            entities.iter().filter(|e| check.allows(Resource::Entity(e))).count()
        });
        let (filtered_list, _) = measure(|| {
            let check = engine.for_principal(&principal, &CATALOG_ENTITY_READ);
            write_list(entities.iter().filter(|e| check.allows(Resource::Entity(e))))
        });
        println!("{name}:");
        println!(
            "  authorize(), one call per entity: median {} ns per decision",
            one_by_one.as_nanos() / ENTITIES as u128
        );
        println!(
            "  prepared check: median {} ns per decision; {ENTITIES} entities filtered in {filter_only:?} ({visible} visible)",
            filter_only.as_nanos() / ENTITIES as u128
        );
        println!(
            "  filtered list written: {filtered_list:?} = {:.2}x the unfiltered list",
            filtered_list.as_secs_f64() / unfiltered.as_secs_f64()
        );
    }
}
