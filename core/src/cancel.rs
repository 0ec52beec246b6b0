//! Cancellation contexts, `protect`, and the `Cancelled` unwind.
//!
//! Every fiber runs in a cancellation context. Contexts form a tree: a
//! switch's context is a child of the context of the fiber that ran
//! `Switch::run`, and cancelling a context cancels all its descendants and
//! wakes every fiber waiting in them. [`protect`] runs code in a fresh
//! context with no parent, so cancellation cannot reach it.
//!
//! A cancelled fiber unwinds from its blocking call with a [`Cancelled`]
//! payload, thrown by `std::panic::resume_unwind`, which does not run the
//! panic hook: destructors run, nothing is printed, and the unwind is caught
//! where the fiber (or `Switch::run`) began.
//!
//! Under `panic = "abort"` nothing can unwind, so cancelling a fiber that is
//! blocked aborts the process with a message naming the fiber. Programs that
//! build with `panic = "abort"` must not cancel fibers (no `first`, `timeout`
//! or failing switches with blocked siblings).
//!
//! Contexts live on one thread (a switch and its fibers never leave it);
//! another thread cancels one by sending work to its scheduler.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use slab::Slab;

use crate::fiber::scheduler;
use crate::fiber::task::Fiber;

/// Why a fiber was cancelled.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CancelReason {
    /// Another fiber of the switch failed.
    SwitchFailed,
    /// The switch finished its other work, so its daemon fibers stop.
    SwitchFinished,
    /// Another branch of `first` / `any` finished first.
    Lost,
    /// A `timeout` expired.
    Timeout,
    /// A task was aborted through its handle.
    Aborted,
    /// The runtime is shutting down.
    Shutdown,
    /// Cancelled by the program, with its explanation.
    Other(Arc<str>),
}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelReason::SwitchFailed => f.write_str("another fiber in the switch failed"),
            CancelReason::SwitchFinished => f.write_str("the switch finished (daemon stopped)"),
            CancelReason::Lost => f.write_str("another branch finished first"),
            CancelReason::Timeout => f.write_str("the timeout expired"),
            CancelReason::Aborted => f.write_str("aborted"),
            CancelReason::Shutdown => f.write_str("the runtime is shutting down"),
            CancelReason::Other(s) => f.write_str(s),
        }
    }
}

/// The error (and unwind payload) of a cancelled operation.
///
/// ```
/// use weft::cancel::{CancelReason, Cancelled};
/// let c = Cancelled::new(CancelReason::Timeout);
/// assert_eq!(c.reason(), &CancelReason::Timeout);
/// assert_eq!(c.to_string(), "cancelled: the timeout expired");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cancelled: {reason}")]
pub struct Cancelled {
    reason: CancelReason,
}

impl Cancelled {
    /// A cancellation for `reason`.
    pub fn new(reason: CancelReason) -> Self {
        Cancelled { reason }
    }

    pub(crate) fn unknown() -> Self {
        Cancelled::new(CancelReason::Other("cancelled".into()))
    }

    /// Why it happened.
    pub fn reason(&self) -> &CancelReason {
        &self.reason
    }

    /// Unwinds the current fiber with this cancellation (see the module
    /// docs). Destructors run; the panic hook is not called.
    ///
    /// ```
    /// use weft::cancel::{CancelReason, Cancelled};
    /// let caught = std::panic::catch_unwind(|| -> () {
    ///     Cancelled::new(CancelReason::Aborted).unwind()
    /// });
    /// assert!(weft::cancel::is_cancellation(caught.unwrap_err().as_ref()));
    /// ```
    // Inlined into the blocking call that unwinds: every frame between the
    // raise and the catch is visited twice by the two-phase unwinder (about
    // 2,000 instructions each), so a frame less makes a cancellation ~12%
    // cheaper (a `first` whose loser is blocked pays one per call).
    #[inline]
    pub fn unwind(self) -> ! {
        #[cfg(panic = "abort")]
        abort_cancelled(self);
        #[cfg(not(panic = "abort"))]
        std::panic::resume_unwind(Box::new(self))
    }
}

/// `Cancelled::unwind` under `panic = "abort"`: nothing can unwind, so say
/// which fiber was cancelled and abort.
#[cfg(panic = "abort")]
#[cold]
fn abort_cancelled(c: Cancelled) -> ! {
    let who = scheduler::current_fiber()
        .map(|f| f.id.to_string())
        .unwrap_or_else(|| "?".into());
    eprintln!(
        "weft: fiber {who} was cancelled ({c}) but panic = \"abort\" cannot unwind it; aborting"
    );
    std::process::abort();
}

/// Whether an unwind payload is a cancellation (not a real panic).
///
/// ```
/// let p = std::panic::catch_unwind(|| panic!("real")).unwrap_err();
/// assert!(!weft::cancel::is_cancellation(p.as_ref()));
/// ```
pub fn is_cancellation(payload: &(dyn Any + Send)) -> bool {
    payload.is::<Cancelled>()
}

