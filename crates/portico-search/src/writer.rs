//! The one writer: follows every collator's feed and owns the only `IndexWriter`.
//!
//! [`Indexer::catch_up`] applies what changed since the cursors stored in the last commit's
//! payload and commits after every feed batch (readers reload right after), so a change is
//! searchable one loop tick after it reaches a feed. [`Indexer::open`] rebuilds a missing or
//! unreadable index; [`Indexer::reindex`] writes a fresh generation while the current one keeps
//! serving.
//!
//! Memory: tantivy keeps every pending delete (each upsert deletes the document's old version)
//! as a query weight of about a kilobyte until the commit applies it, and an open writer holds
//! its indexing arena and document channel (together about 20 MB) even when idle. So commits
//! come after each feed batch, never after a whole first ingestion, and the writer exists only
//! while there is something to write: a catch-up that finds nothing releases it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use tantivy::{IndexWriter, TantivyDocument, Term};

use crate::api::{DocumentChange, SearchCollator, SearchDocument};
use crate::index::{
    Generation, IndexLocation, SearchError, SearchIndex, key_term, ready_generations,
    remove_other_generations, to_tantivy,
};

/// Memory the writer may buffer before flushing a segment, on one indexing thread: tantivy's
/// arena grows to this budget per thread, and the portal's whole memory target is about this
/// size, so the writer uses its minimum-sized budget (a larger one barely speeds up indexing
/// the catalog, which is small documents).
const WRITER_MEMORY: usize = 15_000_000;
const WRITER_THREADS: usize = 1;
/// Changes read from a feed per call, and so per commit: each commit writes a small segment
/// (merged in the background), and fewer changes per commit keep the documents, the indexing
/// arena and the pending deletes of a catch-up small. At 10,000 entities, 500 instead of 2,000
/// took 7 MB off the portal's peak for about 0.2 s more indexing.
pub const FEED_BATCH: usize = 500;

/// Where one collator's feed was read up to, stored in the commit payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FeedCursor {
    feed: String,
    cursor: i64,
}

/// The cursors of every document type.
type Cursors = BTreeMap<String, FeedCursor>;

/// Reports rebuild progress: (documents written, documents in total).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

/// Owns the index writer of the serving generation.
pub struct Indexer {
    location: IndexLocation,
    index: Arc<SearchIndex>,
    collators: Vec<Arc<dyn SearchCollator>>,
    /// The serving generation's writer while there is something to write (see the module
    /// documentation); `None` when idle.
    writer: Arc<Mutex<Option<IndexWriter<TantivyDocument>>>>,
    generation: Arc<Generation>,
    cursors: Cursors,
}

impl Indexer {
    /// Opens the newest complete generation, or builds one from the collators when there is
    /// none or it cannot be read (logging why).
    pub async fn open(
        location: IndexLocation,
        collators: Vec<Arc<dyn SearchCollator>>,
    ) -> Result<Indexer, SearchError> {
        let opened = match &location {
            IndexLocation::Memory => None,
            IndexLocation::Dir(root) => match ready_generations(root).first() {
                None => {
                    tracing::info!(path = %root.display(), "search index is missing; building it");
                    None
                }
                Some(dir) => match Generation::open(dir).and_then(|g| Ok((g.payload()?, g))) {
                    Ok((payload, generation)) => {
                        let cursors = payload.and_then(|p| serde_json::from_str::<Cursors>(&p).ok());
                        Some((generation, cursors.unwrap_or_default()))
                    }
                    Err(error) => {
                        tracing::warn!(
                            path = %dir.display(), %error,
                            "search index is corrupt; rebuilding it from the collators"
                        );
                        None
                    }
                },
            },
        };
        let (generation, cursors) = match opened {
            Some(found) => found,
            None => build_generation(&location, &collators, None).await?,
        };
        if let (IndexLocation::Dir(root), Some(dir)) = (&location, &generation.dir) {
            remove_other_generations(root, dir);
        }
        let generation = Arc::new(generation);
        let index = Arc::new(SearchIndex::new(generation.clone()));
        Ok(Indexer { location, index, collators, writer: Arc::new(Mutex::new(None)), generation, cursors })
    }

    /// What queries read.
    pub fn index(&self) -> Arc<SearchIndex> {
        self.index.clone()
    }

