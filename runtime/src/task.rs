//! Detached tasks with tokio's meaning: [`spawn`] and [`JoinHandle`].
//!
//! Structured code should fork into a [`crate::Switch`]; these exist so that
//! every tokio program has a target when it migrates. A spawned fiber is
//! attached to the runtime's root scope: it runs until it finishes or is
//! aborted, and when the main fiber returns, the runtime cancels the ones
//! still running and waits for them (as dropping a tokio runtime drops its
//! tasks). A panic in a task is caught and reported through its handle; it
//! does not fail anything else.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use crate::backend_api::scheduler;
use crate::backend_api::WaitQueue;
use crate::backend_api::{suspend_at, suspend_protected};
use crate::cancel::{self, CancelCtx, CancelReason, Cancelled};
use crate::fiber::Resumer;
use crate::switch::{start_fiber, Start};

pub use crate::task_local::{AccessError, LocalKey};

thread_local! {
    static ROOT: RefCell<Option<Rc<RootState>>> = const { RefCell::new(None) };
}

struct RootState {
    ctx: Rc<CancelCtx>,
    live: Cell<usize>,
    joiner: RefCell<Option<Resumer>>,
}

/// The main fiber's guard: on drop, cancels and awaits spawned tasks.
pub(crate) struct RootScope {
    state: Rc<RootState>,
    previous: Option<Rc<RootState>>,
}

impl RootScope {
    pub(crate) fn open() -> RootScope {
        let (_, ctx) = cancel::current();
        let state = Rc::new(RootState {
            ctx: CancelCtx::child(&ctx),
            live: Cell::new(0),
            joiner: RefCell::new(None),
        });
        let previous = ROOT.with(|r| r.replace(Some(state.clone())));
        RootScope { state, previous }
    }
}

impl Drop for RootScope {
    fn drop(&mut self) {
        if self.state.live.get() > 0 {
            self.state
                .ctx
                .cancel(Cancelled::new(CancelReason::Shutdown));
        }
        while self.state.live.get() > 0 {
            suspend_protected(crate::console::events::WaitKind::Join, |r| {
                *self.state.joiner.borrow_mut() = Some(r)
            });
        }
        ROOT.with(|r| *r.borrow_mut() = self.previous.take());
    }
}

/// Why [`JoinHandle::join`] has no value: the task was cancelled, or it
/// panicked (the payload is kept). Like tokio's, it is `Send + Sync`, so
/// `handle.join()?` converts into `Box<dyn Error + Send + Sync>` and
/// `anyhow::Error`.
///
/// ```
/// weft::run(|_env| {
///     let h = weft::spawn(|| panic!("boom"));
///     let e: Box<dyn std::error::Error + Send + Sync> = h.join().unwrap_err().into();
///     assert_eq!(e.to_string(), "task panicked: boom");
/// });
/// ```
pub struct JoinError(Repr);

enum Repr {
    Cancelled,
    Panic(SyncPayload),
}

/// A panic payload that may be shared between threads because nothing
/// reaches it through a shared reference except as `&str` or `String`
/// (both `Sync`), to print its message; the payload itself only leaves by
/// value, through [`JoinError::into_panic`].
struct SyncPayload(Box<dyn Any + Send>);

// SAFETY: see the type's comment: through `&SyncPayload` only `Sync` types
// (`str`, `String`) are ever read, so sharing it shares nothing unsafe.
unsafe impl Sync for SyncPayload {}

impl SyncPayload {
    fn message(&self) -> String {
        crate::backend_api::panic_message(self.0.as_ref())
    }
}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError(Repr::Cancelled)
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send>) -> JoinError {
        JoinError(Repr::Panic(SyncPayload(payload)))
    }

    /// Whether the task was cancelled (aborted, or the runtime shut down
    /// before it finished).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let h = weft::spawn(|| weft::fiber::await_cancel());
    ///     h.abort();
    ///     assert!(h.join().unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.0, Repr::Cancelled)
    }

    /// Whether the task panicked.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let h = weft::spawn(|| panic!("boom"));
    ///     assert!(h.join().unwrap_err().is_panic());
    /// });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.0, Repr::Panic(_))
    }

    /// The panic payload, to re-raise with `std::panic::resume_unwind`.
    /// Panics if the task was cancelled instead.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let h = weft::spawn(|| panic!("boom"));
    ///     let p = h.join().unwrap_err().into_panic();
    ///     assert_eq!(*p.downcast::<&str>().unwrap(), "boom");
    /// });
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send> {
        match self.try_into_panic() {
            Ok(p) => p,
            Err(_) => panic!("JoinError::into_panic on a cancelled task"),
        }
    }

    /// The panic payload, or the error back if the task was cancelled.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let h = weft::spawn(|| weft::fiber::await_cancel());
    ///     h.abort();
    ///     assert!(h.join().unwrap_err().try_into_panic().is_err());
    /// });
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send>, JoinError> {
        match self.0 {
            Repr::Panic(p) => Ok(p.0),
            Repr::Cancelled => Err(self),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic(p) => write!(f, "task panicked: {}", p.message()),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(p) => write!(f, "JoinError::Panic({:?})", p.message()),
        }
    }
}

