//! [`CatalogStore`] for [`SqliteStore`].
//!
//! Lookups over many keys use chunked `IN (...)` lists and inserts use multi-row `VALUES`, so
//! a batch of thousands of outcomes costs a few dozen statements plus one `UPDATE` per entity.

use std::collections::{BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use futures::TryStreamExt;
use portico_store::{
    CatalogStore, Conflict, DeletedEntity, DueEntity, FinalChange, FinalEntityRow, FinalWrite,
    LocationRecord, Millis, Parent, ProcessingOutcome, ProcessingResult, RelationRow, StitchInput,
    StoreError, StoreResult, UnprocessedEntity, WriteReport,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use crate::{SqliteStore, db};

/// Keys per `IN (...)` list; far below SQLite's limit on bound variables.
const CHUNK: usize = 500;
/// Rows per multi-row `INSERT`.
const INSERT_CHUNK: usize = 100;

/// Reads column `index` of `row`.
fn get<'r, T>(row: &'r SqliteRow, index: usize) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(index).map_err(db)
}

fn to_json(value: &impl serde::Serialize) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot serialize JSON: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A parent as the two source columns of an edge.
fn parent_columns(parent: &Parent) -> (Option<&str>, Option<&str>) {
    match parent {
        Parent::Provider(name) => (Some(name.as_str()), None),
        Parent::Entity(entity_ref) => (None, Some(entity_ref.as_str())),
    }
}

/// The parent an edge row names in columns `provider` and `entity`.
fn parent_from(row: &SqliteRow, provider: usize, entity: usize) -> StoreResult<Parent> {
    match (get::<Option<String>>(row, provider)?, get::<Option<String>>(row, entity)?) {
        (Some(name), _) => Ok(Parent::Provider(name)),
        (None, Some(entity_ref)) => Ok(Parent::Entity(entity_ref)),
        (None, None) => Err(StoreError::Corrupt("edge without a source".into())),
    }
}

/// Appends ` IN (?, ?, ...)` binding `keys`.
fn push_in<'a, T>(qb: &mut QueryBuilder<'a, Sqlite>, keys: &'a [T])
where
    &'a T: sqlx::Encode<'a, Sqlite> + sqlx::Type<Sqlite> + Send,
{
    qb.push(" IN (");
    let mut list = qb.separated(", ");
    for key in keys {
        list.push_bind(key);
    }
    list.push_unseparated(")");
}

/// Runs `head IN (keys) tail` once per chunk of keys and collects the rows.
async fn fetch_in(
    conn: &mut SqliteConnection,
    head: &str,
    keys: &[String],
    tail: &str,
) -> StoreResult<Vec<SqliteRow>> {
    let mut rows = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        let mut qb = QueryBuilder::new(head);
        push_in(&mut qb, chunk);
        qb.push(tail);
        rows.extend(qb.build().fetch_all(&mut *conn).await.map_err(db)?);
    }
    Ok(rows)
}

