//! Chapter 1: [`gather`], fork fibers into a switch and collect their
//! results.
//!
//! This is your file: every exercise function below starts as `todo!()`.
//! Write its body to meet the contract in its documentation, then check
//! it with `cargo test -p weft-guide --test ch01` (or let
//! `cargo run -p weft-guide --bin exercises -- next` pick the exercise).
//! The reference answer is in `guides/solutions/ch01.rs`: try first.

// Until you write the bodies, their parameters are unused: the allow keeps
// the build quiet. Delete it when you are done; your answer should not need it.
#![allow(unused_variables, unused_mut)]

// You will probably want: std::cell::RefCell, weft::Switch.

/// Runs every job in `jobs` at the same time, each in its own fiber, and
/// returns their results in the order of `jobs` (not the order they
/// finish in).
///
/// Contract:
/// - all jobs are started before any of them has to finish (a job may
///   wait for the others);
/// - the result at index `i` is the value of job `i`;
/// - if a job panics, the other jobs are cancelled and `gather` panics
///   with the same payload once they have all finished;
/// - jobs may borrow from the caller (no `'static` bound);
/// - if the caller is cancelled (say, by a timeout around `gather`), the
///   jobs are cancelled and `gather` unwinds with that cancellation: it
///   neither returns nor panics.
///
/// Write it with [`Switch::run`] and [`Switch::fork`], not
/// `weft::fiber::all` (which is the answer).
///
/// ```
/// use std::time::Duration;
/// use weft_guide::exercises::ch01::gather;
///
/// weft::run(|_env| {
///     let words = ["ab", "c", "def"];
///     let lens = gather(words.iter().map(|w| move || {
///         weft::time::sleep(Duration::from_millis(w.len() as u64));
///         w.len()
///     }));
///     assert_eq!(lens, [2, 1, 3]);
/// });
/// ```
pub fn gather<T, F>(jobs: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: FnOnce() -> T,
{
    // TODO: run every job in its own fiber of one switch, and collect the results in input order.
    // Stuck? `cargo run -p weft-guide --bin exercises -- hint gather`
    todo!()
}