impl std::error::Error for JoinError {}

/// What a spawned task's fiber leaves for its [`JoinHandle`]: one
/// allocation shared by the two (tokio's task cell holds the same).
struct Outcome<T> {
    result: RefCell<Option<Result<T, JoinError>>>,
    waiters: RefCell<WaitQueue>,
    finished: Cell<bool>,
}

impl<T> Outcome<T> {
    /// Records the task's result and wakes its joiners.
    fn finish(&self, result: Result<T, JoinError>) {
        *self.result.borrow_mut() = Some(result);
        self.finished.set(true);
        self.waiters.borrow_mut().wake_all();
    }
}

/// An owned permission to join a spawned task (like tokio's). Dropping it
/// detaches the task; [`JoinHandle::abort`] cancels it.
///
/// ```
/// weft::run(|_env| {
///     let h = weft::spawn(|| 2 + 2);
///     assert_eq!(h.join().unwrap(), 4);
/// });
/// ```
pub struct JoinHandle<T> {
    ctx: Rc<CancelCtx>,
    outcome: Rc<Outcome<T>>,
}

/// Starts `f` in a detached fiber attached to the runtime's root scope and
/// returns a handle to join or abort it. As with tokio's `spawn`, the
/// caller goes on first: `f` is queued behind the fibers already runnable
/// and starts when the caller blocks or yields (code that spawns a
/// consumer and then fills its queue, or spawns then waits at a barrier,
/// keeps tokio's order).
///
/// ```
/// weft::run(|_env| {
///     let h = weft::spawn(|| "hello");
///     assert_eq!(h.join().unwrap(), "hello");
/// });
/// ```
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    let outcome = Rc::new(Outcome {
        result: RefCell::new(None),
        waiters: RefCell::new(WaitQueue::new()),
        finished: Cell::new(false),
    });
    let done = outcome.clone();
    let ctx = spawn_root(f, move |r| done.finish(r));
    JoinHandle { ctx, outcome }
}

/// Starts `f` in a fiber of the runtime's root scope; `done` gets its
/// outcome. Returns the task's cancellation context (to abort it).
#[track_caller]
pub(crate) fn spawn_root<F, T>(
    f: F,
    done: impl FnOnce(Result<T, JoinError>) + 'static,
) -> Rc<CancelCtx>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    let root = ROOT.with(|r| r.borrow().clone()).unwrap_or_else(|| {
        panic!(
            "weft::spawn needs a running weft runtime (at {})",
            std::panic::Location::caller()
        )
    });
    let ctx = CancelCtx::child(&root.ctx);
    root.live.set(root.live.get() + 1);
    let body = move || {
        let outcome = catch_unwind(AssertUnwindSafe(f));
        let result = match outcome {
            Ok(v) => Ok(v),
            Err(p) if cancel::is_cancellation(p.as_ref()) => Err(JoinError::cancelled()),
            Err(p) => Err(JoinError::panic(p)),
        };
        done(result);
        root.live.set(root.live.get() - 1);
        if root.live.get() == 0 {
            if let Some(j) = root.joiner.borrow_mut().take() {
                j.resume();
            }
        }
    };
    crate::console::spawn_site();
    let fiber = scheduler::expect("weft::spawn", |s| {
        // SAFETY: `body` is 'static.
        unsafe { s.create(None, &ctx, body) }
    })
    .unwrap_or_else(|e| panic!("weft: cannot start a fiber: {e}"));
    start_fiber(fiber, Start::Later);
    ctx
}

/// Starts a detached root-scope fiber for a remote job, from the
/// scheduler's own stack or from a fiber of it (it does not switch).
/// Dropped without running if the runtime is shutting down.
pub(crate) fn spawn_from_scheduler(f: impl FnOnce() + 'static) {
    let Some(root) = ROOT.with(|r| r.borrow().clone()) else {
        return;
    };
    if root.ctx.is_cancelled() {
        return;
    }
    let ctx = CancelCtx::child(&root.ctx);
    root.live.set(root.live.get() + 1);
    let body = move || {
        let _ = catch_unwind(AssertUnwindSafe(f));
        root.live.set(root.live.get() - 1);
        if root.live.get() == 0 {
            if let Some(j) = root.joiner.borrow_mut().take() {
                j.resume();
            }
        }
    };
    let created = scheduler::with(|s| {
        // SAFETY: `body` is 'static.
        unsafe { s.create(None, &ctx, body) }
    });
    match created {
        Some(Ok(fiber)) => scheduler::with(|s| s.push_back(fiber)).unwrap_or(()),
        Some(Err(e)) => tracing::error!(error = %e, "weft: cannot start a fiber for Handle::spawn"),
        None => {}
    }
}

