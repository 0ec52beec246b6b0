//! Chapter 2: [`first_ok`], a race in which failures do not count.
//!
//! This is your file: every exercise function below starts as `todo!()`.
//! Write its body to meet the contract in its documentation, then check
//! it with `cargo test -p weft-guide --test ch02` (or let
//! `cargo run -p weft-guide --bin exercises -- next` pick the exercise).
//! The reference answer is in `guides/solutions/ch02.rs`: try first.

// Until you write the bodies, their parameters are unused: the allow keeps
// the build quiet. Delete it when you are done; your answer should not need it.
#![allow(unused_variables, unused_mut)]

// You will probably want: weft::fiber (`any`, `await_cancel`), std::cell::{Cell, RefCell}.

/// Runs every attempt at the same time and returns the value of the first
/// one to succeed, or every error if none does.
///
/// Contract:
/// - all attempts start at once;
/// - as soon as one returns `Ok(v)`, the others are cancelled (they unwind
///   from their blocking call, their destructors run) and `first_ok`
///   returns `Ok(v)` once they have finished unwinding;
/// - a failed attempt does not end the race;
/// - if every attempt fails, `first_ok` returns `Err` with all the errors
///   in the order of `attempts` (not the order they failed in);
/// - no attempts: `Err(vec![])`.
///
/// ```
/// use std::time::Duration;
/// use weft_guide::exercises::ch02::first_ok;
///
/// weft::run(|_env| {
///     let replicas = [(3, Ok("slow copy")), (1, Err("replica down")), (2, Ok("fast copy"))];
///     let r = first_ok(replicas.iter().map(|&(ms, answer)| move || {
///         weft::time::sleep(Duration::from_millis(ms));
///         answer
///     }));
///     assert_eq!(r, Ok("fast copy"));
/// });
/// ```
pub fn first_ok<T, E, F>(attempts: impl IntoIterator<Item = F>) -> Result<T, Vec<E>>
where
    F: FnOnce() -> Result<T, E>,
{
    // TODO: race the attempts; a failure records its error and does not end the race.
    // Stuck? `cargo run -p weft-guide --bin exercises -- hint first_ok`
    todo!()
}
