//! The in-memory read index.
//!
//! Every replica keeps all final entities in memory, together with an inverted index over the
//! same flattened `(key, value)` rows Backstage's `search` table holds. Filters become set
//! operations on roaring bitmaps of entity *ordinals* (small integers naming a slot; freed slots
//! are reused), sorting reads per-entity rows, and facets count postings. The index is built
//! from a store snapshot ([`load_from`]) and kept current by applying the store's change feed
//! ([`catch_up`]).
//!
//! Bodies are kept as the compact JSON text the store holds, compressed one by one (see `body`),
//! so responses are assembled by decompressing text; the relation compatibility shape is added
//! by splicing (see `splice`).
//!
//! Memory layout, chosen to keep 100k entities lean:
//! * keys and values are interned once in string arenas and named by `u32` ids;
//! * each entity keeps its rows as `(key, lowercased value, original value)` id triples;
//! * each key maps *original* values to postings (a single ordinal inline, a bitmap once two
//!   entities share the value); lowercased values that differ from their original are only
//!   recorded as a small variant list, so a value is never stored three times.

mod body;
mod order;
mod readable;
mod search;
mod splice;
mod strings;
mod text;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use portico_plugin::permission::EntityClassifier;
use portico_plugin::permission::permission::CATALOG_ENTITY_READ;
use portico_plugin::{Access, Backlog, Shutdown};
use portico_store::{CatalogStore, FinalChange, FinalEntityRow, StoreError};
use roaring::RoaringBitmap;
use tokio::sync::Notify;

use body::Body;
pub use readable::Readable;
pub use search::{Direction, EntityFilter, FacetCount, PageRequest, Position, SortKey};
use splice::Splice;
use strings::{NONE, Strings};

/// The index shared between the change-feed follower (writer) and request handlers (readers).
/// Never hold the lock across an `.await`.
pub type SharedIndex = Arc<RwLock<ReadIndex>>;

/// How many changes [`catch_up`] asks the store for at a time.
const CATCH_UP_BATCH: usize = 1000;
/// How many changes [`catch_up`] prepares before taking the write lock to insert them.
const PREPARE_CHUNK: usize = 100;
/// How many entities one worker of [`ReadIndex::load`] prepares at a time.
const LOAD_CHUNK: usize = 256;

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

/// Adds an ordinal to a bitmap. Ordinals mostly arrive in ascending order (a load hands them
/// out one after the other), and appending past the last one skips the two binary searches of
/// an insert: they were a fifth of a load's inserting thread.
pub(crate) fn add_ordinal(bitmap: &mut RoaringBitmap, ordinal: u32) {
    if !bitmap.push(ordinal) {
        bitmap.insert(ordinal);
    }
}

/// Values held by at most this many entities keep them in a sorted vector instead of a bitmap.
const FEW_HOLDERS: usize = 16;

/// The entities holding one original value of one key (or having one key at all).
///
/// Sized to the holders: in the read-index benchmark's 100,000 entities, nine in ten values
/// held by more than one entity have at most sixteen holders, and a third have two. A bitmap
/// costs three allocations (itself, its container list, the container's array), over a hundred
/// bytes for two ordinals; a boxed vector costs two (48 bytes). The enum stays two words.
#[derive(Debug)]
pub(crate) enum Postings {
    One(u32),
    /// Two to [`FEW_HOLDERS`] ordinals, ascending. Boxed so that the enum stays two words
    /// (a bare `Vec` would make every `One` three).
    #[allow(clippy::box_collection)]
    Few(Box<Vec<u32>>),
    Many(Box<RoaringBitmap>),
}

impl Postings {
    fn insert(&mut self, ordinal: u32) {
        match self {
            Postings::One(existing) if *existing == ordinal => {}
            Postings::One(existing) => {
                let (low, high) =
                    if *existing < ordinal { (*existing, ordinal) } else { (ordinal, *existing) };
                *self = Postings::Few(Box::new(vec![low, high]));
            }
            Postings::Few(ordinals) => {
                let Err(at) = ordinals.binary_search(&ordinal) else { return };
                if ordinals.len() < FEW_HOLDERS {
                    ordinals.insert(at, ordinal);
                } else {
                    let mut bitmap: RoaringBitmap = ordinals.iter().copied().collect();
                    bitmap.insert(ordinal);
                    *self = Postings::Many(Box::new(bitmap));
                }
            }
            Postings::Many(bitmap) => add_ordinal(bitmap, ordinal),
        }
    }

    /// [`Postings::insert`], telling whether more than one entity is held now.
    fn insert_shared(&mut self, ordinal: u32) -> bool {
        self.insert(ordinal);
        !matches!(self, Postings::One(_))
    }

    /// Removes an ordinal; `true` when nothing is left.
    fn remove(&mut self, ordinal: u32) -> bool {
        match self {
            Postings::One(existing) => *existing == ordinal,
            Postings::Few(ordinals) => {
                if let Ok(at) = ordinals.binary_search(&ordinal) {
                    ordinals.remove(at);
                }
                match ordinals.as_slice() {
                    [] => true,
                    [last] => {
                        *self = Postings::One(*last);
                        false
                    }
                    _ => false,
                }
            }
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
            Postings::Few(ordinals) => ordinals.len() as u64,
            Postings::Many(bitmap) => bitmap.len(),
        }
    }

