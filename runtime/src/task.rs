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

use crate::cancel::{self, CancelCtx, CancelReason, Cancelled};
use crate::fiber::scheduler;
use crate::fiber::task::{suspend_at, suspend_protected};
use crate::fiber::Resumer;
use crate::switch::{start_fiber, Start};
use crate::sync::wait_queue::WaitQueue;

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
            suspend_protected(|r| *self.state.joiner.borrow_mut() = Some(r));
        }
        ROOT.with(|r| *r.borrow_mut() = self.previous.take());
    }
}

/// Why [`JoinHandle::join`] has no value.
#[derive(thiserror::Error)]
pub enum JoinError {
    /// The task was aborted (or the runtime shut down) before it finished.
    #[error("task was cancelled")]
    Cancelled,
    /// The task panicked; the payload is kept.
    #[error("task panicked: {}", crate::error::panic_message(.0.as_ref()))]
    Panic(Box<dyn Any + Send>),
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("JoinError::Cancelled"),
            JoinError::Panic(p) => write!(
                f,
                "JoinError::Panic({:?})",
                crate::error::panic_message(p.as_ref())
            ),
        }
    }
}

impl JoinError {
    /// Whether the task was cancelled.
    ///
    /// ```
    /// assert!(weft::JoinError::Cancelled.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// Whether the task panicked.
    ///
    /// ```
    /// assert!(!weft::JoinError::Cancelled.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panic(_))
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
        match self {
            JoinError::Panic(p) => p,
            JoinError::Cancelled => panic!("JoinError::into_panic on a cancelled task"),
        }
    }
}

pub(crate) struct TaskState<T> {
    ctx: Rc<CancelCtx>,
    result: Rc<RefCell<Option<Result<T, JoinError>>>>,
    waiters: Rc<RefCell<WaitQueue>>,
    finished: Rc<Cell<bool>>,
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
    state: Rc<TaskState<T>>,
}

/// Starts `f` in a detached fiber attached to the runtime's root scope and
/// returns a handle to join or abort it. `f` starts running at once; the
/// caller continues when it first blocks.
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
    let result: Rc<RefCell<Option<Result<T, JoinError>>>> = Rc::new(RefCell::new(None));
    let waiters = Rc::new(RefCell::new(WaitQueue::new()));
    let finished = Rc::new(Cell::new(false));
    let (slot, woken, done) = (result.clone(), waiters.clone(), finished.clone());
    let ctx = spawn_root(f, move |r| {
        *slot.borrow_mut() = Some(r);
        done.set(true);
        woken.borrow_mut().wake_all();
    });
    JoinHandle {
        state: Rc::new(TaskState {
            ctx,
            result,
            waiters,
            finished,
        }),
    }
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
            Err(p) if cancel::is_cancellation(p.as_ref()) => Err(JoinError::Cancelled),
            Err(p) => Err(JoinError::Panic(p)),
        };
        done(result);
        root.live.set(root.live.get() - 1);
        if root.live.get() == 0 {
            if let Some(j) = root.joiner.borrow_mut().take() {
                j.resume();
            }
        }
    };
    let fiber = scheduler::expect("weft::spawn", |s| {
        // SAFETY: `body` is 'static.
        unsafe { s.create(None, &ctx, body) }
    })
    .unwrap_or_else(|e| panic!("weft: cannot start a fiber: {e}"));
    start_fiber(fiber, Start::Now);
    ctx
}

/// Starts a detached root-scope fiber from the scheduler's own stack (a
/// remote job). Dropped without running if the runtime is shutting down.
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
        let location = std::panic::Location::caller();
        loop {
            if let Some(r) = self.state.result.borrow_mut().take() {
                return r;
            }
            let mut key = None;
            let r = suspend_at(location, true, |resumer| {
                key = Some(self.state.waiters.borrow_mut().push(resumer));
            });
            if let Err(c) = r {
                if let Some(k) = key {
                    self.state.waiters.borrow_mut().remove(k);
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
        self.state.ctx.cancel(Cancelled::new(CancelReason::Aborted));
    }

    /// Whether the task has finished (returned, panicked or was cancelled).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let h = weft::spawn(|| ());
    ///     assert!(h.is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.state.finished.get()
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
    pub fn abort_handle(&self) -> AbortHandle {
        let finished = self.state.finished.clone();
        AbortHandle {
            ctx: Rc::downgrade(&self.state.ctx),
            finished: Rc::new(move || finished.get()),
        }
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
