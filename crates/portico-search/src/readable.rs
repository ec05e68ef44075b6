//! Read permission inside the index query: a collector that lets only the documents a caller
//! may read reach the collectors that rank, page and count. Totals, pages, ranks and cursors
//! thus never include a document the caller may not see, and no page has a hole.
//!
//! A document's `authorization.resourceRef` is a fast field, so the check reads one term
//! ordinal per matching document and asks the caller's [`ReadableRef`] once per distinct ref
//! and segment, never loading a stored document.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

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
        let refs = segment.fast_fields().str(RESOURCE_REF_FIELD)?;
        let decided = vec![Decided::Unknown; refs.as_ref().map_or(0, |refs| refs.dictionary().num_terms())];
        Ok(ReadableOnlySegment {
            inner: self.inner.for_segment(segment_ord, segment)?,
            refs,
            readable: self.readable.clone(),
            decided,
            scratch: String::new(),
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

/// What the caller's test answered for one ref of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decided {
    Unknown,
    Readable,
    Hidden,
}

/// [`ReadableOnly`] within one segment.
pub(crate) struct ReadableOnlySegment<S> {
    inner: S,
    /// The segment's resource refs; `None` when no document of the segment has one.
    refs: Option<StrColumn>,
    readable: ReadableRef,
    /// The answer per term ordinal of `refs`, filled as refs are met.
    decided: Vec<Decided>,
    scratch: String,
}

impl<S> ReadableOnlySegment<S> {
    fn is_readable(&mut self, doc: DocId) -> bool {
        let Some(refs) = &self.refs else { return true };
        let Some(ordinal) = refs.ords().first(doc) else { return true };
        let Some(decided) = self.decided.get_mut(ordinal as usize) else { return false };
        if *decided == Decided::Unknown {
            // A ref that cannot be read back is hidden rather than guessed at.
            let known = refs.ord_to_str(ordinal, &mut self.scratch).unwrap_or(false);
            *decided =
                if known && (self.readable)(&self.scratch) { Decided::Readable } else { Decided::Hidden };
        }
        *decided == Decided::Readable
    }
}

impl<S: SegmentCollector> SegmentCollector for ReadableOnlySegment<S> {
    type Fruit = S::Fruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.is_readable(doc) {
            self.inner.collect(doc, score);
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.inner.harvest()
    }
}
