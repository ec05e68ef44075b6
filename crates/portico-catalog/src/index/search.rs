//! Queries over the read index: filters, full-text matching, ordered listing, keyset pages,
//! facet counts and batch lookups.
//!
//! Matching follows Backstage's `search` table semantics: keys and values are compared
//! lowercased, a key without values asks for existence (null values included), values longer
//! than 200 characters are indexed as null. Sorting compares the lowercased indexed value
//! byte-wise; entities without the key (or with a null value) sort last in both directions. An
//! entity with several values for the sort key sorts by the first one (Backstage would list
//! it once per value).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, PoisonError};

use roaring::RoaringBitmap;

use super::order::SortOrder;
use super::strings::NONE;
use super::text::TextIndex;
use super::{EntityView, KeyData, Postings, ReadIndex};

/// Sorting fewer matches than this costs less than keeping the order of every entity would.
const ORDER_WORTH_KEEPING: u64 = 1024;
/// The key of the uid order in the order cache: no entity has a value under it, so its
/// [`SortOrder`] is all live entities by uid.
const UID_ORDER: u32 = NONE;
/// A walk of the uid tree for a page (see [`ReadIndex::page`]) gives up after this many steps
/// per wanted entity and per unit of sparseness (all entities over the matching ones), plus
/// [`UID_WALK_MIN_STEPS`].
const UID_WALK_STEPS_PER_MATCH: usize = 4;
const UID_WALK_MIN_STEPS: usize = 256;

/// A filter over indexed keys (Backstage's `EntityFilter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityFilter {
    /// The key exists (`values: None`) or has one of the values (compared case-insensitively).
    Key {
        key: String,
        values: Option<Vec<String>>,
    },
    Not(Box<EntityFilter>),
    /// Any of the filters; an empty list constrains nothing.
    AnyOf(Vec<EntityFilter>),
    /// All of the filters; an empty list constrains nothing.
    AllOf(Vec<EntityFilter>),
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

impl Direction {
    /// `asc` / `desc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        }
    }

    fn apply(self, ordering: Ordering) -> Ordering {
        match self {
            Direction::Asc => ordering,
            Direction::Desc => ordering.reverse(),
        }
    }
}

/// One sort key: an indexed key, looked up exactly as given (Backstage does not lowercase it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub field: String,
    pub direction: Direction,
}

/// A keyset position: the sort value (when sorting by a field) and the uid of an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub value: Option<String>,
    pub uid: String,
}

/// A keyset page request (the by-query pagination model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Sort field; `None` orders by uid ascending.
    pub order: Option<SortKey>,
    /// Start strictly after (or, with `backwards`, strictly before) this position.
    pub after: Option<Position>,
    /// Fetch the `limit` entities preceding `after` instead of those following it.
    pub backwards: bool,
    /// Entities to skip first (forward pages only).
    pub offset: usize,
    pub limit: usize,
}

/// A facet value and how many entities have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetCount<'a> {
    pub value: &'a str,
    pub count: u64,
}

/// A compact sort key of one entity for one request.
struct Keyed<'a> {
    value: Option<&'a str>,
    uid: &'a str,
    ordinal: u32,
}

