//! Switches: the scope every fiber belongs to.
//!
//! `Switch::run` does not return until every fiber forked in it has
//! finished, also when the body fails or unwinds. That is what lets forked
//! closures borrow from outside the switch (as `std::thread::scope` does),
//! and what makes "no failure is lost" enforceable: the first failure is
//! returned, later ones are attached to it.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;

use crate::cancel::{self, CancelCtx, CancelReason, Cancelled};
use crate::error::Error;
use crate::fiber::scheduler;
use crate::fiber::task::{suspend_protected, Fiber};
use crate::fiber::Resumer;
use crate::sync::promise::Promise;

pub use crate::switch_error::SwitchError;

/// What a forked fiber may return: `()` or `weft::Result<()>`. An `Err`
/// fails the switch, like a panic does.
///
/// ```
/// weft::run(|_env| {
///     let r = weft::Switch::run(|sw| {
///         sw.fork(|| -> weft::Result<()> { Err(weft::Error::msg("no")) });
///         Ok(())
///     });
///     assert_eq!(r.unwrap_err().to_string(), "no");
/// });
/// ```
pub trait FiberOutput {
    /// The failure this output stands for, if any.
    fn into_failure(self) -> Option<Error>;
}

impl FiberOutput for () {
    fn into_failure(self) -> Option<Error> {
        None
    }
}

impl FiberOutput for Result<(), Error> {
    fn into_failure(self) -> Option<Error> {
        self.err()
    }
}

enum Failure {
    Panic(Box<dyn Any + Send>, Vec<Error>),
    Error(Error),
}

pub(crate) struct SwitchState {
    pub(crate) ctx: Rc<CancelCtx>,
    /// Live non-daemon fibers (not counting the body).
    fibers: Cell<usize>,
    daemons: Cell<usize>,
    joiner: RefCell<Option<Resumer>>,
    failure: RefCell<Option<Failure>>,
    release: RefCell<Vec<Box<dyn FnOnce()>>>,
    closed: Cell<bool>,
}

/// A scope for fibers. Get one with [`Switch::run`]; fork fibers into it
/// with [`Switch::fork`].
///
/// As with `std::thread::scope`, `'env` is the lifetime of the data forked
/// fibers may borrow (anything that outlives the `Switch::run` call), and
/// `'scope` the lifetime of the switch itself, so fibers may capture the
/// `&Switch` and fork more fibers into it.
///
/// ```
/// weft::run(|_env| {
///     let mut total = 0;
///     let parts = [1, 2, 3];
///     weft::Switch::run(|sw| {
///         let (a, b) = (&parts[..1], &parts[1..]);
///         let left = sw.fork_promise(move || a.iter().sum::<i32>());
///         let right: i32 = b.iter().sum();
///         total = *left.await_().as_ref().unwrap() + right;
///         Ok(())
///     })
///     .unwrap();
///     assert_eq!(total, 6);
/// });
/// ```
pub struct Switch<'scope, 'env: 'scope> {
    state: Rc<SwitchState>,
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

/// Where a new fiber goes relative to its parent.
#[derive(Clone, Copy)]
#[doc(hidden)]
pub enum Start {
    /// Run the child now; the parent goes to the head of the run queue.
    Now,
    /// Put the child at the head of the run queue; the parent continues.
    Next,
    /// Put the child at the back of the run queue: the parent continues
    /// until it blocks or yields, and fibers already runnable run first
    /// (tokio's `spawn`).
    Later,
}

