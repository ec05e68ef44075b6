//! Substring search over the distinct lowercased values of one key.
//!
//! The values are laid out as one `\0`-separated text, with a trigram posting index over it:
//! every trigram of every value is hashed into one of a power-of-two number of buckets, and
//! each bucket lists (in ascending order) the values having a trigram that hashes there. A
//! term of three bytes or more is looked up by taking the shortest bucket list among its
//! trigrams and checking each candidate value with a substring search; hash collisions only add
//! candidates, never lose matches. Shorter terms scan the whole text.
//!
//! Built on the first full-text query over a key and cached by the index until that key's set
//! of values changes.

use memchr::memmem;

use super::strings::NONE;

/// The searchable values of one key.
#[derive(Debug, Default)]
pub(crate) struct TextIndex {
    /// Lowercased values, each followed by `\0`.
    text: String,
    /// Start offset of each value in `text`, plus the end of the text.
    starts: Vec<u32>,
    /// The original value id of each value.
    pub(crate) originals: Vec<u32>,
    /// The one entity holding each value, or `NONE` when several do (filled by the index,
    /// which drops this text index when a value gains a holder).
    pub(crate) single_holders: Vec<u32>,
    /// `buckets + 1` offsets into `postings`.
    offsets: Vec<u32>,
    /// Value indices, grouped by bucket.
    postings: Vec<u32>,
}

/// Values up to this many bytes are checked window by window rather than with `memmem`.
const SHORT_VALUE: usize = 64;

fn bucket(gram: &[u8], mask: usize) -> usize {
    let word = u32::from(gram[0]) | u32::from(gram[1]) << 8 | u32::from(gram[2]) << 16;
    (word.wrapping_mul(0x9e37_79b1) >> 8) as usize & mask
}

