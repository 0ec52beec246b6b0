//! Chapter 1: [`gather`], fork fibers into a switch and collect their
//! results.
//!
//! The reference answer (compiled with `--features solutions`); the
//! learner's starter is `guides/src/exercises/ch01.rs`, with the same contract.

use std::cell::RefCell;

use weft::Switch;

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
    let jobs: Vec<F> = jobs.into_iter().collect();
    // One slot per job, borrowed by its fiber: the switch outlives them all.
    let slots: Vec<RefCell<Option<T>>> = jobs.iter().map(|_| RefCell::new(None)).collect();
    let outcome = Switch::run(|sw| {
        for (job, slot) in jobs.into_iter().zip(&slots) {
            sw.fork(move || {
                *slot.borrow_mut() = Some(job());
            });
        }
        Ok(())
    });
    // A panicking fiber makes Switch::run re-raise its panic, and the
    // body never fails, so there is no Err to handle here.
    if let Err(e) = outcome {
        panic!("gather failed: {e}");
    }
    // If the caller was cancelled (a timeout around gather) while jobs ran,
    // Switch::run cancelled them and unwound with that cancellation, so
    // reaching this line means every job finished and filled its slot.
    slots
        .into_iter()
        .map(|s| s.into_inner().expect("every job finished"))
        .collect()
}