impl<'scope, 'env> Switch<'scope, 'env> {
    /// Runs `body` with a new switch, then waits for every fiber forked into
    /// it. Returns the body's value, or the switch's first failure (with
    /// later failures attached).
    ///
    /// - A fiber (or the body) that returns `Err` or panics fails the
    ///   switch: the others are cancelled and awaited.
    /// - A panic is re-raised here with its original payload once all
    ///   fibers have finished; an error is returned.
    /// - If the caller is cancelled, the body and the fibers are cancelled
    ///   too, and the cancellation continues to unwind after they finish.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let out = weft::Switch::run(|sw| {
    ///         sw.fork(|| println!("in a fiber"));
    ///         Ok(5)
    ///     });
    ///     assert_eq!(out.unwrap(), 5);
    /// });
    /// ```
    #[track_caller]
    pub fn run<T, F>(body: F) -> Result<T, Error>
    where
        F: for<'s> FnOnce(&'s Switch<'s, 'env>) -> Result<T, Error>,
    {
        let parent = cancel::with_running("Switch::run", |f| f.current_ctx());
        // A body in an already-cancelled context never starts (Eio's
        // `Switch.run`, a dropped tokio future): nothing it would do can
        // commit. Code unwinding from another failure may still use a
        // switch, as it may block.
        if !std::thread::panicking() {
            if let Some(c) = parent.cancelled() {
                drop(parent);
                c.unwind();
            }
        }
        // Declared before `sw`, so dropped after it, on every way out.
        let recycle = RecycleOnDrop(Some(SwitchState::new_in(&parent)));
        let state = recycle.state();
        crate::console::switch_created(&state.ctx);
        let sw = Switch {
            state: state.clone(),
            _scope: PhantomData,
            _env: PhantomData,
        };
        drop(parent);
        let guard = cancel::with_running("Switch::run", |f| cancel::enter_ctx(f, &state.ctx));
        let outcome = catch_unwind(AssertUnwindSafe(|| body(&sw)));
        let mut value = None;
        let mut body_cancelled = None;
        match outcome {
            Ok(Ok(v)) => value = Some(v),
            Ok(Err(e)) => state.fail(e),
            Err(payload) => match payload.downcast::<Cancelled>() {
                Ok(c) => body_cancelled = Some(*c),
                Err(p) => state.fail_panic(p),
            },
        }
        state.join();
        crate::console::switch_finished(&state.ctx, state.is_failed());
        state.closed.set(true);
        state.run_release_handlers();
        drop(guard);
        let failure = state.failure.borrow_mut().take();
        match failure {
            Some(Failure::Error(e)) => Err(e),
            Some(Failure::Panic(payload, later)) => {
                for e in later {
                    tracing::error!(error = %e, "weft: failure after a panic in the same switch");
                }
                resume_unwind(payload)
            }
            None => match (value, body_cancelled) {
                (Some(v), _) => {
                    // Waiting for the fibers is a cancellation point: if the
                    // caller was cancelled meanwhile, the fibers were
                    // cancelled with it and their work may be unfinished,
                    // so the cancellation goes on unwinding from here
                    // instead of reporting success.
                    crate::fiber::check();
                    Ok(v)
                }
                (None, Some(c)) => c.unwind(),
                (None, None) => unreachable!("the body either returned or unwound"),
            },
        }
    }

    /// Starts `f` in a new fiber attached to this switch. `f` runs at once;
    /// the caller continues when `f` first blocks (as in Eio).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let log = std::cell::RefCell::new(vec![]);
    ///     weft::Switch::run(|sw| {
    ///         sw.fork(|| log.borrow_mut().push("child"));
    ///         log.borrow_mut().push("parent");
    ///         Ok(())
    ///     })
    ///     .unwrap();
    ///     assert_eq!(*log.borrow(), ["child", "parent"]);
    /// });
    /// ```
    #[track_caller]
    pub fn fork<F, R>(&self, f: F)
    where
        F: FnOnce() -> R + 'scope,
        R: FiberOutput,
    {
        self.spawn(None, false, Start::Now, f);
    }

    /// [`Switch::fork`] with a name that dumps and overflow reports show.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     weft::Switch::run(|sw| {
    ///         sw.fork_named("worker", || assert!(weft::dump().contains("\"worker\"")));
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn fork_named<F, R>(&self, name: &str, f: F)
    where
        F: FnOnce() -> R + 'scope,
        R: FiberOutput,
    {
        self.spawn(Some(name.into()), false, Start::Now, f);
    }

    /// Starts a daemon fiber: it is cancelled once the body and every
    /// non-daemon fiber of the switch have finished.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     weft::Switch::run(|sw| {
    ///         sw.fork_daemon(|| -> () { loop { weft::fiber::yield_now() } });
    ///         Ok(())
    ///     })
    ///     .unwrap(); // returns: the daemon is cancelled
    /// });
    /// ```
    #[track_caller]
    pub fn fork_daemon<F, R>(&self, f: F)
    where
        F: FnOnce() -> R + 'scope,
        R: FiberOutput,
    {
        self.spawn(None, true, Start::Now, f);
    }

    /// Starts `f` in a new fiber and returns a promise of its result. A
    /// failure of `f` goes into the promise instead of failing the switch
    /// (as Eio's `fork_promise`).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     weft::Switch::run(|sw| {
    ///         let p = sw.fork_promise(|| -> u32 { panic!("oops") });
    ///         assert!(p.await_().as_ref().unwrap_err().is_panic());
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn fork_promise<T, F>(&self, f: F) -> Promise<Result<T, Error>>
    where
        F: FnOnce() -> T + 'scope,
        T: 'scope,
    {
        let (promise, resolver) = Promise::new();
        // Resolved with the switch's cancellation if the fiber never runs
        // `f` (forked into a cancelled switch, or cancelled before it
        // started): waiters see why instead of waiting for ever.
        let resolver = ResolveOnDrop {
            resolver: Some(resolver),
            ctx: self.state.ctx.clone(),
        };
        self.spawn(None, false, Start::Now, move || {
            let mut resolver = resolver;
            let value = match catch_unwind(AssertUnwindSafe(f)) {
                Ok(v) => Ok(v),
                Err(payload) => match payload.downcast::<Cancelled>() {
                    Ok(c) => Err(Error::cancelled(*c)),
                    Err(p) => Err(Error::from_panic(p.as_ref())),
                },
            };
            if let Some(r) = resolver.resolver.take() {
                r.resolve(value);
            }
        });
        promise
    }

    /// Registers `f` to run when the switch finishes, after all its fibers
    /// (handlers run in reverse order of registration, protected from
    /// cancellation).
    ///
    /// Panics if the switch has already finished.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let log = std::cell::RefCell::new(vec![]);
    ///     weft::Switch::run(|sw| {
    ///         sw.on_release(|| log.borrow_mut().push(1));
    ///         sw.on_release(|| log.borrow_mut().push(2));
    ///         Ok(())
    ///     })
    ///     .unwrap();
    ///     assert_eq!(*log.borrow(), [2, 1]);
    /// });
    /// ```
    #[track_caller]
    pub fn on_release<F: FnOnce() + 'scope>(&self, f: F) {
        if self.state.closed.get() {
            // Too late to defer: release now (as Eio does), so the
            // resource is not leaked, then report the misuse.
            cancel::protect(f);
            panic!(
                "weft: Switch::on_release on a switch that has already finished (at {}); the handler ran at once",
                std::panic::Location::caller()
            );
        }
        let f: Box<dyn FnOnce() + 'scope> = Box::new(f);
        // SAFETY: release handlers all run inside `Switch::run`, before it
        // returns, so nothing borrowed for 'scope is gone when they run.
        let f = unsafe { crate::fiber::erase::erase_lifetime(f) };
        self.state.release.borrow_mut().push(f);
    }

    /// Fails the switch with `error`: its fibers are cancelled and
    /// `Switch::run` returns this error (or an earlier one, with this one
    /// attached).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let r = weft::Switch::run(|sw| {
    ///         sw.fork(|| -> () { weft::fiber::await_cancel() });
    ///         sw.fail(weft::Error::msg("giving up"));
    ///         Ok(())
    ///     });
    ///     assert_eq!(r.unwrap_err().to_string(), "giving up");
    /// });
    /// ```
    pub fn fail(&self, error: impl Into<Error>) {
        self.state.fail(error.into());
    }

    /// Whether the switch has been cancelled (by a failure or from outside).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     weft::Switch::run(|sw| {
    ///         assert!(!sw.is_cancelled());
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.state.ctx.is_cancelled()
    }

    /// Unwinds the calling fiber if the switch has been cancelled (by a
    /// failure or from outside); otherwise does nothing (Eio's
    /// `Switch.check`). For the switch's own fibers and body: the unwind is
    /// a cancellation, which ends the fiber quietly.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let reached = std::cell::Cell::new(false);
    ///     let r = weft::Switch::run(|sw| {
    ///         sw.fail(weft::Error::msg("stop"));
    ///         sw.check();
    ///         reached.set(true);
    ///         Ok(())
    ///     });
    ///     assert_eq!(r.unwrap_err().to_string(), "stop");
    ///     assert!(!reached.get());
    /// });
    /// ```
    #[track_caller]
    pub fn check(&self) {
        if let Some(c) = self.state.ctx.cancelled() {
            if !std::thread::panicking() {
                c.unwind();
            }
        }
    }

    /// Why the switch is off, if it is (Eio's `Switch.get_error`): its
    /// first failure so far (as a summary; the failure itself is still
    /// returned by `Switch::run`), or the cancellation that reached it.
    /// `None` while the switch is on.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let _ = weft::Switch::run(|sw| {
    ///         assert_eq!(sw.get_error(), None);
    ///         sw.fork(|| -> weft::Result<()> { Err(weft::Error::msg("bad input")) });
    ///         assert_eq!(sw.get_error().unwrap().to_string(), "bad input");
    ///         Ok(())
    ///     });
    /// });
    /// ```
    pub fn get_error(&self) -> Option<SwitchError> {
        match &*self.state.failure.borrow() {
            Some(Failure::Error(e)) => Some(SwitchError::Failed {
                message: e.to_string(),
                panicked: e.is_panic(),
                later: e.suppressed().len(),
            }),
            Some(Failure::Panic(payload, later)) => Some(SwitchError::Failed {
                message: Error::from_panic(payload.as_ref()).to_string(),
                panicked: true,
                later: later.len(),
            }),
            None => self.state.ctx.cancelled().map(SwitchError::Cancelled),
        }
    }

    /// Cancels every fiber of this switch (and the body) without failing
    /// it. Used by `first`/`any` to stop the losers.
    /// Records a branch that unwound (see `SwitchState::fail_unwound`).
    pub(crate) fn fail_unwound(&self, payload: Box<dyn Any + Send>) {
        self.state.fail_unwound(payload);
    }

    /// Whether any fiber forked into this switch (daemon or not) has not
    /// finished yet.
    pub(crate) fn has_fibers(&self) -> bool {
        self.state.fibers.get() + self.state.daemons.get() > 0
    }

    pub(crate) fn cancel(&self, reason: CancelReason) {
        self.state.ctx.cancel(Cancelled::new(reason));
    }

    #[track_caller]
    pub(crate) fn spawn<F, R>(&self, name: Option<Box<str>>, daemon: bool, start: Start, f: F)
    where
        F: FnOnce() -> R + 'scope,
        R: FiberOutput,
    {
        assert!(
            !self.state.closed.get(),
            "weft: fork on a switch that has already finished (at {})",
            std::panic::Location::caller()
        );
        if self.state.ctx.is_cancelled() {
            // Forked into a switch that is already cancelled (failed,
            // finished with daemons, lost a race): the fiber never starts,
            // so nothing it would do commits. Its captures drop here.
            drop(f);
            return;
        }
        let state = self.state.clone();
        let counter = if daemon {
            &state.daemons
        } else {
            &state.fibers
        };
        counter.set(counter.get() + 1);
        let body = move || {
            // Queued to start later (`Start::Next`) and cancelled before its
            // turn: it does not start either.
            if state.ctx.is_cancelled() {
                drop(f);
            } else {
                match catch_unwind(AssertUnwindSafe(f)) {
                    Ok(r) => {
                        if let Some(e) = r.into_failure() {
                            state.fail(e);
                        }
                    }
                    Err(payload) => state.fail_unwound(payload),
                }
            }
            state.fiber_done(daemon);
        };
        let at = std::panic::Location::caller();
        let fiber = scheduler::expect("Switch::fork", |s| {
            // SAFETY: `body` borrows only data that outlives 'scope (its
            // type says so), and `Switch::run` does not return before this
            // fiber finishes, so the borrow outlives the fiber.
            unsafe { s.create_at(name, &self.state.ctx, body, Some(at)) }
        })
        .unwrap_or_else(|e| panic!("weft: cannot start a fiber: {e}"));
        start_fiber(fiber, start);
    }
}