fn compare_keyed(a: (Option<&str>, &str), b: (Option<&str>, &str), direction: Direction) -> Ordering {
    let by_value = match (a.0, b.0) {
        (Some(x), Some(y)) => direction.apply(x.cmp(y)),
        // Missing values sort last whatever the direction.
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_value.then_with(|| direction.apply(a.1.cmp(b.1)))
}

impl ReadIndex {
    fn key_id(&self, key: &str) -> Option<u32> {
        self.keys.lookup(key)
    }

    /// The entities matching a filter.
    pub fn filter(&self, filter: &EntityFilter) -> RoaringBitmap {
        match filter {
            EntityFilter::Key { key, values } => {
                let Some(data) = self.key_id(&key.to_lowercase()).and_then(|k| self.key_data.get(k as usize))
                else {
                    return RoaringBitmap::new();
                };
                let Some(values) = values else {
                    return data.exists.as_ref().map(Postings::to_bitmap).unwrap_or_default();
                };
                let mut result = RoaringBitmap::new();
                for value in values {
                    let Some(lower) = self.values.lookup(&value.to_lowercase()) else {
                        continue;
                    };
                    for original in std::iter::once(lower).chain(self.case.variants(lower)) {
                        if let Some(holders) = data.values.get(original) {
                            holders.union_into(&mut result);
                        }
                    }
                }
                result
            }
            EntityFilter::Not(inner) => &self.live - &self.filter(inner),
            EntityFilter::AnyOf(filters) if filters.is_empty() => self.live.clone(),
            EntityFilter::AnyOf(filters) => {
                let mut result = RoaringBitmap::new();
                for inner in filters {
                    result |= self.filter(inner);
                }
                result
            }
            EntityFilter::AllOf(filters) => {
                let mut result = self.live.clone();
                for inner in filters {
                    if result.is_empty() {
                        break;
                    }
                    result &= self.filter(inner);
                }
                result
            }
        }
    }

    /// The entities matching an optional filter (all entities without one).
    pub fn matching(&self, filter: Option<&EntityFilter>) -> RoaringBitmap {
        filter.map_or_else(|| self.live.clone(), |f| self.filter(f))
    }

    /// The entities having a value of one of `fields` (keys, compared lowercased) that contains
    /// `term` (compared lowercased) — SQL `LIKE %term%` on the indexed value, except that `%`
    /// and `_` in the term are matched literally rather than as wildcards.
    pub fn full_text(&self, term: &str, fields: &[String]) -> RoaringBitmap {
        let term = term.to_lowercase();
        let mut result = RoaringBitmap::new();
        if term.contains('\0') {
            return result;
        }
        // Most matching values (names, titles) belong to one entity each. Their ordinals are
        // gathered and the bitmap built from them sorted: inserting thousands of ordinals one
        // by one, in value order, costs several times more.
        let mut single: Vec<u32> = Vec::new();
        for field in fields {
            let Some((key, data)) = self
                .key_id(&field.to_lowercase())
                .and_then(|k| self.key_data.get(k as usize).map(|data| (k, data)))
            else {
                continue;
            };
            let text = self.text_index(key, data);
            text.search(&term, |value| {
                // Most matches are held by one entity, known to the text index; looking each
                // one up in a map of 100,000 values was most of a search's time.
                if let Some(ordinal) = text.single_holder(value) {
                    single.push(ordinal);
                    return;
                }
                if let Some(holders) = data.values.get(text.originals[value]) {
                    match holders.single() {
                        Some(ordinal) => single.push(ordinal),
                        None => holders.union_into(&mut result),
                    }
                }
            });
        }
        single.sort_unstable();
        single.dedup();
        if let Ok(singles) = RoaringBitmap::from_sorted_iter(single) {
            result |= singles;
        }
        result
    }

    /// The substring index of a key's values, built on first use and cached until the key's
    /// set of values changes. The cache lock is not held while building.
    fn text_index(&self, key: u32, data: &KeyData) -> Arc<TextIndex> {
        let cached = self.caches.lock().unwrap_or_else(PoisonError::into_inner).text.get(&key).cloned();
        if let Some(text) = cached {
            return text;
        }
        let mut single_holders = Vec::new();
        let mut built = TextIndex::build(data.values.iter().map(|(original, holders)| {
            single_holders.push(holders.single().unwrap_or(NONE));
            (original, self.values.get(self.case.lower(original)))
        }));
        built.single_holders = single_holders;
        let built = Arc::new(built);
        // Only `&mut self` changes the values, so a concurrent build produced the same index.
        self.caches.lock().unwrap_or_else(PoisonError::into_inner).text.insert(key, built.clone());
        built
    }

    /// The first (lowercased) value of `key` of an entity.
    pub(super) fn sort_value(&self, ordinal: u32, key: Option<u32>) -> Option<&str> {
        let key = key?;
        let row = self.rows_of(ordinal, key).first()?;
        (row.original != NONE).then(|| self.values.get(self.case.lower(row.original)))
    }

    /// Ordered listing (the `GET /entities` model): the entities of `set`, ordered by `order`
    /// (ties by uid ascending) or by canonical ref when `order` is empty, skipping `offset` and
    /// returning at most `limit`. The flag tells whether more entities follow.
    pub fn list(
        &self,
        set: &RoaringBitmap,
        order: &[SortKey],
        offset: usize,
        limit: Option<usize>,
    ) -> (Vec<u32>, bool) {
        let take = limit.map_or(usize::MAX, |l| l.saturating_add(1));
        let mut ordinals: Vec<u32> = if order.is_empty() {
            if set.len() as usize * 8 < self.by_ref.len() {
                // Sparse: sorting the few matches beats walking every ref.
                let mut keyed: Vec<(&str, u32)> =
                    set.iter().filter_map(|o| self.entity(o).map(|e| (e.entity_ref, o))).collect();
                keyed.sort_unstable();
                keyed.into_iter().skip(offset).take(take).map(|(_, o)| o).collect()
            } else {
                self.by_ref.values().filter(|&&o| set.contains(o)).skip(offset).take(take).copied().collect()
            }
        } else {
            let key_ids: Vec<Option<u32>> = order.iter().map(|o| self.key_id(&o.field)).collect();
            let mut keyed: Vec<(Vec<Option<&str>>, &str, u32)> = set
                .iter()
                .map(|o| {
                    let values = key_ids.iter().map(|&k| self.sort_value(o, k)).collect();
                    (values, self.uid_of(o), o)
                })
                .collect();
            keyed.sort_unstable_by(|a, b| {
                for (i, sort) in order.iter().enumerate() {
                    let ordering = compare_keyed((a.0[i], ""), (b.0[i], ""), sort.direction);
                    if ordering != Ordering::Equal {
                        return ordering;
                    }
                }
                a.1.cmp(b.1)
            });
            keyed.into_iter().skip(offset).take(take).map(|(_, _, o)| o).collect()
        };
        let has_more = limit.is_some_and(|l| ordinals.len() > l);
        if has_more {
            ordinals.pop();
        }
        (ordinals, has_more)
    }

    /// One keyset page (the by-query model) over `set`. Forward pages return up to
    /// `limit + 1` entities (the extra one tells that more follow); backward pages return up
    /// to `limit`, in result order.
    pub fn page(&self, set: &RoaringBitmap, request: &PageRequest) -> Vec<u32> {
        let direction = request.order.as_ref().map_or(Direction::Asc, |o| o.direction);
        let wanted = if request.backwards {
            request.limit
        } else {
            request.offset.saturating_add(request.limit).saturating_add(1)
        };
        let skip = if request.backwards { 0 } else { request.offset };
        if wanted == 0 {
            return Vec::new();
        }
        let after = request.after.as_ref().map(|p| (p.value.as_deref(), p.uid.as_str()));
        let wanted_side = if request.backwards { Ordering::Less } else { Ordering::Greater };

        if request.order.is_none() && set.len() as usize * 8 >= self.by_uid.len() {
            // Dense set in uid order: walk the uid tree from the cursor while matches keep
            // coming. Uids are time-ordered, so entities ingested together sit together: the
            // components of a catalog read after its users and APIs come last, and a walk would
            // step over every other entity first (53,000 at 100,000). Past a few steps per match
            // expected, the page is placed by the order of all uids instead.
            let from = after.map(|(_, uid)| uid);
            let budget = wanted
                .saturating_mul(UID_WALK_STEPS_PER_MATCH)
                .saturating_mul((self.by_uid.len() / (set.len() as usize).max(1)).max(1))
                + UID_WALK_MIN_STEPS;
            if let Some(page) = self.walk_uids(set, request.backwards, from, skip, wanted - skip, budget) {
                return page;
            }
            if let Some(order) = self.sort_order(UID_ORDER, set.len()) {
                return self.page_in_order(set, request, &order, Direction::Asc, wanted, skip);
            }
            return self
                .walk_uids(set, request.backwards, from, skip, wanted - skip, usize::MAX)
                .unwrap_or_default();
        }

        let key = request.order.as_ref().and_then(|o| self.key_id(&o.field));
        if let Some(order) = key.and_then(|key| self.sort_order(key, set.len())) {
            return self.page_in_order(set, request, &order, direction, wanted, skip);
        }
        let mut keyed: Vec<Keyed<'_>> = set
            .iter()
            .map(|o| Keyed { value: self.sort_value(o, key), uid: self.uid_of(o), ordinal: o })
            .filter(|k| after.is_none_or(|a| compare_keyed((k.value, k.uid), a, direction) == wanted_side))
            .collect();
        let cmp = |a: &Keyed<'_>, b: &Keyed<'_>| {
            let ordering = compare_keyed((a.value, a.uid), (b.value, b.uid), direction);
            if request.backwards { ordering.reverse() } else { ordering }
        };
        if keyed.len() > wanted {
            keyed.select_nth_unstable_by(wanted - 1, cmp);
            keyed.truncate(wanted);
        }
        keyed.sort_unstable_by(cmp);
        let mut page: Vec<u32> = keyed.into_iter().skip(skip).map(|k| k.ordinal).collect();
        if request.backwards {
            page.reverse();
        }
        page
    }

    /// Up to `take` members of `set` in uid order after (or, `backwards`, before) the uid
    /// `from`, having skipped `skip` of them; `None` when `budget` entities were looked at
    /// before the page was complete.
    fn walk_uids(
        &self,
        set: &RoaringBitmap,
        backwards: bool,
        from: Option<&str>,
        skip: usize,
        take: usize,
        budget: usize,
    ) -> Option<Vec<u32>> {
        use std::ops::Bound::{Excluded, Unbounded};
        let bound = from.map_or(Unbounded, Excluded);
        let walk: Box<dyn Iterator<Item = &u32>> = if backwards {
            Box::new(self.by_uid.range::<str, _>((Unbounded, bound)).rev().map(|(_, o)| o))
        } else {
            Box::new(self.by_uid.range::<str, _>((bound, Unbounded)).map(|(_, o)| o))
        };
        let mut page = Vec::with_capacity(take.min(1024));
        let mut skipped = 0;
        for (steps, &ordinal) in walk.enumerate() {
            if page.len() == take {
                break;
            }
            if steps == budget {
                return None;
            }
            if !set.contains(ordinal) {
                continue;
            }
            if skipped < skip {
                skipped += 1;
            } else {
                page.push(ordinal);
            }
        }
        if backwards {
            page.reverse();
        }
        Some(page)
    }

    /// [`ReadIndex::page`] with the order of all entities under the sort key at hand: the
    /// matches are placed by integer lookups instead of string comparisons.
    fn page_in_order(
        &self,
        set: &RoaringBitmap,
        request: &PageRequest,
        order: &SortOrder,
        direction: Direction,
        wanted: usize,
        skip: usize,
    ) -> Vec<u32> {
        let after = request.after.as_ref().map(|cursor| {
            let boundary = order.boundary(self, (cursor.value.as_deref(), &cursor.uid));
            order.cursor_place(boundary, direction)
        });
        // Forward pages take the first places, backward pages the last ones before the cursor:
        // the `wanted` smallest keys, kept in a max-heap while the matches stream past, so most
        // matches cost one comparison and nothing is collected.
        let key_of = |place: i64| if request.backwards { -place } else { place };
        let mut best: BinaryHeap<(i64, u32)> = BinaryHeap::with_capacity(wanted + 1);
        for ordinal in set {
            let Some(place) = order.place(ordinal, direction) else { continue };
            let beyond_cursor = match after {
                None => true,
                Some(cursor) if request.backwards => place < cursor,
                Some(cursor) => place > cursor,
            };
            if !beyond_cursor {
                continue;
            }
            let key = key_of(place);
            if best.len() < wanted {
                best.push((key, ordinal));
            } else if let Some(mut worst) = best.peek_mut()
                && key < worst.0
            {
                *worst = (key, ordinal);
            }
        }
        let mut placed: Vec<(i64, u32)> =
            best.into_iter().map(|(key, ordinal)| (key_of(key), ordinal)).collect();
        placed.sort_unstable_by_key(|&(place, _)| place);
        if request.backwards {
            placed.into_iter().map(|(_, ordinal)| ordinal).collect()
        } else {
            placed.into_iter().skip(skip).map(|(_, ordinal)| ordinal).collect()
        }
    }

    /// The order of all entities under `key`, when it is cached, or else when a request over
    /// `matches` entities is costly to sort and a request already asked for the order with
    /// nothing changed since; `None` sends the request down the sorting path.
    fn sort_order(&self, key: u32, matches: u64) -> Option<Arc<SortOrder>> {
        {
            let mut caches = self.caches.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(order) = caches.orders.get(&key) {
                return Some(order.clone());
            }
            if matches < ORDER_WORTH_KEEPING
                || caches.orders_wanted.insert(key, self.changes) != Some(self.changes)
            {
                return None;
            }
        }
        let built = Arc::new(SortOrder::build(self, key));
        // Only `&mut self` changes the index, so a concurrent build produced the same order.
        self.caches.lock().unwrap_or_else(PoisonError::into_inner).orders.insert(key, built.clone());
        Some(built)
    }

    /// The keyset position of an entity under a sort field (see [`PageRequest`]).
    pub fn position(&self, ordinal: u32, order: Option<&SortKey>) -> Position {
        let value = order.and_then(|o| self.sort_value(ordinal, self.key_id(&o.field)));
        Position { value: value.map(str::to_owned), uid: self.uid_of(ordinal).to_owned() }
    }

    /// Facet counts of one key (matched lowercased) over `set`: one entry per distinct
    /// original-case value, null values excluded, in no particular order.
    pub fn facet(&self, key: &str, set: &RoaringBitmap) -> Vec<FacetCount<'_>> {
        let Some(data) = self.key_id(&key.to_lowercase()).and_then(|k| self.key_data.get(k as usize)) else {
            return Vec::new();
        };
        let everything = set.len() == self.live.len();
        data.values
            .iter()
            .filter_map(|(original, holders)| {
                let count = if everything { holders.len() } else { holders.intersection_len(set) };
                (count > 0).then(|| FacetCount { value: self.values.get(original), count })
            })
            .collect()
    }

    /// Appends the facet counts of [`ReadIndex::facet`] as a JSON array of
    /// `{"value":…,"count":…}` objects. Over all entities the text is cached per key until the
    /// key changes, so repeated unfiltered facet requests cost a copy.
    pub fn write_facet_json(&self, key: &str, set: &RoaringBitmap, out: &mut String) {
        let key_id = self.key_id(&key.to_lowercase());
        let everything = set.len() == self.live.len();
        if let (true, Some(key_id)) = (everything, key_id) {
            let cached =
                self.caches.lock().unwrap_or_else(PoisonError::into_inner).facets.get(&key_id).cloned();
            let json = cached.unwrap_or_else(|| {
                let mut text = String::new();
                write_facets(&self.facet(key, set), &mut text);
                let text: Arc<str> = Arc::from(text);
                self.caches
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .facets
                    .insert(key_id, text.clone());
                text
            });
            out.push_str(&json);
        } else {
            write_facets(&self.facet(key, set), out);
        }
    }
    /// The entities with these canonical refs (compared verbatim), `None` where there is none
    /// or it is not in `set`.
    pub fn by_refs<'a>(
        &'a self,
        refs: impl IntoIterator<Item = &'a str>,
        set: Option<&RoaringBitmap>,
    ) -> Vec<Option<EntityView<'a>>> {
        refs.into_iter()
            .map(|r| self.by_ref(r).filter(|e| set.is_none_or(|s| s.contains(e.ordinal))))
            .collect()
    }
}

/// Writes facet counts as a JSON array.
fn write_facets(counts: &[FacetCount<'_>], out: &mut String) {
    use std::fmt::Write as _;
    out.push('[');
    for (i, count) in counts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"value\":");
        push_json_string(out, count.value);
        let _ = write!(out, ",\"count\":{}}}", count.count);
    }
    out.push(']');
}

/// Appends a JSON string literal; plain text (the common case) is copied without the encoder.
pub(crate) fn push_json_string(out: &mut String, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        match serde_json::to_string(text) {
            Ok(quoted) => out.push_str(&quoted),
            Err(_) => out.push_str("\"\""),
        }
    }
}
