//! The fiber object and the suspend/resume protocol every blocking call uses.
//!
//! A fiber is shared as `Arc<Fiber>`: the scheduler of its home thread holds
//! one reference while it lives, and each [`Resumer`] handed to a waiting
//! primitive holds another. Only the atomic `state` is touched from other
//! threads; everything in `local` belongs to the home thread.
//!
//! The wait protocol ("one suspension, one outcome"):
//! 1. [`suspend`] bumps the fiber's token and marks it waiting, then gives
//!    the primitive a [`Resumer`] for that token.
//! 2. Exactly one party wins the compare-and-swap out of the waiting state:
//!    a resumer ([`Resumer::resume`] returns `true`) or a cancellation. The
//!    winner enqueues the fiber, once. Every other attempt is a no-op that
//!    returns `false`, so a primitive learns that its waiter is gone and can
//!    hand the item or permit to the next one.
//! 3. Only the home scheduler resumes the fiber, and only after the fiber
//!    has switched out, so a wake that arrives before the switch is never
//!    lost and never resumes a running stack.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;

use corosensei::{Coroutine, Yielder};

use crate::cancel::{CancelCtx, Cancelled};
use crate::console::events::WaitKind;
use crate::fiber::scheduler::{self, Remote};
use crate::fiber::wait_state::{Outcome, WaitState};
use crate::fiber::FiberId;

pub use crate::fiber::wait_state::FiberState;

pub(crate) type Co = Coroutine<(), (), (), crate::fiber::stack::FiberStack>;

/// A fiber's control block: its coroutine, its wait state, its context
/// and what dumps and weft-console show of it.
pub struct Fiber {
    pub(crate) id: FiberId,
    pub(crate) name: Option<Box<str>>,
    pub(crate) home: Arc<Remote>,
    /// Lowest address of the stack's guard page, for overflow reports.
    pub(crate) guard_lo: usize,
    state: WaitState,
    coroutine: UnsafeCell<Option<Co>>,
    pub(crate) local: FiberLocal,
}

/// Home-thread-only fields.
pub(crate) struct FiberLocal {
    pub(crate) yielder: Cell<*const Yielder<(), ()>>,
    /// The cancellation context the fiber runs in, and its key there.
    pub(crate) ctx: RefCell<Option<(Rc<CancelCtx>, usize)>>,
    /// Whether `ctx` is cancelled: the hot-path check is this one load.
    /// Kept true by `CancelCtx::cancel` (for the fibers registered in the
    /// context) and set whenever the fiber changes context.
    pub(crate) cancelled: Cell<bool>,
    /// Where the fiber last blocked, and the scheduler time it did.
    pub(crate) blocked_at: Cell<Option<&'static Location<'static>>>,
    pub(crate) blocked_since: Cell<u64>,
    /// What it waits on when `blocked_at` is set (for weft-console).
    pub(crate) wait_kind: Cell<WaitKind>,
    /// Roughly where the stack pointer was when the fiber last switched
    /// out (0 before that): the scheduler prefetches the stack there a few
    /// fibers before resuming it (`scheduler::prefetch_resume`).
    pub(crate) suspended_sp: Cell<usize>,
    /// Key of this fiber in its scheduler's registry.
    pub(crate) registry_key: Cell<usize>,
    /// The `tracing` spans the fiber holds entered while it is switched
    /// out, outermost first (see `span_context`).
    pub(crate) spans: RefCell<Vec<tracing::span::Id>>,
    /// Fiber-local bindings (`fiber::with_binding`), inherited at fork.
    pub(crate) bindings: RefCell<crate::fiber::local::Bindings>,
    /// Forks a race owes before this fiber switches out (`deferred_fork`).
    pub(crate) deferred_forks: crate::fiber::deferred_fork::DeferredForks,
    /// Blocked time left before the branches its races watch start
    /// (`fiber::first_watch`, `watch_gate`), in nanoseconds.
    pub(crate) watch_grace: Cell<u64>,
}

