//! The catalog's storage contract.
//!
//! Vocabulary (mirrors Backstage's catalog tables, see ARCHITECTURE.md):
//! * an **entity row** (Backstage's `refresh_state`) exists for every entity that some parent
//!   emitted: it holds the *unprocessed* body the parent emitted, the *processed* body of the
//!   last successful processing (if any), the last errors, and when it is next due;
//! * an **edge** says "this parent emitted this child". A parent is either a provider
//!   ([`Parent::Provider`], e.g. `config` or `registered`) or another entity (a Location);
//!   an entity row without any incoming edge is an **orphan**;
//! * a **relation row** is one `(source, type, target)` triple, remembered with the entity whose
//!   processing emitted it, so that re-processing that entity replaces exactly its own rows;
//! * a **final entity** is what the API serves; every write of one takes the next value of a
//!   store-wide change sequence, and every delete leaves a tombstone with its sequence number,
//!   so read replicas can follow the feed with [`CatalogStore::final_changes_since`].
//!
//! Entity refs passed to and returned from the store are always canonical (lowercase
//! `kind:namespace/name`). Entity ids (`uid`s) are lowercase, time-ordered UUID (v7) strings
//! assigned by the store when a row is first created, so that ids sort in the order entities
//! were first emitted; a ref that is deleted and comes back gets a new id.

use async_trait::async_trait;
use serde_json::Value;

use crate::{Millis, StoreResult};

/// A location registered through the API (`POST /locations`), Backstage's `locations` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationRecord {
    /// UUID v4, lowercase.
    pub id: String,
    /// Backstage calls this field `type` (`url`, `file`).
    pub kind: String,
    pub target: String,
}

/// Who emitted an entity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Parent {
    /// An entity provider, by name (`config` for config locations, `registered` for locations
    /// registered through the API).
    Provider(String),
    /// Another entity, by canonical ref (a Location that read the child from a file).
    Entity(String),
}

/// An entity as emitted by a parent, before processing.
#[derive(Debug, Clone, PartialEq)]
pub struct UnprocessedEntity {
    /// Canonical ref.
    pub entity_ref: String,
    /// The entity body as emitted (annotations from the parent already applied), as compact
    /// JSON text: children are emitted in bulk (a file of 10,000 entities), and text is several
    /// times smaller than a parsed value.
    pub body: String,
    /// Hash of `body`; an unchanged hash means the child needs no re-processing.
    pub hash: String,
    /// Which source claims this entity (`<type>:<file>` for entities read from files,
    /// `<type>:<target>` for provider roots). `None` claims nothing: any source may take it over.
    pub location_key: Option<String>,
}

/// A relation edge; `source` and `target` are canonical refs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelationRow {
    pub source: String,
    pub relation_type: String,
    pub target: String,
}

/// An entity row handed to the processing loop by [`CatalogStore::claim_due`].
#[derive(Debug, Clone, PartialEq)]
pub struct DueEntity {
    pub entity_id: String,
    pub entity_ref: String,
    pub unprocessed: Value,
    pub location_key: Option<String>,
    /// Hash of the last processing result; the processing loop skips writing when unchanged.
    pub result_hash: Option<String>,
}

/// The result of processing one entity, to be written by [`CatalogStore::write_outcomes`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessingOutcome {
    pub entity_id: String,
    pub entity_ref: String,
    /// Hash over everything the processing produced; stored so that an identical result next
    /// time costs nothing.
    pub result_hash: String,
    pub result: ProcessingResult,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProcessingResult {
    /// Processing succeeded: the processed body replaces the stored one, `relations` replace
    /// every relation row this entity emitted before, `children` replace this entity's
    /// outgoing edges, and its errors are cleared.
    Ok {
        processed: Value,
        relations: Vec<RelationRow>,
        children: Vec<UnprocessedEntity>,
        /// Non-fatal problems to keep with the entity (e.g. a conflict on a child), as serialized
        /// errors. Stored like errors but they do not make the result failed.
        warnings: Vec<Value>,
    },
    /// Processing failed: only the errors (an array of serialized errors) and the result hash
    /// are written; the last processed body, its relations and its children stay as they were.
    Failed { errors: Vec<Value> },
}

/// A child that could not be stored because another source already claims its ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub entity_ref: String,
    /// The location key of the row that keeps the entity.
    pub existing_location_key: Option<String>,
    /// The location key of the newcomer, which was ignored.
    pub new_location_key: Option<String>,
    /// Who emitted the newcomer.
    pub parent: Parent,
}

