//! The read index on its own: applying the change feed.

use portico_catalog::index::{Direction, EntityFilter, PageRequest, Position, ReadIndex, SortKey};
use portico_store::FinalChange;
use roaring::RoaringBitmap;
use serde_json::json;

use crate::read_support::{fixture_index, row};

fn kind(value: &str) -> EntityFilter {
    EntityFilter::Key { key: "kind".into(), values: Some(vec![value.into()]) }
}

fn names(index: &ReadIndex, filter: &EntityFilter) -> Vec<String> {
    let mut names: Vec<String> = index
        .filter(filter)
        .iter()
        .filter_map(|o| index.entity(o))
        .map(|e| e.entity_ref.to_owned())
        .collect();
    names.sort();
    names
}

fn user(name: &str, uid: &str, title: &str) -> serde_json::Value {
    json!({"apiVersion": "backstage.io/v1alpha1", "kind": "User",
        "metadata": {"name": name, "namespace": "default", "uid": uid, "title": title},
        "spec": {}, "relations": []})
}

#[test]
fn upsert_replaces_the_previous_version() {
    let mut index = fixture_index();
    index.apply(FinalChange::Upsert(row(&user("bob", "u-11", "Robert"), 20)));
    assert_eq!(index.len(), 15);
    assert_eq!(index.last_seq(), 20);
    let title = EntityFilter::Key { key: "metadata.title".into(), values: Some(vec!["robert".into()]) };
    assert_eq!(names(&index, &title), vec!["user:default/bob".to_owned()]);
    let body: serde_json::Value =
        serde_json::from_str(&index.by_uid("u-11").expect("bob").body()).expect("json");
    assert_eq!(body["metadata"]["title"], "Robert");
}

#[test]
fn upsert_with_a_ref_held_by_another_uid_replaces_it() {
    let mut index = fixture_index();
    index.apply(FinalChange::Upsert(row(&user("bob", "u-new", "Bob Again"), 20)));
    assert_eq!(index.len(), 15);
    assert!(index.by_uid("u-11").is_none());
    assert_eq!(index.by_ref("user:default/bob").expect("bob").uid, "u-new");
    assert_eq!(names(&index, &kind("user")).len(), 2);
}

#[test]
fn delete_removes_the_entity_from_every_structure() {
    let mut index = fixture_index();
    index.apply(FinalChange::Delete {
        entity_id: "u-11".into(),
        entity_ref: "user:default/bob".into(),
        change_seq: 16,
    });
    assert_eq!(index.len(), 14);
    assert!(index.by_uid("u-11").is_none());
    assert!(index.by_ref("user:default/bob").is_none());
    assert_eq!(names(&index, &kind("user")), vec!["user:default/alice".to_owned()]);
    let facet = index.facet("metadata.name", index.all());
    assert!(facet.iter().all(|c| c.value != "bob"));

    // The freed ordinal is reused by the next new entity.
    index.apply(FinalChange::Upsert(row(&user("carol", "u-20", "Carol"), 17)));
    assert_eq!(index.len(), 15);
    assert_eq!(
        names(&index, &kind("USER")),
        vec!["user:default/alice".to_owned(), "user:default/carol".to_owned()]
    );
}

#[test]
fn stale_changes_are_ignored() {
    let mut index = fixture_index();
    index.apply(FinalChange::Delete {
        entity_id: "u-11".into(),
        entity_ref: "user:default/bob".into(),
        change_seq: 15,
    });
    assert_eq!(index.len(), 15);
    assert_eq!(index.last_seq(), 15);
}

#[test]
fn filters_combine_as_set_operations() {
    let index = fixture_index();
    let not_components = EntityFilter::AllOf(vec![
        EntityFilter::Key { key: "spec.owner".into(), values: Some(vec!["TEAM-A".into()]) },
        EntityFilter::Not(Box::new(kind("component"))),
    ]);
    assert_eq!(
        names(&index, &not_components),
        vec![
            "api:default/api-a".to_owned(),
            "domain:default/dom".to_owned(),
            "system:default/sys-1".to_owned()
        ]
    );
    assert_eq!(index.filter(&EntityFilter::AnyOf(vec![])).len(), 15);
}

