//! A string interner backed by one arena.
//!
//! Every distinct key and value the index sees is stored once, as a span of a single growing
//! `String`, and named by a `u32` id. Compared with a map of boxed strings this saves the
//! per-string allocation and pointer overhead, which dominates the memory of an index whose
//! values are mostly short and unique (names, uids, annotation values).
//!
//! Lookup goes through an open-addressed table of `(hash, id)` words: eight bytes a slot, no
//! per-entry allocation, and the stored hash bits settle most probes without touching the
//! arena.
//!
//! Strings are never removed: an id stays valid for the life of the interner. Churn in distinct
//! values therefore grows the arena slowly; a full reload ([`super::ReadIndex::load`]) starts
//! from an empty one.

/// Marks "no string" in id slots (a null value).
pub(crate) const NONE: u32 = u32::MAX;

/// An empty table slot.
const EMPTY: u64 = u64::MAX;

#[derive(Debug, Default)]
pub(crate) struct Strings {
    arena: String,
    /// `(start, len)` into `arena`, by id.
    spans: Vec<(u32, u32)>,
    /// Open-addressed (linear probing) table; each slot is `high 32 hash bits << 32 | id`, or
    /// `EMPTY`. Its length is a power of two, kept at most 7/8 full.
    table: Vec<u64>,
}

/// A fast non-cryptographic hash of a byte string (the values are not attacker-chosen keys of
/// a shared service map, and a bad distribution only costs probes).
fn hash(text: &str) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes = text.as_bytes();
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    // Murmur3 finalizer: both the low bits (slot) and the high bits (tag) must be well mixed.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

impl Strings {
    /// The text of an id handed out by this interner.
    pub(crate) fn get(&self, id: u32) -> &str {
        let (start, len) = self.spans[id as usize];
        &self.arena[start as usize..(start + len) as usize]
    }

    /// Number of interned strings.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// The slot holding `text`, or the empty slot where it would go.
    fn find_slot(&self, text: &str, h: u64) -> (usize, Option<u32>) {
        let mask = self.table.len() - 1;
        let tag = h >> 32;
        let mut slot = h as usize & mask;
        loop {
            let word = self.table[slot];
            if word == EMPTY {
                return (slot, None);
            }
            let id = word as u32;
            if word >> 32 == tag && self.get(id) == text {
                return (slot, Some(id));
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The id of `text`, if it was interned.
    pub(crate) fn lookup(&self, text: &str) -> Option<u32> {
        if self.table.is_empty() {
            return None;
        }
        self.find_slot(text, hash(text)).1
    }

    /// The id of `text`, interning it first if needed; the flag tells whether it is new.
    pub(crate) fn intern_new(&mut self, text: &str) -> (u32, bool) {
        if (self.spans.len() + 1) * 8 > self.table.len() * 7 {
            self.grow();
        }
        let h = hash(text);
        let (slot, found) = self.find_slot(text, h);
        if let Some(id) = found {
            return (id, false);
        }
        let id = u32::try_from(self.spans.len()).unwrap_or(NONE - 1);
        let start = u32::try_from(self.arena.len()).unwrap_or(u32::MAX);
        self.arena.push_str(text);
        self.spans.push((start, text.len() as u32));
        self.table[slot] = ((h >> 32) << 32) | u64::from(id);
        (id, true)
    }

    /// The id of `text`, interning it first if needed.
    pub(crate) fn intern(&mut self, text: &str) -> u32 {
        self.intern_new(text).0
    }

    fn grow(&mut self) {
        let size = (self.table.len() * 2).max(64);
        let mut table = vec![EMPTY; size];
        let mask = size - 1;
        for id in 0..self.spans.len() as u32 {
            let h = hash(self.get(id));
            let mut slot = h as usize & mask;
            while table[slot] != EMPTY {
                slot = (slot + 1) & mask;
            }
            table[slot] = ((h >> 32) << 32) | u64::from(id);
        }
        self.table = table;
    }

    /// Releases spare capacity (after a bulk load).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.arena.shrink_to_fit();
        self.spans.shrink_to_fit();
    }

    /// Bytes held, for memory diagnostics.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.arena.capacity() + self.spans.capacity() * 8 + self.table.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_idempotent_and_lookup_finds_only_interned() {
        let mut strings = Strings::default();
        assert_eq!(strings.lookup("component"), None);
        let a = strings.intern("component");
        let b = strings.intern("Component");
        assert_ne!(a, b);
        assert_eq!(strings.intern("component"), a);
        assert_eq!(strings.get(b), "Component");
        assert_eq!(strings.lookup("component"), Some(a));
        assert_eq!(strings.lookup("api"), None);
        assert_eq!(strings.intern(""), strings.lookup("").unwrap_or(NONE));
    }

    #[test]
    fn survives_growth() {
        let mut strings = Strings::default();
        let ids: Vec<u32> = (0..5000).map(|i| strings.intern(&format!("value-{i}"))).collect();
        assert_eq!(strings.len(), 5000);
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(strings.lookup(&format!("value-{i}")), Some(*id));
            assert_eq!(strings.get(*id), format!("value-{i}"));
        }
        assert_eq!(strings.intern_new("value-17"), (ids[17], false));
    }
}