/// What a write changed, so the caller knows whom to stitch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Canonical refs whose final entity may have changed: the written entities themselves,
    /// the sources of every relation row added or removed, children that gained or lost an
    /// incoming edge, and entities that lost their row.
    pub stitch: Vec<String>,
    /// Children rejected because another source claims them.
    pub conflicts: Vec<Conflict>,
    /// Canonical refs whose rows were deleted (their final entities are gone and tombstoned).
    pub deleted: Vec<String>,
}

/// Everything stitching needs to build one final entity.
#[derive(Debug, Clone, PartialEq)]
pub struct StitchInput {
    pub entity_id: String,
    pub entity_ref: String,
    /// The last successfully processed body; `None` if the entity never processed successfully
    /// (such an entity has no final entity).
    pub processed: Option<Value>,
    /// Errors of the last processing attempt (empty when it succeeded).
    pub errors: Vec<Value>,
    /// Warnings of the last successful processing.
    pub warnings: Vec<Value>,
    /// Whether any parent (provider or entity) emits this entity; `false` = orphan.
    pub has_parents: bool,
    /// Distinct relation rows whose source is this entity, from every emitter, sorted by
    /// (type, target).
    pub relations: Vec<RelationRow>,
    /// Hash of the currently stored final entity, if any.
    pub final_hash: Option<String>,
}

/// A final entity to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalWrite {
    pub entity_id: String,
    pub entity_ref: String,
    pub hash: String,
    /// The final entity, serialized as compact JSON.
    pub body: String,
}

/// A stored final entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalEntityRow {
    pub entity_id: String,
    pub entity_ref: String,
    pub hash: String,
    pub body: String,
    pub change_seq: i64,
    pub updated_at: Millis,
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinalChange {
    Upsert(FinalEntityRow),
    Delete { entity_id: String, entity_ref: String, change_seq: i64 },
}

impl FinalChange {
    pub fn change_seq(&self) -> i64 {
        match self {
            FinalChange::Upsert(row) => row.change_seq,
            FinalChange::Delete { change_seq, .. } => *change_seq,
        }
    }
}

/// What deleting one entity by uid did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletedEntity {
    pub entity_ref: String,
    /// The entity parents that emitted it; they were made due now with their result hash
    /// cleared, so a still-declared entity comes back (with a new uid).
    pub parents: Vec<Parent>,
    pub report: WriteReport,
}

