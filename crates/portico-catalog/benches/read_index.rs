//! Micro-benchmark of the in-memory read index at catalog scale.
//!
//! Builds an index from a synthetic catalog shaped like the peer benchmark's generator
//! (groups, users with `memberOf`, domains, systems, resources, APIs with inline OpenAPI
//! definitions, components with owner/system/dependsOn/providesApis/tags; ~1 KB per entity)
//! and times, through the read routes: index load, a filtered list, by-query pages, facets,
//! full-text (explicit and default fields) and by-refs. Prints medians and the index's heap
//! bytes.
//!
//! `cargo bench -p portico-catalog --bench read_index` runs N = 10,000 and 100,000;
//! `-- 5000 20000` picks other sizes; `-- --load-only 100000` only loads (for measuring peak
//! RSS with `/usr/bin/time -v`).

use std::hint::black_box;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use portico_catalog::api::read::{ReadApi, router};
use portico_catalog::index::{ReadIndex, SharedIndex};
use portico_store::FinalEntityRow;
use serde_json::{Value, json};
use tower::ServiceExt;

const NOUNS: &[&str] = &[
    "payments",
    "billing",
    "invoice",
    "ledger",
    "checkout",
    "cart",
    "catalog",
    "search",
    "identity",
    "auth",
    "profile",
    "inventory",
    "shipping",
    "orders",
    "pricing",
    "discount",
    "loyalty",
    "notification",
    "email",
    "sms",
    "analytics",
    "reporting",
    "metrics",
    "logging",
    "audit",
    "fraud",
    "risk",
    "compliance",
    "onboarding",
    "subscription",
    "recommendation",
    "review",
    "media",
    "upload",
    "gateway",
    "routing",
    "scheduler",
    "workflow",
    "export",
    "import",
    "sync",
    "geo",
    "maps",
    "tax",
    "refund",
    "wallet",
    "ads",
    "campaign",
    "feedback",
    "support",
    "chat",
    "translation",
    "content",
    "storefront",
    "warehouse",
];
const LANGS: &[&str] = &["java", "kotlin", "go", "python", "typescript", "rust", "scala", "csharp"];
const TECH: &[&str] = &["kafka", "grpc", "graphql", "rest", "postgres", "redis", "kubernetes", "aws", "gcp"];
const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "nina",
    "oscar", "peggy", "quinn", "rupert", "sybil", "trent", "ursula", "victor", "wendy", "xavier",
];
const LAST: &[&str] = &[
    "smith", "jones", "garcia", "miller", "davis", "lopez", "wilson", "anderson", "thomas", "taylor",
    "moore", "martin", "lee", "perez", "thompson", "white", "harris", "clark", "lewis", "robinson",
];
const DEPARTMENTS: &[&str] = &[
    "engineering",
    "platform",
    "commerce",
    "data",
    "finance-tech",
    "growth",
    "security",
    "infrastructure",
    "mobile",
    "operations",
    "research",
    "experience",
];

/// A small deterministic generator (splitmix64), so runs compare like for like.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn title_case(text: &str) -> String {
    text.split(['-', '.'])
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A final entity as the store holds it: stitched metadata and relations.
struct Gen {
    rng: Rng,
    uid: u64,
    rows: Vec<FinalEntityRow>,
}

