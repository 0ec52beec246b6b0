//! Chapter 7: [`map_chunks`], CPU work spread over the executor pool.
//!
//! The reference answer (compiled with `--features solutions`); the
//! learner's starter is `guides/src/exercises/ch07.rs`, with the same contract.

use weft::{fiber, ExecutorPool};

/// Cuts `data` into chunks of `chunk_len` items (the last may be shorter),
/// runs `f` on every chunk on `pool`'s worker threads, all chunks at the
/// same time, and returns the results in chunk order.
///
/// Contract:
/// - `f` runs on the pool's threads, never on the caller's;
/// - every chunk is submitted before any has to finish (chunks may wait
///   for each other);
/// - result `i` is `f` of chunk `i`; no data: no results;
/// - a panic in `f` is re-raised in the caller;
/// - panics if `chunk_len` is 0.
///
/// ```
/// use weft_guide::exercises::ch07::map_chunks;
///
/// weft::run(|env| {
///     let data: Vec<u32> = (1..=10).collect();
///     let sums = map_chunks(&env.executor_pool(), &data, 4, |c| c.iter().sum::<u32>());
///     assert_eq!(sums, [10, 26, 19]);
/// });
/// ```
pub fn map_chunks<T, U, F>(pool: &ExecutorPool, data: &[T], chunk_len: usize, f: F) -> Vec<U>
where
    T: Sync,
    U: Send + 'static,
    F: Fn(&[T]) -> U + Sync,
{
    assert!(chunk_len > 0, "map_chunks needs chunk_len >= 1");
    let f = &f;
    // One fiber per chunk, each waiting for its job: the jobs run in
    // parallel on the workers. `submit` may lend `chunk` and `f` because
    // it waits for the job even when cancelled.
    fiber::all(
        data.chunks(chunk_len)
            .map(|chunk| move || pool.submit(move || f(chunk))),
    )
}
