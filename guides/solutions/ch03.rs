//! Chapter 3: [`fetch_all`], bounded concurrency with a semaphore.
//!
//! The reference answer (compiled with `--features solutions`); the
//! learner's starter is `guides/src/exercises/ch03.rs`, with the same contract.

use weft::fiber;
use weft::sync::Semaphore;

/// Calls `fetch` on every item, with at most `max_in_flight` calls
/// running at once, and returns the results in the order of `items`.
///
/// Contract:
/// - results are in input order, whatever order the calls end in;
/// - never more than `max_in_flight` calls run at the same time, and up
///   to that many do (it is not sequential);
/// - the first call to fail ends it: the calls still running are
///   cancelled (they unwind, their destructors run), items not yet
///   started are never fetched, and `fetch_all` returns that error;
/// - panics if `max_in_flight` is 0.
///
/// ```
/// use weft_guide::exercises::ch03::fetch_all;
///
/// weft::run(|_env| {
///     let sizes = fetch_all(["a", "bb", "ccc"], 2, |name| Ok::<_, String>(name.len()));
///     assert_eq!(sizes, Ok(vec![1, 2, 3]));
/// });
/// ```
pub fn fetch_all<I, T, E, F>(
    items: impl IntoIterator<Item = I>,
    max_in_flight: usize,
    fetch: F,
) -> Result<Vec<T>, E>
where
    F: Fn(I) -> Result<T, E>,
{
    assert!(max_in_flight > 0, "fetch_all needs max_in_flight >= 1");
    let permits = Semaphore::new(max_in_flight);
    // One fiber per item, each waiting for a permit before it fetches;
    // try_all cancels the others (waiting or fetching) on the first error.
    fiber::try_all(items.into_iter().map(|item| {
        let (permits, fetch) = (&permits, &fetch);
        move || {
            let _permit = permits.acquire().expect("the semaphore is never closed");
            fetch(item)
        }
    }))
}