impl Gen {
    fn push(&mut self, kind: &str, mut metadata: Value, spec: Value, relations: Vec<(&str, String)>) {
        self.uid += 1;
        let uid = format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            self.rng.next() as u32,
            self.uid & 0xffff,
            self.rng.below(4096),
            self.rng.below(4096),
            self.uid
        );
        let file = format!("file:/catalog/entities-{:04}.yaml", self.rows.len() / 500 + 1);
        if let Some(meta) = metadata.as_object_mut() {
            meta.insert("namespace".into(), json!("default"));
            meta.insert("uid".into(), json!(uid));
            meta.insert("etag".into(), json!(format!("{:016x}", self.rng.next())));
            let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
            if let Some(a) = annotations.as_object_mut() {
                a.insert("backstage.io/managed-by-location".into(), json!(file));
                a.insert(
                    "backstage.io/managed-by-origin-location".into(),
                    json!("file:/catalog/location.yaml"),
                );
            }
        }
        let relations: Vec<Value> =
            relations.into_iter().map(|(t, target)| json!({"type": t, "targetRef": target})).collect();
        let name = metadata["name"].as_str().unwrap_or_default().to_lowercase();
        let body = json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec,
            "relations": relations,
        });
        let seq = self.rows.len() as i64 + 1;
        // Serialized right away: the generator itself should not dominate peak memory.
        self.rows.push(FinalEntityRow {
            entity_id: uid,
            entity_ref: format!("{}:default/{name}", kind.to_lowercase()),
            hash: format!("{:016x}", seq * 7919),
            body: body.to_string(),
            change_seq: seq,
            updated_at: 0,
        });
    }
}

fn openapi(title: &str, noun: &str, rng: &mut Rng) -> String {
    let mut text = format!(
        "openapi: 3.0.3\ninfo:\n  title: {title}\n  version: {}.{}.0\npaths:\n",
        1 + rng.below(5),
        rng.below(10)
    );
    for path in [format!("/{noun}"), format!("/{noun}/{{id}}"), "/health".to_owned()] {
        text.push_str(&format!("  {path}:\n"));
        for verb in ["get", "post"].iter().take(1 + rng.below(2)) {
            text.push_str(&format!(
                "    {verb}:\n      summary: {} {path}\n      responses:\n        '200':\n          description: OK\n",
                verb.to_uppercase()
            ));
        }
    }
    text
}

