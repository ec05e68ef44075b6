//! The read index on its own: applying the change feed.

use portico_catalog::index::{EntityFilter, ReadIndex};
use portico_store::FinalChange;
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
        serde_json::from_str(index.by_uid("u-11").expect("bob").body).expect("json");
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
    let body = |index: &ReadIndex| index.by_uid("u-1999").map(|e| e.body.to_owned());
    assert_eq!(body(&loaded), body(&applied));
}