// SAFETY: `state` is atomic and `id`, `name`, `home` are immutable. The
// coroutine and `local` are only touched on the home thread: the scheduler
// resumes fibers only from its own thread, and every function that reads
// `local` runs either inside the fiber or in its home scheduler. Before a
// fiber finishes, the home thread empties `coroutine`, `local.ctx` and
// `local.bindings`, so a last `Arc` dropped on another thread drops nothing
// thread-bound.
unsafe impl Send for Fiber {}
// SAFETY: see `Send` above: shared access from other threads is limited to
// the atomic `state` and the immutable fields.
unsafe impl Sync for Fiber {}

impl Fiber {
    pub(crate) fn new(
        id: FiberId,
        name: Option<Box<str>>,
        home: Arc<Remote>,
        guard_lo: usize,
    ) -> Self {
        Fiber {
            id,
            name,
            home,
            guard_lo,
            state: WaitState::new(),
            coroutine: UnsafeCell::new(None),
            local: FiberLocal {
                yielder: Cell::new(std::ptr::null()),
                ctx: RefCell::new(None),
                cancelled: Cell::new(false),
                blocked_at: Cell::new(None),
                blocked_since: Cell::new(0),
                wait_kind: Cell::new(WaitKind::Suspend),
                suspended_sp: Cell::new(0),
                registry_key: Cell::new(usize::MAX),
                spans: RefCell::new(Vec::new()),
                bindings: RefCell::new(None),
                deferred_forks: Default::default(),
                watch_grace: Cell::new(crate::fiber::watch_gate::GRACE_NANOS),
            },
        }
    }

    /// Makes a finished fiber (same home, nothing else referring to it)
    /// ready to be a new one, without reallocating it.
    pub(crate) fn reset(&mut self, id: FiberId, name: Option<Box<str>>, guard_lo: usize) {
        debug_assert!(self.coroutine.get_mut().is_none(), "reset of a live fiber");
        self.id = id;
        self.name = name;
        self.guard_lo = guard_lo;
        self.state = WaitState::new();
        let local = &mut self.local;
        local.yielder.set(std::ptr::null());
        *local.ctx.get_mut() = None;
        local.cancelled.set(false);
        local.blocked_at.set(None);
        local.blocked_since.set(0);
        local.suspended_sp.set(0);
        local.registry_key.set(usize::MAX);
        local.spans.get_mut().clear();
        *local.bindings.get_mut() = None;
        debug_assert!(local.deferred_forks.is_empty(), "a race left a fork behind");
        local.watch_grace.set(crate::fiber::watch_gate::GRACE_NANOS);
    }

    /// Installs the coroutine. Home thread only, before the first resume.
    pub(crate) fn set_coroutine(&self, co: Co) {
        // SAFETY: called once by the home scheduler before the fiber has run;
        // nothing else holds a reference into the cell.
        unsafe { *self.coroutine.get() = Some(co) }
    }

    /// The coroutine, for the home scheduler to resume or retire.
    ///
    /// # Safety
    /// Only the home scheduler may call this, never from inside the fiber,
    /// and the returned reference must not outlive the resume call.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn coroutine_mut(&self) -> &mut Option<Co> {
        // SAFETY: guaranteed by the caller (see above).
        unsafe { &mut *self.coroutine.get() }
    }

    pub(crate) fn state(&self) -> FiberState {
        self.state.kind()
    }

    /// Wakes the fiber with a cancellation if it is in a cancellable wait.
    /// Home thread only (contexts live there).
    pub(crate) fn cancel_wake(self: &Arc<Self>) {
        if self.state.try_cancel() {
            scheduler::schedule(self.clone());
        }
    }

    /// The cancellation of the fiber's context, if any (no clone of the
    /// context; the reason is cloned only when cancelled).
    #[inline]
    pub(crate) fn ctx_cancelled(&self) -> Option<Cancelled> {
        if !self.local.cancelled.get() {
            return None;
        }
        self.ctx_cancelled_slow()
    }

    #[cold]
    fn ctx_cancelled_slow(&self) -> Option<Cancelled> {
        let ctx = self.local.ctx.borrow();
        let (ctx, _) = ctx
            .as_ref()
            .expect("a live fiber always has a cancellation context");
        if ctx.is_cancelled() {
            ctx.cancelled()
        } else {
            None
        }
    }

    pub(crate) fn current_ctx(&self) -> Rc<CancelCtx> {
        self.local
            .ctx
            .borrow()
            .as_ref()
            .map(|(c, _)| c.clone())
            .expect("a live fiber always has a cancellation context")
    }
}