#[test]
fn full_text_sees_values_added_and_removed_after_a_search() {
    let mut index = fixture_index();
    let fields = ["metadata.title".to_owned()];
    assert_eq!(index.full_text("ROB", &fields).len(), 0);
    index.apply(FinalChange::Upsert(row(&user("bob", "u-11", "Robert"), 20)));
    let found = index.full_text("ROB", &fields);
    assert_eq!(found.iter().filter_map(|o| index.entity(o)).map(|e| e.uid).collect::<Vec<_>>(), vec!["u-11"]);
    index.apply(FinalChange::Delete {
        entity_id: "u-11".into(),
        entity_ref: "user:default/bob".into(),
        change_seq: 21,
    });
    assert_eq!(index.full_text("rob", &fields).len(), 0);
    // `%` and `_` are matched literally.
    assert_eq!(index.full_text("s%a", &fields).len(), 0);
}

#[test]
fn full_text_follows_a_value_as_it_gains_and_loses_holders_after_a_search() {
    let mut index = fixture_index();
    let fields = ["metadata.title".to_owned()];
    let uids = |index: &ReadIndex, term: &str| {
        let mut uids: Vec<String> = index
            .full_text(term, &fields)
            .iter()
            .filter_map(|o| index.entity(o))
            .map(|e| e.uid.to_owned())
            .collect();
        uids.sort();
        uids
    };
    index.apply(FinalChange::Upsert(row(&user("rob", "u-40", "Robin Hood"), 20)));
    // The text index is built and kept with "robin hood" held by one entity.
    assert_eq!(uids(&index, "robin"), vec!["u-40"]);
    // A second entity with the same title: the value is not new to the key.
    index.apply(FinalChange::Upsert(row(&user("hood", "u-41", "Robin Hood"), 21)));
    assert_eq!(uids(&index, "robin"), vec!["u-40", "u-41"]);
    index.apply(FinalChange::Upsert(row(&user("locksley", "u-42", "Robin Hood"), 22)));
    assert_eq!(uids(&index, "hood"), vec!["u-40", "u-41", "u-42"]);
    // Holders leave while the value stays, down to one and then another one.
    for (uid, name, seq) in [("u-40", "rob", 23), ("u-42", "locksley", 24)] {
        index.apply(FinalChange::Delete {
            entity_id: uid.into(),
            entity_ref: format!("user:default/{name}"),
            change_seq: seq,
        });
    }
    assert_eq!(uids(&index, "robin"), vec!["u-41"]);
    index.apply(FinalChange::Upsert(row(&user("rob", "u-43", "Robin Hood"), 25)));
    assert_eq!(uids(&index, "robin"), vec!["u-41", "u-43"]);
}

