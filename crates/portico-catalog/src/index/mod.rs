//! The in-memory read index.
//!
//! Every replica keeps all final entities in memory, together with an inverted index over the
//! same flattened `(key, value)` rows Backstage's `search` table holds. Filters become set
//! operations on roaring bitmaps of entity *ordinals* (small integers naming a slot; freed slots
//! are reused), sorting reads per-entity rows, and facets count postings. The index is built
//! from a store snapshot ([`load_from`]) and kept current by applying the store's change feed
//! ([`catch_up`]).
//!
//! Bodies are kept as the compact JSON text the store holds, so responses are assembled by
//! copying text; the relation compatibility shape is added by splicing (see `splice`).
//!
//! Memory layout, chosen to keep 100k entities lean:
//! * keys and values are interned once in string arenas and named by `u32` ids;
//! * each entity keeps its rows as `(key, lowercased value, original value)` id triples;
//! * each key maps *original* values to postings (a single ordinal inline, a bitmap once two
//!   entities share the value); lowercased values that differ from their original are only
//!   recorded as a small variant list, so a value is never stored three times.

mod search;
mod splice;
mod strings;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use portico_store::{CatalogStore, FinalChange, FinalEntityRow, StoreError};
use roaring::RoaringBitmap;

pub use search::{Direction, EntityFilter, FacetCount, PageRequest, Position, SortKey};
use splice::Splice;
use strings::{NONE, Strings};

/// The index shared between the change-feed follower (writer) and request handlers (readers).
/// Never hold the lock across an `.await`.
pub type SharedIndex = Arc<RwLock<ReadIndex>>;

/// How many changes [`catch_up`] asks the store for at a time.
const CATCH_UP_BATCH: usize = 1000;

/// A cheap hasher for `u32` ids and already-hashed `u64`s (the std SipHash is needlessly slow
/// for keys that are small dense integers).
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn finish(&self) -> u64 {
        // Multiplication alone leaves the low bits (the bucket index) as regular as the ids;
        // fold the high bits back in (the murmur3 finalizer).
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    }
}

pub(crate) type IdMap<V> = HashMap<u32, V, BuildHasherDefault<IdHasher>>;

/// The entities holding one original value of one key.
#[derive(Debug)]
pub(crate) enum Postings {
    One(u32),
    Many(Box<RoaringBitmap>),
}

impl Postings {
    fn insert(&mut self, ordinal: u32) {
        match self {
            Postings::One(existing) if *existing == ordinal => {}
            Postings::One(existing) => {
                let mut bitmap = RoaringBitmap::new();
                bitmap.insert(*existing);
                bitmap.insert(ordinal);
                *self = Postings::Many(Box::new(bitmap));
            }
            Postings::Many(bitmap) => {
                bitmap.insert(ordinal);
            }
        }
    }

    /// Removes an ordinal; `true` when nothing is left.
    fn remove(&mut self, ordinal: u32) -> bool {
        match self {
            Postings::One(existing) => *existing == ordinal,
            Postings::Many(bitmap) => {
                bitmap.remove(ordinal);
                match bitmap.len() {
                    0 => true,
                    1 => {
                        let last = bitmap.min().unwrap_or(ordinal);
                        *self = Postings::One(last);
                        false
                    }
                    _ => false,
                }
            }
        }
    }

    pub(crate) fn len(&self) -> u64 {
        match self {
            Postings::One(_) => 1,
            Postings::Many(bitmap) => bitmap.len(),
        }
    }

    pub(crate) fn union_into(&self, target: &mut RoaringBitmap) {
        match self {
            Postings::One(ordinal) => {
                target.insert(*ordinal);
            }
            Postings::Many(bitmap) => *target |= bitmap.as_ref(),
        }
    }

    pub(crate) fn intersection_len(&self, set: &RoaringBitmap) -> u64 {
        match self {
            Postings::One(ordinal) => u64::from(set.contains(*ordinal)),
            Postings::Many(bitmap) => bitmap.intersection_len(set),
        }
    }
}