/// Runs `f`, turning a cancellation unwind into `Err(Cancelled)`. Real
/// panics keep unwinding.
#[doc(hidden)]
pub fn catch_cancelled<T>(f: impl FnOnce() -> T) -> Result<T, Cancelled> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => Ok(v),
        Err(payload) => match payload.downcast::<Cancelled>() {
            Ok(c) => Err(*c),
            Err(other) => std::panic::resume_unwind(other),
        },
    }
}

thread_local! {
    /// Emptied fiber tables of dropped contexts, kept with their capacity
    /// so a short-lived switch does not allocate one (a switch per request
    /// or per `both` is common).
    static SPARE_FIBER_TABLES: RefCell<Vec<Slab<*const Fiber>>> = const { RefCell::new(Vec::new()) };
}

/// How many spare tables a thread keeps.
const MAX_SPARE_TABLES: usize = 64;

fn spare_fiber_table() -> Slab<*const Fiber> {
    SPARE_FIBER_TABLES
        .try_with(|t| t.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// A node of the cancellation tree.
#[doc(hidden)]
pub struct CancelCtx {
    cancelled: RefCell<Option<Cancelled>>,
    /// The fibers whose innermost context this is. Raw pointers: a fiber
    /// is removed from here (by its `CtxGuard`, or by `retire`) before it
    /// finishes, so every entry points to a live fiber; registering costs
    /// no reference-count traffic.
    fibers: RefCell<Slab<*const Fiber>>,
    children: RefCell<Slab<Weak<CancelCtx>>>,
    parent: Option<(Rc<CancelCtx>, usize)>,
}

impl CancelCtx {
    /// A context with no parent (the root, or a `protect` section).
    #[doc(hidden)]
    pub fn root() -> Rc<Self> {
        Rc::new(CancelCtx {
            cancelled: RefCell::new(None),
            fibers: RefCell::new(Slab::new()),
            children: RefCell::new(Slab::new()),
            parent: None,
        })
    }

    /// A child of `parent`, born cancelled if the parent is.
    #[doc(hidden)]
    pub fn child(parent: &Rc<CancelCtx>) -> Rc<Self> {
        Rc::new_cyclic(|me| {
            let key = parent.children.borrow_mut().insert(me.clone());
            CancelCtx {
                cancelled: RefCell::new(parent.cancelled()),
                fibers: RefCell::new(spare_fiber_table()),
                children: RefCell::new(Slab::new()),
                parent: Some((parent.clone(), key)),
            }
        })
    }

    /// Empties `ctx`, the context of a finished switch, so a later switch
    /// can take it over with [`CancelCtx::adopt`] instead of allocating
    /// one. Returns `false`, changing nothing, if anything but `ctx`
    /// itself and its parent's entry still refers to it (a timer, a task
    /// handle, a live child): then it must simply be dropped.
    pub(crate) fn reset_for_reuse(ctx: &mut Rc<Self>) -> bool {
        let parent_entries = usize::from(ctx.parent.is_some());
        if Rc::strong_count(ctx) != 1
            || Rc::weak_count(ctx) != parent_entries
            || !ctx.children.borrow().is_empty()
        {
            return false;
        }
        if let Some((parent, key)) = &ctx.parent {
            // Drops the parent's weak entry, the only other reference.
            parent.children.borrow_mut().try_remove(*key);
        }
        let me = Rc::get_mut(ctx).expect("no other reference is left");
        me.parent = None;
        *me.cancelled.get_mut() = None;
        me.fibers.get_mut().clear();
        true
    }

    /// Makes `ctx`, emptied by [`CancelCtx::reset_for_reuse`], a child of
    /// `parent` (as [`CancelCtx::child`] makes a new one).
    pub(crate) fn adopt(ctx: &mut Rc<Self>, parent: &Rc<CancelCtx>) {
        let mut children = parent.children.borrow_mut();
        let key = children.vacant_key();
        let me = Rc::get_mut(ctx).expect("a context emptied for reuse is unshared");
        debug_assert!(me.parent.is_none() && me.fibers.get_mut().is_empty());
        *me.cancelled.get_mut() = parent.cancelled();
        me.parent = Some((parent.clone(), key));
        let inserted = children.insert(Rc::downgrade(ctx));
        debug_assert_eq!(inserted, key);
    }

    #[doc(hidden)]
    pub fn cancelled(&self) -> Option<Cancelled> {
        self.cancelled.borrow().clone()
    }

    #[doc(hidden)]
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.borrow().is_some()
    }

    /// Cancels this context and its descendants, waking their waiting
    /// fibers. A second cancellation keeps the first reason.
    #[doc(hidden)]
    pub fn cancel(&self, reason: Cancelled) {
        {
            let mut c = self.cancelled.borrow_mut();
            if c.is_some() {
                return;
            }
            *c = Some(reason.clone());
        }
        crate::console::cancel_requested(self);
        let fibers: Vec<Arc<Fiber>> = self
            .fibers
            .borrow()
            .iter()
            // SAFETY: every entry is a live fiber (see `fibers`).
            .map(|(_, &f)| unsafe { scheduler::arc_of(f) })
            .collect();
        for f in fibers {
            // Registered here means this is the fiber's innermost context.
            f.local.cancelled.set(true);
            f.cancel_wake();
        }
        let children: Vec<Rc<CancelCtx>> = self
            .children
            .borrow()
            .iter()
            .filter_map(|(_, c)| c.upgrade())
            .collect();
        for c in children {
            c.cancel(reason.clone());
        }
    }

    /// Registers `fiber`, which must be removed with `remove_fiber` before
    /// it finishes (see `fibers`).
    #[doc(hidden)]
    pub fn add_fiber(&self, fiber: &Fiber) -> usize {
        self.fibers.borrow_mut().insert(fiber as *const Fiber)
    }

    #[doc(hidden)]
    pub fn remove_fiber(&self, key: usize) {
        self.fibers.borrow_mut().try_remove(key);
    }
}

impl Drop for CancelCtx {
    fn drop(&mut self) {
        if let Some((parent, key)) = &self.parent {
            parent.children.borrow_mut().try_remove(*key);
        }
        let mut table = std::mem::take(self.fibers.get_mut());
        if table.capacity() > 0 {
            table.clear();
            let _ = SPARE_FIBER_TABLES.try_with(|t| {
                let mut t = t.borrow_mut();
                if t.len() < MAX_SPARE_TABLES {
                    t.push(table);
                }
            });
        }
    }
}

/// Moves the running fiber into `ctx` until the guard drops, then back.
///
/// A fiber is registered in exactly one context at a time (its innermost),
/// so cancelling an outer context cannot wake it while it runs in a
/// `protect`ed one.
#[doc(hidden)]
pub struct CtxGuard {
    /// The fiber that entered; the guard lives on its stack, so the fiber
    /// outlives it.
    fiber: *const Fiber,
    previous: Option<Rc<CancelCtx>>,
}

#[doc(hidden)]
pub fn enter_ctx(fiber: &Fiber, ctx: &Rc<CancelCtx>) -> CtxGuard {
    let key = ctx.add_fiber(fiber);
    let previous = fiber.local.ctx.replace(Some((ctx.clone(), key)));
    fiber.local.cancelled.set(ctx.is_cancelled());
    let previous = previous.map(|(outer, outer_key)| {
        outer.remove_fiber(outer_key);
        outer
    });
    CtxGuard {
        fiber: fiber as *const Fiber,
        previous,
    }
}

impl Drop for CtxGuard {
    fn drop(&mut self) {
        // SAFETY: the guard lives on the fiber's own stack (it is made and
        // dropped by code the fiber runs), so the fiber is alive.
        let fiber = unsafe { &*self.fiber };
        let restored = self.previous.take().map(|outer| {
            let key = outer.add_fiber(fiber);
            (outer, key)
        });
        fiber
            .local
            .cancelled
            .set(restored.as_ref().is_some_and(|(c, _)| c.is_cancelled()));
        let mine = fiber.local.ctx.replace(restored);
        if let Some((ctx, key)) = mine {
            ctx.remove_fiber(key);
        }
    }
}

/// The running fiber and its context; panics outside a fiber.
#[track_caller]
#[doc(hidden)]
pub fn current() -> (Arc<Fiber>, Rc<CancelCtx>) {
    let fiber = scheduler::current_fiber().unwrap_or_else(|| {
        panic!(
            "weft: this call needs to run inside a fiber (at {}); use weft::run",
            std::panic::Location::caller()
        )
    });
    let ctx = fiber.current_ctx();
    (fiber, ctx)
}

/// Runs `f` so that cancellation cannot interrupt it: blocking calls inside
/// complete normally even if the caller's context is cancelled meanwhile.
/// A pending cancellation is delivered at the caller's next blocking call.
///
/// Use it for short clean-up that must finish (flushing, a final write).
///
/// ```
/// use std::time::Duration;
/// weft::run(|_env| {
///     let r = weft::time::timeout(Duration::from_millis(10), || {
///         weft::cancel::protect(|| weft::time::sleep(Duration::from_millis(30)));
///         // The protected sleep ran to its end; the expired timeout is
///         // delivered at the next cancellation point.
///         weft::fiber::check();
///         "not reached"
///     });
///     assert!(r.is_err());
/// });
/// ```
pub fn protect<T>(f: impl FnOnce() -> T) -> T {
    let ctx = CancelCtx::root();
    let _guard = with_running("protect", |fiber| enter_ctx(fiber, &ctx));
    f()
}

/// Runs `f` with the running fiber (no reference-count traffic); panics
/// outside a fiber. `f` must not suspend.
#[track_caller]
#[doc(hidden)]
pub fn with_running<R>(what: &str, f: impl FnOnce(&Fiber) -> R) -> R {
    match scheduler::with_current(f) {
        Some(r) => r,
        None => panic!(
            "weft: {what} needs to run inside a fiber (at {}); use weft::run",
            std::panic::Location::caller()
        ),
    }
}
