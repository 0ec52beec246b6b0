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

use crate::backend_api::{Backend, Waker as BackendWaker};
use crate::cancel::CancelCtx;
use crate::fiber::handoff::{Handoff, Wake};
use crate::fiber::park_hook;
use crate::fiber::span_context;
use crate::fiber::stack::{self, StackPool, StackStats};
use crate::fiber::task::{Co, Fiber, FiberState};
use crate::fiber::FiberId;
use crate::time::clock::ClockSource;
use crate::time::timers::{TimerAction, Timers};

/// How many fibers run between two looks at the timers, the remote queue
/// and (non-blocking) the backend, when the run queue never empties.
const MAINTENANCE_INTERVAL: u32 = 61;

/// The next block of fiber ids to hand a scheduler.
static NEXT_FIBER_ID: AtomicU64 = AtomicU64::new(1);
/// Fiber ids a scheduler takes at a time: a fork then costs no locked
/// instruction for its id (ids stay unique, and increase per thread).
const FIBER_ID_BLOCK: u64 = 1024;
static NEXT_SCHEDULER_ID: AtomicU64 = AtomicU64::new(1);

/// The part of a scheduler other threads may touch.
pub struct Remote {
    /// The scheduler's id (dumps, weft-console slots).
    pub id: u64,
    handoff: Handoff<RemoteWork>,
    waker: Arc<dyn BackendWaker>,
    /// For the watchdog: how many times a fiber was resumed here, and the
    /// id of the fiber running now (0 while on the scheduler's stack).
    pub resumes: AtomicU64,
    /// The id of the fiber running now (0 while on the scheduler's stack).
    pub running: AtomicU64,
    /// How many times the scheduler parked in its backend (an idle
    /// scheduler parks once and stays parked: no busy polling).
    pub parks: AtomicU64,
}

/// Work handed to a scheduler from another thread.
pub enum RemoteWork {
    /// Put this fiber, woken on another thread, on the run queue.
    Wake(Arc<Fiber>),
    /// Run this closure on the scheduler's own stack.
    Run(Box<dyn FnOnce() + Send>),
    /// Start this task on the scheduler's own stack (see [`RemoteTask`]).
    Task(TaskRef),
}

/// Work another thread hands a scheduler inside an allocation it shares
/// with its sender (an executor job and the slot its outcome comes back
/// in): unlike a boxed closure, nothing allocated by the sender is freed
/// by the receiving thread, whose frees of another thread's memory would
/// make both threads' allocators slower.
///
/// ```
/// use std::sync::Arc;
/// use weft_core::backend_api::scheduler::RemoteTask;
/// struct Hello;
/// impl RemoteTask for Hello {
///     fn start(self: Arc<Self>) { println!("started on the target scheduler"); }
///     fn abandon(self: Arc<Self>) { println!("its runtime ended first"); }
/// }
/// let _task: Arc<dyn RemoteTask> = Arc::new(Hello);
/// ```
pub trait RemoteTask: Send + Sync {
    /// Starts the work on the target scheduler's thread: from its own
    /// stack, or from a fiber there that goes on afterwards. It must not
    /// block; it may create fibers.
    fn start(self: Arc<Self>);
    /// The work was dropped without starting (its runtime ended).
    fn abandon(self: Arc<Self>);
}

/// A [`RemoteTask`] on its way: started by the scheduler that takes it,
/// abandoned if dropped unstarted.
pub struct TaskRef(Option<Arc<dyn RemoteTask>>);

impl TaskRef {
    /// Wraps `task` for [`RemoteWork::Task`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft_core::backend_api::scheduler::{RemoteTask, TaskRef};
    /// struct Nothing;
    /// impl RemoteTask for Nothing {
    ///     fn start(self: Arc<Self>) {}
    ///     fn abandon(self: Arc<Self>) {}
    /// }
    /// drop(TaskRef::new(Arc::new(Nothing))); // abandons it
    /// ```
    pub fn new(task: Arc<dyn RemoteTask>) -> Self {
        TaskRef(Some(task))
    }

    /// Starts the task (on the target scheduler, which must not block
    /// here: from its own stack, or from a fiber that starts it and goes
    /// on).
    pub fn start(mut self) {
        if let Some(task) = self.0.take() {
            task.start();
        }
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abandon();
        }
    }
}

impl Remote {
    /// Hands `work` to the scheduler, waking it if it is parked.
    pub fn push(&self, work: RemoteWork) {
        match self.handoff.push(work) {
            Wake::Nothing => {}
            Wake::Backend => self.waker.wake(),
            Wake::Futex => self.handoff.futex_wake(),
        }
    }

    /// [`push`](Self::push) of a wake-up the scheduler need not take at
    /// once: one parked lazily finds it when its short sleep ends.
    fn push_lazy(&self, work: RemoteWork) {
        match self.handoff.push_lazy(work) {
            Wake::Nothing => {}
            Wake::Backend => self.waker.wake(),
            Wake::Futex => self.handoff.futex_wake(),
        }
    }

