//! Chapter 8: [`await_all`], `join_all` for direct-style code, through
//! weft-compat's bridge.
//!
//! The reference answer (compiled with `--features solutions`); the
//! learner's starter is `guides/src/exercises/ch08.rs`, with the same contract.

use std::future::Future;

use weft::fiber;
use weft_compat::await_future;

/// Waits for every future at the same time, each in its own fiber, and
/// returns their outputs in the order of `futures`.
///
/// Contract:
/// - all futures are in flight together (one may wait for another);
/// - output `i` is the output of future `i`, whatever order they finish
///   in;
/// - if one panics, the others are dropped (as tokio drops a future at its
///   `.await`) and the panic is re-raised once they are gone;
/// - must be called from a fiber; futures that need tokio (timers,
///   sockets) need `weft_compat::tokio::run` around it.
///
/// ```
/// use weft_guide::exercises::ch08::await_all;
///
/// let v = weft_compat::tokio::run(|_env| {
///     await_all([1u64, 2, 3].map(|n| async move {
///         tokio::time::sleep(std::time::Duration::from_millis(4 - n)).await;
///         n * 10
///     }))
/// });
/// assert_eq!(v, [10, 20, 30]);
/// ```
pub fn await_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    fiber::all(futures.into_iter().map(|fut| move || await_future(fut)))
}
