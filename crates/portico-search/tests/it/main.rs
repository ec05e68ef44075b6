//! The index and engine through the public API, with documents pushed by a [`PushCollator`].

use std::sync::Arc;

use portico_plugin::Access;
use portico_search::api::{PushCollator, ReadableRef, SearchCollator, SearchDocument};
use portico_search::engine::{self, SearchQuery};
use portico_search::writer::FEED_BATCH;
use portico_search::{IndexLocation, Indexer, SearchConfig, SearchService};
use serde_json::{Map, Value, json};

fn doc(id: &str, title: &str, text: &str, kind: &str, lifecycle: &str) -> SearchDocument {
    let Value::Object(fields) = json!({
        "title": title, "text": text, "kind": kind, "lifecycle": lifecycle, "owner": "team-a",
        "location": format!("/catalog/default/{}/{id}", kind.to_lowercase()),
        "authorization": {"resourceRef": format!("{}:default/{id}", kind.to_lowercase())}
    }) else {
        unreachable!("an object literal")
    };
    SearchDocument { id: id.to_owned(), fields, exact_names: vec![id.to_owned()] }
}

async fn service(collator: Arc<PushCollator>, location: IndexLocation) -> (Indexer, SearchService) {
    let indexer =
        Indexer::open(location, vec![collator as Arc<dyn SearchCollator>]).await.expect("index opens");
    let config = SearchConfig {
        max_term_length: 100,
        max_page_limit: 100,
        boosts: Default::default(),
        catalog_location_template: String::new(),
        location: IndexLocation::Memory,
    };
    let service = SearchService::new(indexer.index(), Arc::new(config), vec!["software-catalog".into()]);
    (indexer, service)
}

fn query(term: &str) -> SearchQuery {
    SearchQuery { term: term.into(), page_limit: 25, ..SearchQuery::default() }
}

fn titles(service: &SearchService, q: &SearchQuery) -> Vec<String> {
    let set = service.query(&Access::unrestricted(), q).expect("query runs");
    set.results.iter().map(|r| r.document["title"].as_str().unwrap_or_default().to_owned()).collect()
}

fn fixture() -> Arc<PushCollator> {
    let collator = PushCollator::new("software-catalog");
    collator.upsert(doc("billing", "billing", "Sends payments invoices", "Component", "production"));
    collator.upsert(doc("payments", "payments", "Moves money", "Component", "production"));
    collator.upsert(doc("payments-api", "payments-api", "The payments API", "API", "experimental"));
    collator.upsert(doc("ledger", "ledger", "Keeps the books", "Component", "deprecated"));
    collator
}

#[tokio::test]
async fn exact_name_first_then_title_then_description() {
    let (_indexer, service) = service(fixture(), IndexLocation::Memory).await;
    let found = titles(&service, &query("payments"));
    assert_eq!(found, ["payments", "payments-api", "billing"]);
}

#[tokio::test]
async fn one_typo_and_prefixes_match() {
    let (_indexer, service) = service(fixture(), IndexLocation::Memory).await;
    assert_eq!(titles(&service, &query("ledgr")), ["ledger"]);
    assert_eq!(titles(&service, &query("ledegr")), ["ledger"], "a transposition is one edit");
    assert_eq!(titles(&service, &query("led")), ["ledger"]);
    assert!(titles(&service, &query("lxdgxr")).is_empty(), "two edits do not match");
}

#[tokio::test]
async fn highlights_use_the_tags_and_syntax_is_plain_text() {
    let (_indexer, service) = service(fixture(), IndexLocation::Memory).await;
    let set = service.query(&Access::unrestricted(), &query("ledger AND (")).expect("query runs");
    let (pre, post) = service.tags().clone();
    let highlight = set.results[0].highlight.as_ref().expect("highlighted");
    assert_eq!(highlight.fields["title"], format!("{pre}ledger{post}"));
    for hostile in ["title:[", "\"foo AND (", "*", "~~~", ")))((("] {
        service.query(&Access::unrestricted(), &query(hostile)).expect("never a syntax error");
    }
}