/// Loading prepares entities on several threads in chunks; the result must not depend on it.
#[test]
fn loading_a_large_snapshot_equals_applying_it_change_by_change() {
    let bodies: Vec<serde_json::Value> = (0..2_000)
        .map(|i| {
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": if i % 3 == 0 { "API" } else { "Component" },
                "metadata": {"name": format!("service-{i:04}"), "namespace": "default", "uid": format!("u-{i}"),
                    "tags": [format!("tag-{}", i % 7)]},
                "spec": {"owner": format!("group:default/team-{}", i % 11), "type": "service"},
                "relations": [{"type": "ownedBy", "targetRef": format!("group:default/team-{}", i % 11)}]})
        })
        .collect();
    let rows = || bodies.iter().enumerate().map(|(i, body)| row(body, i as i64 + 1));
    let mut loaded = ReadIndex::new();
    loaded.load(rows().collect(), 2_000);
    let mut applied = ReadIndex::new();
    for row in rows() {
        applied.apply(FinalChange::Upsert(row));
    }

    assert_eq!(loaded.len(), 2_000);
    assert_eq!(loaded.last_seq(), applied.last_seq());
    for filter in [kind("api"), kind("component")] {
        assert_eq!(names(&loaded, &filter), names(&applied, &filter));
    }
    let owned = EntityFilter::Key {
        key: "relations.ownedby".into(),
        values: Some(vec!["group:default/team-3".into()]),
    };
    assert_eq!(names(&loaded, &owned).len(), 182);
    assert_eq!(names(&loaded, &owned), names(&applied, &owned));
    // Facets come in no particular order (as in Backstage); compare them as sets.
    let facet = |index: &ReadIndex, key: &str| {
        let mut json = String::new();
        index.write_facet_json(key, &index.matching(None), &mut json);
        let mut counts: Vec<(String, u64)> = serde_json::from_str::<Vec<serde_json::Value>>(&json)
            .expect("facet JSON")
            .iter()
            .map(|item| {
                (item["value"].as_str().unwrap_or_default().to_owned(), item["count"].as_u64().unwrap_or(0))
            })
            .collect();
        counts.sort();
        counts
    };
    for key in ["spec.owner", "metadata.tags", "kind"] {
        assert_eq!(facet(&loaded, key), facet(&applied, key), "facet {key}");
    }
    assert_eq!(facet(&loaded, "spec.owner").len(), 11);
    let body = |index: &ReadIndex| index.by_uid("u-1999").map(|e| e.body());
    assert_eq!(body(&loaded), body(&applied));
}

/// A catalog large enough for the index to keep the order of its entities under a sort key:
/// titles repeat, differ in case, are null or missing, and uids are not in insertion order.
fn titled(i: usize, title: Option<serde_json::Value>) -> serde_json::Value {
    let mut metadata = json!({"name": format!("user-{i:04}"), "namespace": "default",
        "uid": format!("u-{:04}", (i * 7919) % 1_500)});
    if let Some(title) = title {
        metadata["title"] = title;
    }
    json!({"apiVersion": "backstage.io/v1alpha1", "kind": "User", "metadata": metadata, "spec": {}, "relations": []})
}

fn title_of(i: usize) -> Option<serde_json::Value> {
    const TITLES: [&str; 7] = ["Alpha", "alpha", "Beta", "gamma", "Gamma", "Épsilon", ""];
    match i % 10 {
        0 => None,
        1 => Some(serde_json::Value::Null),
        _ => Some(json!(TITLES[i % TITLES.len()])),
    }
}