/// The synthetic catalog of `n` entities, as store rows.
fn catalog(n: usize) -> Vec<FinalEntityRow> {
    let count = |share: f64, min: usize| ((n as f64 * share).round() as usize).max(min);
    let (domains, systems, groups, users, apis, resources) =
        (count(0.002, 2), count(0.02, 3), count(0.03, 4), count(0.2, 5), count(0.15, 3), count(0.13, 3));
    let components = n - domains - systems - groups - users - apis - resources;
    let mut g = Gen { rng: Rng(42), uid: 0, rows: Vec::with_capacity(n) };

    let depts = ((groups - 1) as f64).sqrt().round().clamp(1.0, 48.0) as usize;
    let dept_names: Vec<String> = (0..depts)
        .map(|i| match i / DEPARTMENTS.len() {
            0 => DEPARTMENTS[i].to_owned(),
            k => format!("{}-{}", DEPARTMENTS[i % DEPARTMENTS.len()], k + 1),
        })
        .collect();
    let teams: Vec<String> =
        (0..groups - 1 - depts).map(|i| format!("team-{}-{:04}", g.rng.pick(NOUNS), i + 1)).collect();
    let owner = |rng: &mut Rng, team: &str| {
        if rng.chance(50) { team.to_owned() } else { format!("group:default/{team}") }
    };
    let team_ref = |t: &str| format!("group:default/{t}");

    g.push(
        "Group",
        json!({"name": "acme", "title": "Acme"}),
        json!({"type": "organization",
        "profile": {"displayName": "Acme"}, "children": dept_names}),
        dept_names.iter().map(|d| ("parentOf", team_ref(d))).collect(),
    );
    for (i, dept) in dept_names.iter().enumerate() {
        let children: Vec<&String> = teams.iter().skip(i).step_by(depts).collect();
        let mut rels = vec![("childOf", team_ref("acme"))];
        rels.extend(children.iter().map(|c| ("parentOf", team_ref(c))));
        g.push("Group", json!({"name": dept, "title": title_case(dept), "description": format!("The {dept} department at Acme.")}),
            json!({"type": "department", "parent": "acme", "children": children,
                "profile": {"displayName": title_case(dept), "email": format!("{dept}@acme.example.com")}}), rels);
    }
    for (i, team) in teams.iter().enumerate() {
        let parent = &dept_names[i % depts];
        g.push("Group", json!({"name": team, "title": title_case(team), "description": format!("The {team} team at Acme.")}),
            json!({"type": "team", "parent": parent, "children": [],
                "profile": {"displayName": title_case(team), "email": format!("{team}@acme.example.com")}}),
            vec![("childOf", team_ref(parent))]);
    }
    for i in 0..users {
        let (first, last) = (*g.rng.pick(FIRST), *g.rng.pick(LAST));
        let name = format!("{first}.{last}{}", i + 1);
        let mut member_of = vec![g.rng.pick(&teams).clone()];
        if g.rng.chance(25) {
            member_of.push(g.rng.pick(&teams).clone());
        }
        member_of.sort();
        member_of.dedup();
        let rels = member_of.iter().map(|t| ("memberOf", team_ref(t))).collect();
        g.push(
            "User",
            json!({"name": name}),
            json!({"profile": {"displayName": format!("{} {}", title_case(first), title_case(last)),
            "email": format!("{name}@acme.example.com")}, "memberOf": member_of}),
            rels,
        );
    }
    let domain_names: Vec<String> =
        (0..domains).map(|i| format!("{}-domain-{}", NOUNS[i % NOUNS.len()], i + 1)).collect();
    for name in &domain_names {
        let dept = g.rng.pick(&dept_names).clone();
        let o = owner(&mut g.rng, &dept);
        g.push("Domain", json!({"name": name, "title": title_case(name), "description": format!("Everything about {name}.")}),
            json!({"owner": o}), vec![("ownedBy", team_ref(&dept))]);
    }
    let system_names: Vec<String> =
        (0..systems).map(|i| format!("{}-system-{:04}", NOUNS[i % NOUNS.len()], i + 1)).collect();
    for name in &system_names {
        let team = g.rng.pick(&teams).clone();
        let domain = g.rng.pick(&domain_names).clone();
        let o = owner(&mut g.rng, &team);
        g.push("System", json!({"name": name, "title": title_case(name), "description": format!("The platform, part of {domain}."), "tags": [name.split('-').next()]}),
            json!({"owner": o, "domain": domain}),
            vec![("ownedBy", team_ref(&team)), ("partOf", format!("domain:default/{domain}"))]);
    }
    let mut resource_names = Vec::with_capacity(resources);
    for i in 0..resources {
        let rtype = *g.rng.pick(&["database", "s3-bucket", "kafka-topic", "cache"]);
        let noun = *g.rng.pick(NOUNS);
        let name = format!("{noun}-{}-{:05}", rtype.split('-').next().unwrap_or("db"), i + 1);
        let team = g.rng.pick(&teams).clone();
        let system = g.rng.pick(&system_names).clone();
        let o = owner(&mut g.rng, &team);
        g.push("Resource", json!({"name": name, "description": format!("{rtype} holding {noun} data."), "tags": [rtype, noun]}),
            json!({"type": rtype, "owner": o, "system": system}),
            vec![("ownedBy", team_ref(&team)), ("partOf", format!("system:default/{system}"))]);
        resource_names.push(name);
    }
    let roles = [
        ("service", ["service", "api", "worker", "backend"]),
        ("website", ["web", "portal", "ui", "console"]),
        ("library", ["lib", "sdk", "client", "core"]),
    ];
    let comp_names: Vec<(String, &str, &str)> = (0..components)
        .map(|i| {
            let (ctype, words) = roles[[0, 0, 0, 1, 2][g.rng.below(5)]];
            let noun = *g.rng.pick(NOUNS);
            (format!("{noun}-{}-{:05}", g.rng.pick(&words), i + 1), ctype, noun)
        })
        .collect();
    let mut provided: Vec<Vec<String>> = vec![Vec::new(); components];
    let mut api_names = Vec::with_capacity(apis);
    for i in 0..apis {
        let noun = *g.rng.pick(NOUNS);
        let name = format!("{noun}-api-{:05}", i + 1);
        let title = format!("{} API {}", title_case(noun), i + 1);
        let team = g.rng.pick(&teams).clone();
        let system = g.rng.pick(&system_names).clone();
        let provider = g.rng.below(components);
        provided[provider].push(name.clone());
        let o = owner(&mut g.rng, &team);
        let lifecycle = if g.rng.chance(70) { "production" } else { "experimental" };
        let definition = openapi(&title, noun, &mut g.rng);
        g.push("API", json!({"name": name, "title": title, "description": format!("Public HTTP API of the {noun} capability."), "tags": ["rest", noun]}),
            json!({"type": "openapi", "lifecycle": lifecycle, "owner": o, "system": system, "definition": definition}),
            vec![("ownedBy", team_ref(&team)), ("partOf", format!("system:default/{system}")),
                ("apiProvidedBy", format!("component:default/{}", comp_names[provider].0))]);
        api_names.push(name);
    }
    for (i, (name, ctype, noun)) in comp_names.iter().enumerate() {
        let lifecycle = if g.rng.chance(65) { "production" } else { "experimental" };
        let team = g.rng.pick(&teams).clone();
        let system = g.rng.pick(&system_names).clone();
        let o = owner(&mut g.rng, &team);
        let mut spec = json!({"type": ctype, "lifecycle": lifecycle, "owner": o, "system": system});
        let mut rels = vec![("ownedBy", team_ref(&team)), ("partOf", format!("system:default/{system}"))];
        let mut deps: Vec<String> = (0..g.rng.below(4))
            .map(|_| {
                if g.rng.chance(60) {
                    format!("component:{}", g.rng.pick(&comp_names).0)
                } else {
                    format!("resource:{}", g.rng.pick(&resource_names))
                }
            })
            .collect();
        deps.sort();
        deps.dedup();
        rels.extend(deps.iter().map(|d| ("dependsOn", d.replacen(':', ":default/", 1))));
        let mut consumes: Vec<String> = (0..g.rng.below(4)).map(|_| g.rng.pick(&api_names).clone()).collect();
        consumes.sort();
        consumes.dedup();
        rels.extend(consumes.iter().map(|a| ("consumesApi", format!("api:default/{a}"))));
        rels.extend(provided[i].iter().map(|a| ("providesApi", format!("api:default/{a}"))));
        if let Some(s) = spec.as_object_mut() {
            if !deps.is_empty() {
                s.insert("dependsOn".into(), json!(deps));
            }
            if !provided[i].is_empty() {
                s.insert("providesApis".into(), json!(provided[i]));
            }
            if !consumes.is_empty() {
                s.insert("consumesApis".into(), json!(consumes));
            }
        }
        let mut tags = vec![g.rng.pick(LANGS).to_string()];
        tags.extend((0..g.rng.below(3)).map(|_| g.rng.pick(TECH).to_string()));
        tags.sort();
        tags.dedup();
        let (tier, cost) = (1 + g.rng.below(3), 100 + g.rng.below(900));
        g.push("Component", json!({
            "name": name, "title": title_case(name),
            "description": format!("{} for {noun} ({lifecycle}).", title_case(ctype)),
            "tags": tags,
            "labels": {"tier": tier.to_string(), "cost-center": format!("cc-{cost}")},
            "annotations": {"github.com/project-slug": format!("acme/{name}"), "backstage.io/techdocs-ref": "dir:."},
            "links": [{"url": format!("https://{name}.acme.example.com"), "title": "Home", "icon": "dashboard"}],
        }), spec, rels);
    }

    g.rows
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// Sends one request and returns the body length (so the response is fully built).
async fn call(router: &Router, method: &str, uri: &str, body: &str) -> usize {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK, "{uri}");
    response.into_body().collect().await.expect("body").to_bytes().len()
}