    pub(crate) fn union_into(&self, target: &mut RoaringBitmap) {
        match self {
            Postings::One(ordinal) => {
                target.insert(*ordinal);
            }
            Postings::Few(ordinals) => target.extend(ordinals.iter().copied()),
            Postings::Many(bitmap) => *target |= bitmap.as_ref(),
        }
    }

    pub(crate) fn to_bitmap(&self) -> RoaringBitmap {
        match self {
            Postings::One(ordinal) => std::iter::once(*ordinal).collect(),
            Postings::Few(ordinals) => ordinals.iter().copied().collect(),
            Postings::Many(bitmap) => bitmap.as_ref().clone(),
        }
    }

    pub(crate) fn intersection_len(&self, set: &RoaringBitmap) -> u64 {
        match self {
            Postings::One(ordinal) => u64::from(set.contains(*ordinal)),
            Postings::Few(ordinals) => ordinals.iter().filter(|o| set.contains(**o)).count() as u64,
            Postings::Many(bitmap) => bitmap.intersection_len(set),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Postings::One(_) => 0,
            Postings::Few(ordinals) => size_of::<Vec<u32>>() + ordinals.capacity() * size_of::<u32>(),
            Postings::Many(bitmap) => bitmap.serialized_size() + 48,
        }
    }
}

/// Keys with at most this many distinct values keep them in a small vector instead of a map.
const SMALL_VALUES: usize = 8;

/// The entities holding one value, as a [`ValueMap`] lends them: a key with many values keeps
/// a value held by one entity as the bare ordinal, not as [`Postings`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Holders<'a> {
    One(u32),
    Postings(&'a Postings),
}

impl Holders<'_> {
    /// The holder, when there is exactly one.
    pub(crate) fn single(self) -> Option<u32> {
        match self {
            Holders::One(ordinal) => Some(ordinal),
            Holders::Postings(Postings::One(ordinal)) => Some(*ordinal),
            Holders::Postings(_) => None,
        }
    }

    pub(crate) fn len(self) -> u64 {
        match self {
            Holders::One(_) => 1,
            Holders::Postings(postings) => postings.len(),
        }
    }

    pub(crate) fn union_into(self, target: &mut RoaringBitmap) {
        match self {
            Holders::One(ordinal) => {
                target.insert(ordinal);
            }
            Holders::Postings(postings) => postings.union_into(target),
        }
    }

    pub(crate) fn intersection_len(self, set: &RoaringBitmap) -> u64 {
        match self {
            Holders::One(ordinal) => u64::from(set.contains(ordinal)),
            Holders::Postings(postings) => postings.intersection_len(set),
        }
    }
}

/// Original value id → entities, sized to the key: most keys (array-element keys such as
/// `spec.dependson.<ref>`) have a single value held by a single entity, and must cost no
/// allocation.
#[derive(Debug, Default)]
pub(crate) enum ValueMap {
    #[default]
    Empty,
    One(u32, Postings),
    Small(Vec<(u32, Postings)>),
    /// Keys with many values, split by how many entities hold each. Most values of such keys
    /// (names, uids, titles, emails, links) are held by one entity: as a value → ordinal entry
    /// they cost 9 bytes of hash table, against 25 beside a [`Postings`] — 10 MB less at
    /// 100,000 entities.
    Map {
        /// Values held by exactly one entity.
        single: IdMap<u32>,
        /// Values held by two or more (never [`Postings::One`]).
        shared: IdMap<Postings>,
    },
}

