//! Fibers: stackful coroutines scheduled cooperatively on one thread.
//!
//! This module holds the operations a fiber performs on itself
//! ([`yield_now`], [`check`], [`await_cancel`]) and the structured
//! combinators that run closures concurrently and wait for them ([`both`],
//! [`first`], [`all`], [`any`], [`map_concurrent`]). Each combinator runs
//! its branches in a private switch, so a failing branch cancels the others
//! and the failure reaches the caller.

use std::cell::RefCell;
use std::fmt;

use crate::cancel::{self, CancelReason};
use crate::switch::{Start, Switch};

pub(crate) mod alone;
mod deferred_fork;
pub(crate) mod erase;
pub(crate) mod handoff;
mod list;
pub(crate) mod local;
#[cfg(all(test, loom))]
mod loom_tests;
pub(crate) mod park_hook;
mod park_spin;
pub(crate) mod scheduler;
mod span_context;
pub(crate) mod stack;
mod sync_shim;
pub(crate) mod task;
pub(crate) mod wait_state;
mod watch_gate;

pub use list::{filter, filter_map, iter, n_any};
pub use local::{get, with_binding, with_value, without_binding, Key};
pub use stack::StackStats;
pub use task::{suspend, FiberState, Resumer};

/// A fiber's id: unique for the life of the process.
///
/// ```
/// weft::run(|_env| {
///     let id = weft::fiber::id();
///     assert!(id.as_u64() > 0);
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FiberId(pub(crate) u64);

impl FiberId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for FiberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The id of the running fiber. Panics outside a fiber.
///
/// ```
/// weft::run(|_env| println!("main fiber is {}", weft::fiber::id()));
/// ```
#[track_caller]
pub fn id() -> FiberId {
    cancel::with_running("weft::fiber::id", |f| f.id)
}

/// The name of the running fiber, if it was given one.
///
/// ```
/// weft::run(|_env| assert_eq!(weft::fiber::name().as_deref(), Some("main")));
/// ```
#[track_caller]
pub fn name() -> Option<String> {
    cancel::with_running("weft::fiber::name", |f| {
        f.name.as_deref().map(str::to_string)
    })
}

/// Lets the other runnable fibers run, then continues. A cancellation
/// point.
///
/// ```
/// weft::run(|_env| {
///     let log = std::cell::RefCell::new(vec![]);
///     weft::fiber::both(
///         || { log.borrow_mut().push("a1"); weft::fiber::yield_now(); log.borrow_mut().push("a2") },
///         || { log.borrow_mut().push("b1"); weft::fiber::yield_now(); log.borrow_mut().push("b2") },
///     );
///     assert_eq!(*log.borrow(), ["a1", "b1", "a2", "b2"]);
/// });
/// ```
#[inline]
#[track_caller]
pub fn yield_now() {
    // Checks cancellation before switching out and again once resumed: a
    // cancellation that arrived while the fiber sat in the run queue is
    // delivered here, at this yield (as tokio drops a task's future at the
    // `.await` where it was parked).
    scheduler::yield_current();
}

/// Unwinds the running fiber if its context has been cancelled; otherwise
/// does nothing. An explicit cancellation point for long computations.
///
/// ```
/// weft::run(|_env| weft::fiber::check());
/// ```
#[inline]
#[track_caller]
pub fn check() {
    match scheduler::with_current(|f| f.local.cancelled.get()) {
        Some(false) => {}
        Some(true) => {
            if let Some(c) = current_cancellation() {
                if !std::thread::panicking() {
                    c.unwind();
                }
            }
        }
        None => not_in_fiber(),
    }
}

#[cold]
#[track_caller]
fn not_in_fiber() -> ! {
    panic!(
        "weft: this call needs to run inside a fiber (at {}); use weft::run",
        std::panic::Location::caller()
    )
}