    /// Moves the queued work into `spare` (see [`Handoff::take_into`]).
    fn take_into(&self, spare: &mut Vec<RemoteWork>) {
        self.handoff.take_into(spare)
    }
}

/// Settings a scheduler is built with.
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// Each fiber's stack size in bytes.
    pub stack_size: usize,
    /// How many finished fibers' stacks (and control blocks) are kept.
    pub max_pooled_stacks: usize,
    /// Whether time stands still until every fiber is idle.
    pub mock_clock: bool,
    /// Record runtime events for weft-console (or `WEFT_CONSOLE=1`); once
    /// built, whether this scheduler's thread did attach (and so detaches).
    pub console: bool,
}

impl SchedulerConfig {
    /// A fiber's stack unless `WEFT_STACK_SIZE` or the builder says otherwise.
    pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;
    /// How many finished fibers' stacks a thread keeps for reuse.
    pub const DEFAULT_POOLED_STACKS: usize = 1024;

    /// The stack size `WEFT_STACK_SIZE` asks for, or the default.
    pub fn stack_size_from_env() -> usize {
        std::env::var("WEFT_STACK_SIZE")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(Self::DEFAULT_STACK_SIZE)
    }

    /// The defaults, with the environment's stack size.
    pub fn from_env() -> Self {
        SchedulerConfig {
            stack_size: Self::stack_size_from_env(),
            max_pooled_stacks: Self::DEFAULT_POOLED_STACKS,
            mock_clock: false,
            console: false,
        }
    }
}

/// One thread's scheduler: its run queue, timers, stacks, fibers and backend.
pub struct Scheduler {
    run_queue: RefCell<VecDeque<Arc<Fiber>>>,
    /// The running fiber, or null while on the scheduler's own stack. It
    /// points into an `Arc` the registry holds until the fiber retires.
    current: Cell<*const Fiber>,
    /// The run-queue reference of the running fiber while it runs (a yield
    /// moves it back to the queue without touching the reference count).
    running: Cell<Option<Arc<Fiber>>>,
    /// The clock as last read by the scheduler loop (maintenance, timers):
    /// what suspensions record for dumps, without a clock read each.
    cached_now: Cell<u64>,
    /// What other threads use to wake fibers here.
    pub remote: Arc<Remote>,
    pub(crate) timers: RefCell<Timers>,
    pub(crate) clock: ClockSource,
    stacks: RefCell<StackPool>,
    registry: RefCell<Slab<Arc<Fiber>>>,
    /// Finished fibers' control blocks, for reuse by `create` (no
    /// allocation per fiber in steady state). Every entry is unshared:
    /// `retire` pools a fiber only when `Arc::get_mut` proves it the last
    /// reference (no resumer, queue or registry entry left).
    fiber_pool: RefCell<Vec<Arc<Fiber>>>,
    /// The next fiber id of this scheduler's block, and the block's end.
    fiber_ids: Cell<(u64, u64)>,
    backend: RefCell<Box<dyn Backend>>,
    /// I/O ops completed by the running fiber without suspending.
    io_streak: Cell<u32>,
    config: SchedulerConfig,
    tick: Cell<u32>,
    /// Executor jobs this thread's fibers wait for (see `LAZY_PARK_JOBS`).
    awaited_jobs: Cell<usize>,
    /// Whether the last park on the futex ended with remote work to take:
    /// lazy parks only go on while completions keep coming, so long jobs
    /// do not make an idle thread wake every `LAZY_PARK` for nothing.
    lazy_pays: Cell<bool>,
    /// How long to watch the remote queue before sleeping on the futex.
    park_spin: super::park_spin::ParkSpin,
    /// The emptied buffer `take_remote` hands the remote queue in exchange
    /// for the queued work, so a stream of remote work allocates nothing.
    remote_spare: Cell<Vec<RemoteWork>>,
    /// This thread's weft-console slot when this scheduler records (the
    /// hot hooks' one check), else off.
    console: crate::console::Tap,
}

/// With at least this many executor jobs awaited, an idle scheduler parks
/// *lazily*: for at most `LAZY_PARK` at a time, and the jobs' completions
/// ([`schedule_lazy`]) do not wake it; it collects them when it wakes
/// (interrupt coalescing). A burst of short jobs then costs one wake-up per
/// `LAZY_PARK` instead of one per job, at the price of up to `LAZY_PARK`
/// more latency per completion. Fewer jobs in flight (a request and its
/// reply) are woken at once as before, and so is a thread whose last lazy
/// park found nothing (long jobs), until a completion arrives again.
const LAZY_PARK_JOBS: usize = 8;
const LAZY_PARK: Duration = Duration::from_micros(50);

