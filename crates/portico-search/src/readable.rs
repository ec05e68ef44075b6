//! Read permission inside the index query: a collector that lets only the documents a caller
//! may read reach the collectors that rank, page and count. Totals, pages, ranks and cursors
//! thus never include a document the caller may not see, and no page has a hole.
//!
//! A document's `authorization.resourceRef` is a fast field. Within a segment the matches are
//! gathered first; their distinct refs are then read from the segment's dictionary in one
//! ordered pass (a lookup per ref would decode a dictionary block each time) and asked of the
//! caller's [`ReadableRef`] once each; the readable matches are handed on in their original
//! order. No stored document is loaded.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::{BitSet, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::api::ReadableRef;
use crate::index::RESOURCE_REF_FIELD;

/// `inner`, collecting only readable documents: those without a resource ref, and those
/// whose ref `readable` allows.
pub(crate) struct ReadableOnly<C> {
    inner: C,
    readable: ReadableRef,
}

impl<C> ReadableOnly<C> {
    pub(crate) fn new(inner: C, readable: ReadableRef) -> ReadableOnly<C> {
        ReadableOnly { inner, readable }
    }
}

impl<C: Collector> Collector for ReadableOnly<C> {
    type Fruit = C::Fruit;
    type Child = ReadableOnlySegment<C::Child>;

    fn for_segment(
        &self,
        segment_ord: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(ReadableOnlySegment {
            inner: self.inner.for_segment(segment_ord, segment)?,
            refs: segment.fast_fields().str(RESOURCE_REF_FIELD)?,
            readable: self.readable.clone(),
            matches: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.inner.requires_scoring()
    }

    fn merge_fruits(
        &self,
        segment_fruits: Vec<<Self::Child as SegmentCollector>::Fruit>,
    ) -> tantivy::Result<Self::Fruit> {
        self.inner.merge_fruits(segment_fruits)
    }
}

/// A match of the segment, waiting for its ref to be decided.
struct Match {
    doc: DocId,
    score: Score,
    /// The term ordinal of its resource ref; `None` for a document without one.
    ref_ordinal: Option<u64>,
}

/// [`ReadableOnly`] within one segment.
pub(crate) struct ReadableOnlySegment<S> {
    inner: S,
    /// The segment's resource refs; `None` when no document of the segment has one.
    refs: Option<StrColumn>,
    readable: ReadableRef,
    matches: Vec<Match>,
}

impl<S> ReadableOnlySegment<S> {
    /// The term ordinals of the refs the caller may read, among those of the matches; `None`
    /// when the refs cannot be read back, so that no document with a ref is shown.
    fn readable_ordinals(&self, refs: &StrColumn) -> Option<BitSet> {
        let mut ordinals: Vec<u64> = self.matches.iter().filter_map(|m| m.ref_ordinal).collect();
        ordinals.sort_unstable();
        ordinals.dedup();
        let mut readable = BitSet::with_max_value(refs.dictionary().num_terms() as u32);
        let mut next = ordinals.iter();
        let read = refs.dictionary().sorted_ords_to_term_cb(&ordinals, |term| {
            let Some(&ordinal) = next.next() else { return };
            if std::str::from_utf8(term).is_ok_and(|entity_ref| (self.readable)(entity_ref)) {
                readable.insert(ordinal as u32);
            }
        });
        read.ok().map(|_| readable)
    }
}

impl<S: SegmentCollector> SegmentCollector for ReadableOnlySegment<S> {
    type Fruit = S::Fruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        let ref_ordinal = self.refs.as_ref().and_then(|refs| refs.ords().first(doc));
        self.matches.push(Match { doc, score, ref_ordinal });
    }

    fn harvest(mut self) -> Self::Fruit {
        let readable = self.refs.as_ref().and_then(|refs| self.readable_ordinals(refs));
        for Match { doc, score, ref_ordinal } in std::mem::take(&mut self.matches) {
            let shown = match ref_ordinal {
                None => true,
                Some(ordinal) => readable.as_ref().is_some_and(|set| set.contains(ordinal as u32)),
            };
            if shown {
                self.inner.collect(doc, score);
            }
        }
        self.inner.harvest()
    }
}