async fn time_request(router: &Router, label: &str, method: &str, uri: &str, body: &str) {
    let warm = call(router, method, uri, body).await;
    let mut samples = Vec::new();
    let started = Instant::now();
    while samples.len() < 15 || (started.elapsed() < Duration::from_millis(600) && samples.len() < 2000) {
        let t = Instant::now();
        black_box(call(router, method, uri, body).await);
        samples.push(t.elapsed());
    }
    println!("  {label:<44} {:>10}   ({warm} bytes)", ms(median(samples)));
}

fn load(rows: Vec<FinalEntityRow>) -> (ReadIndex, Duration) {
    let started = Instant::now();
    let mut index = ReadIndex::new();
    index.load(rows, 1);
    (index, started.elapsed())
}

fn run(n: usize, runtime: &tokio::runtime::Runtime) {
    let rows = catalog(n);
    let body_bytes: usize = rows.iter().map(|r| r.body.len()).sum();
    let refs: Vec<String> = rows.iter().step_by(n / 100).take(100).map(|r| r.entity_ref.clone()).collect();
    println!("N = {n} ({} MB of bodies)", body_bytes / 1_000_000);
    // Load a few times from fresh copies; the last index is the one queried.
    let mut loads = Vec::new();
    let mut index = ReadIndex::new();
    for _ in 0..3 {
        let (loaded, took) = load(rows.clone());
        loads.push(took);
        index = loaded;
    }
    drop(rows);
    println!("  {:<44} {:>10}", "load", ms(median(loads)));
    println!("  {:<44} {:>7} MB", "index heap bytes", index.heap_bytes() / 1_000_000);

    let shared: SharedIndex = Arc::new(RwLock::new(index));
    let router = router(ReadApi { index: shared, relations_compatibility: true });
    let refs_body = json!({ "entityRefs": refs }).to_string();
    runtime.block_on(async {
        let queries = [
            ("list component+production limit 100", "GET",
                "/entities?filter=kind=component,spec.lifecycle=production&limit=100"),
            ("by-query page 1 (limit 20)", "GET", "/entities/by-query?filter=kind=component&limit=20"),
            ("facets spec.type + spec.owner", "GET", "/entity-facets?facet=spec.type&facet=spec.owner"),
            ("facets spec.type, filter kind=component", "GET", "/entity-facets?facet=spec.type&filter=kind=component"),
            ("full-text name,title order name", "GET",
                "/entities/by-query?fullTextFilterTerm=payments&fullTextFilterFields=metadata.name,metadata.title&orderField=metadata.name,asc&limit=20"),
            ("full-text default fields order name", "GET",
                "/entities/by-query?fullTextFilterTerm=payments&orderField=metadata.name,asc&limit=20"),
            ("by-refs 100 refs", "POST", "/entities/by-refs"),
        ];
        for (label, method, uri) in queries {
            time_request(&router, label, method, uri, &refs_body).await;
        }
        // The cursor page needs a cursor from page 1.
        let first = router
            .clone()
            .oneshot(Request::get("/entities/by-query?filter=kind=component&limit=20").body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let bytes = first.into_body().collect().await.expect("body").to_bytes();
        let page: Value = serde_json::from_slice(&bytes).expect("json");
        let cursor = page["pageInfo"]["nextCursor"].as_str().unwrap_or_default().to_owned();
        let uri = format!("/entities/by-query?cursor={cursor}");
        time_request(&router, "by-query cursor page", "GET", &uri, "").await;
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if let Some(at) = args.iter().position(|a| a == "--load-only") {
        let n = args.get(at + 1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
        let rows = catalog(n);
        let (index, took) = load(rows);
        println!(
            "N = {n}: loaded {} entities in {}, index heap {} MB",
            index.len(),
            ms(took),
            index.heap_bytes() / 1_000_000
        );
        return;
    }
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![10_000, 100_000] } else { sizes };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    for n in sizes {
        run(n, &runtime);
    }
}