impl ValueMap {
    pub(crate) fn get(&self, value: u32) -> Option<Holders<'_>> {
        match self {
            ValueMap::Empty => None,
            ValueMap::One(v, postings) => (*v == value).then_some(Holders::Postings(postings)),
            ValueMap::Small(entries) => {
                entries.iter().find(|(v, _)| *v == value).map(|(_, p)| Holders::Postings(p))
            }
            ValueMap::Map { single, shared } => match single.get(&value) {
                Some(&ordinal) => Some(Holders::One(ordinal)),
                None => shared.get(&value).map(Holders::Postings),
            },
        }
    }

    /// Every `(value, holders)` entry, in no particular order.
    pub(crate) fn iter(&self) -> Box<dyn Iterator<Item = (u32, Holders<'_>)> + '_> {
        match self {
            ValueMap::Empty => Box::new(std::iter::empty()),
            ValueMap::One(v, postings) => Box::new(std::iter::once((*v, Holders::Postings(postings)))),
            ValueMap::Small(entries) => Box::new(entries.iter().map(|(v, p)| (*v, Holders::Postings(p)))),
            ValueMap::Map { single, shared } => Box::new(
                single
                    .iter()
                    .map(|(v, ordinal)| (*v, Holders::One(*ordinal)))
                    .chain(shared.iter().map(|(v, p)| (*v, Holders::Postings(p)))),
            ),
        }
    }

    /// Adds an entity under a value; `true` when the value is new to the key or held by more
    /// than one entity now — a key's cached text index keeps the single holder of each value.
    fn insert(&mut self, value: u32, ordinal: u32) -> bool {
        match self {
            ValueMap::Empty => {
                *self = ValueMap::One(value, Postings::One(ordinal));
                true
            }
            ValueMap::One(v, postings) if *v == value => postings.insert_shared(ordinal),
            ValueMap::One(..) => {
                if let ValueMap::One(v, postings) = std::mem::take(self) {
                    *self = ValueMap::Small(vec![(v, postings), (value, Postings::One(ordinal))]);
                }
                true
            }
            ValueMap::Small(entries) => {
                if let Some((_, postings)) = entries.iter_mut().find(|(v, _)| *v == value) {
                    return postings.insert_shared(ordinal);
                }
                if entries.len() < SMALL_VALUES {
                    entries.push((value, Postings::One(ordinal)));
                } else {
                    let (mut single, mut shared) = (IdMap::default(), IdMap::default());
                    for (v, postings) in entries.drain(..) {
                        if let Postings::One(holder) = postings {
                            single.insert(v, holder);
                        } else {
                            shared.insert(v, postings);
                        }
                    }
                    single.insert(value, ordinal);
                    *self = ValueMap::Map { single, shared };
                }
                true
            }
            ValueMap::Map { single, shared } => {
                if let Some(postings) = shared.get_mut(&value) {
                    return postings.insert_shared(ordinal);
                }
                match single.entry(value) {
                    Entry::Occupied(entry) if *entry.get() == ordinal => false,
                    Entry::Occupied(entry) => {
                        let mut postings = Postings::One(entry.remove());
                        postings.insert(ordinal);
                        shared.insert(value, postings);
                        true
                    }
                    Entry::Vacant(entry) => {
                        entry.insert(ordinal);
                        true
                    }
                }
            }
        }
    }

    /// Removes an entity from a value; `true` when the value left the key.
    fn remove(&mut self, value: u32, ordinal: u32) -> bool {
        match self {
            ValueMap::Empty => false,
            ValueMap::One(v, postings) => {
                let emptied = *v == value && postings.remove(ordinal);
                if emptied {
                    *self = ValueMap::Empty;
                }
                emptied
            }
            ValueMap::Small(entries) => {
                let Some(at) = entries.iter().position(|(v, _)| *v == value) else {
                    return false;
                };
                let emptied = entries[at].1.remove(ordinal);
                if emptied {
                    entries.swap_remove(at);
                    if entries.len() == 1
                        && let Some((v, postings)) = entries.pop()
                    {
                        *self = ValueMap::One(v, postings);
                    }
                }
                emptied
            }
            ValueMap::Map { single, shared } => {
                if let Entry::Occupied(entry) = single.entry(value) {
                    let held = *entry.get() == ordinal;
                    if held {
                        entry.remove();
                    }
                    return held;
                }
                let Some(postings) = shared.get_mut(&value) else { return false };
                let emptied = postings.remove(ordinal);
                if emptied {
                    shared.remove(&value);
                } else if let Postings::One(last) = *postings {
                    shared.remove(&value);
                    single.insert(value, last);
                }
                emptied
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            ValueMap::Empty => 0,
            ValueMap::One(_, postings) => postings.heap_bytes(),
            ValueMap::Small(entries) => {
                entries.capacity() * 24 + entries.iter().map(|(_, p)| p.heap_bytes()).sum::<usize>()
            }
            ValueMap::Map { single, shared } => {
                single.capacity() * 9
                    + shared.capacity() * 25
                    + shared.values().map(Postings::heap_bytes).sum::<usize>()
            }
        }
    }

    fn shrink_to_fit(&mut self) {
        match self {
            ValueMap::Small(entries) => entries.shrink_to_fit(),
            ValueMap::Map { single, shared } => {
                single.shrink_to_fit();
                shared.shrink_to_fit();
            }
            ValueMap::Empty | ValueMap::One(..) => {}
        }
    }
}

/// Everything indexed under one key.
#[derive(Debug, Default)]
pub(crate) struct KeyData {
    /// Entities that have the key at all (null values included).
    pub(crate) exists: Option<Postings>,
    /// Original value id → entities.
    pub(crate) values: ValueMap,
}

/// How each interned value relates to its lowercase form. Values are never removed from the
/// interner, so these links stay valid; they replace a per-key map of case variants.
#[derive(Debug, Default)]
pub(crate) struct CaseLinks {
    /// Value id → id of its lowercased form (itself when already lowercase).
    lower: Vec<u32>,
    /// Lowercased value id → first original that differs from it and lowercases to it.
    first_variant: Vec<u32>,
    /// Original id → next original with the same lowercased form.
    next_variant: Vec<u32>,
}

impl CaseLinks {
    fn ensure(&mut self, len: usize) {
        if self.lower.len() < len {
            self.lower.resize(len, NONE);
            self.first_variant.resize(len, NONE);
            self.next_variant.resize(len, NONE);
        }
    }

    /// The lowercased form of a value id.
    pub(crate) fn lower(&self, value: u32) -> u32 {
        match self.lower.get(value as usize) {
            Some(&lower) if lower != NONE => lower,
            _ => value,
        }
    }

    /// The originals differing from a lowercased value that lowercase to it.
    pub(crate) fn variants(&self, lower: u32) -> impl Iterator<Item = u32> + '_ {
        let mut next = self.first_variant.get(lower as usize).copied().unwrap_or(NONE);
        std::iter::from_fn(move || {
            let current = next;
            (current != NONE).then(|| {
                next = self.next_variant[current as usize];
                current
            })
        })
    }

    fn shrink_to_fit(&mut self) {
        self.lower.shrink_to_fit();
        self.first_variant.shrink_to_fit();
        self.next_variant.shrink_to_fit();
    }

    fn heap_bytes(&self) -> usize {
        (self.lower.capacity() + self.first_variant.capacity() + self.next_variant.capacity()) * 4
    }
}