impl<T> JoinHandle<T> {
    /// Waits for the task and returns its value, or why there is none. A
    /// cancellation point (cancelling the caller does not cancel the task).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let h = weft::spawn(|| weft::fiber::await_cancel());
    ///     h.abort();
    ///     assert!(h.join().unwrap_err().is_cancelled());
    /// });
    /// ```
    #[track_caller]
    pub fn join(self) -> Result<T, JoinError> {
        self.wait_for_result(std::panic::Location::caller())
    }

    /// Waits for the task through a borrow, leaving the handle usable if
    /// the wait is cancelled: tokio's `&mut handle` raced in `select!`,
    /// after which the loser may still call [`abort`](JoinHandle::abort).
    /// Once it has returned the task's outcome, calling it (or `join`)
    /// again panics, as polling a finished tokio `JoinHandle` does.
    ///
    /// ```
    /// use std::time::Duration;
    /// weft::run(|_env| {
    ///     let mut h = weft::spawn(|| weft::time::sleep(Duration::from_secs(60)));
    ///     let raced = weft::fiber::first(
    ///         || Some(h.join_ref()),
    ///         || { weft::time::sleep(Duration::from_millis(5)); None },
    ///     );
    ///     assert!(raced.is_none(), "the timer won");
    ///     h.abort(); // the handle is still ours
    ///     assert!(h.join_ref().unwrap_err().is_cancelled());
    /// });
    /// ```
    #[track_caller]
    pub fn join_ref(&mut self) -> Result<T, JoinError> {
        self.wait_for_result(std::panic::Location::caller())
    }

    fn wait_for_result(
        &self,
        location: &'static std::panic::Location<'static>,
    ) -> Result<T, JoinError> {
        loop {
            if let Some(r) = self.outcome.result.borrow_mut().take() {
                return r;
            }
            assert!(
                !self.is_finished(),
                "weft: JoinHandle joined again after it returned the task's outcome (at {location})"
            );
            let mut key = None;
            let r = suspend_at(
                location,
                crate::console::events::WaitKind::Join,
                true,
                |resumer| {
                    key = Some(self.outcome.waiters.borrow_mut().push(resumer));
                },
            );
            if let Err(c) = r {
                if let Some(k) = key {
                    self.outcome.waiters.borrow_mut().remove(k);
                }
                c.unwind();
            }
        }
    }

    /// Cancels the task: it unwinds from its current or next blocking call.
    /// A task that has finished is not affected.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let h = weft::spawn(|| weft::time::sleep(std::time::Duration::from_secs(60)));
    ///     h.abort();
    ///     assert!(h.join().is_err());
    /// });
    /// ```
    pub fn abort(&self) {
        self.ctx.cancel(Cancelled::new(CancelReason::Aborted));
    }

    /// Whether the task has finished (returned, panicked or was cancelled).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let h = weft::spawn(|| ());
    ///     assert!(!h.is_finished()); // queued: the caller goes on first
    ///     weft::fiber::yield_now();
    ///     assert!(h.is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.outcome.finished.get()
    }

    /// A handle that can abort the task without owning the right to join.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let h = weft::spawn(|| weft::fiber::await_cancel());
    ///     let a = h.abort_handle();
    ///     a.abort();
    ///     assert!(h.join().unwrap_err().is_cancelled());
    ///     assert!(a.is_finished());
    /// });
    /// ```
    pub fn abort_handle(&self) -> AbortHandle
    where
        // Every handle `spawn` makes has a 'static value type.
        T: 'static,
    {
        let outcome = self.outcome.clone();
        AbortHandle::new(&self.ctx, Rc::new(move || outcome.finished.get()))
    }
}

/// Aborts a task without joining it (from [`JoinHandle::abort_handle`] or
/// `TaskSet::spawn`).
#[derive(Clone)]
pub struct AbortHandle {
    ctx: std::rc::Weak<CancelCtx>,
    finished: Rc<dyn Fn() -> bool>,
}

impl AbortHandle {
    pub(crate) fn new(ctx: &Rc<CancelCtx>, finished: Rc<dyn Fn() -> bool>) -> Self {
        AbortHandle {
            ctx: Rc::downgrade(ctx),
            finished,
        }
    }

    /// Cancels the task (no effect if it has finished).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let h = weft::spawn(|| weft::fiber::await_cancel());
    ///     h.abort_handle().abort();
    ///     assert!(h.join().is_err());
    /// });
    /// ```
    pub fn abort(&self) {
        if let Some(ctx) = self.ctx.upgrade() {
            ctx.cancel(Cancelled::new(CancelReason::Aborted));
        }
    }

    /// Whether the task has finished.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let h = weft::spawn(|| ());
    ///     weft::fiber::yield_now(); // let it run
    ///     assert!(h.abort_handle().is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        (self.finished)()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}