    /// Applies every change the feeds have beyond the stored cursors, committing after each feed
    /// batch; returns how many changes were applied. Switches first to a newer generation a
    /// rebuild completed. A long feed (a first ingestion of 100,000 entities) is never held in
    /// memory whole, neither as changes nor as pending deletes. A catch-up that finds nothing
    /// releases the writer.
    pub async fn catch_up(&mut self) -> Result<usize, SearchError> {
        self.adopt_newer_generation()?;
        let mut applied = 0;
        let mut cursors = self.cursors.clone();
        for collator in self.collators.clone() {
            let document_type = collator.document_type().to_owned();
            let feed = collator.feed_id();
            let fail = |e: crate::api::CollatorError| SearchError::Collator {
                document_type: document_type.clone(),
                message: e.0,
            };
            match cursors.get(&document_type).filter(|c| c.feed == feed).map(|c| c.cursor) {
                None => {
                    // A feed the index has not followed: replace the type's documents whole,
                    // in one commit so that searches never see the type half filled.
                    let snapshot = collator.snapshot().await.map_err(fail)?;
                    let mut ops = vec![Op::DeleteType(document_type.clone())];
                    ops.extend(snapshot.documents.into_iter().map(|d| Op::Add(document_type.clone(), d)));
                    applied += self.apply(ops).await?;
                    cursors.insert(document_type.clone(), FeedCursor { feed, cursor: snapshot.cursor });
                    self.commit(&cursors).await?;
                }
                Some(mut cursor) => loop {
                    let batch = collator.changes_since(cursor, FEED_BATCH).await.map_err(fail)?;
                    if batch.changes.is_empty() {
                        break;
                    }
                    cursor = batch.cursor;
                    let ops = batch
                        .changes
                        .into_iter()
                        .map(|change| match change {
                            DocumentChange::Upsert(d) => Op::Upsert(document_type.clone(), d),
                            DocumentChange::Delete { id } => Op::Delete(document_type.clone(), id),
                        })
                        .collect();
                    applied += self.apply(ops).await?;
                    cursors.insert(document_type.clone(), FeedCursor { feed: feed.clone(), cursor });
                    self.commit(&cursors).await?;
                },
            }
        }
        if applied == 0 {
            self.release_writer().await;
        }
        Ok(applied)
    }

    /// Hands changes to the writer (uncommitted), opening it if needed; returns how many.
    async fn apply(&self, ops: Vec<Op>) -> Result<usize, SearchError> {
        let count = ops.len();
        let fields = self.index.fields;
        let writer = self.writer.clone();
        let generation = self.generation.clone();
        tokio::task::spawn_blocking(move || {
            let mut writer = writer.lock().unwrap_or_else(PoisonError::into_inner);
            let writer = open_writer(&mut writer, &generation)?;
            apply(writer, &fields, ops)
        })
        .await
        .map_err(|e| SearchError::Invalid(e.to_string()))??;
        Ok(count)
    }

    /// Commits what was applied with the feeds' cursors as payload and reloads the readers.
    async fn commit(&mut self, cursors: &Cursors) -> Result<(), SearchError> {
        let payload = serde_json::to_string(cursors).map_err(|e| SearchError::Invalid(e.to_string()))?;
        let writer = self.writer.clone();
        let generation = self.generation.clone();
        tokio::task::spawn_blocking(move || {
            let mut writer = writer.lock().unwrap_or_else(PoisonError::into_inner);
            let writer = open_writer(&mut writer, &generation)?;
            commit(writer, &payload)?;
            generation.reader.reload()?;
            Ok::<_, SearchError>(())
        })
        .await
        .map_err(|e| SearchError::Invalid(e.to_string()))??;
        self.cursors = cursors.clone();
        Ok(())
    }

    /// Closes an idle writer once its merges are done, giving back its memory.
    async fn release_writer(&self) {
        let Some(writer) = self.writer.lock().unwrap_or_else(PoisonError::into_inner).take() else { return };
        let finished = tokio::task::spawn_blocking(move || writer.wait_merging_threads()).await;
        if let Ok(Err(error)) = finished {
            tracing::warn!(%error, "search index merges failed; the next write merges again");
        }
    }

    /// Rebuilds in a new generation (the current one keeps serving), then switches to it.
    pub async fn reindex(&mut self, progress: Option<Progress<'_>>) -> Result<u64, SearchError> {
        let (generation, cursors) = build_generation(&self.location, &self.collators, progress).await?;
        let count = generation.reader.searcher().num_docs();
        self.switch_to(Arc::new(generation), cursors)?;
        Ok(count)
    }