/// The running fiber's cancellation, if its context is cancelled.
#[track_caller]
fn current_cancellation() -> Option<crate::cancel::Cancelled> {
    match scheduler::with_current(|f| f.ctx_cancelled()) {
        Some(c) => c,
        None => not_in_fiber(),
    }
}

/// Like [`check`], returning the cancellation instead of unwinding.
///
/// ```
/// weft::run(|_env| assert!(weft::fiber::try_check().is_ok()));
/// ```
#[track_caller]
pub fn try_check() -> Result<(), crate::cancel::Cancelled> {
    match current_cancellation() {
        Some(c) => Err(c),
        None => Ok(()),
    }
}

/// Whether the caller runs inside a fiber.
///
/// ```
/// assert!(!weft::fiber::in_fiber());
/// weft::run(|_env| assert!(weft::fiber::in_fiber()));
/// ```
pub fn in_fiber() -> bool {
    !scheduler::current_ptr().is_null()
}

/// Whether the running fiber's context has been cancelled.
///
/// ```
/// weft::run(|_env| assert!(!weft::fiber::is_cancelled()));
/// ```
#[track_caller]
pub fn is_cancelled() -> bool {
    current_cancellation().is_some()
}

/// Suspends until the fiber is cancelled, then unwinds.
///
/// ```
/// weft::run(|_env| {
///     let r = weft::fiber::first(|| weft::fiber::await_cancel(), || "other");
///     assert_eq!(r, "other");
/// });
/// ```
#[track_caller]
pub fn await_cancel() -> ! {
    loop {
        // The resumer is dropped: only cancellation can end this wait.
        if let Err(c) = suspend(drop) {
            c.unwind();
        }
    }
}

/// Runs `a` and `b` concurrently and returns both results. `a` runs at
/// once; `b` goes to the head of the run queue. If one fails, the other is
/// cancelled, and the failure is re-raised when both have finished.
///
/// ```
/// weft::run(|_env| {
///     let (x, y) = weft::fiber::both(|| 1, || "two");
///     assert_eq!((x, y), (1, "two"));
/// });
/// ```
#[track_caller]
pub fn both<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA,
    B: FnOnce() -> RB,
{
    let right = RefCell::new(None);
    let left = run_private(|sw| {
        sw.spawn(None, false, Start::Next, || {
            *right.borrow_mut() = Some(b());
        });
        a()
    });
    let right = right
        .into_inner()
        .expect("both: the second branch finished");
    (left, right)
}

/// Runs `a` and `b` concurrently; the first to return wins and the other is
/// cancelled (and awaited). A panic in either is re-raised. `a` starts
/// first; if it returns without blocking, `b` never starts. At most one
/// branch commits: see [`any`] for the rule that keeps a loser from
/// consuming data.
///
/// ```
/// use std::time::Duration;
/// weft::run(|_env| {
///     let winner = weft::fiber::first(
///         || { weft::time::sleep(Duration::from_millis(50)); "slow" },
///         || "fast",
///     );
///     assert_eq!(winner, "fast");
/// });
/// ```
#[track_caller]
pub fn first<T>(a: impl FnOnce() -> T, b: impl FnOnce() -> T) -> T {
    race_parts(a, std::iter::once(b), None, false)
}