/// A new entity id (`metadata.uid`), for a store to give a row it creates. Time-ordered
/// (UUID v7) rather than random like Backstage's: the rows and index entries keyed by it are
/// then appended in the order entities arrive instead of landing all over the tables, which
/// cut a 100,000-entity ingestion's writes by over a quarter.
pub fn new_entity_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The catalog's storage. All methods are atomic: a method either applies all of its changes
/// or none (one transaction each).
#[async_trait]
pub trait CatalogStore: Send + Sync + 'static {
    // ----- registered locations (Backstage's `locations` table)

    async fn list_locations(&self) -> StoreResult<Vec<LocationRecord>>;
    async fn get_location(&self, id: &str) -> StoreResult<Option<LocationRecord>>;
    async fn find_location(&self, kind: &str, target: &str) -> StoreResult<Option<LocationRecord>>;
    /// Fails with [`crate::StoreError::Conflict`] if the same (kind, target) exists.
    async fn insert_location(&self, location: &LocationRecord) -> StoreResult<()>;
    /// Returns the deleted location, `None` if there was none with that id.
    async fn delete_location(&self, id: &str) -> StoreResult<Option<LocationRecord>>;
    /// Changes the type and target of the location with `location.id`; `false` if there is
    /// none. Fails with [`crate::StoreError::Conflict`] if another location has the same
    /// (kind, target).
    async fn update_location(&self, location: &LocationRecord) -> StoreResult<bool>;

    // ----- processing state

    /// Full sync of a provider's roots: afterwards `provider` emits exactly `roots`.
    /// New roots get rows (due now); changed ones (hash differs) get the new body and become due
    /// now; conflicts are reported like children's. Roots that are no longer emitted lose their
    /// edge and, with every descendant no longer reachable from any provider, are deleted at
    /// once (no orphan phase) — their final entities are removed and tombstoned.
    async fn replace_provider_roots(
        &self,
        provider: &str,
        roots: Vec<UnprocessedEntity>,
        now: Millis,
    ) -> StoreResult<WriteReport>;

    /// Hands out up to `limit` rows whose next update time is `<= now`, oldest first, and
    /// pushes each one's next update time to `next_update_at` so that it is not handed out again
    /// meanwhile.
    async fn claim_due(
        &self,
        now: Millis,
        limit: usize,
        next_update_at: Millis,
    ) -> StoreResult<Vec<DueEntity>>;

    /// The earliest next update time of any row, for the processing loop to sleep until.
    async fn next_due_at(&self) -> StoreResult<Option<Millis>>;

    /// Writes a batch of processing outcomes (see [`ProcessingResult`]). For every child of a
    /// successful outcome: a ref without a row gets one (due at `now`); a row with the same
    /// location key, or none, is updated when its hash differs (and made due at `now`); a row
    /// with a different location key is a [`Conflict`] (no row change, no edge). Children that
    /// are no longer emitted lose their edge (they may become orphans; they are *not* deleted
    /// here).
    async fn write_outcomes(&self, outcomes: Vec<ProcessingOutcome>, now: Millis)
    -> StoreResult<WriteReport>;

    /// Inputs for stitching the given refs; refs without a row are skipped.
    async fn stitch_inputs(&self, entity_refs: &[String]) -> StoreResult<Vec<StitchInput>>;

    /// Writes final entities, each with the next change sequence number. Rows whose entity no
    /// longer exists are skipped.
    async fn write_finals(&self, finals: Vec<FinalWrite>, now: Millis) -> StoreResult<()>;

    /// Removes the final entity of entities that no longer have a processed body to serve
    /// (tombstoned). Used when stitching finds nothing to serve.
    async fn delete_finals(&self, entity_refs: &[String]) -> StoreResult<()>;

    /// Deletes every orphan row (no incoming edge) and, repeatedly, the rows that thereby become
    /// orphans. Returns what was deleted and whom to restitch.
    async fn delete_orphans(&self) -> StoreResult<WriteReport>;

    /// Deletes one entity row by uid (`DELETE /entities/by-uid/:uid`). Its entity parents are
    /// made due at `now` with their result hash cleared. `None` if no row has that uid.
    async fn delete_entity(&self, entity_id: &str, now: Millis) -> StoreResult<Option<DeletedEntity>>;

    /// Makes the given refs due at `now` and clears their result hash (forces re-processing).
    /// Returns the refs that had a row.
    async fn schedule_now(&self, entity_refs: &[String], now: Millis) -> StoreResult<Vec<String>>;

    /// Appends status items to an entity's warnings and clears its result hash (so its next
    /// processing writes again). Used for conflicts, which are only known once the batch was
    /// written. Returns `false` if the entity has no row.
    async fn append_warnings(&self, entity_ref: &str, warnings: Vec<Value>) -> StoreResult<bool>;

    /// The children a parent currently emits (via edges), as they were last emitted, so that a
    /// parent whose source is temporarily unreadable can re-emit them unchanged.
    async fn children_of(&self, parent: &Parent) -> StoreResult<Vec<UnprocessedEntity>>;

    /// The parents that emit the given entity (empty if none or no row).
    async fn parents_of(&self, entity_ref: &str) -> StoreResult<Vec<Parent>>;

    /// The entity id (uid) of a row, if it exists.
    async fn entity_id_of(&self, entity_ref: &str) -> StoreResult<Option<String>>;

    // ----- final entities and the change feed

    /// The final entity of one ref (canonical, lowercase), if it is served.
    async fn final_entity(&self, entity_ref: &str) -> StoreResult<Option<FinalEntityRow>>;

    /// Every final entity, and the highest change sequence number at the time of reading.
    async fn final_snapshot(&self) -> StoreResult<(Vec<FinalEntityRow>, i64)>;

    /// Changes with a sequence number greater than `after`, in sequence order, at most `limit`.
    async fn final_changes_since(&self, after: i64, limit: usize) -> StoreResult<Vec<FinalChange>>;

    // ----- lifecycle

    /// Called once when the process stops, after every background loop has: leaves the
    /// database so that the next start has nothing to recover. Nothing by default.
    async fn close(&self) -> StoreResult<()> {
        Ok(())
    }
}
