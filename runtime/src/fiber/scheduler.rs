//! The per-thread scheduler: a FIFO run queue, the timers, the I/O backend,
//! and the queue other threads use to wake fibers that live here.
//!
//! Invariants:
//! - Only this module switches stacks: `resume` switches into a fiber from
//!   the scheduler's own (native) stack, and `switch_out` switches from the
//!   running fiber back to it. Fibers never resume each other directly.
//! - A fiber is resumed only by the scheduler of the thread that created it.
//! - A fiber is in the run queue at most once per wake-up (the wait protocol
//!   in `task.rs` guarantees one enqueue per suspension).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::Location;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corosensei::stack::Stack;
use corosensei::CoroutineResult;
use slab::Slab;

use crate::backend::{Driver, Waker as BackendWaker};
use crate::cancel::CancelCtx;
use crate::fiber::handoff::Handoff;
use crate::fiber::stack::{self, StackPool, StackStats};
use crate::fiber::task::{Co, Fiber, FiberState};
use crate::fiber::FiberId;
use crate::time::clock::ClockSource;
use crate::time::timers::{TimerAction, Timers};

/// How many fibers run between two looks at the timers, the remote queue
/// and (non-blocking) the backend, when the run queue never empties.
const MAINTENANCE_INTERVAL: u32 = 61;

static NEXT_FIBER_ID: AtomicU64 = AtomicU64::new(1);
static NEXT_SCHEDULER_ID: AtomicU64 = AtomicU64::new(1);

/// The part of a scheduler other threads may touch.
pub(crate) struct Remote {
    pub(crate) id: u64,
    handoff: Handoff<RemoteWork>,
    waker: Arc<dyn BackendWaker>,
    /// For the watchdog: how many times a fiber was resumed here, and the
    /// id of the fiber running now (0 while on the scheduler's stack).
    pub(crate) resumes: AtomicU64,
    pub(crate) running: AtomicU64,
    /// How many times the scheduler parked in its backend (an idle
    /// scheduler parks once and stays parked: no busy polling).
    pub(crate) parks: AtomicU64,
}

/// Work handed to a scheduler from another thread.
pub(crate) enum RemoteWork {
    Wake(Arc<Fiber>),
    Run(Box<dyn FnOnce() + Send>),
}

impl Remote {
    pub(crate) fn push(&self, work: RemoteWork) {
        if self.handoff.push(work) {
            self.waker.wake();
        }
    }

    fn take(&self) -> Vec<RemoteWork> {
        self.handoff.take()
    }
}

/// Settings a scheduler is built with.
#[derive(Clone, Debug)]
pub(crate) struct SchedulerConfig {
    pub(crate) stack_size: usize,
    pub(crate) max_pooled_stacks: usize,
    pub(crate) mock_clock: bool,
}

pub(crate) struct Scheduler {
    run_queue: RefCell<VecDeque<Arc<Fiber>>>,
    current: RefCell<Option<Arc<Fiber>>>,
    pub(crate) remote: Arc<Remote>,
    pub(crate) timers: RefCell<Timers>,
    pub(crate) clock: ClockSource,
    stacks: RefCell<StackPool>,
    registry: RefCell<Slab<Arc<Fiber>>>,
    backend: RefCell<Driver>,
    /// I/O ops completed by the running fiber without suspending.
    io_streak: Cell<u32>,
    config: SchedulerConfig,
    tick: Cell<u32>,
}