/// [`first`] for a `signal` that is rarely ready, raced against `work`
/// over and over: a loop's exit (a shutdown broadcast, a cancellation
/// token, Ctrl-C) watched while it waits for its next request. This is
/// what `weft-migrate` makes of a `tokio::select!` branch whose body leaves
/// the loop or function.
///
/// `work` runs on the calling fiber. When it blocks, `signal` is forked,
/// but it starts only once `work` has been blocked for the caller's grace
/// (10 ms of blocked time, counted over consecutive `first_watch` calls of
/// the fiber, and whole again each time a `signal` starts). If `work`
/// returns first, `signal` never starts, and stopping it costs no unwind:
/// a loser that had started would be unwound from its wait (destructors
/// run), which costs far more than the race when the loop runs once per
/// request. The price is latency on the signal: it is observed at most one
/// grace of waiting after it fires, only ever where the race waits (never
/// in the code that runs between races), and a `signal` that never started
/// took nothing (the commit rule of [`any`] holds as for [`first`]).
///
/// ```
/// use std::time::Duration;
/// weft::run(|_env| {
///     let (tx, mut rx) = weft::sync::mpsc::channel::<u32>(8);
///     let stop = weft::sync::CancellationToken::new();
///     weft::fiber::both(
///         || {
///             let mut got = vec![];
///             loop {
///                 let exit = || { stop.cancelled(); Err(()) };
///                 match weft::fiber::first_watch(|| rx.recv().ok_or(()), exit) {
///                     Ok(v) => got.push(v),
///                     Err(_) => return got,
///                 }
///             }
///         },
///         || {
///             for i in 0..3 {
///                 tx.send(i).unwrap();
///             }
///             weft::time::sleep(Duration::from_millis(1));
///             stop.cancel();
///         },
///     );
/// });
/// ```
#[track_caller]
pub fn first_watch<T>(work: impl FnOnce() -> T, signal: impl FnOnce() -> T) -> T {
    race_parts(work, std::iter::once(signal), None, true)
}

/// Runs every closure concurrently and returns their results in order.
/// If one fails, the rest are cancelled and the failure is re-raised.
///
/// ```
/// weft::run(|_env| {
///     let squares = weft::fiber::all((1..=3).map(|i| move || i * i));
///     assert_eq!(squares, [1, 4, 9]);
/// });
/// ```
#[track_caller]
pub fn all<I, F, T>(fs: I) -> Vec<T>
where
    I: IntoIterator<Item = F>,
    F: FnOnce() -> T,
{
    let fs: Vec<F> = fs.into_iter().collect();
    let results: Vec<RefCell<Option<T>>> = fs.iter().map(|_| RefCell::new(None)).collect();
    run_private(|sw| {
        let mut fs = fs.into_iter().enumerate();
        let head = fs.next();
        for (i, f) in fs.rev() {
            let slot = &results[i];
            sw.spawn(None, false, Start::Next, move || {
                *slot.borrow_mut() = Some(f());
            });
        }
        if let Some((i, f)) = head {
            *results[i].borrow_mut() = Some(f());
        }
    });
    results
        .into_iter()
        .map(|r| r.into_inner().expect("all: every branch finished"))
        .collect()
}

/// Runs every closure concurrently; the first to return wins and the rest
/// are cancelled and awaited. Panics if `fs` is empty.
///
/// **The commit rule** (tokio's `select!` over cancel-safe operations): at
/// most one branch commits. A branch that has not started when another
/// wins never starts. A branch whose consuming operation (a channel or
/// stream receive, a socket read or accept, a permit) completed but that
/// had not run again when another branch won is cancelled at that
/// operation, which gives back what it took (the message goes back to the
/// front of its channel, the bytes or connection to its socket). So a
/// loser never consumes data. If the caller is cancelled once a branch
/// has won, the winner's value is still returned and the cancellation
/// comes at the caller's next cancellation point.
///
/// A branch that blocks again after consuming (a closure that reads twice)
/// can lose what it read first if another branch wins in between, as a
/// tokio `async` block dropped at its second `.await` would: keep one
/// consuming operation per branch, and handle its result after the race.
///
/// ```
/// weft::run(|_env| {
///     let v = weft::fiber::any([
///         Box::new(|| -> u8 { weft::fiber::await_cancel() }) as Box<dyn FnOnce() -> u8>,
///         Box::new(|| 7),
///     ]);
///     assert_eq!(v, 7);
/// });
/// ```
#[track_caller]
pub fn any<I, F, T>(fs: I) -> T
where
    I: IntoIterator<Item = F>,
    F: FnOnce() -> T,
{
    race(fs, None)
}