/// The largest remote-queue buffer `take_remote` keeps for reuse (entries):
/// a rare huge burst does not pin its memory for good.
const MAX_REMOTE_SPARE: usize = 4096;

/// Counts an executor job the running thread's fibers wait for, until the
/// returned guard drops.
pub fn await_job() -> AwaitedJob {
    with(|s| s.awaited_jobs.set(s.awaited_jobs.get() + 1));
    AwaitedJob {
        _thread_bound: std::marker::PhantomData,
    }
}

/// An executor job awaited on this thread (see [`await_job`]).
pub struct AwaitedJob {
    _thread_bound: std::marker::PhantomData<*const ()>,
}

impl Drop for AwaitedJob {
    fn drop(&mut self) {
        with(|s| s.awaited_jobs.set(s.awaited_jobs.get().saturating_sub(1)));
    }
}

thread_local! {
    static CURRENT: Cell<*const Scheduler> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` with this thread's scheduler, if there is one.
#[inline]
pub fn with<R>(f: impl FnOnce(&Scheduler) -> R) -> Option<R> {
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
pub fn expect<R>(what: &str, f: impl FnOnce(&Scheduler) -> R) -> R {
    match with(f) {
        Some(r) => r,
        None => panic!(
            "weft: {what} needs a running weft runtime on this thread (at {}); call it inside weft::run",
            Location::caller()
        ),
    }
}

/// The fiber running on this thread, or null.
#[inline]
pub(crate) fn current_ptr() -> *const Fiber {
    with(|s| s.current.get()).unwrap_or(std::ptr::null())
}

/// A new reference to the fiber at `ptr`.
///
/// # Safety
/// `ptr` must come from `current_ptr` (or `Arc::as_ptr`) of a fiber that is
/// still alive (the running fiber always is: the registry holds it).
#[inline]
pub(crate) unsafe fn arc_of(ptr: *const Fiber) -> Arc<Fiber> {
    // SAFETY: per the contract, `ptr` is the data pointer of a live
    // `Arc<Fiber>`; we add the reference the new `Arc` owns.
    unsafe {
        Arc::increment_strong_count(ptr);
        Arc::from_raw(ptr)
    }
}

/// The running fiber's run-queue reference, for the resumer of a
/// suspension it is about to enter: the reference moves instead of being
/// cloned here and dropped when the fiber switches out (two locked
/// instructions per suspension). A fiber whose suspension returns without
/// switching out puts it back with [`restore_running`].
///
/// `me` must be the running fiber (`current_ptr`, non-null).
#[inline]
pub(crate) fn take_running(me: *const Fiber) -> Arc<Fiber> {
    let taken = with(|s| s.running.take()).flatten();
    match taken {
        Some(arc) => {
            debug_assert!(std::ptr::eq(Arc::as_ptr(&arc), me));
            arc
        }
        // SAFETY: `me` is the running fiber, alive (the registry holds it).
        None => unsafe { arc_of(me) },
    }
}

/// Gives the running fiber back the run-queue reference that
/// [`take_running`] moved into a resumer it no longer owns (a suspension
/// that returned without switching out).
///
/// `me` must be the running fiber (`current_ptr`, non-null).
#[inline]
pub(crate) fn restore_running(me: *const Fiber) {
    // SAFETY: `me` is the running fiber, alive (the registry holds it).
    let arc = unsafe { arc_of(me) };
    with(|s| s.running.set(Some(arc)));
}

/// The fiber running on this thread, if any.
#[inline]
pub fn current_fiber() -> Option<Arc<Fiber>> {
    let ptr = current_ptr();
    // SAFETY: the running fiber is alive (the registry holds it).
    (!ptr.is_null()).then(|| unsafe { arc_of(ptr) })
}

/// Runs `f` with the running fiber, without touching its reference count.
/// `f` must not suspend.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Fiber) -> R) -> Option<R> {
    let ptr = current_ptr();
    // SAFETY: the running fiber is alive while it runs, and `f` does not
    // suspend, so the reference does not outlive this stretch of running.
    (!ptr.is_null()).then(|| f(unsafe { &*ptr }))
}

/// Puts a woken fiber on its home scheduler's run queue.
#[inline]
pub(crate) fn schedule(fiber: Arc<Fiber>) {
    let sched = CURRENT.with(|c| c.get());
    // SAFETY: a non-null CURRENT is a live scheduler (see `with`).
    if !sched.is_null() && Arc::ptr_eq(unsafe { &(*sched).remote }, &fiber.home) {
        // SAFETY: as above; the queue borrow ends within this statement.
        unsafe { (*sched).run_queue.borrow_mut().push_back(fiber) };
        return;
    }
    let home = fiber.home.clone();
    home.push(RemoteWork::Wake(fiber));
}

/// [`schedule`] for the completion of an executor job: a home scheduler
/// parked lazily (it awaits many jobs) is not woken for it.
pub(crate) fn schedule_lazy(fiber: Arc<Fiber>) {
    let sched = CURRENT.with(|c| c.get());
    // SAFETY: a non-null CURRENT is a live scheduler (see `with`).
    if !sched.is_null() && Arc::ptr_eq(unsafe { &(*sched).remote }, &fiber.home) {
        // SAFETY: as above; the queue borrow ends within this statement.
        unsafe { (*sched).run_queue.borrow_mut().push_back(fiber) };
        return;
    }
    let home = fiber.home.clone();
    home.push_lazy(RemoteWork::Wake(fiber));
}

/// How many I/O ops a fiber may complete in a row without suspending
/// before it yields, so a busy connection cannot starve the others.
const IO_BUDGET: u32 = 128;

/// Counts an I/O op of the running fiber; yields when its budget is spent.
pub fn io_budget() {
    let spent = with(|s| {
        let n = s.io_streak.get() + 1;
        s.io_streak.set(n);
        n >= IO_BUDGET
    });
    if spent == Some(true) {
        crate::fiber::yield_now();
    }
}

/// The scheduler's clock as its loop last read it (nanoseconds since it
/// started): for records such as "blocked since", not for deadlines.
#[inline]
pub(crate) fn cached_now() -> u64 {
    with(|s| s.cached_now.get()).unwrap_or(0)
}

/// Switches from the running fiber back to the scheduler. Returns when the
/// scheduler resumes the fiber.
///
/// Always inlined, as `yield_current` is: a stack switch leaves the CPU's
/// return-address predictor holding the other stack's calls, so every
/// function return between a switch and the fiber's own code mispredicts.
/// Out of line, this call and `yield_current`'s cost the `yield` row 25 ns
/// per yield instead of 7 (in `weft-benches`, where LLVM did not inline
/// them; `benches/examples/yield_alone.rs` had them inlined by chance).
#[inline(always)]
pub(crate) fn switch_out(fiber: &Fiber) {
    let yielder = fiber.local.yielder.get();
    debug_assert!(
        !yielder.is_null(),
        "switch_out from a fiber that has not started"
    );
    note_stack_pointer(fiber);
    // SAFETY: the yielder pointer was stored by the fiber's own entry
    // function and stays valid for as long as the coroutine runs; we are
    // running on that coroutine now (only fibers call switch_out).
    unsafe { (*yielder).suspend(()) }
}

/// Records roughly where the running fiber's stack pointer is, just before
/// it switches out (the address of a local of this frame).
#[inline(always)]
fn note_stack_pointer(fiber: &Fiber) {
    let here = 0u8;
    fiber
        .local
        .suspended_sp
        .set(std::hint::black_box(std::ptr::addr_of!(here)) as usize);
}

/// How many fibers ahead in the run queue the scheduler prefetches the
/// stack of the fiber it will resume ...
const PREFETCH_AHEAD: usize = 2;
/// ... and, further ahead, its control block (which holds where the stack
/// pointer is, read to prefetch the stack).
const PREFETCH_FIBER_AHEAD: usize = 4;

/// Asks the CPU to load the lines of `fiber`'s stack around where it
/// switched out, so the page walk and the cache misses of resuming a fiber
/// whose stack went cold (a timer firing after thousands of others ran)
/// overlap with running the fibers queued before it.
#[inline]
fn prefetch_resume(fiber: &Fiber) {
    let sp = fiber.local.suspended_sp.get();
    if sp == 0 {
        return;
    }
    for line in 0..8usize {
        prefetch((sp + line * 64).wrapping_sub(128));
    }
}

/// Asks the CPU to load a fiber's whole control block, from the reference
/// counts in front of its data.
#[inline]
fn prefetch_control_block(fiber: &Arc<Fiber>) {
    let at = (Arc::as_ptr(fiber) as usize).wrapping_sub(16);
    for line in 0..(std::mem::size_of::<Fiber>() + 16).div_ceil(64) {
        prefetch(at + line * 64);
    }
}

/// Asks the CPU to load the cache line at `addr` (a hint; any address).
#[inline(always)]
pub(crate) fn prefetch(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of x86_64's baseline; a prefetch is only a hint:
    // it reads nothing into the program and never faults, whatever the
    // address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

/// The yield of `weft::fiber::yield_now`: a cancellation check, the
/// running fiber to the back of the run queue, a switch out, and a
/// cancellation check once resumed (a fiber cancelled while queued unwinds
/// here). One thread-local lookup; no reference-count traffic. Always
/// inlined into the yielding code (see `switch_out`).
#[inline(always)]
#[track_caller]
pub(crate) fn yield_current() {
    let sched = CURRENT.with(|c| c.get());
    let me = if sched.is_null() {
        std::ptr::null()
    } else {
        // SAFETY: a non-null CURRENT is a scheduler that outlives its
        // `Entered` guard (see `with`).
        unsafe { (*sched).current.get() }
    };
    if me.is_null() {
        not_in_fiber("yield_now");
    }
    // SAFETY: `me` is the running fiber (we are on its stack), alive while
    // it runs: the registry holds it until it retires.
    let fiber = unsafe { &*me };
    crate::fiber::deferred_fork::run(fiber);
    if fiber.local.cancelled.get() {
        deliver_cancellation(fiber);
    }
    // SAFETY: as above for the scheduler; it keeps running this thread's
    // fibers for as long as one of them runs.
    let sched = unsafe { &*sched };
    let arc = sched
        .running
        .take()
        .expect("the running fiber's queue reference is held while it runs");
    sched.run_queue.borrow_mut().push_back(arc);
    let yielder = fiber.local.yielder.get();
    note_stack_pointer(fiber);
    // SAFETY: the yielder belongs to the running coroutine (we are on it);
    // the fiber is kept alive by the run queue and the registry.
    unsafe { (*yielder).suspend(()) };
    if fiber.local.cancelled.get() {
        deliver_cancellation(fiber);
    }
}

/// Forks `child` to run now: the running fiber goes to the head of the
/// run queue, right behind the child, and switches out.
pub(crate) fn run_child_now(child: Arc<Fiber>) {
    let sched = CURRENT.with(|c| c.get());
    assert!(!sched.is_null(), "fork runs in a fiber");
    // SAFETY: a non-null CURRENT is a live scheduler (see `with`).
    let sched = unsafe { &*sched };
    let me = sched.current.get();
    assert!(!me.is_null(), "fork runs in a fiber");
    // SAFETY: `me` is the running fiber (we are on its stack).
    crate::fiber::deferred_fork::run(unsafe { &*me });
    let parent = sched
        .running
        .take()
        .expect("the running fiber's queue reference is held while it runs");
    {
        let mut q = sched.run_queue.borrow_mut();
        q.push_front(parent);
        q.push_front(child);
    }
    // SAFETY: `me` is the running fiber, alive (the queue and registry hold
    // it); only it calls this, on its own stack.
    switch_out(unsafe { &*me });
}

/// Unwinds the running fiber with its context's cancellation (unless it is
/// already unwinding: then the cancellation waits for the next point).
#[cold]
#[inline(never)]
pub(crate) fn deliver_cancellation(fiber: &Fiber) {
    if std::thread::panicking() {
        return;
    }
    if let Some(c) = fiber.ctx_cancelled() {
        c.unwind();
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn not_in_fiber(what: &str) -> ! {
    panic!(
        "weft: {what} needs to run inside a fiber (at {}); use weft::run",
        Location::caller()
    )
}

/// For the overflow handler (signal context): the running fiber's guard
/// range start, id, name and the stack-size setting, if a fiber runs.
/// Reads only plain thread-local and scheduler cells (no locks, no
/// allocation), which is async-signal-safe.
pub(crate) fn running_for_signal() -> Option<(usize, u64, Option<&'static str>, usize)> {
    let sched = CURRENT.with(|c| c.get());
    if sched.is_null() {
        return None;
    }
    // SAFETY: a non-null CURRENT is a live scheduler (see `with`); the
    // signal interrupted this thread, so nothing is mid-update but plain
    // `Cell` stores, which are single word writes.
    let sched = unsafe { &*sched };
    let me = sched.current.get();
    if me.is_null() {
        return None;
    }
    // SAFETY: `current` is only non-null while that fiber is alive.
    let fiber = unsafe { &*me };
    // SAFETY: the name lives as long as the fiber, and the handler aborts
    // the process before the fiber could go away.
    let name: Option<&'static str> = fiber
        .name
        .as_deref()
        .map(|n| unsafe { &*(n as *const str) });
    Some((fiber.guard_lo, fiber.id.0, name, sched.config.stack_size))
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        // The next runtime on this thread starts with our warm stacks.
        let pool = std::mem::replace(self.stacks.get_mut(), StackPool::empty());
        pool.hand_on();
        if self.config.console {
            crate::console::thread_detach();
        }
    }
}

/// Guard that uninstalls a scheduler from the thread when dropped.
pub struct Entered {
    previous: *const Scheduler,
}

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

impl Scheduler {
    /// A scheduler driving `backend`; not yet the thread's (see [`Scheduler::enter`]).
    pub fn new(mut config: SchedulerConfig, backend: Box<dyn Backend>) -> Self {
        stack::ensure_alt_stack();
        let remote = Arc::new(Remote {
            id: NEXT_SCHEDULER_ID.fetch_add(1, Ordering::Relaxed),
            handoff: Handoff::new(),
            waker: backend.waker(),
            resumes: AtomicU64::new(0),
            running: AtomicU64::new(0),
            parks: AtomicU64::new(0),
        });
        config.console = crate::console::thread_attach(remote.id, config.console);
        let console = if config.console {
            crate::console::Tap::of_thread()
        } else {
            crate::console::Tap::OFF
        };
        Scheduler {
            run_queue: RefCell::new(VecDeque::with_capacity(256)),
            current: Cell::new(std::ptr::null()),
            running: Cell::new(None),
            cached_now: Cell::new(0),
            remote,
            timers: RefCell::new(Timers::default()),
            clock: ClockSource::new(config.mock_clock),
            stacks: RefCell::new(StackPool::for_thread(
                config.stack_size,
                config.max_pooled_stacks,
            )),
            registry: RefCell::new(Slab::new()),
            fiber_pool: RefCell::new(Vec::new()),
            fiber_ids: Cell::new((0, 0)),
            backend: RefCell::new(backend),
            io_streak: Cell::new(0),
            config,
            tick: Cell::new(0),
            awaited_jobs: Cell::new(0),
            remote_spare: Cell::new(Vec::new()),
            lazy_pays: Cell::new(true),
            park_spin: super::park_spin::ParkSpin::new(),
            console,
        }
    }

    /// Installs this scheduler as the thread's current one.
    ///
    /// Refuses (panics) when the thread already runs a scheduler: a nested
    /// `weft::run` would block the outer one's fibers.
    pub fn enter(&self) -> Entered {
        let previous = CURRENT.with(|c| c.get());
        if !previous.is_null() {
            panic!("weft::run called on a thread that is already running weft; use Switch::run or fork instead");
        }
        CURRENT.with(|c| c.set(self));
        Entered { previous }
    }

    /// Runs `f` with this scheduler's backend (never across a suspension:
    /// the backend is borrowed for the call).
    #[inline]
    pub(crate) fn with_backend<R>(&self, f: impl FnOnce(&mut dyn Backend) -> R) -> R {
        f(&mut **self.backend.borrow_mut())
    }

    /// How many stacks this thread has mapped, uses and keeps.
    pub fn stack_stats(&self) -> StackStats {
        self.stacks.borrow().stats()
    }

    /// Creates a fiber running `body` in cancellation context `ctx`, and
    /// returns it without scheduling it.
    ///
    /// # Safety
    /// Everything `body` borrows must stay alive until the fiber finishes.
    /// Switches guarantee this by not returning before their fibers end.
    #[inline(always)]
    pub unsafe fn create<F>(
        &self,
        name: Option<Box<str>>,
        ctx: &Rc<CancelCtx>,
        body: F,
    ) -> std::io::Result<Arc<Fiber>>
    where
        F: FnOnce(),
    {
        // SAFETY: the caller's promise, passed on.
        unsafe { self.create_at(name, ctx, body, None) }
    }

    /// [`Scheduler::create`] of a fiber forked at `spawned_at` (its spawn
    /// site for weft-console; `None`: the one `console::spawn_site` noted).
    ///
    /// # Safety
    /// As for [`Scheduler::create`].
    pub(crate) unsafe fn create_at<F>(
        &self,
        name: Option<Box<str>>,
        ctx: &Rc<CancelCtx>,
        body: F,
        spawned_at: Option<&'static Location<'static>>,
    ) -> std::io::Result<Arc<Fiber>>
    where
        F: FnOnce(),
    {
        let stack = self.stacks.borrow_mut().take()?;
        let guard_lo = stack.limit().get();
        let id = self.next_fiber_id();
        let pooled = {
            let mut pool = self.fiber_pool.borrow_mut();
            let pooled = pool.pop();
            // The next fork resets the next pooled block: start loading
            // it now (after a burst it has gone cold), as `StackPool::take`
            // does for the next stack.
            if let Some(next) = pool.last() {
                prefetch_control_block(next);
            }
            pooled
        };
        let fiber = match pooled {
            Some(reused) => {
                // SAFETY: the pool only holds fibers that `retire` proved
                // unshared with `Arc::get_mut`, and a pooled `Arc` is never cloned,
                // so this is still the only reference: resetting in place
                // through it is what `Arc::get_mut` would allow.
                unsafe { (*Arc::as_ptr(&reused).cast_mut()).reset(id, name, guard_lo) };
                reused
            }
            None => Arc::new(Fiber::new(id, name, self.remote.clone(), guard_lo)),
        };
        let entry = move |yielder: &corosensei::Yielder<(), ()>, ()| {
            with_current(|me| me.local.yielder.set(yielder));
            let _bindings = crate::fiber::local::ClearOnExit;
            body();
        };
        // SAFETY: the caller guarantees that what `body` borrows outlives the
        // fiber; the coroutine is dropped (after completion) by `retire`.
        let co: Co = unsafe { Co::with_stack_unchecked(stack, entry) };
        fiber.set_coroutine(co);
        let key = ctx.add_fiber(&fiber);
        *fiber.local.ctx.borrow_mut() = Some((ctx.clone(), key));
        fiber.local.cancelled.set(ctx.is_cancelled());
        // Fiber-local bindings of the fiber forking this one (or of the
        // thread, for a main fiber).
        *fiber.local.bindings.borrow_mut() = crate::fiber::local::inherited();
        let reg = self.registry.borrow_mut().insert(fiber.clone());
        fiber.local.registry_key.set(reg);
        crate::console::fiber_created(self.console, &fiber, ctx, spawned_at);
        Ok(fiber)
    }

    /// A fresh fiber id, from this scheduler's block of them.
    #[inline]
    fn next_fiber_id(&self) -> FiberId {
        let (mut next, mut end) = self.fiber_ids.get();
        if next == end {
            next = NEXT_FIBER_ID.fetch_add(FIBER_ID_BLOCK, Ordering::Relaxed);
            end = next + FIBER_ID_BLOCK;
        }
        self.fiber_ids.set((next + 1, end));
        FiberId(next)
    }

    /// Queues `fiber` to run after those already runnable.
    pub fn push_back(&self, fiber: Arc<Fiber>) {
        self.run_queue.borrow_mut().push_back(fiber);
    }

    pub(crate) fn push_front(&self, fiber: Arc<Fiber>) {
        self.run_queue.borrow_mut().push_front(fiber);
    }

    /// Runs fibers until `done()` holds with an empty run queue.
    pub fn run_until(&self, done: &dyn Fn() -> bool) {
        loop {
            let next = {
                let mut queue = self.run_queue.borrow_mut();
                if let Some(ahead) = queue.get(PREFETCH_FIBER_AHEAD) {
                    prefetch_control_block(ahead);
                }
                if let Some(ahead) = queue.get(PREFETCH_AHEAD) {
                    prefetch_resume(ahead);
                }
                queue.pop_front()
            };
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
                        crate::console::run_loop_left(self.console);
                        return;
                    }
                    self.maintain(true);
                }
            }
        }
    }

    #[inline]
    fn resume(&self, fiber: Arc<Fiber>) {
        let raw: *const Fiber = Arc::as_ptr(&fiber);
        let id = fiber.id.0;
        // The Arc moves into `running` (a yield moves it on to the queue);
        // `current` also tells the overflow handler who runs.
        self.current.set(raw);
        self.running.set(Some(fiber));
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
        // SAFETY: as above, `raw` is live; `local` is touched only here on
        // the home thread, and by the fiber while it runs (not now).
        let spans = unsafe { &(*raw).local.spans };
        let span_base = span_context::switch_in(spans);
        // SAFETY: `raw` is live (see above).
        crate::console::fiber_running(self.console, unsafe { &*raw });
        let result = co
            .as_mut()
            .expect("a queued fiber has a coroutine")
            .resume(());
        span_context::switch_out(span_base, spans);
        // SAFETY: still registered (retired below at the earliest).
        crate::console::fiber_stopped(
            self.console,
            unsafe { &*raw },
            matches!(result, CoroutineResult::Return(())),
        );
        self.current.set(std::ptr::null());
        let fiber = self.running.take();
        self.remote.running.store(0, Ordering::Relaxed);
        if let CoroutineResult::Return(()) = result {
            let fiber = fiber.expect("a finished fiber did not queue itself");
            self.retire(fiber);
        }
    }

    /// Frees what a finished fiber held, on its home thread.
    fn retire(&self, mut fiber: Arc<Fiber>) {
        // SAFETY: home scheduler, outside the fiber, which has finished.
        let co = unsafe { fiber.coroutine_mut() }.take();
        if let Some(co) = co {
            self.stacks.borrow_mut().give_back(co.into_stack());
        }
        if let Some((ctx, key)) = fiber.local.ctx.borrow_mut().take() {
            ctx.remove_fiber(key);
        }
        // Normally emptied by the fiber itself (`ClearOnExit`); the values
        // are thread-bound, so they must not outlive this point.
        let bindings = fiber.local.bindings.take();
        drop(bindings);
        let registered = self
            .registry
            .borrow_mut()
            .try_remove(fiber.local.registry_key.get());
        drop(registered);
        // Keep the control block if nobody else can reach it any more.
        if let Some(f) = Arc::get_mut(&mut fiber) {
            f.name = None;
            let mut pool = self.fiber_pool.borrow_mut();
            if pool.len() < self.config.max_pooled_stacks {
                pool.push(fiber);
            }
        }
    }

    /// Moves remote wake-ups in, fires due timers, and when `may_block` and
    /// nothing is runnable, parks in the backend until the next timer.
    fn maintain(&self, may_block: bool) {
        crate::console::gauges(|| {
            (
                self.run_queue.borrow().len(),
                self.registry.borrow().len(),
                self.timers.borrow().len(),
            )
        });
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
            park_hook::turn();
            if self.backend.borrow_mut().has_pending_io() {
                self.poll_backend(Some(Duration::ZERO));
            }
            return;
        }
        // Park: announce it, then look at the remote queue once more so a
        // push racing with us is either seen here or wakes us. With no I/O
        // in flight only a timer or a wake-up can end the wait: sleep on
        // the handoff's futex, cheaper to wake than the backend.
        // A park hook is woken through the backend's descriptor: never the futex.
        let hook = park_hook::state();
        let hooked = hook == park_hook::HookState::Engaged;
        // A dormant hook is asked again soon, in case work reached its loop
        // from another thread meanwhile.
        let io_wait = if hook == park_hook::HookState::Dormant {
            Some(io_wait.map_or(park_hook::DORMANT_RECHECK, |d| {
                d.min(park_hook::DORMANT_RECHECK)
            }))
        } else {
            io_wait
        };
        let on_futex = !hooked && !self.backend.borrow_mut().has_pending_io();
        let lazy = on_futex && self.lazy_pays.get() && self.awaited_jobs.get() >= LAZY_PARK_JOBS;
        // A reply from another thread may be microseconds away: watch for
        // it before sleeping (`park_spin`), the waker then wakes nothing.
        // Not before a timer due sooner than a spin may last.
        let spin = on_futex && !lazy && io_wait.is_none_or(|d| d > super::park_spin::LONGEST_SPIN);
        let spun = spin && self.park_spin.spin(|| self.remote.handoff.has_pending());
        if spun || !self.remote.handoff.prepare_park(on_futex, lazy) {
            self.take_remote();
            return;
        }
        self.remote.parks.fetch_add(1, Ordering::Relaxed);
        if on_futex {
            let wait = if lazy {
                Some(io_wait.map_or(LAZY_PARK, |d| d.min(LAZY_PARK)))
            } else {
                io_wait
            };
            self.remote.handoff.futex_wait(wait, lazy);
        } else if !(hooked && self.park_in_hook(io_wait)) {
            self.poll_backend(io_wait);
        }
        self.remote.handoff.unpark();
        let took = self.take_remote();
        if on_futex {
            self.lazy_pays.set(took);
        }
        self.fire_timers();
    }

    /// Parks in the thread's park hook; `false` if it could not.
    fn park_in_hook(&self, timeout: Option<Duration>) -> bool {
        let fd = self.backend.borrow_mut().park_fd();
        park_hook::park(fd, timeout, &mut || self.poll_backend(Some(Duration::ZERO)))
    }

    /// Whether fibers are ready to run (for a park hook).
    pub(crate) fn has_runnable(&self) -> bool {
        !self.run_queue.borrow().is_empty()
    }

    fn poll_backend(&self, timeout: Option<Duration>) {
        if let Err(e) = self.backend.borrow_mut().wait(timeout) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                tracing::error!(error = %e, "weft: the I/O backend failed to wait");
            }
        }
    }

    /// Takes remote work that arrived after the scheduler's last look, once
    /// the main fiber has finished (`run_main`): a job handed over just
    /// before the end (its sender saw the runtime still running) would
    /// otherwise stay queued, never run nor dropped, for as long as any
    /// handle keeps the queue alive. Such a `Run` now finds the root scope
    /// closed and drops its closure.
    pub fn drain_remote(&self) {
        self.take_remote();
    }

    /// Takes the remote work; returns whether there was any.
    fn take_remote(&self) -> bool {
        // Taken out of its cell, so a job that looks at the remote queue
        // again finds an empty spare of its own.
        let mut work = self.remote_spare.take();
        self.remote.take_into(&mut work);
        let any = !work.is_empty();
        for work in work.drain(..) {
            match work {
                RemoteWork::Wake(fiber) => self.run_queue.borrow_mut().push_back(fiber),
                RemoteWork::Run(job) => job(),
                RemoteWork::Task(task) => task.start(),
            }
        }
        if work.capacity() <= MAX_REMOTE_SPARE {
            self.remote_spare.replace(work);
        }
        any
    }

    fn fire_timers(&self) {
        // The one clock read of a maintenance round; suspensions record it.
        let now = self.clock.now_nanos();
        self.cached_now.set(now);
        if self.timers.borrow().is_empty() {
            return;
        }
        loop {
            let action = {
                let mut timers = self.timers.borrow_mut();
                let action = timers.pop_expired(now);
                if action.is_some() {
                    timers.prefetch_next();
                }
                action
            };
            match action {
                Some(TimerAction::Resume(r)) => {
                    r.resume();
                }
                Some(TimerAction::Call(f)) => {
                    // SAFETY: the closure's owner removes the timer before
                    // the closure goes away (see `TimerAction::Call`), and
                    // it has not: the timer was still queued.
                    unsafe { (*f)() };
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
    pub fn dump(&self) -> String {
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
            let running = std::ptr::eq(self.current.get(), Arc::as_ptr(f));
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