/// Everything indexed under one key.
#[derive(Debug, Default)]
pub(crate) struct KeyData {
    /// Entities that have the key at all (null values included).
    pub(crate) exists: RoaringBitmap,
    /// Original value id → entities.
    pub(crate) by_original: IdMap<Postings>,
    /// Lowercased value id → the original value ids that differ from it and lowercase to it.
    /// An original that is already lowercase is found under its own id in `by_original`.
    pub(crate) variants: IdMap<Vec<u32>>,
    /// Original value id → its lowercased value id, for originals that differ from it.
    pub(crate) lower_of: IdMap<u32>,
    /// The distinct lowercased values laid out contiguously for substring search; built on the
    /// first full-text query over this key and dropped whenever the set of values changes.
    pub(crate) text: OnceLock<TextColumn>,
}

/// The values of one key as one text, `\0`-separated, so a substring search is one linear
/// scan over contiguous memory instead of a pointer chase per value.
#[derive(Debug, Default)]
pub(crate) struct TextColumn {
    pub(crate) text: String,
    /// Start offset of each value in `text`.
    pub(crate) starts: Vec<u32>,
    /// The original value id of each value.
    pub(crate) originals: Vec<u32>,
}

impl KeyData {
    fn lower_of(&self, original: u32) -> u32 {
        self.lower_of.get(&original).copied().unwrap_or(original)
    }

    pub(crate) fn text_column(&self, values: &Strings) -> &TextColumn {
        self.text.get_or_init(|| {
            let mut column = TextColumn::default();
            for &original in self.by_original.keys() {
                column.starts.push(column.text.len() as u32);
                column.originals.push(original);
                column.text.push_str(values.get(self.lower_of(original)));
                column.text.push('\0');
            }
            column
        })
    }
}

/// One search row of an entity: ids into the key and value interners (`NONE` for null).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) key: u32,
    pub(crate) lower: u32,
    pub(crate) original: u32,
}

#[derive(Debug)]
struct Slot {
    uid: Arc<str>,
    entity_ref: Arc<str>,
    body: Box<str>,
    splices: Box<[Splice]>,
    /// Sorted by key (stable, so rows of one key keep the entity's order).
    rows: Box<[Row]>,
}

/// A borrowed view of one indexed entity.
#[derive(Debug, Clone, Copy)]
pub struct EntityView<'a> {
    /// Entity ordinal inside the index (valid until the entity is removed).
    pub ordinal: u32,
    pub uid: &'a str,
    /// Canonical ref (`kind:namespace/name`, lowercase).
    pub entity_ref: &'a str,
    /// The stored final entity, compact JSON.
    pub body: &'a str,
    splices: &'a [Splice],
}

impl EntityView<'_> {
    /// Appends the entity's JSON to `out`; with `relation_targets`, every relation also gets the
    /// legacy `target` object parsed from its `targetRef`.
    pub fn write_json(&self, relation_targets: bool, out: &mut String) {
        if relation_targets && !self.splices.is_empty() {
            splice::write_with_targets(self.body, self.splices, out);
        } else {
            out.push_str(self.body);
        }
    }

    /// The entity's JSON as a string (see [`EntityView::write_json`]).
    pub fn to_json(&self, relation_targets: bool) -> String {
        let mut out = String::with_capacity(self.body.len() + self.splices.len() * 64);
        self.write_json(relation_targets, &mut out);
        out
    }
}

/// The in-memory read index over all final entities.
#[derive(Debug, Default)]
pub struct ReadIndex {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    live: RoaringBitmap,
    by_uid: BTreeMap<Arc<str>, u32>,
    by_ref: BTreeMap<Arc<str>, u32>,
    keys: Strings,
    key_data: Vec<KeyData>,
    values: Strings,
    last_seq: i64,
}