/// [`any`], but a branch that returns after another won (it finished
/// before it could see its cancellation) is not dropped: `combine(winner,
/// late)` makes the result. Eio's `Fiber.any ~combine`.
///
/// ```
/// use std::time::Duration;
/// weft::run(|_env| {
///     // The second branch cannot be cancelled (`protect`), so it finishes
///     // after the first won: its value is combined, not dropped.
///     let total = weft::fiber::any_with(
///         [
///             Box::new(|| { weft::fiber::yield_now(); 1u32 }) as Box<dyn FnOnce() -> u32>,
///             Box::new(|| weft::cancel::protect(|| { weft::time::sleep(Duration::from_millis(1)); 2 })),
///         ],
///         |a, b| a + b,
///     );
///     assert_eq!(total, 3);
/// });
/// ```
#[track_caller]
pub fn any_with<I, F, T>(fs: I, combine: impl Fn(T, T) -> T) -> T
where
    I: IntoIterator<Item = F>,
    F: FnOnce() -> T,
{
    race(fs, Some(&combine))
}

/// [`first`] with Eio's `~combine`: if the loser also returns a value, the
/// two are merged with `combine(winner, loser)` instead of the loser's
/// being dropped.
///
/// ```
/// weft::run(|_env| {
///     let s = weft::sync::Stream::new(4);
///     s.add(1);
///     let got = weft::fiber::first_with(|| vec![s.take()], || vec![], |mut a, b| { a.extend(b); a });
///     assert_eq!(got, [1]);
/// });
/// ```
#[track_caller]
pub fn first_with<T>(
    a: impl FnOnce() -> T,
    b: impl FnOnce() -> T,
    combine: impl Fn(T, T) -> T,
) -> T {
    race_parts(a, std::iter::once(b), Some(&combine), false)
}

/// The race behind [`any`], [`first`] and their `_with` forms.
#[track_caller]
fn race<I, F, T>(fs: I, combine: Option<&dyn Fn(T, T) -> T>) -> T
where
    I: IntoIterator<Item = F>,
    F: FnOnce() -> T,
{
    let fs: Vec<F> = fs.into_iter().collect();
    assert!(!fs.is_empty(), "fiber::any needs at least one branch");
    let mut fs = fs.into_iter();
    let head = fs.next().expect("checked non-empty above");
    race_parts(head, fs, combine, false)
}