impl TextIndex {
    /// Indexes `(original id, lowercased text)` pairs.
    pub(crate) fn build<'a>(values: impl Iterator<Item = (u32, &'a str)>) -> Self {
        let mut index = TextIndex::default();
        for (original, lower) in values {
            index.starts.push(index.text.len() as u32);
            index.originals.push(original);
            index.text.push_str(lower);
            index.text.push('\0');
        }
        index.starts.push(index.text.len() as u32);
        let count = index.originals.len();
        let buckets = count.next_power_of_two().clamp(256, 1 << 16);
        let mask = buckets - 1;

        // Two passes (count, then fill) so the postings are one exact allocation.
        let mut grams: Vec<usize> = Vec::with_capacity(64);
        let mut counts = vec![0u32; buckets + 1];
        for value in 0..count {
            index.value_buckets(value, mask, &mut grams);
            for &b in &grams {
                counts[b + 1] += 1;
            }
        }
        for b in 0..buckets {
            counts[b + 1] += counts[b];
        }
        let mut fill = counts.clone();
        index.postings = vec![0; counts[buckets] as usize];
        for value in 0..count {
            index.value_buckets(value, mask, &mut grams);
            for &b in &grams {
                index.postings[fill[b] as usize] = value as u32;
                fill[b] += 1;
            }
        }
        index.offsets = counts;
        index
    }

    /// The one entity holding a value, when the index recorded one.
    pub(crate) fn single_holder(&self, value: usize) -> Option<u32> {
        self.single_holders.get(value).copied().filter(|&ordinal| ordinal != NONE)
    }

    fn value(&self, value: usize) -> &[u8] {
        &self.text.as_bytes()[self.starts[value] as usize..self.starts[value + 1] as usize - 1]
    }

    /// The distinct buckets of one value's trigrams.
    fn value_buckets(&self, value: usize, mask: usize, out: &mut Vec<usize>) {
        out.clear();
        out.extend(self.value(value).windows(3).map(|g| bucket(g, mask)));
        out.sort_unstable();
        out.dedup();
    }

    /// Calls `found` with the index of every value containing `term` (lowercased, no `\0`),
    /// each once, in ascending order.
    pub(crate) fn search(&self, term: &str, mut found: impl FnMut(usize)) {
        let finder = memmem::Finder::new(term.as_bytes());
        let buckets = self.offsets.len() - 1;
        if term.len() < 3 || buckets == 0 {
            // Too short for a trigram: scan the whole text.
            let mut last = usize::MAX;
            for at in finder.find_iter(self.text.as_bytes()) {
                let value = self.starts.partition_point(|&start| start as usize <= at) - 1;
                if value != last {
                    last = value;
                    found(value);
                }
            }
            return;
        }
        let mask = buckets - 1;
        let list = |b: usize| &self.postings[self.offsets[b] as usize..self.offsets[b + 1] as usize];
        let Some(shortest) =
            term.as_bytes().windows(3).map(|g| list(bucket(g, mask))).min_by_key(|l| l.len())
        else {
            return;
        };
        let needle = term.as_bytes();
        for &value in shortest {
            let value_text = self.value(value as usize);
            // Names and titles are short: comparing their windows directly is cheaper than
            // starting a vectorised search in each of thousands of candidates.
            let contains = if value_text.len() <= SHORT_VALUE {
                value_text.windows(needle.len()).any(|window| window == needle)
            } else {
                finder.find(value_text).is_some()
            };
            if contains {
                found(value as usize);
            }
        }
    }

    /// Bytes held, for memory diagnostics.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + (self.starts.capacity()
                + self.originals.capacity()
                + self.single_holders.capacity()
                + self.offsets.capacity()
                + self.postings.capacity())
                * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(index: &TextIndex, term: &str) -> Vec<u32> {
        let mut out = Vec::new();
        index.search(term, |v| out.push(index.originals[v]));
        out
    }

    #[test]
    fn finds_every_value_containing_the_term() {
        let values: Vec<String> = (0..2000).map(|i| format!("svc-{i:04}-payments")).collect();
        let index = TextIndex::build(values.iter().enumerate().map(|(i, v)| (i as u32, v.as_str())));
        for term in ["payments", "0042", "4-p", "-", "s", "svc-1999-payments", "zzz", "svc-2000"] {
            let expected: Vec<u32> = (0..2000).filter(|&i| values[i as usize].contains(term)).collect();
            assert_eq!(found(&index, term), expected, "{term}");
        }
    }

    #[test]
    fn long_values_are_searched_as_well_as_short_ones() {
        // Short values are checked window by window, long ones with memmem; both must agree
        // with a plain substring test, at the start, middle and end of a value.
        let values: Vec<String> = (0..500)
            .map(|i| {
                let filler = "x".repeat(i % 3 * 40);
                match i % 4 {
                    0 => format!("ledger-{i}{filler}"),
                    1 => format!("{filler}-ledger-{i}"),
                    2 => format!("{filler}{i}-ledge"),
                    _ => format!("{i}{filler}ledger"),
                }
            })
            .collect();
        assert!(
            values.iter().any(|v| v.len() > SHORT_VALUE) && values.iter().any(|v| v.len() <= SHORT_VALUE)
        );
        let index = TextIndex::build(values.iter().enumerate().map(|(i, v)| (i as u32, v.as_str())));
        for term in ["ledger", "ledge", "r-1", "xxl", "x-l", "99-ledge"] {
            let expected: Vec<u32> = (0..500).filter(|&i| values[i as usize].contains(term)).collect();
            assert_eq!(found(&index, term), expected, "{term}");
        }
    }

    #[test]
    fn empty_and_tiny_indexes() {
        let empty = TextIndex::build(std::iter::empty());
        assert!(found(&empty, "abc").is_empty());
        let one = TextIndex::build([(7, "ab")].into_iter());
        assert_eq!(found(&one, "ab"), vec![7]);
        assert!(found(&one, "abc").is_empty());
    }
}
