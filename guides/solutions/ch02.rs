//! Chapter 2: [`first_ok`], a race in which failures do not count.
//!
//! The reference answer (compiled with `--features solutions`); the
//! learner's starter is `guides/src/exercises/ch02.rs`, with the same contract.

use std::cell::{Cell, RefCell};

use weft::fiber;

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
    let attempts: Vec<F> = attempts.into_iter().collect();
    let n = attempts.len();
    if n == 0 {
        return Err(Vec::new());
    }
    let errors: Vec<RefCell<Option<E>>> = (0..n).map(|_| RefCell::new(None)).collect();
    let failed = Cell::new(0);
    let winner = fiber::any(attempts.into_iter().zip(&errors).map(|(attempt, slot)| {
        let failed = &failed;
        move || match attempt() {
            Ok(v) => Some(v),
            Err(e) => {
                *slot.borrow_mut() = Some(e);
                failed.set(failed.get() + 1);
                if failed.get() == n {
                    None // the last failure ends the race: nobody won
                } else {
                    fiber::await_cancel() // wait for a winner, or the last failure
                }
            }
        }
    }));
    match winner {
        Some(v) => Ok(v),
        None => Err(errors
            .into_iter()
            .map(|e| e.into_inner().expect("every attempt failed"))
            .collect()),
    }
}