/// Schedules a freshly created fiber.
#[doc(hidden)]
pub fn start_fiber(fiber: Arc<Fiber>, start: Start) {
    match start {
        Start::Now => scheduler::run_child_now(fiber),
        Start::Next => {
            scheduler::with(|s| s.push_front(fiber));
        }
        Start::Later => {
            scheduler::with(|s| s.push_back(fiber));
        }
    }
}

/// Hands a switch's state to [`SwitchState::recycle`] when `Switch::run`
/// returns or unwinds.
struct RecycleOnDrop(Option<Rc<SwitchState>>);

impl RecycleOnDrop {
    fn state(&self) -> &Rc<SwitchState> {
        self.0.as_ref().expect("held until dropped")
    }
}

impl Drop for RecycleOnDrop {
    fn drop(&mut self) {
        if let Some(state) = self.0.take() {
            SwitchState::recycle(state);
        }
    }
}

thread_local! {
    /// States of finished switches, emptied for the next `Switch::run` on
    /// this thread: a switch per request, per race or per `both` is common,
    /// and its two allocations (the state and its context) were a fifth of
    /// `spawn_join`.
    static SPARE_STATES: RefCell<Vec<Rc<SwitchState>>> = const { RefCell::new(Vec::new()) };
}

/// How many emptied switch states a thread keeps.
const MAX_SPARE_STATES: usize = 64;