/// Runs the statement `head IN (keys)` once per chunk of keys.
async fn execute_in<T>(conn: &mut SqliteConnection, head: &str, keys: &[T]) -> StoreResult<()>
where
    for<'a> &'a T: sqlx::Encode<'a, Sqlite> + sqlx::Type<Sqlite> + Send,
{
    for chunk in keys.chunks(CHUNK) {
        let mut qb = QueryBuilder::new(head);
        push_in(&mut qb, chunk);
        qb.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}

/// Collects a [`WriteReport`] while a method runs.
#[derive(Default)]
struct Report {
    stitch: BTreeSet<String>,
    conflicts: Vec<Conflict>,
    deleted: Vec<String>,
}

impl Report {
    fn stitch(&mut self, entity_ref: &str) {
        if !self.stitch.contains(entity_ref) {
            self.stitch.insert(entity_ref.to_owned());
        }
    }

    /// The report; deleted entities are stitched too (stitching finds no row and drops them).
    fn finish(mut self) -> WriteReport {
        self.stitch.extend(self.deleted.iter().cloned());
        WriteReport {
            stitch: self.stitch.into_iter().collect(),
            conflicts: self.conflicts,
            deleted: self.deleted,
        }
    }
}

/// What the store knows about an existing entity row when a parent emits it again.
struct KnownRow {
    hash: String,
    location_key: Option<String>,
}

/// Takes `count` numbers of the change sequence; returns the first. Must run inside a write
/// transaction so that numbers are handed out in commit order.
async fn take_seqs(conn: &mut SqliteConnection, count: usize) -> StoreResult<i64> {
    let count = i64::try_from(count).map_err(|e| StoreError::Database(e.to_string()))?;
    let row = sqlx::query("UPDATE change_counter SET value = value + ? WHERE id = 1 RETURNING value")
        .bind(count)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    Ok(get::<i64>(&row, 0)? - count + 1)
}

/// Removes the final entities of `entity_ids` (those that have one), leaving tombstones.
async fn tombstone_finals(conn: &mut SqliteConnection, entity_ids: &[String]) -> StoreResult<()> {
    let rows = fetch_in(
        conn,
        "SELECT entity_id, entity_ref FROM final_entities WHERE entity_id",
        entity_ids,
        " ORDER BY entity_ref",
    )
    .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut gone = Vec::with_capacity(rows.len());
    for row in &rows {
        gone.push((get::<String>(row, 0)?, get::<String>(row, 1)?));
    }
    let first = take_seqs(conn, gone.len()).await?;
    for (offset, chunk) in gone.chunks(INSERT_CHUNK).enumerate() {
        let base = first + (offset * INSERT_CHUNK) as i64;
        let mut qb = QueryBuilder::new("INSERT INTO final_tombstones (change_seq, entity_id, entity_ref) ");
        qb.push_values(chunk.iter().enumerate(), |mut b, (i, (id, entity_ref))| {
            b.push_bind(base + i as i64).push_bind(id.as_str()).push_bind(entity_ref.as_str());
        });
        qb.build().execute(&mut *conn).await.map_err(db)?;
    }
    let ids: Vec<String> = gone.into_iter().map(|(id, _)| id).collect();
    execute_in(conn, "DELETE FROM final_entities WHERE entity_id", &ids).await
}

/// Deletes entity rows (`(entity_id, entity_ref)` pairs), tombstoning their final entities.
/// Their edges, relation rows and final entities go with them (foreign-key cascades). Returns
/// the children that lost an incoming edge, which may now be orphans.
async fn delete_rows(
    conn: &mut SqliteConnection,
    rows: &[(String, String)],
    report: &mut Report,
) -> StoreResult<Vec<String>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
    let refs: Vec<String> = rows.iter().map(|(_, entity_ref)| entity_ref.clone()).collect();
    // Relation rows these entities emitted disappear, so their sources change.
    for row in fetch_in(
        conn,
        "SELECT DISTINCT source_entity_ref FROM relations WHERE originating_entity_id",
        &ids,
        "",
    )
    .await?
    {
        report.stitch(&get::<String>(&row, 0)?);
    }
    let mut children = Vec::new();
    for row in fetch_in(
        conn,
        "SELECT DISTINCT target_entity_ref FROM refresh_state_references WHERE source_entity_ref",
        &refs,
        "",
    )
    .await?
    {
        let child = get::<String>(&row, 0)?;
        report.stitch(&child);
        children.push(child);
    }
    tombstone_finals(conn, &ids).await?;
    execute_in(conn, "DELETE FROM refresh_state WHERE entity_id", &ids).await?;
    report.deleted.extend(refs);
    Ok(children)
}

