//! Chapter 4: [`retry`], backoff with sleeps and a timeout per attempt.
//!
//! The reference answer (compiled with `--features solutions`); the
//! learner's starter is `guides/src/exercises/ch04.rs`, with the same contract.

use std::time::Duration;

use weft::time;

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
    assert!(policy.attempts > 0, "retry needs at least one attempt");
    let mut delay = policy.first_delay;
    let mut n = 0;
    loop {
        let error = match time::timeout(policy.per_attempt, || op(n)) {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => AttemptError::Failed(e),
            Err(_elapsed) => AttemptError::TimedOut,
        };
        n += 1;
        if n == policy.attempts {
            return Err(error);
        }
        time::sleep(delay);
        delay *= 2;
    }
}