/// The right to resume one suspended fiber, once.
///
/// Handed out by [`suspend`]; `Send`, so any thread may resume the fiber.
/// A resumer from an earlier suspension, or one whose fiber was already
/// cancelled or resumed, does nothing.
///
/// ```
/// use std::cell::RefCell;
/// weft::run(|_env| {
///     let slot = RefCell::new(None);
///     weft::Switch::run(|sw| {
///         sw.fork(|| {
///             weft::fiber::suspend(|r| *slot.borrow_mut() = Some(r)).unwrap();
///         });
///         let resumer = slot.borrow_mut().take().unwrap();
///         assert!(resumer.resume());
///         Ok(())
///     })
///     .unwrap();
/// });
/// ```
#[must_use = "a fiber suspended with this resumer stays suspended until it is used"]
pub struct Resumer {
    fiber: Arc<Fiber>,
    token: u64,
}

impl Resumer {
    /// Resumes the fiber if it is still waiting in the suspension this
    /// resumer was made for. Returns `false` (and does nothing) if it was
    /// already resumed or cancelled.
    pub fn resume(self) -> bool {
        self.resume_into(scheduler::schedule)
    }

    /// Like [`Resumer::resume`], keeping the resumer (a later call is a
    /// no-op returning `false`).
    pub fn resume_ref(&self) -> bool {
        let won = self.win();
        if won {
            scheduler::schedule(self.fiber.clone());
        }
        won
    }

    /// [`resume`](Self::resume) for the completion of an executor job: a
    /// home scheduler parked lazily, awaiting many jobs, collects it when
    /// its short sleep ends instead of being woken for each.
    #[doc(hidden)]
    pub fn resume_lazy(self) -> bool {
        self.resume_into(scheduler::schedule_lazy)
    }

    /// Wins the wake-up, then hands the resumer's own reference to
    /// `schedule` (no count traffic: a clone and a drop would be two locked
    /// instructions).
    #[inline]
    fn resume_into(self, schedule: fn(Arc<Fiber>)) -> bool {
        let won = self.win();
        if won {
            schedule(self.fiber);
        }
        won
    }

    /// Takes the fiber out of its wait if this resumer's suspension is the
    /// one it is in (and reports the wake-up to the console).
    #[inline]
    fn win(&self) -> bool {
        let won = self.fiber.state.try_resume(self.token);
        if won {
            crate::console::woke(self.fiber.id);
        }
        won
    }

    /// The fiber this resumer wakes (for prefetching; never dereferenced
    /// by callers).
    #[inline]
    pub(crate) fn fiber_ptr(&self) -> *const Fiber {
        Arc::as_ptr(&self.fiber)
    }

    /// Whether the suspension this resumer belongs to is still waiting.
    pub fn is_waiting(&self) -> bool {
        self.fiber.state.is_waiting(self.token)
    }

    /// The fiber this resumer wakes.
    pub fn fiber_id(&self) -> FiberId {
        self.fiber.id
    }
}

impl std::fmt::Debug for Resumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resumer")
            .field("fiber", &self.fiber.id)
            .field("token", &self.token)
            .finish()
    }
}

