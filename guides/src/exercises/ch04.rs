//! Chapter 4: [`retry`], backoff with sleeps and a timeout per attempt.
//!
//! This is your file: every exercise function below starts as `todo!()`.
//! Write its body to meet the contract in its documentation, then check
//! it with `cargo test -p weft-guide --test ch04` (or let
//! `cargo run -p weft-guide --bin exercises -- next` pick the exercise).
//! The reference answer is in `guides/solutions/ch04.rs`: try first.

// Until you write the bodies, their parameters are unused: the allow keeps
// the build quiet. Delete it when you are done; your answer should not need it.
#![allow(unused_variables, unused_mut)]

use std::time::Duration;

// You will probably want: weft::time (`timeout`, `sleep`).

/// How [`retry`] spaces its attempts.
///
/// ```
/// use std::time::Duration;
/// let p = weft_guide::exercises::ch04::Backoff {
///     attempts: 3,
///     first_delay: Duration::from_millis(10),
///     per_attempt: Duration::from_secs(1),
/// };
/// assert_eq!(p.attempts, 3);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// How many times `op` is called at most (at least 1).
    pub attempts: u32,
    /// The wait after the first failure; each later wait is twice the one
    /// before.
    pub first_delay: Duration,
    /// How long one attempt may run before it is cancelled.
    pub per_attempt: Duration,
}

/// Why an attempt of [`retry`] failed.
///
/// ```
/// use weft_guide::exercises::ch04::AttemptError;
/// let e: AttemptError<&str> = AttemptError::Failed("refused");
/// assert_ne!(e, AttemptError::TimedOut);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptError<E> {
    /// `op` returned this error.
    Failed(E),
    /// `op` ran longer than [`Backoff::per_attempt`] and was cancelled.
    TimedOut,
}

/// Calls `op(n)` for attempt `n` = 0, 1, 2, ... until it succeeds or
/// `policy.attempts` calls have been made.
///
/// Contract:
/// - attempt 0 starts at once; after attempt `n` fails, `retry` sleeps
///   `first_delay * 2^n`, then starts attempt `n + 1`;
/// - each attempt runs under [`weft::time::timeout`] of
///   `policy.per_attempt`: a hung attempt is cancelled (it unwinds, its
///   destructors run) and counts as [`AttemptError::TimedOut`];
/// - returns the first `Ok`, or the last attempt's error; no sleep after
///   the last attempt;
/// - panics if `policy.attempts` is 0;
/// - cancelling the caller stops `retry` wherever it is (in an attempt or
///   in a backoff sleep).
///
/// ```
/// use std::time::Duration;
/// use weft_guide::exercises::ch04::{retry, Backoff};
///
/// weft::run(|_env| {
///     let policy = Backoff {
///         attempts: 5,
///         first_delay: Duration::from_millis(1),
///         per_attempt: Duration::from_secs(1),
///     };
///     let r = retry(&policy, |n| if n < 2 { Err("busy") } else { Ok(n) });
///     assert_eq!(r, Ok(2));
/// });
/// ```
pub fn retry<T, E>(
    policy: &Backoff,
    mut op: impl FnMut(u32) -> Result<T, E>,
) -> Result<T, AttemptError<E>> {
    // TODO: call `op` under a per-attempt timeout, sleeping a doubling delay between attempts.
    // Stuck? `cargo run -p weft-guide --bin exercises -- hint retry`
    todo!()
}
