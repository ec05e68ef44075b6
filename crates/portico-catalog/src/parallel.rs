//! CPU-bound work spread over the machine's cores.

use std::num::NonZero;

/// Below this many items one thread does the work: starting threads costs more.
const MIN_ITEMS: usize = 64;

/// `items.map(f)` in order, computed in contiguous chunks on every core (a scoped thread per
/// chunk). For batches of parsing, flattening and stitching, which would otherwise hold one core
/// (and, for the read index, its write lock) while the other waits.
pub(crate) fn map_on_cores<T: Send, R: Send>(mut items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism().map_or(1, NonZero::get).min(8);
    if workers < 2 || items.len() < MIN_ITEMS {
        return items.into_iter().map(f).collect();
    }
    let per_worker = items.len().div_ceil(workers);
    let mut chunks = Vec::with_capacity(workers);
    while !items.is_empty() {
        let rest = items.split_off(per_worker.min(items.len()));
        chunks.push(std::mem::replace(&mut items, rest));
    }
    let f = &f;
    std::thread::scope(|scope| {
        let workers: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || chunk.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items() {
        for len in [0, 1, MIN_ITEMS - 1, MIN_ITEMS, 1_001] {
            let items: Vec<usize> = (0..len).collect();
            let doubled = map_on_cores(items, |n| n * 2);
            assert_eq!(doubled, (0..len).map(|n| n * 2).collect::<Vec<_>>(), "{len} items");
        }
    }
}
