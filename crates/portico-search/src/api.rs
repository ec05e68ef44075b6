//! The search extension point other plugins use.
//!
//! A *collator* owns one document type (`software-catalog`, `techdocs`, ...): it can list every
//! document of its type (for a rebuild) and the changes since a cursor (for incremental
//! updates). The search plugin's single writer loop follows every collator; nothing else writes
//! the index. A plugin that produces documents on its own schedule (TechDocs after a build) can
//! use [`PushCollator`] and push documents into it.
//!
//! Read permission comes from outside too: [`ReadPermission`] tells the search which catalog
//! entities a caller may read, so results standing for other entities are left out.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use portico_plugin::{Access, PluginContext};
use serde_json::{Map, Value};

/// One searchable document, in Backstage's shape: `fields` holds at least `title`, `text` and
/// `location`, plus whatever else the type defines (filters match on these top-level fields).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchDocument {
    /// Unique within the document type; a later document with the same id replaces it.
    pub id: String,
    /// The document as the API returns it (`authorization` is removed before sending).
    pub fields: Map<String, Value>,
    /// Names that count as an exact match of the whole search term (an entity's `metadata.name`),
    /// ranked first; not part of the returned document.
    pub exact_names: Vec<String>,
}

/// One change of a collator's documents.
#[derive(Debug, Clone, PartialEq)]
pub enum DocumentChange {
    Upsert(SearchDocument),
    Delete { id: String },
}

/// Every document of a type, and the cursor to follow changes from.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub documents: Vec<SearchDocument>,
    pub cursor: i64,
}

/// Changes after a cursor, in order, and the cursor after them.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub changes: Vec<DocumentChange>,
    pub cursor: i64,
}

/// Why a collator could not answer.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CollatorError(pub String);

/// A source of documents of one type.
#[async_trait::async_trait]
pub trait SearchCollator: Send + Sync + 'static {
    /// The document type (`software-catalog`); also what `types[]` names.
    fn document_type(&self) -> &str;

    /// Identifies the sequence the cursors belong to. When it differs from the one the index
    /// was built from (a new process for in-memory feeds), the type is re-read from a snapshot.
    fn feed_id(&self) -> String;

    /// The permission that guards reading documents of this type (`catalog.entity.read`).
    /// Once permissions exist, a conditional decision is turned into clauses of the index query
    /// (over `authorization.resourceRef` and the filter fields), never applied to a page after
    /// the fact.
    fn visibility_permission(&self) -> Option<&str> {
        None
    }

    /// Every current document.
    async fn snapshot(&self) -> Result<Snapshot, CollatorError>;

    /// At most about `limit` changes after `cursor` (empty when up to date).
    async fn changes_since(&self, cursor: i64, limit: usize) -> Result<Changes, CollatorError>;
}

/// Builds a collator from the app's context; registered with
/// [`SearchPlugin::with_collator`](crate::SearchPlugin::with_collator).
pub trait CollatorFactory: Send + Sync + 'static {
    fn create(&self, cx: &PluginContext) -> Result<Arc<dyn SearchCollator>, CollatorError>;
}

impl<F> CollatorFactory for F
where
    F: Fn(&PluginContext) -> Result<Arc<dyn SearchCollator>, CollatorError> + Send + Sync + 'static,
{
    fn create(&self, cx: &PluginContext) -> Result<Arc<dyn SearchCollator>, CollatorError> {
        self(cx)
    }
}

/// Whether the catalog entity with a ref (`component:default/payments`, lower-cased) may be read.
pub type ReadableRef = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Who may read which catalog entities (`catalog.entity.read`), given to the search plugin
/// with [`SearchPlugin::with_read_permission`](crate::SearchPlugin::with_read_permission).
///
/// A document stands for the catalog entity its `authorization.resourceRef` names (both
/// built-in types set it to the entity's ref); a caller only finds the documents of entities
/// they may read, and documents without a ref are found by everyone. The test is applied while
/// the index collects matches, so counts, pages, ranks and cursors only ever reflect readable
/// documents.
pub trait ReadPermission: Send + Sync + 'static {
    /// The test for `access`'s caller, asked once per query; `None` when the caller may read
    /// every entity, so the query runs without any per-document check.
    fn readable(&self, access: &Access) -> Option<ReadableRef>;
}

/// A collator other code pushes documents into; it keeps them in memory and numbers every
/// change, so the writer loop picks changes up like any other feed. Whoever pushes must push
/// the full set again after a restart (its feed id changes with every process).
pub struct PushCollator {
    document_type: String,
    feed_id: String,
    state: Mutex<PushState>,
}

#[derive(Default)]
struct PushState {
    seq: i64,
    documents: BTreeMap<String, SearchDocument>,
    log: Vec<(i64, DocumentChange)>,
}

impl PushCollator {
    /// An empty collator for `document_type`.
    pub fn new(document_type: impl Into<String>) -> Arc<PushCollator> {
        let nonce = std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u8);
        Arc::new(PushCollator {
            document_type: document_type.into(),
            feed_id: format!("push-{nonce:016x}"),
            state: Mutex::new(PushState::default()),
        })
    }

    /// Adds or replaces a document.
    pub fn upsert(&self, document: SearchDocument) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.seq += 1;
        let seq = state.seq;
        state.documents.insert(document.id.clone(), document.clone());
        state.log.push((seq, DocumentChange::Upsert(document)));
    }

    /// Removes a document.
    pub fn delete(&self, id: &str) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.seq += 1;
        let seq = state.seq;
        state.documents.remove(id);
        state.log.push((seq, DocumentChange::Delete { id: id.to_owned() }));
    }
}

#[async_trait::async_trait]
impl SearchCollator for PushCollator {
    fn document_type(&self) -> &str {
        &self.document_type
    }

    fn feed_id(&self) -> String {
        self.feed_id.clone()
    }

    async fn snapshot(&self) -> Result<Snapshot, CollatorError> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(Snapshot { documents: state.documents.values().cloned().collect(), cursor: state.seq })
    }

    async fn changes_since(&self, cursor: i64, limit: usize) -> Result<Changes, CollatorError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        // Entries the reader has seen are no longer needed: there is one reader, the writer loop.
        state.log.retain(|(seq, _)| *seq > cursor);
        let changes: Vec<DocumentChange> =
            state.log.iter().take(limit).map(|(_, change)| change.clone()).collect();
        let next = state.log.get(changes.len().saturating_sub(1)).map_or(cursor.max(0), |(seq, _)| *seq);
        let next = if changes.is_empty() { cursor } else { next };
        Ok(Changes { changes, cursor: next })
    }
}
