//! The order of every entity under one sort key, kept for keyset pages over large sets.
//!
//! Sorting a page's matches compares strings of every match on every request; with the order
//! computed once, a request compares small integers instead. The order is derived from the
//! index, dropped on any change to the index, and only built for a key that a request found
//! missing with nothing changed since (see `ReadIndex::sort_order`), so requests made while a
//! burst of changes is applied never pay for a sort that is dropped again at once.

use super::ReadIndex;
use super::search::Direction;

/// Ascending order of all live entities under one key: first those with a value, by
/// (lowercased first value, uid), then those without one (or with a null value), by uid —
/// the order `compare_keyed` defines for ascending requests.
#[derive(Debug)]
pub(crate) struct SortOrder {
    /// The key id the entities are ordered by.
    key: u32,
    /// Ordinals in ascending order.
    sorted: Vec<u32>,
    /// Index into `sorted` of each ordinal (`u32::MAX` for free slots).
    rank: Vec<u32>,
    /// How many entities (at the start of `sorted`) have a value.
    present: u32,
}

/// Where a request's cursor falls in a [`SortOrder`]: the index of the first entity not before
/// it, whether that entity is the cursor's own, and whether the cursor has a value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Boundary {
    at: u32,
    exact: bool,
    present: bool,
}

impl SortOrder {
    pub(crate) fn build(index: &ReadIndex, key: u32) -> SortOrder {
        let mut with_value: Vec<(&str, &str, u32)> = Vec::new();
        let mut without_value: Vec<(&str, u32)> = Vec::new();
        for ordinal in index.live.iter() {
            let uid = index.uid_of(ordinal);
            match index.sort_value(ordinal, Some(key)) {
                Some(value) => with_value.push((value, uid, ordinal)),
                None => without_value.push((uid, ordinal)),
            }
        }
        with_value.sort_unstable();
        without_value.sort_unstable();
        let present = with_value.len() as u32;
        let sorted: Vec<u32> =
            with_value.iter().map(|&(_, _, o)| o).chain(without_value.iter().map(|&(_, o)| o)).collect();
        let mut rank = vec![u32::MAX; index.slots.len()];
        for (position, &ordinal) in sorted.iter().enumerate() {
            rank[ordinal as usize] = position as u32;
        }
        SortOrder { key, sorted, rank, present }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        (self.sorted.capacity() + self.rank.capacity()) * 4
    }

    /// Locates a cursor position `(value, uid)` among the entities of `index`.
    pub(crate) fn boundary(&self, index: &ReadIndex, cursor: (Option<&str>, &str)) -> Boundary {
        let present = self.present as usize;
        let (range, cursor_key) = match cursor.0 {
            Some(value) => (0..present, (value, cursor.1)),
            None => (present..self.sorted.len(), ("", cursor.1)),
        };
        let group = &self.sorted[range.clone()];
        let key_of =
            |ordinal: u32| (index.sort_value(ordinal, Some(self.key)).unwrap_or(""), index.uid_of(ordinal));
        let within = group.partition_point(|&o| key_of(o) < cursor_key);
        let exact = group.get(within).is_some_and(|&o| key_of(o) == cursor_key);
        Boundary { at: (range.start + within) as u32, exact, present: cursor.0.is_some() }
    }

    /// The place of an entity in a request's result order (`None` for a free slot). Doubled,
    /// so that a cursor between two entities has a place of its own (see [`Self::cursor_place`]).
    pub(crate) fn place(&self, ordinal: u32, direction: Direction) -> Option<i64> {
        let rank = *self.rank.get(ordinal as usize)?;
        (rank != u32::MAX).then(|| {
            let present = rank < self.present;
            self.doubled(rank, true, present, direction)
        })
    }

    /// The place of a cursor in a request's result order, comparable with [`Self::place`].
    pub(crate) fn cursor_place(&self, boundary: Boundary, direction: Direction) -> i64 {
        self.doubled(boundary.at, boundary.exact, boundary.present, direction)
    }

    /// Places are doubled indexes into the result order. Ascending, that is `sorted` itself;
    /// descending, each group (with a value, without one) is reversed and the group without a
    /// value stays last. A cursor that is not an entity sits just before the entity at `at`.
    fn doubled(&self, at: u32, exact: bool, present: bool, direction: Direction) -> i64 {
        let (start, size) = if present {
            (0, i64::from(self.present))
        } else {
            (i64::from(self.present), self.sorted.len() as i64 - i64::from(self.present))
        };
        let within = i64::from(at) - start;
        match (direction, exact) {
            (Direction::Asc, true) => 2 * (start + within),
            (Direction::Asc, false) => 2 * (start + within) - 1,
            (Direction::Desc, true) => 2 * (start + size - 1 - within),
            (Direction::Desc, false) => 2 * (start + size - within) - 1,
        }
    }
}