/// Query structures derived from the index on demand and dropped when what they summarize
/// changes. Readers share the index, so they live behind a lock of their own.
#[derive(Debug, Default)]
pub(crate) struct Caches {
    /// Key id → substring index of its values; dropped when the key's set of values changes.
    pub(crate) text: IdMap<Arc<text::TextIndex>>,
    /// Key id → the facet array over all entities, as JSON; dropped on any change to the key.
    pub(crate) facets: IdMap<Arc<str>>,
    /// Readable sets by caller; dropped on any change.
    pub(crate) readable: readable::ReadableCache,
    /// Key id → the order of all entities under it; dropped on any change.
    pub(crate) orders: IdMap<Arc<order::SortOrder>>,
    /// Key id → the value of `ReadIndex::changes` when a request last found its order missing.
    pub(crate) orders_wanted: IdMap<u64>,
}

/// One search row of an entity: ids into the key and value interners; `original` is `NONE`
/// for a null value. The lowercased value is found through [`CaseLinks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) key: u32,
    pub(crate) original: u32,
}

#[derive(Debug)]
struct Slot {
    uid: Arc<str>,
    entity_ref: Arc<str>,
    body: Body,
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
    body: &'a Body,
    splices: &'a [Splice],
}

impl EntityView<'_> {
    /// The stored final entity, compact JSON.
    pub fn body(&self) -> String {
        self.body.text()
    }

    /// Appends the entity's JSON to `out`; with `relation_targets`, every relation also gets the
    /// legacy `target` object parsed from its `targetRef`.
    pub fn write_json(&self, relation_targets: bool, out: &mut String) {
        if relation_targets && !self.splices.is_empty() {
            self.body.with_text(|body| splice::write_with_targets(body, self.splices, out));
        } else {
            self.body.write_to(out);
        }
    }

    /// The entity's JSON as a string (see [`EntityView::write_json`]).
    pub fn to_json(&self, relation_targets: bool) -> String {
        let mut out = String::with_capacity(self.body.text_len() + self.splices.len() * 64);
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
    /// Entities with an error in `status.items` (the status is not among the search rows).
    with_errors: RoaringBitmap,
    by_uid: BTreeMap<Arc<str>, u32>,
    by_ref: BTreeMap<Arc<str>, u32>,
    keys: Strings,
    key_data: Vec<KeyData>,
    values: Strings,
    case: CaseLinks,
    caches: Mutex<Caches>,
    /// Entities grouped for read permission, when policies look at entities.
    read_classes: Option<readable::ReadClasses>,
    last_seq: i64,
    /// Counts entities inserted and removed, so caches can tell whether anything changed.
    changes: u64,
}