/// Suspends the running fiber until the [`Resumer`] given to `register` is
/// used, or the fiber is cancelled.
///
/// This is the primitive under every blocking call (like Eio's
/// `Suspend.enter`). `register` runs on the fiber before it switches out; it
/// stores the resumer where the event source will find it (it may also
/// resume at once). Returns `Err(Cancelled)` without calling `register` if
/// the fiber is already cancelled, and `Err(Cancelled)` after a wake-up by
/// cancellation; the caller must then withdraw its registration.
///
/// `Ok(())` means the resumer won: the primitive did its part (handed over
/// an item, a permit, the lock), so the wait completed even if the fiber's
/// context was cancelled between that wake-up and the fiber running again;
/// that cancellation is delivered at the next cancellation point. Waits
/// that hand nothing over (`yield_now`, `sleep`, `Promise::await_`) check
/// again at once and unwind there.
///
/// Panics when called outside a fiber.
///
/// ```
/// weft::run(|_env| {
///     // Resuming from inside `register` returns at once.
///     weft::fiber::suspend(|r| {
///         r.resume();
///     })
///     .unwrap();
/// });
/// ```
#[track_caller]
pub fn suspend(register: impl FnOnce(Resumer)) -> Result<(), Cancelled> {
    suspend_at(Location::caller(), WaitKind::Suspend, true, register)
}

/// After a wait that ended in a resumption (the waker did its part and
/// may have handed over an item, bytes or a permit): the cancellation that
/// reached the fiber before it ran again, if any. A consuming primitive
/// then gives back what it was handed and unwinds, so a race's loser
/// never consumes (the commit rule, `fiber::any`). `None` while the
/// thread is unwinding (cleanup code keeps what it receives) and outside
/// a fiber.
#[inline]
pub fn cancelled_since_wake() -> Option<Cancelled> {
    if std::thread::panicking() {
        return None;
    }
    scheduler::with_current(|f| f.ctx_cancelled()).flatten()
}

/// [`suspend`] that cancellation does not interrupt (used where the runtime
/// must wait for something to finish, such as a switch for its fibers or
/// an op for its completion), blocking on `kind` at the caller's location.
#[track_caller]
pub fn suspend_protected(kind: WaitKind, register: impl FnOnce(Resumer)) {
    let _ = suspend_at(Location::caller(), kind, false, register);
}

/// Suspends the running fiber, noting that it blocks at `location` on
/// `kind` (weft-console shows both).
#[inline]
pub fn suspend_at(
    location: &'static Location<'static>,
    kind: WaitKind,
    cancellable: bool,
    register: impl FnOnce(Resumer),
) -> Result<(), Cancelled> {
    let me = scheduler::current_ptr();
    if me.is_null() {
        panic!(
            "weft: a blocking call at {location} was made outside a fiber; run it inside weft::run"
        )
    }
    // SAFETY: the running fiber stays alive while it runs and while it is
    // suspended (the registry holds it until it retires).
    let fiber = unsafe { &*me };
    crate::fiber::deferred_fork::run(fiber);
    let cancellable = cancellable && !std::thread::panicking();
    let already_cancelled = if cancellable {
        fiber.ctx_cancelled()
    } else {
        None
    };
    let token = fiber.state.begin(cancellable);
    fiber.local.blocked_at.set(Some(location));
    fiber.local.wait_kind.set(kind);
    fiber.local.blocked_since.set(scheduler::cached_now());
    // `register` runs even when the fiber is already cancelled, so a
    // primitive sees one protocol: `Err` always means "registered, then
    // cancelled", and its withdrawal path gets back whatever it handed
    // over (an item to send, a place in a queue).
    register(Resumer {
        fiber: scheduler::take_running(me),
        token,
    });
    if let Some(c) = already_cancelled {
        if fiber.state.try_cancel() {
            fiber.local.blocked_at.set(None);
            // It goes on running without switching out: it needs its
            // run-queue reference back (the resumer keeps the one moved).
            scheduler::restore_running(me);
            return Err(c);
        }
        // A resumer on another thread won the state word first and has
        // queued the fiber: switch out to take that wake-up, then report
        // it as a resumption like any other.
    }
    scheduler::switch_out(fiber);
    fiber.local.blocked_at.set(None);
    match fiber.state.outcome(token) {
        Outcome::Cancelled => Err(fiber.ctx_cancelled().unwrap_or_else(Cancelled::unknown)),
        Outcome::Resumed => Ok(()),
    }
}
