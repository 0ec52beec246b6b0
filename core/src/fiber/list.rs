//! More structured combinators, after Eio's `Fiber.n_any` and `Fiber.List`:
//! [`n_any`] (a race that keeps every value produced before the losers
//! stopped), and [`filter`], [`filter_map`], [`iter`] beside
//! [`map_concurrent`](super::map_concurrent), each with at most
//! `max_fibers` branches running at once.

use std::cell::RefCell;

use crate::cancel::{self, CancelReason};
use crate::switch::{Start, Switch};

/// Runs every closure concurrently, like [`any`](super::any), but returns
/// the values of *all* branches that returned, in the order they finished
/// (Eio's `Fiber.n_any`). The first value cancels the other branches; a
/// branch that returns anyway (it reached no cancellation point before
/// finishing, or is protected) adds its value too, and a branch that had
/// not started yet never starts. So the result has at least one value.
///
/// Unlike `first`/`any`, this is not a race that commits one branch: use
/// it when every completed result must be kept (a value that was taken
/// from a queue, say). A panic in a branch cancels the others and is
/// re-raised. Panics if `fs` is empty.
///
/// ```
/// weft::run(|_env| {
///     use weft::fiber::yield_now;
///     let branches: Vec<Box<dyn FnOnce() -> u32>> = vec![
///         Box::new(|| { yield_now(); 0 }),                                  // wins
///         Box::new(|| weft::cancel::protect(|| { yield_now(); yield_now(); 1 })), // finishes anyway
///         Box::new(|| { yield_now(); yield_now(); 2 }),                     // cancelled at a yield
///     ];
///     assert_eq!(weft::fiber::n_any(branches), [0, 1]);
/// });
/// ```
#[track_caller]
pub fn n_any<I, F, T>(fs: I) -> Vec<T>
where
    I: IntoIterator<Item = F>,
    F: FnOnce() -> T,
{
    let fs: Vec<F> = fs.into_iter().collect();
    assert!(!fs.is_empty(), "fiber::n_any needs at least one branch");
    let finished: RefCell<Vec<T>> = RefCell::new(Vec::new());
    let offer = |sw: &Switch<'_, '_>, v: T| {
        let mut done = finished.borrow_mut();
        let first = done.is_empty();
        done.push(v);
        drop(done);
        if first {
            sw.cancel(CancelReason::Lost);
        }
    };
    let outcome = Switch::run(|sw| {
        let mut fs = fs.into_iter();
        let head = fs.next().expect("checked non-empty above");
        let rest: Vec<F> = fs.collect();
        for f in rest.into_iter().rev() {
            let offer = &offer;
            sw.spawn(None, false, Start::Next, move || offer(sw, f()));
        }
        if let Ok(v) = cancel::catch_cancelled(head) {
            offer(sw, v);
        }
        Ok(())
    });
    if let Err(e) = outcome {
        // The branches return plain values: only a panic fails the switch,
        // and `Switch::run` re-raises panics itself.
        panic!("weft: an n_any branch failed: {e:#}");
    }
    let values = finished.into_inner();
    if values.is_empty() {
        // Every branch was cancelled: the caller itself was cancelled.
        let (_, ctx) = cancel::current();
        ctx.cancelled()
            .unwrap_or_else(crate::cancel::Cancelled::unknown)
            .unwind();
    }
    values
}

/// Keeps the items for which `f` returns `true`, calling `f` concurrently
/// with at most `max_fibers` calls running at once (Eio's
/// `Fiber.List.filter ?max_fibers`). The kept items stay in input order.
/// A panic in `f` cancels the other calls and is re-raised. Panics if
/// `max_fibers` is 0 (pass `usize::MAX` for no limit).
///
/// ```
/// weft::run(|_env| {
///     let even = weft::fiber::filter(2, 1..=6, |n| {
///         weft::fiber::yield_now(); // calls overlap
///         n % 2 == 0
///     });
///     assert_eq!(even, [2, 4, 6]);
/// });
/// ```
#[track_caller]
pub fn filter<I, T, F>(max_fibers: usize, items: I, f: F) -> Vec<T>
where
    I: IntoIterator<Item = T>,
    F: Fn(&T) -> bool,
{
    filter_map(max_fibers, items, |item| f(&item).then_some(item))
}

/// Maps the items with `f` and keeps the `Some` results, in input order,
/// with at most `max_fibers` calls running at once (Eio's
/// `Fiber.List.filter_map ?max_fibers`). A panic in `f` cancels the other
/// calls and is re-raised. Panics if `max_fibers` is 0.
///
/// ```
/// weft::run(|_env| {
///     let ports = weft::fiber::filter_map(4, ["80", "x", "443"], |s| s.parse::<u16>().ok());
///     assert_eq!(ports, [80, 443]);
/// });
/// ```
#[track_caller]
pub fn filter_map<I, T, U, F>(max_fibers: usize, items: I, f: F) -> Vec<U>
where
    I: IntoIterator<Item = T>,
    F: Fn(T) -> Option<U>,
{
    super::map_concurrent(max_fibers, items, f)
        .into_iter()
        .flatten()
        .collect()
}

/// Calls `f` on every item, concurrently, with at most `max_fibers` calls
/// running at once (Eio's `Fiber.List.iter ?max_fibers`); returns when all
/// have finished. A panic in `f` cancels the other calls and is re-raised.
/// Panics if `max_fibers` is 0.
///
/// ```
/// use std::cell::Cell;
/// weft::run(|_env| {
///     let (running, peak) = (Cell::new(0), Cell::new(0));
///     weft::fiber::iter(2, 0..5, |_| {
///         running.set(running.get() + 1);
///         peak.set(peak.get().max(running.get()));
///         weft::fiber::yield_now();
///         running.set(running.get() - 1);
///     });
///     assert_eq!(peak.get(), 2);
/// });
/// ```
#[track_caller]
pub fn iter<I, T, F>(max_fibers: usize, items: I, f: F)
where
    I: IntoIterator<Item = T>,
    F: Fn(T),
{
    super::map_concurrent(max_fibers, items, f);
}