/// `head` runs on the calling fiber; each of `rest` is forked to start
/// before anything else runs once the head blocks (in order), and never
/// starts if the head returns first. With `watched`, they are forked only
/// when their start gate (`watch_gate`) opens. Generic over the
/// branch types, so `first` boxes and collects nothing.
#[track_caller]
fn race_parts<T, H, R, F>(head: H, rest: R, combine: Option<&dyn Fn(T, T) -> T>, watched: bool) -> T
where
    H: FnOnce() -> T,
    R: DoubleEndedIterator<Item = F>,
    F: FnOnce() -> T,
{
    let winner: RefCell<Option<T>> = RefCell::new(None);
    let offer = |sw: &Switch<'_, '_>, v: T| {
        let mut w = winner.borrow_mut();
        match (w.take(), combine) {
            (None, _) => {
                *w = Some(v);
                drop(w);
                // With no branch forked (the head won before blocking, or
                // before a watched branch's gate opened) there is nobody
                // to stop: the head itself has returned.
                if sw.has_fibers() {
                    sw.cancel(CancelReason::Lost);
                }
            }
            (Some(first), Some(combine)) => *w = Some(combine(first, v)),
            // A loser that finished before it saw its cancellation: its
            // operation committed, and without `combine` there is nowhere
            // to put its value (tokio drops a completed branch the same
            // way). The commit rule makes this rare: see `any`.
            (Some(first), None) => *w = Some(first),
        }
    };
    let raced = cancel::catch_cancelled(|| {
        run_private(|sw| {
            // SAFETY: `run_private` runs the body on the calling fiber,
            // which stays alive while it runs.
            let me = unsafe { &*scheduler::current_ptr() };
            let rest = std::cell::Cell::new(Some(rest));
            let fork_branches = || {
                if let Some(rest) = rest.take() {
                    for f in rest.rev() {
                        let offer = &offer;
                        sw.spawn(None, false, Start::Next, move || offer(sw, f()));
                    }
                }
            };
            // A watched race's branches start only when its gate opens: a
            // timer that forks them once the head has been blocked for the
            // caller's grace (see `watch_gate`).
            let gate = watch_gate::Gate::new(me);
            let open = || gate.open(&fork_branches);
            // The others are forked (or their gate armed) when the head
            // first switches out (they start right after it, as if forked
            // now), or never if it returns first: see `deferred_fork`.
            let fork_rest = || {
                if watched {
                    // SAFETY: `open` lives in this frame until it returns
                    // or unwinds, and `gate` is disarmed before that: once
                    // the head returns (below), or when it drops, with
                    // nothing able to suspend (so to fire the timer) between
                    // the drop of `open` and its own.
                    unsafe { gate.arm(&fork_branches, &open) }
                } else {
                    fork_branches()
                }
            };
            let registration = deferred_fork::register(me, &fork_rest);
            let head = std::panic::catch_unwind(std::panic::AssertUnwindSafe(head));
            drop(registration);
            gate.disarm();
            match head {
                Ok(v) => offer(sw, v),
                Err(payload) => sw.fail_unwound(payload),
            }
        })
    });
    match (winner.into_inner(), raced) {
        // Won, even if the caller was cancelled while the losers were
        // being stopped: the value is returned, and that cancellation is
        // delivered at the caller's next cancellation point.
        (Some(v), _) => v,
        (None, Err(c)) => c.unwind(),
        // Every branch was cancelled: the caller itself was cancelled.
        (None, Ok(())) => unwind_caller_cancelled(),
    }
}

/// Unwinds the calling fiber with its own cancellation: for combinators
/// whose branches all stopped because the caller (not a sibling) was
/// cancelled, so there is no value to return.
fn unwind_caller_cancelled() -> ! {
    let (_, ctx) = cancel::current();
    ctx.cancelled()
        .unwrap_or_else(crate::cancel::Cancelled::unknown)
        .unwind()
}

/// Runs every closure concurrently and returns all their values in input
/// order, or the first error: as soon as one returns `Err`, the others are
/// cancelled (and awaited) and that error is returned. This is tokio's
/// `try_join_all` / `try_join!` meaning.
///
/// ```
/// weft::run(|_env| {
///     let ok: Result<Vec<u8>, String> = weft::fiber::try_all([|| Ok(1), || Ok(2)]);
///     assert_eq!(ok, Ok(vec![1, 2]));
///     let branches: [Box<dyn FnOnce() -> Result<u8, &'static str>>; 2] = [
///         Box::new(|| weft::fiber::await_cancel()), // never finishes on its own
///         Box::new(|| Err("no")),
///     ];
///     assert_eq!(weft::fiber::try_all(branches), Err("no"));
/// });
/// ```
#[track_caller]
pub fn try_all<I, F, T, E>(fs: I) -> Result<Vec<T>, E>
where
    I: IntoIterator<Item = F>,
    F: FnOnce() -> Result<T, E>,
{
    let fs: Vec<F> = fs.into_iter().collect();
    let results: Vec<RefCell<Option<T>>> = fs.iter().map(|_| RefCell::new(None)).collect();
    let error: RefCell<Option<E>> = RefCell::new(None);
    let settle = |sw: &Switch<'_, '_>, slot: &RefCell<Option<T>>, r: Result<T, E>| match r {
        Ok(v) => *slot.borrow_mut() = Some(v),
        Err(e) => {
            let mut first = error.borrow_mut();
            if first.is_none() {
                *first = Some(e);
                drop(first);
                sw.cancel(CancelReason::Lost);
            }
        }
    };
    run_private(|sw| {
        let mut fs = fs.into_iter().enumerate();
        let head = fs.next();
        for (i, f) in fs.rev() {
            let slot = &results[i];
            let settle = &settle;
            sw.spawn(None, false, Start::Next, move || settle(sw, slot, f()));
        }
        if let Some((i, f)) = head {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                Ok(r) => settle(sw, &results[i], r),
                Err(payload) => sw.fail_unwound(payload),
            }
        }
    });
    if let Some(e) = error.into_inner() {
        return Err(e);
    }
    let mut values = Vec::with_capacity(results.len());
    for r in results {
        match r.into_inner() {
            Some(v) => values.push(v),
            // A branch was cancelled with no error among them: the caller
            // itself was cancelled.
            None => unwind_caller_cancelled(),
        }
    }
    Ok(values)
}

