//! A string interner backed by one arena.
//!
//! Every distinct key and value the index sees is stored once, as a span of a single growing
//! `String`, and named by a `u32` id. Compared with a map of boxed strings this saves the
//! per-string allocation and pointer overhead, which dominates the memory of an index whose
//! values are mostly short and unique (names, uids, annotation values).
//!
//! Strings are never removed: an id stays valid for the life of the interner. Churn in distinct
//! values therefore grows the arena slowly; a full reload ([`super::ReadIndex::load`]) starts
//! from an empty one.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

/// Marks "no string" in id slots (a null value).
pub(crate) const NONE: u32 = u32::MAX;

#[derive(Debug, Default)]
pub(crate) struct Strings {
    arena: String,
    /// `(start, len)` into `arena`, by id.
    spans: Vec<(u32, u32)>,
    /// Hash of the string → the most recently interned id with that hash; earlier ids with the
    /// same hash are chained through `next`.
    heads: HashMap<u64, u32>,
    next: Vec<u32>,
    hasher: BuildHasherDefault<DefaultHasher>,
}

impl Strings {
    fn hash(&self, text: &str) -> u64 {
        self.hasher.hash_one(text)
    }

    /// The text of an id handed out by this interner.
    pub(crate) fn get(&self, id: u32) -> &str {
        let (start, len) = self.spans[id as usize];
        &self.arena[start as usize..(start + len) as usize]
    }

    /// The id of `text`, if it was interned.
    pub(crate) fn lookup(&self, text: &str) -> Option<u32> {
        let mut id = *self.heads.get(&self.hash(text))?;
        while id != NONE {
            if self.get(id) == text {
                return Some(id);
            }
            id = self.next[id as usize];
        }
        None
    }

    /// The id of `text`, interning it first if needed.
    pub(crate) fn intern(&mut self, text: &str) -> u32 {
        let hash = self.hash(text);
        let head = self.heads.get(&hash).copied().unwrap_or(NONE);
        let mut id = head;
        while id != NONE {
            if self.get(id) == text {
                return id;
            }
            id = self.next[id as usize];
        }
        let new_id = u32::try_from(self.spans.len()).unwrap_or(NONE - 1);
        let start = u32::try_from(self.arena.len()).unwrap_or(u32::MAX);
        self.arena.push_str(text);
        self.spans.push((start, text.len() as u32));
        self.next.push(head);
        self.heads.insert(hash, new_id);
        new_id
    }

    /// Bytes held, for memory diagnostics.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.spans.capacity() * 8
            + self.next.capacity() * 4
            + self.heads.capacity() * 13
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_idempotent_and_lookup_finds_only_interned() {
        let mut strings = Strings::default();
        let a = strings.intern("component");
        let b = strings.intern("Component");
        assert_ne!(a, b);
        assert_eq!(strings.intern("component"), a);
        assert_eq!(strings.get(b), "Component");
        assert_eq!(strings.lookup("component"), Some(a));
        assert_eq!(strings.lookup("api"), None);
        assert_eq!(strings.intern(""), strings.lookup("").unwrap_or(NONE));
    }
}