#[tokio::test]
async fn filters_and_types_restrict_inside_the_query() {
    let (_indexer, service) = service(fixture(), IndexLocation::Memory).await;
    let mut q = query("payments");
    q.filters = Map::from_iter([("kind".to_owned(), json!("api"))]);
    assert_eq!(titles(&service, &q), ["payments-api"]);
    q.filters = Map::from_iter([("lifecycle".to_owned(), json!(["production", "experimental"]))]);
    assert_eq!(titles(&service, &q).len(), 3);
    q.filters = Map::from_iter([("nosuchfield".to_owned(), json!("x"))]);
    assert!(titles(&service, &q).is_empty());
    let mut all = query("");
    all.filters = Map::from_iter([("kind".to_owned(), json!("Component"))]);
    assert_eq!(service.query(&Access::unrestricted(), &all).expect("query").number_of_results, 3);
}

#[tokio::test]
async fn paging_cursors_go_both_ways() {
    let collator = PushCollator::new("software-catalog");
    for i in 0..7 {
        collator.upsert(doc(&format!("svc-{i}"), &format!("service {i}"), "", "Component", "production"));
    }
    let (_indexer, service) = service(collator, IndexLocation::Memory).await;
    let mut q = SearchQuery { term: "service".into(), page_limit: 3, ..SearchQuery::default() };
    let first = service.query(&Access::unrestricted(), &q).expect("page 0");
    assert_eq!(first.number_of_results, 7);
    assert_eq!(first.next_page_cursor.as_deref(), Some("MQ=="));
    assert!(first.previous_page_cursor.is_none());
    q.page = 2;
    let last = service.query(&Access::unrestricted(), &q).expect("page 2");
    assert_eq!(last.results.len(), 1);
    assert_eq!(last.results[0].rank, 7);
    assert!(last.next_page_cursor.is_none());
    assert_eq!(last.previous_page_cursor.as_deref(), Some("MQ=="));
}

#[tokio::test]
async fn read_permission_filters_before_paging() {
    let collator = PushCollator::new("software-catalog");
    for i in 0..9 {
        collator.upsert(doc(&format!("svc-{i}"), &format!("service {i}"), "", "Component", "production"));
    }
    let mut public = doc("public", "service public", "", "Component", "production");
    public.fields.remove("authorization");
    collator.upsert(public);
    let (indexer, _service) = service(collator, IndexLocation::Memory).await;
    // Even-numbered services are readable; the document without a resource ref is everyone's.
    let readable: ReadableRef = Arc::new(|entity_ref: &str| {
        entity_ref
            .strip_prefix("component:default/svc-")
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n % 2 == 0)
    });
    let types = [("software-catalog".to_owned(), 1.0)];
    let tags = engine::highlight_tags();
    let mut q = SearchQuery { term: "service".into(), page_limit: 2, ..SearchQuery::default() };
    let mut seen = Vec::new();
    loop {
        let set = engine::search(&indexer.index(), &q, &types, &tags, Some(&readable)).expect("query runs");
        assert_eq!(set.number_of_results, 6, "five readable services and the public document");
        let ranks: Vec<usize> = set.results.iter().map(|r| r.rank).collect();
        let expected: Vec<usize> = (q.page * 2 + 1..=(q.page * 2 + 2).min(6)).collect();
        assert_eq!(ranks, expected, "page {} is full and ranked without gaps", q.page);
        assert_eq!(set.previous_page_cursor.is_some(), q.page > 0);
        seen.extend(set.results.iter().map(|r| r.document["title"].as_str().unwrap_or_default().to_owned()));
        match set.next_page_cursor {
            Some(cursor) => q.page = engine::decode_cursor(&cursor).expect("our cursor"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["service 0", "service 2", "service 4", "service 6", "service 8", "service public"]);
}

#[tokio::test]
async fn pushed_changes_and_deletes_show_after_catch_up() {
    let collator = fixture();
    let (mut indexer, service) = service(collator.clone(), IndexLocation::Memory).await;
    collator.upsert(doc("zebra", "zebra", "", "Component", "production"));
    collator.delete("ledger");
    assert_eq!(indexer.catch_up().await.expect("catch up"), 2);
    assert_eq!(titles(&service, &query("zebra")), ["zebra"]);
    assert!(titles(&service, &query("ledger")).is_empty());
}

#[tokio::test]
async fn a_corrupt_index_folder_is_rebuilt_at_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let location = IndexLocation::Dir(dir.path().join("search"));
    {
        let (_indexer, service) = service(fixture(), location.clone()).await;
        assert_eq!(titles(&service, &query("ledger")), ["ledger"]);
    }
    // Garbage over every file of the generation.
    for generation in std::fs::read_dir(dir.path().join("search")).expect("generations") {
        let generation = generation.expect("entry").path();
        for file in std::fs::read_dir(&generation).expect("files") {
            let file = file.expect("file").path();
            if file.file_name().is_some_and(|n| n != "READY") {
                std::fs::write(&file, b"\x00garbage{not an index").expect("overwrite");
            }
        }
    }
    let (_indexer, service) = service(fixture(), location).await;
    assert_eq!(titles(&service, &query("ledger")), ["ledger"]);
}