/// Stores what `parent` emits: inserts new rows, updates changed ones, reports conflicts and
/// replaces the parent's outgoing edges by the accepted children. Each item is one parent with
/// *all* its children. Returns the edges that were removed, as `(parent, child ref)`.
async fn apply_children(
    conn: &mut SqliteConnection,
    items: Vec<(Parent, Vec<UnprocessedEntity>)>,
    now: Millis,
    report: &mut Report,
) -> StoreResult<Vec<(Parent, String)>> {
    // The current edges of every parent: parent -> (child ref -> edge id).
    let mut old_edges: HashMap<Parent, HashMap<String, i64>> = HashMap::new();
    let mut entity_parents = Vec::new();
    for (parent, _) in &items {
        match parent {
            Parent::Provider(name) => {
                let rows = sqlx::query(
                    "SELECT id, target_entity_ref FROM refresh_state_references WHERE source_provider = ?",
                )
                .bind(name)
                .fetch_all(&mut *conn)
                .await
                .map_err(db)?;
                let edges = old_edges.entry(parent.clone()).or_default();
                for row in &rows {
                    edges.insert(get(row, 1)?, get(row, 0)?);
                }
            }
            Parent::Entity(entity_ref) => entity_parents.push(entity_ref.clone()),
        }
    }
    for row in fetch_in(
        conn,
        "SELECT id, source_entity_ref, target_entity_ref FROM refresh_state_references WHERE source_entity_ref",
        &entity_parents,
        "",
    )
    .await?
    {
        old_edges.entry(Parent::Entity(get(&row, 1)?)).or_default().insert(get(&row, 2)?, get(&row, 0)?);
    }

    // The existing rows of every emitted child.
    let child_refs: Vec<String> = items
        .iter()
        .flat_map(|(_, children)| children.iter().map(|c| c.entity_ref.clone()))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut known: HashMap<String, KnownRow> = HashMap::new();
    for row in fetch_in(
        conn,
        "SELECT entity_ref, unprocessed_hash, location_key FROM refresh_state WHERE entity_ref",
        &child_refs,
        "",
    )
    .await?
    {
        known.insert(get(&row, 0)?, KnownRow { hash: get(&row, 1)?, location_key: get(&row, 2)? });
    }

    let mut inserts: Vec<(String, UnprocessedEntity)> = Vec::new();
    let mut updates: Vec<(UnprocessedEntity, bool)> = Vec::new();
    let mut edge_inserts: Vec<(Parent, String)> = Vec::new();
    let mut edge_deletes: Vec<i64> = Vec::new();
    let mut removed = Vec::new();
    for (parent, children) in items {
        let mut old = old_edges.remove(&parent).unwrap_or_default();
        let mut accepted: HashSet<String> = HashSet::with_capacity(children.len());
        for child in children {
            // An entity emitting itself would never become an orphan; the same child twice
            // from one parent is one edge.
            if parent == Parent::Entity(child.entity_ref.clone()) || accepted.contains(&child.entity_ref) {
                continue;
            }
            let new_to_the_catalog = match known.get_mut(&child.entity_ref) {
                None => {
                    known.insert(
                        child.entity_ref.clone(),
                        KnownRow { hash: child.hash.clone(), location_key: child.location_key.clone() },
                    );
                    inserts.push((portico_store::new_entity_id(), child.clone()));
                    true
                }
                Some(existing) => {
                    if existing.location_key.is_some() && existing.location_key != child.location_key {
                        report.conflicts.push(Conflict {
                            entity_ref: child.entity_ref.clone(),
                            existing_location_key: existing.location_key.clone(),
                            new_location_key: child.location_key.clone(),
                            parent: parent.clone(),
                        });
                        continue;
                    }
                    let changed = existing.hash != child.hash;
                    if changed || existing.location_key != child.location_key {
                        existing.hash.clone_from(&child.hash);
                        existing.location_key.clone_from(&child.location_key);
                        updates.push((child.clone(), changed));
                    }
                    false
                }
            };
            if old.remove(&child.entity_ref).is_none() {
                // A child new to the catalog has nothing to serve until it is processed, and
                // processing stitches it; an existing one may stop being an orphan.
                if !new_to_the_catalog {
                    report.stitch(&child.entity_ref);
                }
                edge_inserts.push((parent.clone(), child.entity_ref.clone()));
            }
            accepted.insert(child.entity_ref);
        }
        for (target, edge_id) in old {
            report.stitch(&target);
            edge_deletes.push(edge_id);
            removed.push((parent.clone(), target));
        }
    }

    for chunk in inserts.chunks(INSERT_CHUNK) {
        let mut bodies = Vec::with_capacity(chunk.len());
        for (_, child) in chunk {
            bodies.push(child.body.clone());
        }
        let mut qb = QueryBuilder::new(
            "INSERT INTO refresh_state (entity_id, entity_ref, unprocessed_entity, unprocessed_hash, \
             location_key, next_update_at) ",
        );
        qb.push_values(chunk.iter().zip(&bodies), |mut b, ((id, child), body)| {
            b.push_bind(id.as_str())
                .push_bind(child.entity_ref.as_str())
                .push_bind(body.as_str())
                .push_bind(child.hash.as_str())
                .push_bind(child.location_key.as_deref())
                .push_bind(now);
        });
        qb.build().execute(&mut *conn).await.map_err(db)?;
    }
    for (child, changed) in &updates {
        if *changed {
            sqlx::query(
                "UPDATE refresh_state SET unprocessed_entity = ?, unprocessed_hash = ?, location_key = ?, \
                 next_update_at = ? WHERE entity_ref = ?",
            )
            .bind(child.body.as_str())
            .bind(&child.hash)
            .bind(&child.location_key)
            .bind(now)
            .bind(&child.entity_ref)
        } else {
            // Same body, but a source now claims a row nobody claimed.
            sqlx::query("UPDATE refresh_state SET location_key = ? WHERE entity_ref = ?")
                .bind(&child.location_key)
                .bind(&child.entity_ref)
        }
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    execute_in(conn, "DELETE FROM refresh_state_references WHERE id", &edge_deletes).await?;
    for chunk in edge_inserts.chunks(INSERT_CHUNK) {
        let mut qb = QueryBuilder::new(
            "INSERT INTO refresh_state_references (source_provider, source_entity_ref, target_entity_ref) ",
        );
        qb.push_values(chunk, |mut b, (parent, target)| {
            let (provider, entity) = parent_columns(parent);
            b.push_bind(provider).push_bind(entity).push_bind(target.as_str());
        });
        qb.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(removed)
}

/// Deletes `start` and every descendant of it that is no longer reachable from a parent
/// outside that set (a provider, or an entity that is not being pruned).
async fn prune_unreachable(
    conn: &mut SqliteConnection,
    start: Vec<String>,
    report: &mut Report,
) -> StoreResult<()> {
    if start.is_empty() {
        return Ok(());
    }
    // Every descendant of the start set, and the edges among them.
    let mut candidates: HashSet<String> = start.iter().cloned().collect();
    let mut inner_edges: HashMap<String, Vec<String>> = HashMap::new();
    let mut frontier = start;
    while !frontier.is_empty() {
        let rows = fetch_in(
            conn,
            "SELECT source_entity_ref, target_entity_ref FROM refresh_state_references WHERE source_entity_ref",
            &frontier,
            "",
        )
        .await?;
        frontier = Vec::new();
        for row in &rows {
            let (source, target): (String, String) = (get(row, 0)?, get(row, 1)?);
            if candidates.insert(target.clone()) {
                frontier.push(target.clone());
            }
            inner_edges.entry(source).or_default().push(target);
        }
    }
    // Candidates with a parent outside the set stay, and so does everything below them.
    let candidate_list: Vec<String> = candidates.iter().cloned().collect();
    let mut keep: HashSet<String> = HashSet::new();
    let mut stack = Vec::new();
    for row in fetch_in(
        conn,
        "SELECT source_provider, source_entity_ref, target_entity_ref FROM refresh_state_references \
         WHERE target_entity_ref",
        &candidate_list,
        "",
    )
    .await?
    {
        let anchored = match parent_from(&row, 0, 1)? {
            Parent::Provider(_) => true,
            Parent::Entity(source) => !candidates.contains(&source),
        };
        let target: String = get(&row, 2)?;
        if anchored && keep.insert(target.clone()) {
            stack.push(target);
        }
    }
    while let Some(node) = stack.pop() {
        for child in inner_edges.get(&node).into_iter().flatten() {
            if keep.insert(child.clone()) {
                stack.push(child.clone());
            }
        }
    }
    let doomed: Vec<String> = candidate_list.into_iter().filter(|r| !keep.contains(r)).collect();
    let mut rows = Vec::with_capacity(doomed.len());
    for row in fetch_in(conn, "SELECT entity_id, entity_ref FROM refresh_state WHERE entity_ref", &doomed, "")
        .await?
    {
        rows.push((get(&row, 0)?, get(&row, 1)?));
    }
    delete_rows(conn, &rows, report).await?;
    Ok(())
}

fn location_from(row: &SqliteRow) -> StoreResult<LocationRecord> {
    Ok(LocationRecord { id: get(row, 0)?, kind: get(row, 1)?, target: get(row, 2)? })
}

fn final_from(row: &SqliteRow) -> StoreResult<FinalEntityRow> {
    Ok(FinalEntityRow {
        entity_id: get(row, 0)?,
        entity_ref: get(row, 1)?,
        hash: get(row, 2)?,
        body: get(row, 3)?,
        change_seq: get(row, 4)?,
        updated_at: get(row, 5)?,
    })
}

/// The distinct refs of `refs`, in their first order.
fn distinct(refs: &[String]) -> Vec<String> {
    let mut seen = HashSet::with_capacity(refs.len());
    refs.iter().filter(|r| seen.insert(r.as_str())).cloned().collect()
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn list_locations(&self) -> StoreResult<Vec<LocationRecord>> {
        let rows = sqlx::query("SELECT id, type, target FROM locations ORDER BY type, target")
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        rows.iter().map(location_from).collect()
    }

    async fn get_location(&self, id: &str) -> StoreResult<Option<LocationRecord>> {
        let row = sqlx::query("SELECT id, type, target FROM locations WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?;
        row.as_ref().map(location_from).transpose()
    }

    async fn find_location(&self, kind: &str, target: &str) -> StoreResult<Option<LocationRecord>> {
        let row = sqlx::query("SELECT id, type, target FROM locations WHERE type = ? AND target = ?")
            .bind(kind)
            .bind(target)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?;
        row.as_ref().map(location_from).transpose()
    }

    async fn insert_location(&self, location: &LocationRecord) -> StoreResult<()> {
        let result = sqlx::query("INSERT INTO locations (id, type, target) VALUES (?, ?, ?)")
            .bind(&location.id)
            .bind(&location.kind)
            .bind(&location.target)
            .execute(&self.writer)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(format!(
                "Location {}:{} already exists",
                location.kind, location.target
            ))),
            Err(e) => Err(db(e)),
        }
    }

    async fn delete_location(&self, id: &str) -> StoreResult<Option<LocationRecord>> {
        let row = sqlx::query("DELETE FROM locations WHERE id = ? RETURNING id, type, target")
            .bind(id)
            .fetch_optional(&self.writer)
            .await
            .map_err(db)?;
        row.as_ref().map(location_from).transpose()
    }

    async fn update_location(&self, location: &LocationRecord) -> StoreResult<bool> {
        let result = sqlx::query("UPDATE locations SET type = ?, target = ? WHERE id = ?")
            .bind(&location.kind)
            .bind(&location.target)
            .bind(&location.id)
            .execute(&self.writer)
            .await;
        match result {
            Ok(done) => Ok(done.rows_affected() > 0),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(format!(
                "Location {}:{} already exists",
                location.kind, location.target
            ))),
            Err(e) => Err(db(e)),
        }
    }

    async fn replace_provider_roots(
        &self,
        provider: &str,
        roots: Vec<UnprocessedEntity>,
        now: Millis,
    ) -> StoreResult<WriteReport> {
        let mut tx = self.begin_write().await?;
        let mut report = Report::default();
        let removed =
            apply_children(&mut tx, vec![(Parent::Provider(provider.to_owned()), roots)], now, &mut report)
                .await?;
        let removed = removed.into_iter().map(|(_, target)| target).collect();
        prune_unreachable(&mut tx, removed, &mut report).await?;
        tx.commit().await.map_err(db)?;
        Ok(report.finish())
    }

    async fn claim_due(
        &self,
        now: Millis,
        limit: usize,
        next_update_at: Millis,
    ) -> StoreResult<Vec<DueEntity>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "SELECT entity_id, entity_ref, unprocessed_entity, location_key, result_hash FROM refresh_state \
             WHERE next_update_at <= ? ORDER BY next_update_at LIMIT ?",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let mut due = Vec::with_capacity(rows.len());
        for row in &rows {
            let body: String = get(row, 2)?;
            due.push(DueEntity {
                entity_id: get(row, 0)?,
                entity_ref: get(row, 1)?,
                unprocessed: from_json(&body, "unprocessed entity")?,
                location_key: get(row, 3)?,
                result_hash: get(row, 4)?,
            });
        }
        let ids: Vec<String> = due.iter().map(|d| d.entity_id.clone()).collect();
        for chunk in ids.chunks(CHUNK) {
            let mut qb = QueryBuilder::new("UPDATE refresh_state SET next_update_at = ");
            qb.push_bind(next_update_at).push(" WHERE entity_id");
            push_in(&mut qb, chunk);
            qb.build().execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(due)
    }

    async fn next_due_at(&self) -> StoreResult<Option<Millis>> {
        let row = sqlx::query("SELECT MIN(next_update_at) FROM refresh_state")
            .fetch_one(&self.reader)
            .await
            .map_err(db)?;
        get(&row, 0)
    }

    async fn write_outcomes(
        &self,
        outcomes: Vec<ProcessingOutcome>,
        now: Millis,
    ) -> StoreResult<WriteReport> {
        let mut tx = self.begin_write().await?;
        let mut report = Report::default();

        // Entities deleted since they were claimed are skipped.
        let ids: Vec<String> = outcomes.iter().map(|o| o.entity_id.clone()).collect();
        let mut refs: HashMap<String, String> = HashMap::with_capacity(ids.len());
        for row in
            fetch_in(&mut tx, "SELECT entity_id, entity_ref FROM refresh_state WHERE entity_id", &ids, "")
                .await?
        {
            refs.insert(get(&row, 0)?, get(&row, 1)?);
        }
        let ok_ids: Vec<String> = outcomes
            .iter()
            .filter(|o| matches!(o.result, ProcessingResult::Ok { .. }) && refs.contains_key(&o.entity_id))
            .map(|o| o.entity_id.clone())
            .collect();
        let mut old_relations: HashMap<String, BTreeSet<RelationRow>> = HashMap::new();
        for row in fetch_in(
            &mut tx,
            "SELECT originating_entity_id, source_entity_ref, type, target_entity_ref FROM relations \
             WHERE originating_entity_id",
            &ok_ids,
            "",
        )
        .await?
        {
            old_relations.entry(get(&row, 0)?).or_default().insert(RelationRow {
                source: get(&row, 1)?,
                relation_type: get(&row, 2)?,
                target: get(&row, 3)?,
            });
        }

        let mut relation_deletes: Vec<String> = Vec::new();
        let mut relation_inserts: Vec<(String, RelationRow)> = Vec::new();
        let mut children = Vec::new();
        // (id, errors, result hash) and [id, processed, result hash, warnings].
        let mut failed: Vec<(String, String, String)> = Vec::new();
        let mut succeeded: Vec<[String; 4]> = Vec::new();
        for outcome in outcomes {
            let Some(entity_ref) = refs.get(&outcome.entity_id) else { continue };
            report.stitch(entity_ref);
            match outcome.result {
                ProcessingResult::Failed { errors } => {
                    failed.push((outcome.entity_id.clone(), to_json(&errors)?, outcome.result_hash));
                }
                ProcessingResult::Ok { processed, relations, children: emitted, warnings } => {
                    succeeded.push([
                        outcome.entity_id.clone(),
                        to_json(&processed)?,
                        outcome.result_hash,
                        to_json(&warnings)?,
                    ]);
                    let new: BTreeSet<RelationRow> = relations.into_iter().collect();
                    let old = old_relations.remove(&outcome.entity_id).unwrap_or_default();
                    if new != old {
                        for changed in old.symmetric_difference(&new) {
                            report.stitch(&changed.source);
                        }
                        if !old.is_empty() {
                            relation_deletes.push(outcome.entity_id.clone());
                        }
                        relation_inserts.extend(new.into_iter().map(|r| (outcome.entity_id.clone(), r)));
                    }
                    children.push((Parent::Entity(entity_ref.clone()), emitted));
                }
            }
        }
        // One multi-row UPDATE per chunk instead of one statement per entity.
        for chunk in succeeded.chunks(INSERT_CHUNK) {
            let mut qb = QueryBuilder::new("WITH v (id, processed, result_hash, warnings) AS (");
            qb.push_values(chunk, |mut b, [id, processed, result_hash, warnings]| {
                b.push_bind(id.as_str())
                    .push_bind(processed.as_str())
                    .push_bind(result_hash.as_str())
                    .push_bind(warnings.as_str());
            });
            qb.push(
                ") UPDATE refresh_state SET processed_entity = v.processed, result_hash = v.result_hash, \
                 errors = '[]', warnings = v.warnings FROM v WHERE refresh_state.entity_id = v.id",
            );
            qb.build().execute(&mut *tx).await.map_err(db)?;
        }
        for chunk in failed.chunks(INSERT_CHUNK) {
            let mut qb = QueryBuilder::new("WITH v (id, errors, result_hash) AS (");
            qb.push_values(chunk, |mut b, (id, errors, result_hash)| {
                b.push_bind(id.as_str()).push_bind(errors.as_str()).push_bind(result_hash.as_str());
            });
            qb.push(
                ") UPDATE refresh_state SET errors = v.errors, result_hash = v.result_hash \
                 FROM v WHERE refresh_state.entity_id = v.id",
            );
            qb.build().execute(&mut *tx).await.map_err(db)?;
        }
        execute_in(&mut tx, "DELETE FROM relations WHERE originating_entity_id", &relation_deletes).await?;
        for chunk in relation_inserts.chunks(INSERT_CHUNK) {
            let mut qb = QueryBuilder::new(
                "INSERT INTO relations (originating_entity_id, source_entity_ref, type, target_entity_ref) ",
            );
            qb.push_values(chunk, |mut b, (id, relation)| {
                b.push_bind(id.as_str())
                    .push_bind(relation.source.as_str())
                    .push_bind(relation.relation_type.as_str())
                    .push_bind(relation.target.as_str());
            });
            qb.build().execute(&mut *tx).await.map_err(db)?;
        }
        apply_children(&mut tx, children, now, &mut report).await?;
        tx.commit().await.map_err(db)?;
        Ok(report.finish())
    }

    async fn stitch_inputs(&self, entity_refs: &[String]) -> StoreResult<Vec<StitchInput>> {
        let refs = distinct(entity_refs);
        let mut tx = self.begin_read().await?;
        let rows = fetch_in(
            &mut tx,
            "SELECT rs.entity_id, rs.entity_ref, rs.processed_entity, rs.errors, rs.warnings, \
             EXISTS (SELECT 1 FROM refresh_state_references e WHERE e.target_entity_ref = rs.entity_ref), \
             fe.hash \
             FROM refresh_state rs LEFT JOIN final_entities fe ON fe.entity_id = rs.entity_id \
             WHERE rs.entity_ref",
            &refs,
            "",
        )
        .await?;
        // Relations only of refs with a row: a ref without one (say, a group that is not in
        // the catalog yet) may still be the source of many relation rows.
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            found.push(get::<String>(row, 1)?);
        }
        let relation_rows = fetch_in(
            &mut tx,
            "SELECT DISTINCT source_entity_ref, type, target_entity_ref FROM relations WHERE source_entity_ref",
            &found,
            "",
        )
        .await?;
        tx.commit().await.map_err(db)?;

        let mut relations: HashMap<String, BTreeSet<RelationRow>> = HashMap::new();
        for row in &relation_rows {
            let source: String = get(row, 0)?;
            let relation =
                RelationRow { source: source.clone(), relation_type: get(row, 1)?, target: get(row, 2)? };
            relations.entry(source).or_default().insert(relation);
        }
        let mut by_ref: HashMap<String, StitchInput> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let entity_ref: String = get(row, 1)?;
            let processed: Option<String> = get(row, 2)?;
            let errors: String = get(row, 3)?;
            let warnings: String = get(row, 4)?;
            let mut relations: Vec<RelationRow> =
                relations.remove(&entity_ref).map(|set| set.into_iter().collect()).unwrap_or_default();
            // (type, target) order; the source is the same for all of them.
            relations.sort_by(|a, b| (&a.relation_type, &a.target).cmp(&(&b.relation_type, &b.target)));
            let input = StitchInput {
                entity_id: get(row, 0)?,
                entity_ref: entity_ref.clone(),
                processed: processed.map(|p| from_json(&p, "processed entity")).transpose()?,
                errors: from_json(&errors, "errors")?,
                warnings: from_json(&warnings, "warnings")?,
                has_parents: get::<bool>(row, 5)?,
                relations,
                final_hash: get(row, 6)?,
            };
            by_ref.insert(entity_ref, input);
        }
        Ok(refs.iter().filter_map(|r| by_ref.remove(r)).collect())
    }

    async fn write_finals(&self, finals: Vec<FinalWrite>, now: Millis) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let ids: Vec<String> = finals.iter().map(|f| f.entity_id.clone()).collect();
        let mut existing: HashSet<String> = HashSet::with_capacity(ids.len());
        for row in fetch_in(&mut tx, "SELECT entity_id FROM refresh_state WHERE entity_id", &ids, "").await? {
            existing.insert(get(&row, 0)?);
        }
        // The last write of an entity wins; earlier ones in the same batch are never visible.
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(finals.len());
        for (index, write) in finals.iter().enumerate() {
            last.insert(write.entity_id.as_str(), index);
        }
        let writes: Vec<&FinalWrite> = finals
            .iter()
            .enumerate()
            .filter(|(index, w)| {
                existing.contains(&w.entity_id) && last.get(w.entity_id.as_str()) == Some(index)
            })
            .map(|(_, w)| w)
            .collect();
        if !writes.is_empty() {
            let first = take_seqs(&mut tx, writes.len()).await?;
            for (offset, chunk) in writes.chunks(INSERT_CHUNK).enumerate() {
                let base = first + (offset * INSERT_CHUNK) as i64;
                let mut qb = QueryBuilder::new(
                    "INSERT INTO final_entities (entity_id, entity_ref, hash, final_entity, change_seq, updated_at) ",
                );
                qb.push_values(chunk.iter().enumerate(), |mut b, (i, w)| {
                    b.push_bind(w.entity_id.as_str())
                        .push_bind(w.entity_ref.as_str())
                        .push_bind(w.hash.as_str())
                        .push_bind(w.body.as_str())
                        .push_bind(base + i as i64)
                        .push_bind(now);
                });
                qb.push(
                    " ON CONFLICT (entity_id) DO UPDATE SET entity_ref = excluded.entity_ref, hash = excluded.hash, \
                     final_entity = excluded.final_entity, change_seq = excluded.change_seq, \
                     updated_at = excluded.updated_at",
                );
                qb.build().execute(&mut *tx).await.map_err(db)?;
            }
        }
        tx.commit().await.map_err(db)
    }

    async fn delete_finals(&self, entity_refs: &[String]) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let mut ids = Vec::new();
        for row in fetch_in(&mut tx, "SELECT entity_id FROM final_entities WHERE entity_ref", entity_refs, "")
            .await?
        {
            ids.push(get(&row, 0)?);
        }
        tombstone_finals(&mut tx, &ids).await?;
        tx.commit().await.map_err(db)
    }

    async fn delete_orphans(&self) -> StoreResult<WriteReport> {
        const ORPHAN: &str = "SELECT entity_id, entity_ref FROM refresh_state rs WHERE NOT EXISTS \
             (SELECT 1 FROM refresh_state_references e WHERE e.target_entity_ref = rs.entity_ref)";
        let mut tx = self.begin_write().await?;
        let mut report = Report::default();
        let mut rows = sqlx::query(ORPHAN).fetch_all(&mut *tx).await.map_err(db)?;
        // Deleting orphans removes their outgoing edges; only their children can become orphans.
        while !rows.is_empty() {
            let mut orphans = Vec::with_capacity(rows.len());
            for row in &rows {
                orphans.push((get(row, 0)?, get(row, 1)?));
            }
            let children = delete_rows(&mut tx, &orphans, &mut report).await?;
            rows = fetch_in(&mut tx, &format!("{ORPHAN} AND rs.entity_ref"), &children, "").await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(report.finish())
    }

    async fn delete_entity(&self, entity_id: &str, now: Millis) -> StoreResult<Option<DeletedEntity>> {
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query("SELECT entity_ref FROM refresh_state WHERE entity_id = ?")
            .bind(entity_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        let entity_ref: String = get(&row, 0)?;
        let mut parents = Vec::new();
        for row in sqlx::query(
            "SELECT source_provider, source_entity_ref FROM refresh_state_references WHERE target_entity_ref = ?",
        )
        .bind(&entity_ref)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?
        {
            parents.push(parent_from(&row, 0, 1)?);
        }
        parents.sort();
        parents.dedup();
        let entity_parents: Vec<String> = parents
            .iter()
            .filter_map(|p| match p {
                Parent::Entity(r) => Some(r.clone()),
                Parent::Provider(_) => None,
            })
            .collect();
        schedule(&mut tx, &entity_parents, now).await?;
        let mut report = Report::default();
        delete_rows(&mut tx, &[(entity_id.to_owned(), entity_ref.clone())], &mut report).await?;
        tx.commit().await.map_err(db)?;
        Ok(Some(DeletedEntity { entity_ref, parents, report: report.finish() }))
    }

    async fn schedule_now(&self, entity_refs: &[String], now: Millis) -> StoreResult<Vec<String>> {
        let refs = distinct(entity_refs);
        let mut tx = self.begin_write().await?;
        let found = schedule(&mut tx, &refs, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(refs.into_iter().filter(|r| found.contains(r)).collect())
    }

    async fn append_warnings(&self, entity_ref: &str, warnings: Vec<serde_json::Value>) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT warnings FROM refresh_state WHERE entity_ref = ?")
            .bind(entity_ref)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        let Some(row) = row else { return Ok(false) };
        let stored: String = get(&row, 0)?;
        let mut all: Vec<serde_json::Value> = from_json(&stored, "warnings")?;
        all.extend(warnings);
        sqlx::query("UPDATE refresh_state SET warnings = ?, result_hash = NULL WHERE entity_ref = ?")
            .bind(to_json(&all)?)
            .bind(entity_ref)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn children_of(&self, parent: &Parent) -> StoreResult<Vec<UnprocessedEntity>> {
        let (column, key) = match parent {
            Parent::Provider(name) => ("source_provider", name),
            Parent::Entity(entity_ref) => ("source_entity_ref", entity_ref),
        };
        let rows = sqlx::query(&format!(
            "SELECT rs.entity_ref, rs.unprocessed_entity, rs.unprocessed_hash, rs.location_key \
             FROM refresh_state_references e JOIN refresh_state rs ON rs.entity_ref = e.target_entity_ref \
             WHERE e.{column} = ? ORDER BY rs.entity_ref"
        ))
        .bind(key)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        let mut children = Vec::with_capacity(rows.len());
        for row in &rows {
            let body: String = get(row, 1)?;
            children.push(UnprocessedEntity {
                entity_ref: get(row, 0)?,
                body,
                hash: get(row, 2)?,
                location_key: get(row, 3)?,
            });
        }
        children.dedup_by(|a, b| a.entity_ref == b.entity_ref);
        Ok(children)
    }

    async fn parents_of(&self, entity_ref: &str) -> StoreResult<Vec<Parent>> {
        let rows = sqlx::query(
            "SELECT source_provider, source_entity_ref FROM refresh_state_references WHERE target_entity_ref = ?",
        )
        .bind(entity_ref)
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        let mut parents = rows.iter().map(|row| parent_from(row, 0, 1)).collect::<StoreResult<Vec<_>>>()?;
        parents.sort();
        parents.dedup();
        Ok(parents)
    }

    async fn entity_id_of(&self, entity_ref: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT entity_id FROM refresh_state WHERE entity_ref = ?")
            .bind(entity_ref)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?;
        row.as_ref().map(|r| get(r, 0)).transpose()
    }

    async fn final_entity(&self, entity_ref: &str) -> StoreResult<Option<FinalEntityRow>> {
        let row = sqlx::query(
            "SELECT entity_id, entity_ref, hash, final_entity, change_seq, updated_at FROM final_entities \
             WHERE entity_ref = ?",
        )
        .bind(entity_ref)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.as_ref().map(final_from).transpose()
    }

    async fn final_snapshot(&self) -> StoreResult<(Vec<FinalEntityRow>, i64)> {
        let mut tx = self.begin_read().await?;
        let seq = sqlx::query("SELECT value FROM change_counter WHERE id = 1")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let mut rows = sqlx::query(
            "SELECT entity_id, entity_ref, hash, final_entity, change_seq, updated_at FROM final_entities \
             ORDER BY change_seq",
        )
        .fetch(&mut *tx);
        // Decoded as they arrive: holding every raw row beside its decoded copy doubled the
        // memory a start-up needs.
        let mut finals = Vec::new();
        while let Some(row) = rows.try_next().await.map_err(db)? {
            finals.push(final_from(&row)?);
        }
        drop(rows);
        tx.commit().await.map_err(db)?;
        Ok((finals, get(&seq, 0)?))
    }

    async fn final_changes_since(&self, after: i64, limit: usize) -> StoreResult<Vec<FinalChange>> {
        let rows = sqlx::query(
            "SELECT entity_id, entity_ref, hash, final_entity, change_seq, updated_at FROM final_entities \
             WHERE change_seq > ? \
             UNION ALL \
             SELECT entity_id, entity_ref, NULL, NULL, change_seq, NULL FROM final_tombstones \
             WHERE change_seq > ? \
             ORDER BY change_seq LIMIT ?",
        )
        .bind(after)
        .bind(after)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        let mut changes = Vec::with_capacity(rows.len());
        for row in &rows {
            let hash: Option<String> = get(row, 2)?;
            changes.push(match hash {
                Some(_) => FinalChange::Upsert(final_from(row)?),
                None => FinalChange::Delete {
                    entity_id: get(row, 0)?,
                    entity_ref: get(row, 1)?,
                    change_seq: get(row, 4)?,
                },
            });
        }
        Ok(changes)
    }

    async fn close(&self) -> StoreResult<()> {
        SqliteStore::close(self).await
    }
}

/// Makes `refs` due at `now` with their result hash cleared; returns the refs that had a row.
async fn schedule(conn: &mut SqliteConnection, refs: &[String], now: Millis) -> StoreResult<HashSet<String>> {
    let mut found = HashSet::with_capacity(refs.len());
    for chunk in refs.chunks(CHUNK) {
        let mut qb = QueryBuilder::new("UPDATE refresh_state SET result_hash = NULL, next_update_at = ");
        qb.push_bind(now).push(" WHERE entity_ref");
        push_in(&mut qb, chunk);
        qb.push(" RETURNING entity_ref");
        for row in qb.build().fetch_all(&mut *conn).await.map_err(db)? {
            found.insert(get(&row, 0)?);
        }
    }
    Ok(found)
}