impl ReadIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the whole content with a snapshot taken at change sequence `seq`.
    pub fn load(&mut self, rows: Vec<FinalEntityRow>, seq: i64) {
        *self = Self::new();
        self.slots.reserve(rows.len());
        for row in rows {
            self.upsert(row);
        }
        self.last_seq = seq;
    }

    /// Applies one change of the feed. Changes at or below [`ReadIndex::last_seq`] are stale
    /// (already reflected) and ignored.
    pub fn apply(&mut self, change: FinalChange) {
        let seq = change.change_seq();
        if seq <= self.last_seq {
            return;
        }
        match change {
            FinalChange::Upsert(row) => self.upsert(row),
            FinalChange::Delete { entity_id, .. } => {
                if let Some(ordinal) = self.by_uid.get(entity_id.as_str()).copied() {
                    self.remove(ordinal);
                }
            }
        }
        self.last_seq = seq;
    }

    /// The change sequence number the index reflects.
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    /// Number of entities.
    pub fn len(&self) -> usize {
        self.live.len() as usize
    }

    /// `true` when the index holds no entity.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// The entity with this uid (exact match).
    pub fn by_uid(&self, uid: &str) -> Option<EntityView<'_>> {
        self.by_uid.get(uid).and_then(|&ordinal| self.entity(ordinal))
    }

    /// The entity with this canonical ref (exact match; callers lowercase as needed).
    pub fn by_ref(&self, entity_ref: &str) -> Option<EntityView<'_>> {
        self.by_ref.get(entity_ref).and_then(|&ordinal| self.entity(ordinal))
    }

    /// The entity at an ordinal returned by a query.
    pub fn entity(&self, ordinal: u32) -> Option<EntityView<'_>> {
        let slot = self.slots.get(ordinal as usize)?.as_ref()?;
        Some(EntityView {
            ordinal,
            uid: &slot.uid,
            entity_ref: &slot.entity_ref,
            body: &slot.body,
            splices: &slot.splices,
        })
    }

    /// The ordinals of every entity.
    pub fn all(&self) -> &RoaringBitmap {
        &self.live
    }

    /// Approximate heap bytes held by the index (bodies, rows, interned strings, postings).
    pub fn heap_bytes(&self) -> usize {
        let slots: usize = self
            .slots
            .iter()
            .flatten()
            .map(|s| {
                s.body.len()
                    + s.rows.len() * 12
                    + s.splices.len() * 12
                    + s.uid.len()
                    + s.entity_ref.len()
                    + 64
            })
            .sum();
        let postings: usize = self
            .key_data
            .iter()
            .map(|k| {
                k.exists.serialized_size()
                    + k.by_original.capacity() * 24
                    + k.by_original
                        .values()
                        .map(|p| match p {
                            Postings::One(_) => 0,
                            Postings::Many(b) => b.serialized_size() + 32,
                        })
                        .sum::<usize>()
                    + (k.variants.capacity() + k.lower_of.capacity()) * 16
            })
            .sum();
        slots
            + self.slots.capacity() * std::mem::size_of::<Option<Slot>>()
            + postings
            + self.keys.heap_bytes()
            + self.values.heap_bytes()
            + self.by_uid.len() * 48
            + self.by_ref.len() * 48
    }

    fn upsert(&mut self, row: FinalEntityRow) {
        if let Some(prepared) = prepare(row) {
            self.insert(prepared);
        }
    }

    fn insert(&mut self, prepared: Prepared) {
        let Prepared { row, search_rows, splices } = prepared;
        if let Some(previous) = self.by_uid.get(row.entity_id.as_str()).copied() {
            self.remove(previous);
        }
        // A ref held by another uid means that entity was replaced (deleted and re-created).
        if let Some(previous) = self.by_ref.get(row.entity_ref.as_str()).copied() {
            self.remove(previous);
        }
        let ordinal = match self.free.pop() {
            Some(ordinal) => ordinal,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        let mut rows = Vec::with_capacity(search_rows.len());
        for search_row in search_rows {
            let key = self.keys.intern(&search_row.key);
            if key as usize >= self.key_data.len() {
                self.key_data.resize_with(key as usize + 1, KeyData::default);
            }
            let lower = search_row.value.as_deref().map_or(NONE, |v| self.values.intern(v));
            let original = match (&search_row.original, lower) {
                (_, NONE) => NONE,
                (Some(original), _) => self.values.intern(original),
                (None, lower) => lower,
            };
            let data = &mut self.key_data[key as usize];
            data.exists.insert(ordinal);
            if lower != NONE {
                match data.by_original.entry(original) {
                    Entry::Occupied(mut entry) => entry.get_mut().insert(ordinal),
                    Entry::Vacant(entry) => {
                        entry.insert(Postings::One(ordinal));
                        data.text.take();
                    }
                }
                if original != lower {
                    data.lower_of.insert(original, lower);
                    let variants = data.variants.entry(lower).or_default();
                    if !variants.contains(&original) {
                        variants.push(original);
                    }
                }
            }
            rows.push(Row { key, lower, original });
        }
        rows.sort_by_key(|row| row.key);
        rows.dedup();

        let uid: Arc<str> = Arc::from(row.entity_id);
        let entity_ref: Arc<str> = Arc::from(row.entity_ref);
        self.by_uid.insert(uid.clone(), ordinal);
        self.by_ref.insert(entity_ref.clone(), ordinal);
        self.live.insert(ordinal);
        self.slots[ordinal as usize] = Some(Slot {
            uid,
            entity_ref,
            body: row.body.into_boxed_str(),
            splices: splices.into_boxed_slice(),
            rows: rows.into_boxed_slice(),
        });
    }

    fn remove(&mut self, ordinal: u32) {
        let Some(slot) = self.slots.get_mut(ordinal as usize).and_then(Option::take) else {
            return;
        };
        for row in slot.rows.iter() {
            let data = &mut self.key_data[row.key as usize];
            data.exists.remove(ordinal);
            if row.lower == NONE {
                continue;
            }
            let emptied = data.by_original.get_mut(&row.original).is_some_and(|p| p.remove(ordinal));
            if emptied {
                data.by_original.remove(&row.original);
                data.text.take();
                if row.original != row.lower {
                    data.lower_of.remove(&row.original);
                    if let Some(variants) = data.variants.get_mut(&row.lower) {
                        variants.retain(|&v| v != row.original);
                        if variants.is_empty() {
                            data.variants.remove(&row.lower);
                        }
                    }
                }
            }
        }
        if self.by_uid.get(&slot.uid) == Some(&ordinal) {
            self.by_uid.remove(&slot.uid);
        }
        if self.by_ref.get(&slot.entity_ref) == Some(&ordinal) {
            self.by_ref.remove(&slot.entity_ref);
        }
        self.live.remove(ordinal);
        self.free.push(ordinal);
    }

    /// The rows of one key of an entity.
    fn rows_of(&self, ordinal: u32, key: u32) -> &[Row] {
        let Some(Some(slot)) = self.slots.get(ordinal as usize) else {
            return &[];
        };
        let start = slot.rows.partition_point(|row| row.key < key);
        let end = start + slot.rows[start..].partition_point(|row| row.key == key);
        &slot.rows[start..end]
    }

    fn uid_of(&self, ordinal: u32) -> &str {
        match self.slots.get(ordinal as usize) {
            Some(Some(slot)) => &slot.uid,
            _ => "",
        }
    }
}