/// Runs `a` and `b` concurrently and returns both values, or the first
/// error, cancelling the other branch as soon as one fails (tokio's
/// `try_join!`).
///
/// ```
/// weft::run(|_env| {
///     let r: Result<(u8, &str), String> = weft::fiber::try_both(|| Ok(1), || Ok("two"));
///     assert_eq!(r, Ok((1, "two")));
///     let r: Result<((), ()), &str> =
///         weft::fiber::try_both(|| weft::fiber::await_cancel(), || Err("failed"));
///     assert_eq!(r, Err("failed"));
/// });
/// ```
#[track_caller]
pub fn try_both<A, B, E>(
    a: impl FnOnce() -> Result<A, E>,
    b: impl FnOnce() -> Result<B, E>,
) -> Result<(A, B), E> {
    let (mut left, mut right) = (None, None);
    let branches: [Box<dyn FnOnce() -> Result<(), E> + '_>; 2] = [
        Box::new(|| a().map(|v| left = Some(v))),
        Box::new(|| b().map(|v| right = Some(v))),
    ];
    try_all(branches)?;
    match (left, right) {
        (Some(l), Some(r)) => Ok((l, r)),
        _ => unreachable!("try_all returned Ok only after every branch succeeded"),
    }
}

/// Applies `f` to every item with at most `max_fibers` running at once,
/// and returns the results in input order.
///
/// ```
/// weft::run(|_env| {
///     let lens = weft::fiber::map_concurrent(2, ["a", "bb", "ccc"], |s| s.len());
///     assert_eq!(lens, [1, 2, 3]);
/// });
/// ```
#[track_caller]
pub fn map_concurrent<I, T, U, F>(max_fibers: usize, items: I, f: F) -> Vec<U>
where
    I: IntoIterator<Item = T>,
    F: Fn(T) -> U,
{
    assert!(max_fibers > 0, "map_concurrent needs max_fibers >= 1");
    let items: Vec<T> = items.into_iter().collect();
    let n = items.len();
    let results: Vec<RefCell<Option<U>>> = (0..n).map(|_| RefCell::new(None)).collect();
    let queue = RefCell::new(items.into_iter().enumerate());
    let worker = || loop {
        let next = queue.borrow_mut().next();
        let Some((i, item)) = next else { break };
        let v = f(item);
        *results[i].borrow_mut() = Some(v);
    };
    run_private(|sw| {
        for _ in 1..max_fibers.min(n) {
            sw.spawn(None, false, Start::Next, worker);
        }
        worker();
    });
    results
        .into_iter()
        .map(|r| {
            r.into_inner()
                .expect("map_concurrent: every item was mapped")
        })
        .collect()
}

/// Runs `body` in a private switch whose only failures are panics (the
/// branches return plain values), re-raising them.
#[track_caller]
fn run_private<'env, T, F>(body: F) -> T
where
    F: for<'s> FnOnce(&'s Switch<'s, 'env>) -> T,
{
    match Switch::run(|sw| Ok(body(sw))) {
        Ok(v) => v,
        Err(e) => panic!("weft: a combinator branch failed: {e:#}"),
    }
}