    /// Adopts a generation that another process (`portico search reindex`) completed.
    fn adopt_newer_generation(&mut self) -> Result<(), SearchError> {
        let IndexLocation::Dir(root) = &self.location else { return Ok(()) };
        let Some(newest) = ready_generations(root).into_iter().next() else { return Ok(()) };
        if Some(&newest) == self.generation.dir.as_ref() || Some(&newest) < self.generation.dir.as_ref() {
            return Ok(());
        }
        let generation = Generation::open(&newest)?;
        let cursors = generation.payload()?.and_then(|p| serde_json::from_str(&p).ok()).unwrap_or_default();
        tracing::info!(path = %newest.display(), "switching to the rebuilt search index");
        self.switch_to(Arc::new(generation), cursors)
    }

    fn switch_to(&mut self, generation: Arc<Generation>, cursors: Cursors) -> Result<(), SearchError> {
        // The old writer is dropped (and its lock released) before its folder goes.
        *self.writer.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.index.replace(generation.clone());
        if let (IndexLocation::Dir(root), Some(dir)) = (&self.location, &generation.dir) {
            remove_other_generations(root, dir);
        }
        self.generation = generation;
        self.cursors = cursors;
        Ok(())
    }
}

/// One write of a catch-up.
enum Op {
    /// A document whose type was just deleted whole: nothing to replace.
    Add(String, SearchDocument),
    Upsert(String, SearchDocument),
    Delete(String, String),
    DeleteType(String),
}

fn apply(
    writer: &mut IndexWriter<TantivyDocument>,
    fields: &crate::index::Fields,
    ops: Vec<Op>,
) -> Result<(), SearchError> {
    for op in ops {
        match op {
            Op::Add(document_type, document) => {
                writer.add_document(to_tantivy(fields, &document_type, &document))?;
            }
            Op::Upsert(document_type, document) => {
                writer.delete_term(key_term(fields, &document_type, &document.id));
                writer.add_document(to_tantivy(fields, &document_type, &document))?;
            }
            Op::Delete(document_type, id) => {
                writer.delete_term(key_term(fields, &document_type, &id));
            }
            Op::DeleteType(document_type) => {
                writer.delete_term(Term::from_field_text(fields.doc_type, &document_type));
            }
        }
    }
    Ok(())
}

/// The generation's writer, opened if it is not.
fn open_writer<'a>(
    slot: &'a mut Option<IndexWriter<TantivyDocument>>,
    generation: &Generation,
) -> Result<&'a mut IndexWriter<TantivyDocument>, SearchError> {
    Ok(match slot {
        Some(open) => open,
        none => none.insert(generation.index.writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY)?),
    })
}

fn commit(writer: &mut IndexWriter<TantivyDocument>, payload: &str) -> Result<(), SearchError> {
    let mut prepared = writer.prepare_commit()?;
    prepared.set_payload(payload);
    prepared.commit()?;
    Ok(())
}

/// Writes every collator's snapshot into a new generation and marks it ready.
async fn build_generation(
    location: &IndexLocation,
    collators: &[Arc<dyn SearchCollator>],
    progress: Option<Progress<'_>>,
) -> Result<(Generation, Cursors), SearchError> {
    let generation = Generation::create(location)?;
    let fields = crate::index::schema().1;
    let mut cursors = Cursors::new();
    let mut snapshots = Vec::new();
    for collator in collators {
        let document_type = collator.document_type().to_owned();
        let snapshot = collator
            .snapshot()
            .await
            .map_err(|e| SearchError::Collator { document_type: document_type.clone(), message: e.0 })?;
        cursors
            .insert(document_type.clone(), FeedCursor { feed: collator.feed_id(), cursor: snapshot.cursor });
        snapshots.push((document_type, snapshot.documents));
    }
    let total: u64 = snapshots.iter().map(|(_, docs)| docs.len() as u64).sum();
    let payload = serde_json::to_string(&cursors).map_err(|e| SearchError::Invalid(e.to_string()))?;
    let mut writer: IndexWriter<TantivyDocument> =
        generation.index.writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY)?;
    let mut written = 0u64;
    for (document_type, documents) in snapshots {
        for document in documents {
            writer.add_document(to_tantivy(&fields, &document_type, &document))?;
            written += 1;
            if let Some(report) = progress
                && (written.is_multiple_of(1_000) || written == total)
            {
                report(written, total);
            }
        }
    }
    if let Some(report) = progress {
        report(written, total);
    }
    commit(&mut writer, &payload)?;
    writer.wait_merging_threads()?;
    generation.reader.reload()?;
    generation.mark_ready()?;
    Ok((generation, cursors))
}
