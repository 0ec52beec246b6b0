//! Awaiting a `Future` from a fiber: the fiber suspends, the thread does not.
//!
//! The waker protocol ("permit semantics"):
//! - One waker per `await_future` call, reused for every poll, so
//!   `Waker::will_wake` holds across polls and futures skip re-registering.
//!   The poll borrows it (`futures_util::task::waker_ref`): only a future
//!   that keeps the waker takes a reference, so a ready future costs no
//!   atomic operation.
//! - A wake sets `notified` and, if the fiber has parked, takes its
//!   `Resumer` and resumes it. The fiber parks by storing its resumer and
//!   then re-checking `notified`, so a wake that lands between "poll
//!   returned Pending" and "parked" is never lost.
//! - A `Resumer` resumes at most once and only the suspension it was made
//!   for, so a wake that arrives late (the future kept an old waker) does
//!   nothing: stale wakes are harmless, and a fiber is never resumed twice.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::task::{waker_ref, ArcWake};
use weft::cancel::Cancelled;
use weft::fiber::{self, Resumer};

struct FiberWaker {
    notified: AtomicBool,
    parked: Mutex<Option<Resumer>>,
}

impl ArcWake for FiberWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.notified.store(true, Ordering::SeqCst);
        let parked = arc_self
            .parked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(r) = parked {
            r.resume();
        }
    }
}

thread_local! {
    /// A waker kept for reuse when no future held on to the last one.
    static SPARE: std::cell::RefCell<Option<Arc<FiberWaker>>> = const { std::cell::RefCell::new(None) };
}

fn fresh_waker() -> Arc<FiberWaker> {
    let spare = SPARE.with(|s| s.borrow_mut().take());
    match spare {
        // Nobody else holds it: no stale wake can reach it any more.
        Some(w) if Arc::strong_count(&w) == 1 => {
            w.notified.store(false, Ordering::Relaxed);
            w
        }
        _ => Arc::new(FiberWaker {
            notified: AtomicBool::new(false),
            parked: Mutex::new(None),
        }),
    }
}

fn recycle(w: Arc<FiberWaker>) {
    if Arc::strong_count(&w) == 1 {
        SPARE.with(|s| *s.borrow_mut() = Some(w));
    }
}

/// Whether the caller runs in a weft fiber (where [`await_future`] works).
///
/// ```
/// assert!(!weft_compat::in_fiber());
/// weft::run(|_env| assert!(weft_compat::in_fiber()));
/// ```
pub fn in_fiber() -> bool {
    fiber::in_fiber()
}

#[track_caller]
fn require_fiber(what: &str) {
    if !fiber::in_fiber() {
        panic!(
            "weft_compat::{what} was called outside a weft fiber (at {}); \
             run the caller inside weft::run / a forked fiber, or use block_on from plain threads",
            std::panic::Location::caller()
        );
    }
}

/// Polls `fut` to completion from a fiber: while it is pending, the fiber
/// suspends and other fibers run; any thread may wake it. A cancellation
/// point: a cancelled fiber drops `fut` (on its own stack and thread, where
/// it was polled) and unwinds, exactly like a future dropped at `.await`.
/// A fiber that is already cancelled never polls `fut`.
///
/// Panics outside a fiber, with a message that says what to do.
///
/// ```
/// weft::run(|_env| {
///     let v = weft_compat::await_future(async { 40 + 2 });
///     assert_eq!(v, 42);
/// });
/// ```
#[track_caller]
pub fn await_future<F: Future>(fut: F) -> F::Output {
    match try_await_future(fut) {
        Ok(v) => v,
        Err(c) => c.unwind(),
    }
}

/// Like [`await_future`], returning the cancellation as `Err` (the future
/// has been dropped) instead of unwinding.
///
/// ```
/// weft::run(|_env| {
///     assert_eq!(weft_compat::try_await_future(async { 1 }), Ok(1));
/// });
/// ```
#[track_caller]
pub fn try_await_future<F: Future>(fut: F) -> Result<F::Output, Cancelled> {
    require_fiber("await_future");
    // Never poll for a fiber that is already cancelled; `fut` drops here.
    fiber::try_check()?;
    let mut fut = pin!(fut);
    let state = fresh_waker();
    let waker = waker_ref(&state);
    let mut cx = Context::from_waker(&waker);
    // `fresh_waker` hands it over with `notified` clear.
    let mut first = true;
    loop {
        if !first {
            state.notified.store(false, Ordering::SeqCst);
        }
        first = false;
        if let Poll::Ready(v) = crate::caller_runtime::poll_in(|| fut.as_mut().poll(&mut cx)) {
            recycle(state);
            return Ok(v);
        }
        // The future may be tokio's, woken by this thread's tokio driver:
        // the driver must now run when the scheduler parks.
        crate::tokio::local_driver::note_foreign_wait();
        let parked = fiber::suspend(|resumer| {
            *state.parked.lock().unwrap_or_else(|p| p.into_inner()) = Some(resumer);
            if state.notified.load(Ordering::SeqCst) {
                let mine = state
                    .parked
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take();
                if let Some(r) = mine {
                    r.resume();
                }
            }
        });
        if let Err(c) = parked {
            state
                .parked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            return Err(c);
        }
        // Woken, but cancelled before it ran again (a race's loser): do
        // not poll, so a future that would now complete (a receive, a
        // `&mut` future raced again later) is not used up by a branch
        // that lost.
        fiber::try_check()?;
    }
}

/// Awaits `fut` to completion even if the fiber is cancelled meanwhile
/// (the cancellation is delivered at the fiber's next blocking call). For
/// flushes, commits and graceful shutdowns.
///
/// ```
/// weft::run(|_env| {
///     let v = weft_compat::await_future_protected(async { "committed" });
///     assert_eq!(v, "committed");
/// });
/// ```
#[track_caller]
pub fn await_future_protected<F: Future>(fut: F) -> F::Output {
    weft::cancel::protect(|| await_future(fut))
}

/// Like [`await_future`], but on cancellation calls `on_cancel` with the
/// future before dropping it: e.g. `|h| h.abort()` for a tokio
/// `JoinHandle`, which would otherwise detach its task when dropped.
///
/// ```
/// weft::run(|_env| {
///     let r = weft::time::timeout(std::time::Duration::from_millis(5), || {
///         weft_compat::await_future_with_cancel(std::future::pending::<()>(), |_f| {
///             // abort remote work here
///         })
///     });
///     assert!(r.is_err());
/// });
/// ```
#[track_caller]
pub fn await_future_with_cancel<F, C>(fut: F, on_cancel: C) -> F::Output
where
    F: Future + Unpin,
    C: FnOnce(&mut F),
{
    let mut fut = fut;
    match try_await_future(&mut fut) {
        Ok(v) => v,
        Err(c) => {
            on_cancel(&mut fut);
            drop(fut);
            c.unwind()
        }
    }
}
