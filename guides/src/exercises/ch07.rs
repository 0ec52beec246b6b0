//! Chapter 7: [`map_chunks`], CPU work spread over the executor pool.
//!
//! This is your file: every exercise function below starts as `todo!()`.
//! Write its body to meet the contract in its documentation, then check
//! it with `cargo test -p weft-guide --test ch07` (or let
//! `cargo run -p weft-guide --bin exercises -- next` pick the exercise).
//! The reference answer is in `guides/solutions/ch07.rs`: try first.

// Until you write the bodies, their parameters are unused: the allow keeps
// the build quiet. Delete it when you are done; your answer should not need it.
#![allow(unused_variables, unused_mut)]

use weft::ExecutorPool;

// You will probably want: weft::fiber (`all`).

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
    // TODO: one fiber per chunk, each submitting its chunk to `pool` and waiting for the result.
    // Stuck? `cargo run -p weft-guide --bin exercises -- hint map_chunks`
    todo!()
}