impl ReadIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty index that groups entities for the read policies `classifier` describes (see
    /// [`ReadIndex::readable`]); `None` when the policies do not look at entities.
    pub fn with_read_classifier(classifier: Option<EntityClassifier>) -> Self {
        ReadIndex { read_classes: classifier.map(readable::ReadClasses::new), ..Self::default() }
    }

    /// Replaces the whole content with a snapshot taken at change sequence `seq`.
    ///
    /// Parsing and flattening (most of the work) runs on every core while this thread inserts
    /// what is ready, so a restart is ready sooner; chunks keep few parsed entities alive at
    /// once. A snapshot names each entity once, so the order of insertion does not matter.
    pub fn load(&mut self, rows: Vec<FinalEntityRow>, seq: i64) {
        let classifier = self.read_classes.take().map(readable::ReadClasses::into_classifier);
        *self = Self::with_read_classifier(classifier);
        self.slots.reserve(rows.len());
        let classify = self.read_classes.is_some();
        let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(8);
        let pending = Mutex::new(rows.into_iter());
        let next_chunk = || -> Vec<FinalEntityRow> {
            pending.lock().unwrap_or_else(PoisonError::into_inner).by_ref().take(LOAD_CHUNK).collect()
        };
        std::thread::scope(|scope| {
            let (ready, prepared) = std::sync::mpsc::sync_channel::<Vec<Prepared>>(workers);
            for _ in 0..workers {
                let ready = ready.clone();
                scope.spawn(move || {
                    loop {
                        let chunk = next_chunk();
                        if chunk.is_empty() {
                            return;
                        }
                        let chunk = chunk.into_iter().filter_map(|row| prepare(row, classify)).collect();
                        if ready.send(chunk).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(ready);
            for chunk in prepared {
                for entity in chunk {
                    self.insert(entity);
                }
            }
        });
        self.shrink_to_fit();
        self.last_seq = seq;
    }

    /// Applies one change of the feed. Changes at or below [`ReadIndex::last_seq`] are stale
    /// (already reflected) and ignored.
    pub fn apply(&mut self, change: FinalChange) {
        let classify = self.read_classes.is_some();
        self.apply_ready(ReadyChange::of(change, classify));
    }

    fn apply_ready(&mut self, change: ReadyChange) {
        let seq = match &change {
            ReadyChange::Upsert(seq, _) | ReadyChange::Delete(seq, _) => *seq,
        };
        if seq <= self.last_seq {
            return;
        }
        match change {
            ReadyChange::Upsert(_, Some(prepared)) => self.insert(*prepared),
            ReadyChange::Upsert(_, None) => {}
            ReadyChange::Delete(_, entity_id) => {
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

    /// The entities with an item of level `error` in `status.items`.
    pub fn with_errors(&self) -> &RoaringBitmap {
        &self.with_errors
    }

    /// The entities `access` may read (`catalog.entity.read`). Every query intersects its
    /// result set with this before counting, paging or faceting.
    pub fn readable(&self, access: &Access) -> Readable {
        if !access.enforces() {
            return Readable::All;
        }
        let key = access.decision_key();
        if let Some(set) = self.caches.lock().unwrap_or_else(PoisonError::into_inner).readable.get(&key) {
            return Readable::Only(set);
        }
        let filter = access.filter(&CATALOG_ENTITY_READ);
        let readable = match &self.read_classes {
            None if filter.reads_resource() => Readable::Only(Arc::new(self.readable_one_by_one(&filter))),
            classes => readable::compute(&filter, classes.as_ref(), &self.live),
        };
        if let Readable::Only(set) = &readable {
            self.caches.lock().unwrap_or_else(PoisonError::into_inner).readable.put(key, set.clone());
        }
        readable
    }

    /// The readable set decided entity by entity, for an index built without the classifier
    /// of the policies in force (never the case in a running catalog; kept correct anyway).
    fn readable_one_by_one(&self, filter: &portico_plugin::Filter<'_>) -> RoaringBitmap {
        self.live
            .iter()
            .filter(|&ordinal| {
                let body =
                    self.entity(ordinal).map(|entity| entity.body()).unwrap_or_else(|| "null".to_owned());
                serde_json::from_str::<serde_json::Value>(&body)
                    .is_ok_and(|value| filter.allows(portico_plugin::permission::Resource::Entity(&value)))
            })
            .collect()
    }

    /// Approximate heap bytes held by the index (bodies, rows, interned strings, postings,
    /// cached query structures), excluding allocator overhead.
    pub fn heap_bytes(&self) -> usize {
        let slots: usize = self
            .slots
            .iter()
            .flatten()
            .map(|s| {
                s.body.heap_bytes()
                    + s.rows.len() * std::mem::size_of::<Row>()
                    + s.splices.len() * 12
                    + (s.uid.len() + 16)
                    + (s.entity_ref.len() + 16)
            })
            .sum();
        let keys: usize = self
            .key_data
            .iter()
            .map(|k| k.exists.as_ref().map_or(0, Postings::heap_bytes) + k.values.heap_bytes())
            .sum();
        let caches = self.caches.lock().unwrap_or_else(PoisonError::into_inner);
        let cached: usize = caches.text.values().map(|t| t.heap_bytes()).sum::<usize>()
            + caches.facets.values().map(|f| f.len()).sum::<usize>()
            + caches.orders.values().map(|o| o.heap_bytes()).sum::<usize>();
        slots
            + self.slots.capacity() * std::mem::size_of::<Option<Slot>>()
            + self.key_data.capacity() * std::mem::size_of::<KeyData>()
            + keys
            + self.keys.heap_bytes()
            + self.values.heap_bytes()
            + self.case.heap_bytes()
            + self.live.serialized_size()
            + self.read_classes.as_ref().map_or(0, readable::ReadClasses::heap_bytes)
            + (self.by_uid.len() + self.by_ref.len()) * 40
            + cached
    }

    /// Releases the spare capacity growth left behind; after a bulk load this is a sizeable
    /// share of the index (vectors and maps grow by doubling).
    fn shrink_to_fit(&mut self) {
        self.values.shrink_to_fit();
        self.keys.shrink_to_fit();
        self.case.shrink_to_fit();
        self.slots.shrink_to_fit();
        self.key_data.shrink_to_fit();
        for data in &mut self.key_data {
            data.values.shrink_to_fit();
        }
    }

    /// Drops the cached structures derived from a key: the facet counts always, the text index
    /// when the key's set of values changed or one of its values gained a holder (the text
    /// index keeps each value's single holder; a value losing holders only sends its lookups
    /// back to the postings).
    fn invalidate(caches: &mut Caches, key: u32, text_stale: bool) {
        if !caches.facets.is_empty() {
            caches.facets.remove(&key);
        }
        if text_stale && !caches.text.is_empty() {
            caches.text.remove(&key);
        }
    }

    fn insert(&mut self, prepared: Prepared) {
        let Prepared { row, body, entity, has_error, search_rows, splices } = prepared;
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
        if let (Some(classes), Some(entity)) = (&mut self.read_classes, &entity) {
            classes.insert(ordinal, entity);
        }
        if has_error {
            add_ordinal(&mut self.with_errors, ordinal);
        }
        let mut rows = Vec::with_capacity(search_rows.len());
        self.changes += 1;
        let caches = self.caches.get_mut().unwrap_or_else(PoisonError::into_inner);
        caches.readable.clear();
        caches.orders.clear();
        for search_row in search_rows {
            let key = self.keys.intern(&search_row.key);
            if key as usize >= self.key_data.len() {
                self.key_data.resize_with(key as usize + 1, KeyData::default);
            }
            let original = match &search_row.value {
                None => NONE,
                Some(lower) => {
                    intern_value(&mut self.values, &mut self.case, lower, search_row.original.as_deref())
                }
            };
            let data = &mut self.key_data[key as usize];
            match &mut data.exists {
                Some(exists) => exists.insert(ordinal),
                exists @ None => *exists = Some(Postings::One(ordinal)),
            }
            let text_stale = original != NONE && data.values.insert(original, ordinal);
            Self::invalidate(caches, key, text_stale);
            rows.push(Row { key, original });
        }
        rows.sort_by_key(|row| row.key);
        rows.dedup();

        let uid: Arc<str> = Arc::from(row.entity_id);
        let entity_ref: Arc<str> = Arc::from(row.entity_ref);
        self.by_uid.insert(uid.clone(), ordinal);
        self.by_ref.insert(entity_ref.clone(), ordinal);
        add_ordinal(&mut self.live, ordinal);
        self.slots[ordinal as usize] = Some(Slot {
            uid,
            entity_ref,
            body,
            splices: splices.into_boxed_slice(),
            rows: rows.into_boxed_slice(),
        });
    }

    fn remove(&mut self, ordinal: u32) {
        let Some(slot) = self.slots.get_mut(ordinal as usize).and_then(Option::take) else {
            return;
        };
        if let Some(classes) = &mut self.read_classes {
            classes.remove(ordinal);
        }
        self.changes += 1;
        let caches = self.caches.get_mut().unwrap_or_else(PoisonError::into_inner);
        caches.readable.clear();
        caches.orders.clear();
        for row in slot.rows.iter() {
            let data = &mut self.key_data[row.key as usize];
            if data.exists.as_mut().is_some_and(|e| e.remove(ordinal)) {
                data.exists = None;
            }
            let emptied = row.original != NONE && data.values.remove(row.original, ordinal);
            Self::invalidate(caches, row.key, emptied);
        }
        if self.by_uid.get(&slot.uid) == Some(&ordinal) {
            self.by_uid.remove(&slot.uid);
        }
        if self.by_ref.get(&slot.entity_ref) == Some(&ordinal) {
            self.by_ref.remove(&slot.entity_ref);
        }
        self.live.remove(ordinal);
        self.with_errors.remove(ordinal);
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

/// Interns a row's value, its original text and its lowercased form, linked; returns the
/// original's id.
fn intern_value(values: &mut Strings, case: &mut CaseLinks, lower: &str, original: Option<&str>) -> u32 {
    let (lower_id, _) = values.intern_new(lower);
    let id = match original {
        Some(original) if original != lower => {
            let (id, new) = values.intern_new(original);
            case.ensure(values.len());
            if new {
                case.lower[id as usize] = lower_id;
                case.next_variant[id as usize] = case.first_variant[lower_id as usize];
                case.first_variant[lower_id as usize] = id;
            }
            id
        }
        _ => lower_id,
    };
    case.ensure(values.len());
    id
}

/// An entity parsed, flattened and compressed, ready to insert.
struct Prepared {
    /// The row, its body taken out (held compressed in `body`).
    row: FinalEntityRow,
    body: Body,
    /// The parsed entity, kept only for an index that classifies entities for reading: freeing
    /// it is a sixth of inserting, so it is otherwise freed where it was parsed.
    entity: Option<serde_json::Value>,
    has_error: bool,
    search_rows: Vec<portico_model::flatten::SearchRow>,
    splices: Vec<Splice>,
}

/// Parses and flattens one entity, keeping the parsed entity when `classify`; `None` (logged)
/// when the body is not JSON.
fn prepare(mut row: FinalEntityRow, classify: bool) -> Option<Prepared> {
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
    let body = Body::new(&std::mem::take(&mut row.body));
    let has_error = has_error(&value);
    Some(Prepared { row, body, entity: classify.then_some(value), has_error, search_rows, splices })
}

/// Whether the entity's `status.items` has an item of level `error` (what Backstage's processing
/// errors become).
fn has_error(entity: &serde_json::Value) -> bool {
    entity.pointer("/status/items").and_then(serde_json::Value::as_array).is_some_and(|items| {
        items.iter().any(|item| item.get("level").and_then(serde_json::Value::as_str) == Some("error"))
    })
}

/// A change of the feed with its entity already prepared: the work done before taking the
/// index's write lock, so requests are not held up by parsing.
enum ReadyChange {
    Upsert(i64, Option<Box<Prepared>>),
    Delete(i64, String),
}

impl ReadyChange {
    /// Prepares an upsert, keeping its parsed entity when `classify` (see [`Prepared::entity`]).
    fn of(change: FinalChange, classify: bool) -> ReadyChange {
        let seq = change.change_seq();
        match change {
            FinalChange::Upsert(row) => ReadyChange::Upsert(seq, prepare(row, classify).map(Box::new)),
            FinalChange::Delete { entity_id, .. } => ReadyChange::Delete(seq, entity_id),
        }
    }
}

/// Builds an index from the store's current snapshot.
pub async fn load_from(
    store: &dyn CatalogStore,
    read_classifier: Option<EntityClassifier>,
) -> Result<ReadIndex, StoreError> {
    let (rows, seq) = store.final_snapshot().await?;
    let mut index = ReadIndex::with_read_classifier(read_classifier);
    index.load(rows, seq);
    Ok(index)
}

/// How often the follower polls the store's change feed when nothing woke it (other replicas
/// writing to a shared PostgreSQL).
const FOLLOW_POLL: Duration = Duration::from_secs(1);

/// Keeps the read index current with the store's change feed, and relays the processing loop's
/// backlog to the portal's `backlog` (what search and docs wait for) until the index has applied
/// everything the burst produced. The index is the catalog's read path: followers starting while
/// it still applies the final stitch of an ingestion would compete with it for the CPU and add
/// their memory peaks to its own.
pub struct Follower {
    pub index: SharedIndex,
    pub store: Arc<dyn CatalogStore>,
    /// Notified by the engine whenever it wrote final entities.
    pub changed: Arc<Notify>,
    /// Raised by the processing loop while it works through a backlog.
    pub processing: Backlog,
    /// Raised from the moment `processing` is until the index has caught up after it cleared.
    pub backlog: Backlog,
}

impl Follower {
    pub async fn run(self, mut shutdown: Shutdown) {
        let mut processing_changes = self.processing.subscribe();
        loop {
            // Read before catching up: the processing loop clears its flag only after its last
            // stitch is written, so a catch-up that starts after seeing it clear sees that
            // stitch, and finding nothing then means the index holds the whole burst.
            let processing = self.processing.is_working();
            if processing {
                self.backlog.set_working(true);
            }
            match catch_up(&self.index, self.store.as_ref()).await {
                Ok(0) if !processing => self.backlog.set_working(false),
                Ok(0) => {}
                Ok(applied) => {
                    tracing::debug!(applied, "catalog index caught up");
                    if self.backlog.is_working() {
                        // Look again at once: others wait until a catch-up finds nothing.
                        continue;
                    }
                }
                Err(error) => tracing::error!(%error, "catalog index could not read the change feed"),
            }
            tokio::select! {
                _ = shutdown.requested() => return,
                _ = self.changed.notified() => {}
                _ = processing_changes.changed() => {}
                _ = tokio::time::sleep(FOLLOW_POLL) => {}
            }
        }
    }
}

/// Applies every change the store has beyond the index's sequence number; returns how many
/// changes were applied. The lock is taken only while applying a fetched batch.
pub async fn catch_up(index: &SharedIndex, store: &dyn CatalogStore) -> Result<usize, StoreError> {
    let mut applied = 0;
    loop {
        let (after, classify) = {
            let index = index.read().unwrap_or_else(PoisonError::into_inner);
            (index.last_seq(), index.read_classes.is_some())
        };
        let changes = store.final_changes_since(after, CATCH_UP_BATCH).await?;
        if changes.is_empty() {
            return Ok(applied);
        }
        applied += changes.len();
        // Prepared a few at a time outside the lock: parsed entities are large, and requests
        // wait only for the inserts.
        let mut changes = changes.into_iter().peekable();
        while changes.peek().is_some() {
            let ready: Vec<ReadyChange> = changes
                .by_ref()
                .take(PREPARE_CHUNK)
                .map(|change| ReadyChange::of(change, classify))
                .collect();
            let mut guard = index.write().unwrap_or_else(PoisonError::into_inner);
            for change in ready {
                guard.apply_ready(change);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postings_move_from_one_to_few_to_a_bitmap_and_back() {
        // Two words, whichever the shape: there is one per value of every key.
        assert_eq!(size_of::<Postings>(), 16);
        let mut postings = Postings::One(40);
        postings.insert(40);
        assert!(matches!(postings, Postings::One(40)));
        assert!(postings.insert_shared(7));
        // Out of order inserts and a repeated one keep the vector sorted and distinct.
        for ordinal in (8..=21).rev().chain([9]) {
            postings.insert(ordinal);
        }
        let Postings::Few(ordinals) = &postings else { panic!("{postings:?}") };
        assert_eq!(ordinals.len(), FEW_HOLDERS);
        assert!(ordinals.windows(2).all(|pair| pair[0] < pair[1]));
        let before: Vec<u32> = postings.to_bitmap().iter().collect();
        postings.insert(3);
        assert!(matches!(postings, Postings::Many(_)), "one more than a few is a bitmap");
        assert_eq!(postings.len(), FEW_HOLDERS as u64 + 1);
        assert_eq!(postings.to_bitmap().iter().collect::<Vec<_>>(), [vec![3], before].concat());

        let mut few = Postings::One(5);
        few.insert(2);
        few.insert(9);
        let set: RoaringBitmap = [2, 9, 100].into_iter().collect();
        assert_eq!(few.intersection_len(&set), 2);
        let mut union = RoaringBitmap::new();
        few.union_into(&mut union);
        assert_eq!(union.iter().collect::<Vec<_>>(), [2, 5, 9]);
        assert!(!few.remove(5));
        assert!(!few.remove(77), "an ordinal it never held");
        assert!(!few.remove(2));
        assert!(matches!(few, Postings::One(9)), "{few:?}");
        assert!(few.remove(9));
    }

    #[test]
    fn value_map_grows_and_shrinks_through_every_shape() {
        let mut map = ValueMap::default();
        assert!(map.insert(1, 10), "a new value");
        assert!(!map.insert(1, 10), "the same holder again changes nothing");
        assert!(map.insert(1, 11), "a second holder");
        for value in 2..=(SMALL_VALUES as u32 + 2) {
            assert!(map.insert(value, 20 + value));
        }
        assert!(matches!(map, ValueMap::Map { .. }));
        assert_eq!(map.get(1).map(Holders::len), Some(2));
        assert!(!map.remove(1, 10));
        assert_eq!(map.get(1).and_then(Holders::single), Some(11), "one holder left");
        assert!(map.remove(1, 11));
        assert!(map.get(1).is_none());
        assert!(!map.remove(99, 1));
        assert!(!map.remove(2, 99), "a value held by another entity stays");
        assert_eq!(map.get(2).and_then(Holders::single), Some(22));

        let mut small = ValueMap::default();
        small.insert(5, 1);
        small.insert(6, 2);
        assert!(matches!(small, ValueMap::Small(_)));
        assert!(small.remove(5, 1));
        assert!(matches!(small, ValueMap::One(6, _)));
        assert!(small.remove(6, 2));
        assert!(matches!(small, ValueMap::Empty));
        assert_eq!(small.iter().count(), 0);
    }

    /// A many-valued key keeps each value held by one entity as a bare ordinal and moves it to
    /// postings when a second entity takes it, and back when one is left.
    #[test]
    fn a_map_moves_values_between_single_and_shared_holders() {
        let mut map = ValueMap::default();
        for value in 0..=(SMALL_VALUES as u32) {
            map.insert(value, 100 + value);
        }
        map.insert(3, 7);
        let ValueMap::Map { single, shared } = &map else { panic!("{map:?}") };
        assert_eq!(single.len(), SMALL_VALUES);
        assert!(matches!(shared.get(&3), Some(Postings::Few(ordinals)) if **ordinals == [7, 103]));
        assert!(map.insert(3, 7), "a shared value stays shared");
        assert!(!map.insert(4, 104), "the single holder again changes nothing");
        assert!(map.insert(3, 8), "a third holder");
        assert_eq!(map.get(3).map(Holders::len), Some(3));

        let mut seen = RoaringBitmap::new();
        map.get(3).unwrap().union_into(&mut seen);
        map.get(4).unwrap().union_into(&mut seen);
        assert_eq!(seen.iter().collect::<Vec<_>>(), [7, 8, 103, 104]);
        assert_eq!(map.get(3).unwrap().intersection_len(&seen), 3);
        assert_eq!(map.iter().map(|(_, holders)| holders.len()).sum::<u64>(), SMALL_VALUES as u64 + 3);

        assert!(!map.remove(3, 8));
        assert!(!map.remove(3, 103));
        let ValueMap::Map { single, shared } = &map else { panic!("{map:?}") };
        assert_eq!(single.get(&3), Some(&7), "back to a bare ordinal");
        assert!(shared.is_empty());
        assert!(map.remove(3, 7));
        assert!(map.get(3).is_none());
        assert_eq!(map.iter().count(), SMALL_VALUES);
    }

    #[test]
    fn case_links_find_every_variant_of_a_lowercased_value() {
        let mut values = Strings::default();
        let mut case = CaseLinks::default();
        let upper = intern_value(&mut values, &mut case, "team-a", Some("TEAM-A"));
        let title = intern_value(&mut values, &mut case, "team-a", Some("Team-A"));
        let plain = intern_value(&mut values, &mut case, "team-a", Some("team-a"));
        assert_eq!(intern_value(&mut values, &mut case, "team-a", Some("Team-A")), title);
        assert_eq!(case.lower(upper), plain);
        assert_eq!(case.lower(plain), plain);
        let mut variants: Vec<u32> = case.variants(plain).collect();
        variants.sort_unstable();
        assert_eq!(variants, vec![upper, title]);
        assert_eq!(case.variants(upper).count(), 0);
    }
}
