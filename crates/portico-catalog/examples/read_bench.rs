//! Temporary: read index micro benchmark.
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use portico_catalog::api::read::{ReadApi, router};
use portico_catalog::index::ReadIndex;
use portico_store::FinalEntityRow;
use tower::ServiceExt;

fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM")).collect::<Vec<_>>().join(" ")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let path = std::env::args().nth(1).expect("path");
    let text = std::fs::read_to_string(&path).expect("read");
    let mut rows = Vec::new();
    let mut refs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        let kind = v["kind"].as_str().unwrap().to_lowercase();
        let name = v["metadata"]["name"].as_str().unwrap().to_lowercase();
        let r = format!("{kind}:default/{name}");
        refs.push(r.clone());
        rows.push(FinalEntityRow {
            entity_id: v["metadata"]["uid"].as_str().unwrap().to_owned(),
            entity_ref: r,
            hash: String::new(),
            body: line.to_owned(),
            change_seq: i as i64,
            updated_at: 0,
        });
    }
    drop(text);
    println!("before load: {}", rss());
    let t = Instant::now();
    let mut n = 0;
    for r in rows.iter().take(20000) { let v: serde_json::Value = serde_json::from_str(&r.body).unwrap(); n += portico_model::flatten::search_rows(&v).unwrap().len(); }
    println!("parse+flatten 20000: {:?} ({n} rows)", t.elapsed());
    let start = Instant::now();
    let mut index = ReadIndex::new();
    index.load(rows, 1);
    println!("load {} entities: {:?}; heap≈{} MiB; {}", index.len(), start.elapsed(), index.heap_bytes() >> 20, rss());
    let app = router(ReadApi { index: Arc::new(RwLock::new(index)), relations_compatibility: true });
    let comps: Vec<&String> = refs.iter().filter(|r| r.starts_with("component:")).collect();
    let mut byrefs = String::from("{\"entityRefs\":[");
    for (i, r) in refs.iter().step_by(refs.len() / 100).take(100).enumerate() {
        if i > 0 { byrefs.push(','); }
        byrefs.push_str(&format!("\"{r}\""));
    }
    byrefs.push_str("]}");
    let first = app.clone().oneshot(Request::get("/entities/by-query?filter=kind=component&limit=50").body(Body::empty()).unwrap()).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&first.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let cursor: String = url::form_urlencoded::byte_serialize(json["pageInfo"]["nextCursor"].as_str().unwrap().as_bytes()).collect();
    let by_name = comps[comps.len() / 2].replacen(':', "/", 1);
    let cases: Vec<(&str, String, Option<String>)> = vec![
        ("list kind=component,lifecycle=production limit=100", "/entities?filter=kind=component,spec.lifecycle=production&limit=100".into(), None),
        ("by-query kind=component limit=50", "/entities/by-query?filter=kind=component&limit=50".into(), None),
        ("by-query cursor page", format!("/entities/by-query?limit=50&cursor={cursor}"), None),
        ("facets", "/entity-facets?facet=spec.type&facet=spec.owner".into(), None),
        ("by-refs 100", "/entities/by-refs".into(), Some(byrefs.clone())),
        ("by-name", format!("/entities/by-name/{by_name}"), None),
        ("fulltext name,title order name", "/entities/by-query?fullTextFilterTerm=billing&fullTextFilterFields=metadata.name,metadata.title&orderField=metadata.name,asc&limit=20".into(), None),
        ("fulltext default", "/entities/by-query?fullTextFilterTerm=billing".into(), None),
        ("count limit=1", "/entities/by-query?limit=1".into(), None),
    ];
    for (label, uri, body) in cases {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..200 {
            let req = match &body {
                Some(b) => Request::post(&uri).header("content-type", "application/json").body(Body::from(b.clone())).unwrap(),
                None => Request::get(&uri).body(Body::empty()).unwrap(),
            };
            let t = Instant::now();
            let resp = app.clone().oneshot(req).await.unwrap();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            size = bytes.len();
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!("{label:55} median {:.3} ms  p99 {:.3} ms  ({size} bytes)", times[100], times[197]);
    }
    println!("end: {}", rss());
}