impl SwitchState {
    /// A state for a new switch in context `parent`: a spare one if this
    /// thread has one, else a new one.
    fn new_in(parent: &Rc<CancelCtx>) -> Rc<SwitchState> {
        let spare = SPARE_STATES
            .try_with(|s| s.borrow_mut().pop())
            .ok()
            .flatten();
        match spare {
            Some(mut state) => {
                let st = Rc::get_mut(&mut state).expect("a spare state is unshared");
                CancelCtx::adopt(&mut st.ctx, parent);
                state
            }
            None => Rc::new(SwitchState {
                ctx: CancelCtx::child(parent),
                fibers: Cell::new(0),
                daemons: Cell::new(0),
                joiner: RefCell::new(None),
                failure: RefCell::new(None),
                release: RefCell::new(Vec::new()),
                closed: Cell::new(false),
            }),
        }
    }

    /// Keeps the state of a finished switch for the next one, if nothing
    /// else refers to it or to its context any more (else drops it).
    fn recycle(mut state: Rc<SwitchState>) {
        // Only after `run` closed it: every fiber has finished then.
        if !state.closed.get() || Rc::weak_count(&state) != 0 {
            return;
        }
        let Some(st) = Rc::get_mut(&mut state) else {
            return;
        };
        if st.fibers.get() + st.daemons.get() != 0 || !CancelCtx::reset_for_reuse(&mut st.ctx) {
            return;
        }
        *st.joiner.get_mut() = None;
        *st.failure.get_mut() = None;
        st.release.get_mut().clear();
        st.closed.set(false);
        let _ = SPARE_STATES.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < MAX_SPARE_STATES {
                s.push(state);
            }
        });
    }

    fn is_failed(&self) -> bool {
        self.failure.borrow().is_some()
    }

    pub(crate) fn fail(&self, error: Error) {
        // A fiber that returns the cancellation it got is not a failure.
        if self.ctx.is_cancelled() && error.downcast_ref::<Cancelled>().is_some() {
            return;
        }
        {
            let mut failure = self.failure.borrow_mut();
            match &mut *failure {
                None => *failure = Some(Failure::Error(error)),
                Some(Failure::Error(first)) => first.attach(error),
                Some(Failure::Panic(_, later)) => later.push(error),
            }
        }
        self.ctx.cancel(Cancelled::new(CancelReason::SwitchFailed));
    }

    fn fail_panic(&self, payload: Box<dyn Any + Send>) {
        {
            let mut failure = self.failure.borrow_mut();
            match &mut *failure {
                None => *failure = Some(Failure::Panic(payload, Vec::new())),
                Some(Failure::Error(first)) => first.attach(Error::from_panic(payload.as_ref())),
                Some(Failure::Panic(_, later)) => later.push(Error::from_panic(payload.as_ref())),
            }
        }
        self.ctx.cancel(Cancelled::new(CancelReason::SwitchFailed));
    }

    /// Records a fiber (or combinator branch) that unwound. A
    /// cancellation is a failure only if this switch was not cancelled:
    /// a fiber that raises `Cancelled` on its own (or carries one out of a
    /// context that was) would otherwise end silently, as Eio reports.
    pub(crate) fn fail_unwound(&self, payload: Box<dyn Any + Send>) {
        match payload.downcast::<Cancelled>() {
            Ok(c) if self.ctx.is_cancelled() => drop(c),
            Ok(c) => self.fail(Error::cancelled(*c)),
            Err(p) => self.fail_panic(p),
        }
    }

    fn fiber_done(&self, daemon: bool) {
        let counter = if daemon { &self.daemons } else { &self.fibers };
        counter.set(counter.get() - 1);
        if self.fibers.get() == 0 {
            if let Some(j) = self.joiner.borrow_mut().take() {
                // The body has returned and the last non-daemon fiber just
                // finished: the daemons stop now, before any of them runs
                // another iteration.
                self.stop_daemons();
                j.resume();
            }
        }
    }

    fn stop_daemons(&self) {
        if self.daemons.get() > 0 && !self.ctx.is_cancelled() {
            self.ctx
                .cancel(Cancelled::new(CancelReason::SwitchFinished));
        }
    }

    /// Waits (uncancellably) for every fiber; once only daemons are left,
    /// cancels them.
    fn join(&self) {
        loop {
            if self.fibers.get() == 0 {
                self.stop_daemons();
            }
            if self.fibers.get() + self.daemons.get() == 0 {
                return;
            }
            suspend_protected(crate::console::events::WaitKind::Switch, |r| {
                *self.joiner.borrow_mut() = Some(r)
            });
        }
    }

    fn run_release_handlers(&self) {
        loop {
            let next = self.release.borrow_mut().pop();
            let Some(handler) = next else { break };
            let r = catch_unwind(AssertUnwindSafe(|| cancel::protect(handler)));
            if let Err(payload) = r {
                if !self.is_failed() {
                    *self.failure.borrow_mut() = Some(Failure::Panic(payload, Vec::new()));
                } else {
                    let e = Error::from_panic(payload.as_ref());
                    match &mut *self.failure.borrow_mut() {
                        Some(Failure::Error(first)) => first.attach(e),
                        Some(Failure::Panic(_, later)) => later.push(e),
                        None => {}
                    }
                }
            }
        }
    }
}

/// The resolver of a [`Switch::fork_promise`] fiber: resolved with the
/// switch's cancellation if it is dropped before the fiber resolved it
/// (the fiber never started `f`).
struct ResolveOnDrop<T> {
    resolver: Option<crate::sync::promise::Resolver<Result<T, Error>>>,
    ctx: Rc<CancelCtx>,
}

impl<T> Drop for ResolveOnDrop<T> {
    fn drop(&mut self) {
        if let Some(r) = self.resolver.take() {
            let c = self.ctx.cancelled().unwrap_or_else(Cancelled::unknown);
            r.resolve(Err(Error::cancelled(c)));
        }
    }
}