/// Backstage's order: by lowercased value in the requested direction, entities without a
/// value last; ties (and those without a value) by uid in the same direction.
fn expected_order(bodies: &[serde_json::Value], direction: Direction) -> Vec<String> {
    let mut keyed: Vec<(Option<String>, String)> = bodies
        .iter()
        .map(|body| {
            let title = body["metadata"]["title"].as_str().map(str::to_lowercase);
            (title, body["metadata"]["uid"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    keyed.sort_by(|a, b| {
        let by_value = match (&a.0, &b.0) {
            (Some(x), Some(y)) if direction == Direction::Asc => x.cmp(y),
            (Some(x), Some(y)) => y.cmp(x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        let by_uid = if direction == Direction::Asc { a.1.cmp(&b.1) } else { b.1.cmp(&a.1) };
        by_value.then(by_uid)
    });
    keyed.into_iter().map(|(_, uid)| uid).collect()
}

/// Walks every page forward, then every page backward from the last entity, returning uids.
fn walk(index: &ReadIndex, order: &SortKey, limit: usize) -> (Vec<String>, Vec<String>) {
    walk_set(index, index.all(), Some(order), limit)
}

/// [`walk`] over the entities of `set`, in uid order when there is no `order`.
fn walk_set(
    index: &ReadIndex,
    set: &RoaringBitmap,
    order: Option<&SortKey>,
    limit: usize,
) -> (Vec<String>, Vec<String>) {
    let uids = |page: &[u32]| {
        page.iter().map(|&o| index.entity(o).expect("entity").uid.to_owned()).collect::<Vec<_>>()
    };
    // A broken order could page forever; no walk needs more pages than there are entities.
    let most_pages = index.len() + 1;
    let mut forward: Vec<u32> = Vec::new();
    for page_number in 0.. {
        assert!(page_number <= most_pages, "the forward walk does not end");
        let after = forward.last().map(|&o| index.position(o, order));
        let request = PageRequest { order: order.cloned(), after, backwards: false, offset: 0, limit };
        let mut page = index.page(set, &request);
        let more = page.len() > limit;
        page.truncate(limit);
        forward.extend(&page);
        if !more {
            break;
        }
    }
    let mut backward: Vec<u32> = forward.last().copied().into_iter().collect();
    for page_number in 0.. {
        assert!(page_number <= most_pages, "the backward walk does not end");
        let after = Some(index.position(backward[0], order));
        let request = PageRequest { order: order.cloned(), after, backwards: true, offset: 0, limit };
        let page = index.page(set, &request);
        if page.is_empty() {
            break;
        }
        backward.splice(0..0, page);
    }
    (uids(&forward), uids(&backward))
}

/// Keyset pages over many entities are placed with the order the index keeps per sort key;
/// they must equal Backstage's order exactly, and the kept order must follow changes.
#[test]
fn keyset_pages_over_a_kept_sort_order_follow_backstage_order_and_changes() {
    let mut bodies: Vec<serde_json::Value> = (0..1_500).map(|i| titled(i, title_of(i))).collect();
    let mut index = ReadIndex::new();
    index.load(bodies.iter().enumerate().map(|(i, body)| row(body, i as i64 + 1)).collect(), 1_500);
    let before = index.heap_bytes();
    for direction in [Direction::Asc, Direction::Desc] {
        let order = SortKey { field: "metadata.title".into(), direction };
        let (forward, backward) = walk(&index, &order, 37);
        assert!(forward == expected_order(&bodies, direction), "{direction:?} forward");
        assert!(backward == forward, "{direction:?} backward");
    }
    // The walks used the kept order (four bytes per entity and direction-independent ranks).
    assert!(index.heap_bytes() >= before + 1_500 * 8, "the sort order was not kept");

    // A cursor whose entity is gone still finds its place; a change drops the kept order.
    // Cursors on an entity with a title and on one without, in both directions.
    let orders = [Direction::Asc, Direction::Desc]
        .map(|direction| SortKey { field: "metadata.title".into(), direction });
    let cursor_uids = [700, 1_450].map(|at| expected_order(&bodies, Direction::Asc)[at].clone());
    let cursors: Vec<(SortKey, Position, String)> = orders
        .iter()
        .flat_map(|order| cursor_uids.iter().map(move |uid| (order.clone(), uid)))
        .map(|(order, uid)| {
            let position = index.position(index.by_uid(uid).expect("cursor entity").ordinal, Some(&order));
            (order, position, uid.clone())
        })
        .collect();
    bodies[0] = titled(0, Some(json!("Beta")));
    index.apply(FinalChange::Upsert(row(&bodies[0], 1_501)));
    // The entities after each cursor: those after its entity, had it stayed.
    let after_cursors: Vec<Vec<String>> = cursors
        .iter()
        .map(|(order, _, uid)| {
            let with_cursor = expected_order(&bodies, order.direction);
            let at = with_cursor.iter().position(|u| u == uid).expect("cursor place");
            with_cursor[at + 1..(at + 6).min(with_cursor.len())].to_vec()
        })
        .collect();
    for (seq, uid) in (1_502..).zip(&cursor_uids) {
        let removed = bodies.iter().position(|b| b["metadata"]["uid"] == uid.as_str()).expect("body");
        let entity_ref =
            format!("user:default/{}", bodies[removed]["metadata"]["name"].as_str().expect("name"));
        index.apply(FinalChange::Delete { entity_id: uid.clone(), entity_ref, change_seq: seq });
        bodies.remove(removed);
    }
    for _ in 0..3 {
        for ((order, cursor, _), expected) in cursors.iter().zip(&after_cursors) {
            let request = PageRequest {
                order: Some(order.clone()),
                after: Some(cursor.clone()),
                backwards: false,
                offset: 0,
                limit: 4,
            };
            let page: Vec<String> = index
                .page(index.all(), &request)
                .iter()
                .map(|&o| index.entity(o).expect("entity").uid.to_owned())
                .collect();
            assert_eq!(&page, expected, "after a removed cursor entity, {:?}", order.direction);
        }
    }
    for order in &orders {
        let (walked, expected) = (walk(&index, order, 100).0, expected_order(&bodies, order.direction));
        let differs = walked.iter().zip(&expected).position(|(a, b)| a != b);
        assert_eq!(
            (walked.len(), differs),
            (expected.len(), None),
            "{:?} walk after changes",
            order.direction
        );
    }
}

/// Uids are time-ordered, so what was ingested last comes last in uid order: here the
/// components, after 2,500 users. Pages without an order are in uid order, which a walk of the
/// uid tree would reach only after stepping over every user; past a few steps per match, the
/// index places the page by its kept order of all uids instead. Every page must be the same
/// either way, forward and backward.
#[test]
fn uid_ordered_pages_over_matches_that_come_last_in_uid_order() {
    let uid = |i: usize| format!("019a0000-0000-7000-8000-{i:012}");
    let bodies: Vec<serde_json::Value> = (0..4_000)
        .map(|i| {
            let kind = if i < 2_500 { "User" } else { "Component" };
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": kind,
                "metadata": {"name": format!("e{i}"), "namespace": "default", "uid": uid(i)},
                "spec": {}, "relations": []})
        })
        .collect();
    let mut index = ReadIndex::new();
    // Loaded in reverse, so that neither ordinals nor load order follow the uids.
    index.load(bodies.iter().enumerate().rev().map(|(i, body)| row(body, i as i64 + 1)).collect(), 4_000);
    let components = index.filter(&kind("component"));
    let expected: Vec<String> = (2_500..4_000).map(uid).collect();
    let before = index.heap_bytes();
    // The first walk asks for the uid order, the second builds it, the third reuses it.
    for round in 0..3 {
        let (forward, backward) = walk_set(&index, &components, None, 37);
        assert!(forward == expected, "round {round}: forward");
        assert!(backward == expected, "round {round}: backward");
    }
    assert!(index.heap_bytes() >= before + 4_000 * 8, "the uid order was not kept");
}

#[test]
fn entities_with_processing_errors_are_tracked_through_changes() {
    let mut index = fixture_index();
    assert!(index.with_errors().is_empty());
    let failing = |level: &str| {
        let mut entity = user("bob", "u-11", "Robert");
        entity["status"] = json!({"items": [{"type": "backstage.io/catalog-processing", "level": level,
            "message": "InputError: boom", "error": {"name": "InputError", "message": "boom"}}]});
        entity
    };
    index.apply(FinalChange::Upsert(row(&failing("error"), 20)));
    let bob = index.by_uid("u-11").expect("bob").ordinal;
    assert_eq!(index.with_errors().iter().collect::<Vec<_>>(), [bob]);

    index.apply(FinalChange::Upsert(row(&failing("warning"), 21)));
    assert!(index.with_errors().is_empty(), "a warning is not an error");

    index.apply(FinalChange::Upsert(row(&failing("error"), 22)));
    assert_eq!(index.with_errors().len(), 1);
    index.apply(FinalChange::Upsert(row(&user("bob", "u-11", "Robert"), 23)));
    assert!(index.with_errors().is_empty(), "fixed entities leave the set");

    index.apply(FinalChange::Upsert(row(&failing("error"), 24)));
    index.apply(FinalChange::Delete {
        entity_id: "u-11".into(),
        entity_ref: "user:default/bob".into(),
        change_seq: 25,
    });
    assert!(index.with_errors().is_empty(), "deleted entities leave the set");
}