#[tokio::test]
async fn reindex_builds_a_new_generation_and_switches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let location = IndexLocation::Dir(dir.path().join("search"));
    let (mut indexer, service) = service(fixture(), location).await;
    let before: Vec<_> = std::fs::read_dir(dir.path().join("search")).expect("dir").collect();
    assert_eq!(before.len(), 1);
    let count = indexer.reindex(None).await.expect("reindex");
    assert_eq!(count, 4);
    assert_eq!(titles(&service, &query("ledger")), ["ledger"]);
    let after: Vec<_> = std::fs::read_dir(dir.path().join("search")).expect("dir").collect();
    assert_eq!(after.len(), 1, "the old generation is removed");
}

/// The one generation folder under a search index folder.
fn generation_dir(root: &std::path::Path) -> std::path::PathBuf {
    let mut generations: Vec<_> =
        std::fs::read_dir(root).expect("generations").map(|e| e.expect("entry").path()).collect();
    assert_eq!(generations.len(), 1, "one generation");
    generations.remove(0)
}

#[tokio::test]
async fn long_feeds_commit_batch_by_batch_and_an_idle_writer_lets_go_of_the_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("search");
    let collator = fixture();
    let (mut indexer, service) = service(collator.clone(), IndexLocation::Dir(root.clone())).await;
    // Two feed batches and one more change: three commits, fewer segments than a merge waits for.
    let changes = 2 * FEED_BATCH + 1;
    for i in 0..changes {
        collator.upsert(doc(&format!("svc-{i}"), &format!("service {i}"), "", "Component", "production"));
    }
    assert_eq!(indexer.catch_up().await.expect("catch up"), changes);
    let last = format!("svc-{}", changes - 1);
    assert_eq!(titles(&service, &query(&last)).first(), Some(&format!("service {}", changes - 1)));

    let index = tantivy::Index::open_in_dir(generation_dir(&root)).expect("index opens");
    // One segment per committed batch: pending deletes never pile up over a whole feed.
    let segments = index.searchable_segment_metas().expect("segments").len();
    assert!(segments >= 3, "the three batches were committed one by one ({segments} segments)");
    let busy = index.writer::<tantivy::TantivyDocument>(15_000_000);
    assert!(busy.is_err(), "the writer stays open while the feed moves");
    drop(busy);

    assert_eq!(indexer.catch_up().await.expect("idle catch up"), 0);
    let writer = index.writer::<tantivy::TantivyDocument>(15_000_000);
    assert!(writer.is_ok(), "an idle catch-up released the writer and its lock");
    drop(writer);

    collator.upsert(doc("zebra", "zebra", "", "Component", "production"));
    assert_eq!(indexer.catch_up().await.expect("catch up after idle"), 1);
    assert_eq!(titles(&service, &query("zebra")), ["zebra"], "the writer opens again when needed");
}