thread_local! {
    static CURRENT: Cell<*const Scheduler> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` with this thread's scheduler, if there is one.
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(&Scheduler) -> R) -> Option<R> {
    let ptr = CURRENT.with(|c| c.get());
    if ptr.is_null() {
        None
    } else {
        // SAFETY: CURRENT is set by `Scheduler::enter` to a scheduler that
        // outlives the guard it returns, and cleared when that guard drops.
        Some(f(unsafe { &*ptr }))
    }
}

/// This thread's scheduler; panics with `what` when there is none.
#[inline]
#[track_caller]
pub(crate) fn expect<R>(what: &str, f: impl FnOnce(&Scheduler) -> R) -> R {
    match with(f) {
        Some(r) => r,
        None => panic!(
            "weft: {what} needs a running weft runtime on this thread (at {}); call it inside weft::run",
            Location::caller()
        ),
    }
}

/// The fiber running on this thread, if any.
#[inline]
pub(crate) fn current_fiber() -> Option<Arc<Fiber>> {
    with(|s| s.current.borrow().clone()).flatten()
}

/// Runs `f` with the running fiber, without cloning its `Arc`. `f` must
/// not suspend or touch the scheduler's notion of the current fiber.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Arc<Fiber>) -> R) -> Option<R> {
    with(|s| s.current.borrow().as_ref().map(f)).flatten()
}

/// Puts a woken fiber on its home scheduler's run queue.
#[inline]
pub(crate) fn schedule(fiber: Arc<Fiber>) {
    let local = with(|s| {
        if Arc::ptr_eq(&s.remote, &fiber.home) {
            s.run_queue.borrow_mut().push_back(fiber.clone());
            true
        } else {
            false
        }
    });
    if local != Some(true) {
        let home = fiber.home.clone();
        home.push(RemoteWork::Wake(fiber));
    }
}

/// Runs `f` with this thread's I/O driver (never across a suspension).
pub(crate) fn with_driver<R>(f: impl FnOnce(&mut Driver) -> R) -> Option<R> {
    with(|s| f(&mut s.backend.borrow_mut()))
}

/// How many I/O ops a fiber may complete in a row without suspending
/// before it yields, so a busy connection cannot starve the others.
const IO_BUDGET: u32 = 128;

/// Counts an I/O op of the running fiber; yields when its budget is spent.
pub(crate) fn io_budget() {
    let spent = with(|s| {
        let n = s.io_streak.get() + 1;
        s.io_streak.set(n);
        n >= IO_BUDGET
    });
    if spent == Some(true) {
        crate::fiber::yield_now();
    }
}

/// The scheduler's clock reading in nanoseconds since it started.
pub(crate) fn now_nanos() -> u64 {
    with(|s| s.clock.now_nanos()).unwrap_or(0)
}

/// Switches from the running fiber back to the scheduler. Returns when the
/// scheduler resumes the fiber.
pub(crate) fn switch_out(fiber: &Fiber) {
    let yielder = fiber.local.yielder.get();
    debug_assert!(
        !yielder.is_null(),
        "switch_out from a fiber that has not started"
    );
    // SAFETY: the yielder pointer was stored by the fiber's own entry
    // function and stays valid for as long as the coroutine runs; we are
    // running on that coroutine now (only fibers call switch_out).
    unsafe { (*yielder).suspend(()) }
}

/// Puts the running fiber at the back of the run queue and switches out.
pub(crate) fn yield_current() {
    // Move the running fiber's Arc from `current` to the back of the run
    // queue (no refcount traffic), then switch out.
    let yielder = expect("yield_now", |s| {
        let me = s
            .current
            .borrow_mut()
            .take()
            .expect("yield_now is called from a fiber");
        let yielder = me.local.yielder.get();
        s.run_queue.borrow_mut().push_back(me);
        yielder
    });
    // SAFETY: the yielder belongs to the running coroutine (we are on it);
    // the fiber is kept alive by the run queue and the registry.
    unsafe { (*yielder).suspend(()) }
}

/// Guard that uninstalls a scheduler from the thread when dropped.
pub(crate) struct Entered {
    previous: *const Scheduler,
}

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

impl Scheduler {
    pub(crate) fn new(config: SchedulerConfig, mut backend: Driver) -> Self {
        stack::ensure_alt_stack();
        let remote = Arc::new(Remote {
            id: NEXT_SCHEDULER_ID.fetch_add(1, Ordering::Relaxed),
            handoff: Handoff::new(),
            waker: backend.waker(),
            resumes: AtomicU64::new(0),
            running: AtomicU64::new(0),
            parks: AtomicU64::new(0),
        });
        Scheduler {
            run_queue: RefCell::new(VecDeque::with_capacity(256)),
            current: RefCell::new(None),
            remote,
            timers: RefCell::new(Timers::default()),
            clock: ClockSource::new(config.mock_clock),
            stacks: RefCell::new(StackPool::new(config.stack_size, config.max_pooled_stacks)),
            registry: RefCell::new(Slab::new()),
            backend: RefCell::new(backend),
            io_streak: Cell::new(0),
            config,
            tick: Cell::new(0),
        }
    }

    /// Installs this scheduler as the thread's current one.
    ///
    /// Refuses (panics) when the thread already runs a scheduler: a nested
    /// `weft::run` would block the outer one's fibers.
    pub(crate) fn enter(&self) -> Entered {
        let previous = CURRENT.with(|c| c.get());
        if !previous.is_null() {
            panic!("weft::run called on a thread that is already running weft; use Switch::run or fork instead");
        }
        CURRENT.with(|c| c.set(self));
        Entered { previous }
    }

    pub(crate) fn stack_stats(&self) -> StackStats {
        self.stacks.borrow().stats()
    }

    /// Creates a fiber running `body` in cancellation context `ctx`, and
    /// returns it without scheduling it.
    ///
    /// # Safety
    /// Everything `body` borrows must stay alive until the fiber finishes.
    /// Switches guarantee this by not returning before their fibers end.
    pub(crate) unsafe fn create<F>(
        &self,
        name: Option<Box<str>>,
        ctx: &Rc<CancelCtx>,
        body: F,
    ) -> std::io::Result<Arc<Fiber>>
    where
        F: FnOnce(),
    {
        let stack = self.stacks.borrow_mut().take()?;
        let guard_lo = stack.limit().get();
        let id = FiberId(NEXT_FIBER_ID.fetch_add(1, Ordering::Relaxed));
        let fiber = Arc::new(Fiber::new(id, name, self.remote.clone(), guard_lo));
        let entry = move |yielder: &corosensei::Yielder<(), ()>, ()| {
            if let Some(me) = current_fiber() {
                me.local.yielder.set(yielder);
            }
            body();
        };
        // SAFETY: the caller guarantees that what `body` borrows outlives the
        // fiber; the coroutine is dropped (after completion) by `retire`.
        let co: Co = unsafe { Co::with_stack_unchecked(stack, entry) };
        fiber.set_coroutine(co);
        let key = ctx.add_fiber(fiber.clone());
        *fiber.local.ctx.borrow_mut() = Some((ctx.clone(), key));
        let reg = self.registry.borrow_mut().insert(fiber.clone());
        fiber.local.registry_key.set(reg);
        Ok(fiber)
    }

    pub(crate) fn push_back(&self, fiber: Arc<Fiber>) {
        self.run_queue.borrow_mut().push_back(fiber);
    }

    pub(crate) fn push_front(&self, fiber: Arc<Fiber>) {
        self.run_queue.borrow_mut().push_front(fiber);
    }

    /// Runs fibers until `done()` holds with an empty run queue.
    pub(crate) fn run_until(&self, done: &dyn Fn() -> bool) {
        loop {
            let next = self.run_queue.borrow_mut().pop_front();
            match next {
                Some(fiber) => {
                    let tick = self.tick.get().wrapping_add(1);
                    self.tick.set(tick);
                    if tick % MAINTENANCE_INTERVAL == 0 {
                        self.maintain(false);
                    }
                    self.resume(fiber);
                }
                None => {
                    if done() {
                        return;
                    }
                    self.maintain(true);
                }
            }
        }
    }

    fn resume(&self, fiber: Arc<Fiber>) {
        stack::enter_fiber(
            fiber.guard_lo,
            fiber.id.0,
            fiber.name.as_deref(),
            self.config.stack_size,
        );
        let raw: *const Fiber = Arc::as_ptr(&fiber);
        let id = fiber.id.0;
        // The Arc moves into `current` (a yield moves it on to the queue).
        *self.current.borrow_mut() = Some(fiber);
        self.io_streak.set(0);
        let resumes = self.remote.resumes.load(Ordering::Relaxed);
        self.remote
            .resumes
            .store(resumes.wrapping_add(1), Ordering::Relaxed);
        self.remote.running.store(id, Ordering::Relaxed);
        // SAFETY: the registry holds an Arc of every live fiber until
        // `retire`, so `raw` stays valid for this resume; we are the home
        // scheduler on our own stack, and the borrow ends with the resume.
        let co = unsafe { (*raw).coroutine_mut() };
        let result = co
            .as_mut()
            .expect("a queued fiber has a coroutine")
            .resume(());
        let fiber = self.current.borrow_mut().take();
        self.remote.running.store(0, Ordering::Relaxed);
        stack::leave_fiber();
        if let CoroutineResult::Return(()) = result {
            let fiber = fiber.expect("a finished fiber did not queue itself");
            self.retire(&fiber);
        }
    }

    /// Frees what a finished fiber held, on its home thread.
    fn retire(&self, fiber: &Arc<Fiber>) {
        // SAFETY: home scheduler, outside the fiber, which has finished.
        let co = unsafe { fiber.coroutine_mut() }.take();
        if let Some(co) = co {
            self.stacks.borrow_mut().give_back(co.into_stack());
        }
        if let Some((ctx, key)) = fiber.local.ctx.borrow_mut().take() {
            ctx.remove_fiber(key);
        }
        self.registry
            .borrow_mut()
            .try_remove(fiber.local.registry_key.get());
    }

    /// Moves remote wake-ups in, fires due timers, and when `may_block` and
    /// nothing is runnable, parks in the backend until the next timer.
    fn maintain(&self, may_block: bool) {
        self.take_remote();
        self.fire_timers();
        let io_wait = if may_block && self.run_queue.borrow().is_empty() {
            if self.clock.is_mock() {
                // Nothing can run: poll I/O once, then jump to the next timer.
                self.poll_backend(Some(Duration::ZERO));
                self.take_remote();
                if self.run_queue.borrow().is_empty() {
                    let next = self.timers.borrow_mut().next_deadline();
                    if let Some(next) = next {
                        self.clock.advance_to(next);
                        self.fire_timers();
                        return;
                    }
                }
                if !self.run_queue.borrow().is_empty() {
                    return;
                }
                None
            } else {
                let now = self.clock.now_nanos();
                self.timers
                    .borrow_mut()
                    .next_deadline()
                    .map(|d| Duration::from_nanos(d.saturating_sub(now)))
            }
        } else {
            Some(Duration::ZERO)
        };
        if io_wait == Some(Duration::ZERO) {
            if self.backend.borrow_mut().has_pending_io() {
                self.poll_backend(Some(Duration::ZERO));
            }
            return;
        }
        // Park: announce it, then look at the remote queue once more so a
        // push racing with us is either seen here or wakes the backend.
        if !self.remote.handoff.prepare_park() {
            self.take_remote();
            return;
        }
        self.remote.parks.fetch_add(1, Ordering::Relaxed);
        self.poll_backend(io_wait);
        self.remote.handoff.unpark();
        self.take_remote();
        self.fire_timers();
    }

    fn poll_backend(&self, timeout: Option<Duration>) {
        if let Err(e) = self.backend.borrow_mut().wait(timeout) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                tracing::error!(error = %e, "weft: the I/O backend failed to wait");
            }
        }
    }

    fn take_remote(&self) {
        for work in self.remote.take() {
            match work {
                RemoteWork::Wake(fiber) => self.run_queue.borrow_mut().push_back(fiber),
                RemoteWork::Run(job) => job(),
            }
        }
    }

    fn fire_timers(&self) {
        if self.timers.borrow().is_empty() {
            return;
        }
        let now = self.clock.now_nanos();
        loop {
            let action = self.timers.borrow_mut().pop_expired(now);
            match action {
                Some(TimerAction::Resume(r)) => {
                    r.resume();
                }
                Some(TimerAction::Cancel(ctx, reason)) => {
                    if let Some(ctx) = ctx.upgrade() {
                        ctx.cancel(reason);
                    }
                }
                None => break,
            }
        }
    }

    /// One line per live fiber: id, name, state, where it waits, how long.
    pub(crate) fn dump(&self) -> String {
        use std::fmt::Write;
        let now = self.clock.now_nanos();
        let registry = self.registry.borrow();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "weft scheduler #{}: {} fibers, {} runnable, {} timers",
            self.remote.id,
            registry.len(),
            self.run_queue.borrow().len(),
            self.timers.borrow().len()
        );
        let mut fibers: Vec<&Arc<Fiber>> = registry.iter().map(|(_, f)| f).collect();
        fibers.sort_by_key(|f| f.id);
        for f in fibers {
            let name = f
                .name
                .as_deref()
                .map(|n| format!(" \"{n}\""))
                .unwrap_or_default();
            let running = self
                .current
                .borrow()
                .as_ref()
                .is_some_and(|c| Arc::ptr_eq(c, f));
            let state = match (running, f.state()) {
                (true, _) => "running",
                (false, FiberState::Runnable) => "runnable",
                (false, FiberState::Waiting) => "waiting",
                (false, FiberState::WaitingProtected) => "waiting (protected)",
            };
            let _ = write!(out, "  fiber {}{name}: {state}", f.id);
            if let (false, Some(at)) = (running, f.local.blocked_at.get()) {
                let waited = Duration::from_nanos(now.saturating_sub(f.local.blocked_since.get()));
                let _ = write!(out, " at {at} for {waited:.3?}");
            }
            out.push('\n');
        }
        out
    }
}