/// An entity parsed and flattened, ready to insert.
struct Prepared {
    row: FinalEntityRow,
    search_rows: Vec<portico_model::flatten::SearchRow>,
    splices: Vec<Splice>,
}

/// Parses and flattens one entity; `None` (logged) when the body is not JSON.
fn prepare(row: FinalEntityRow) -> Option<Prepared> {
    let value: serde_json::Value = match serde_json::from_str(&row.body) {
        Ok(value) => value,
        Err(error) => {
            tracing::warn!(entity_ref = %row.entity_ref, %error, "final entity body is not JSON; not indexed");
            return None;
        }
    };
    let search_rows = portico_model::flatten::search_rows(&value).unwrap_or_else(|error| {
        tracing::warn!(entity_ref = %row.entity_ref, %error, "could not flatten final entity; it is served but not searchable");
        Vec::new()
    });
    let splices = splice::relation_splices(&row.body);
    Some(Prepared { row, search_rows, splices })
}

/// Builds an index from the store's current snapshot.
pub async fn load_from(store: &dyn CatalogStore) -> Result<ReadIndex, StoreError> {
    let (rows, seq) = store.final_snapshot().await?;
    let mut index = ReadIndex::new();
    index.load(rows, seq);
    Ok(index)
}

/// Applies every change the store has beyond the index's sequence number; returns how many
/// changes were applied. The lock is taken only while applying a fetched batch.
pub async fn catch_up(index: &SharedIndex, store: &dyn CatalogStore) -> Result<usize, StoreError> {
    let mut applied = 0;
    loop {
        let after = index.read().unwrap_or_else(PoisonError::into_inner).last_seq();
        let changes = store.final_changes_since(after, CATCH_UP_BATCH).await?;
        if changes.is_empty() {
            return Ok(applied);
        }
        applied += changes.len();
        let mut guard = index.write().unwrap_or_else(PoisonError::into_inner);
        for change in changes {
            guard.apply(change);
        }
    }
}
