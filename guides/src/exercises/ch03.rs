//! Chapter 3: [`fetch_all`], bounded concurrency with a semaphore.
//!
//! This is your file: every exercise function below starts as `todo!()`.
//! Write its body to meet the contract in its documentation, then check
//! it with `cargo test -p weft-guide --test ch03` (or let
//! `cargo run -p weft-guide --bin exercises -- next` pick the exercise).
//! The reference answer is in `guides/solutions/ch03.rs`: try first.

// Until you write the bodies, their parameters are unused: the allow keeps
// the build quiet. Delete it when you are done; your answer should not need it.
#![allow(unused_variables, unused_mut)]

// You will probably want: weft::fiber (`try_all`), weft::sync::Semaphore.

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
    // TODO: one fiber per item, at most `max_in_flight` fetching at once, the first error cancels the rest.
    // Stuck? `cargo run -p weft-guide --bin exercises -- hint fetch_all`
    todo!()
}
