//! Runtime events for `weft-console`: a live view of a running program's
//! fibers from another process.
//!
//! Off by default. On for every runtime when the environment variable
//! `WEFT_CONSOLE=1` is set (read once, when the first runtime starts), or
//! for the runtimes built with [`crate::Builder::console`]. Then the
//! process maps one file,
//! `weft-console-<pid>.ring` (mode 0600, in `$XDG_RUNTIME_DIR` or `/tmp`),
//! and every scheduler thread writes into its own region of it:
//!
//! - an event ring (`ring.rs`): fiber created, running, suspended (where,
//!   and on what: an [`events::WaitKind`]), yielded, exited; wake-ups
//!   (which fiber woke which); switch created and finished (failed or
//!   not); cancellation requested; io_uring ops submitted and completed;
//!   blocking-pool jobs handed over and done; user events ([`event`]).
//!   Single writer, no locks; a reader that falls behind loses the oldest
//!   events and counts them. A watchdog thread gets a slot of its own for
//!   its stall events.
//! - the thread's gauges (`layout::Gauges`): run queue, live fibers,
//!   timers (published at each maintenance pass), ops in flight and
//!   blocking jobs (counted by the hooks).
//! - a live-fiber table: one seqlocked entry per live fiber (indexed by the
//!   fiber's registry key) with its state, since when, where it blocks,
//!   its switch, parent, spawn location, name, runs and busy time. A
//!   snapshot reads this table, so it is exact however old the fibers are
//!   (the ring alone would forget a fiber created before it wrapped).
//!
//! The file is removed when the last runtime of the process ends; a file
//! left by a process that died is removed by the next weft program that
//! starts monitoring (or by `weft-console` when asked for that PID).
//!
//! Times come from the event clock (`clock.rs`: the TSC where it is
//! invariant, else `CLOCK_MONOTONIC`); readers convert them to
//! `CLOCK_MONOTONIC` nanoseconds.
//!
//! When off, each hook is one load of a static flag and a predictable
//! branch.
//!
//! ```
//! // A user event, recorded when monitoring is on and ignored otherwise.
//! weft::run(|_env| weft::console::event("requests", 3));
//! ```

pub mod clock;
pub mod events;
pub mod layout;
pub mod ring;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::Location;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::cancel::CancelCtx;
use crate::fiber::task::Fiber;
use crate::fiber::FiberId;
use events::{field, location_word, Event, State, WaitKind};
use layout::{Geometry, SlotView, View};

/// Whether this process records (the hooks' one check).
static ENABLED: AtomicBool = AtomicBool::new(false);
static FROM_ENV: OnceLock<bool> = OnceLock::new();
static SHARED: Mutex<Option<Shared>> = Mutex::new(None);
/// Bumped each time a file is created, so per-thread string caches of an
/// older file are not used with a newer one.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Whether this process records console events now.
///
/// ```
/// weft::Runtime::builder().console(true).build().unwrap().run(|_env| {
///     assert!(weft::console::enabled());
/// });
/// ```
#[inline(always)]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Records a user event `name` with `value` from the running fiber (the
/// analogue of OCaml's custom runtime events). Does nothing when
/// monitoring is off or outside a runtime thread.
///
/// ```
/// weft::run(|_env| {
///     for i in 0..3 {
///         weft::console::event("batch", i);
///     }
/// });
/// ```
pub fn event(name: &'static str, value: i64) {
    if enabled() {
        with_thread(|t| {
            let name = t.intern_static(name) as u64;
            t.push(Event::User {
                fiber: current_fiber_id(t),
                name,
                value,
            });
        });
    }
}

/// Whether `WEFT_CONSOLE` asks for monitoring (read once per process).
fn wanted_by_env() -> bool {
    *FROM_ENV.get_or_init(|| {
        matches!(
            std::env::var("WEFT_CONSOLE").as_deref(),
            Ok("1") | Ok("true") | Ok("on")
        )
    })
}

/// The mapped file of this process.
struct Shared {
    words: &'static [std::sync::atomic::AtomicU64],
    path: PathBuf,
    attached: usize,
    strings: HashMap<String, u32>,
}

// SAFETY: `words` points into a MAP_SHARED mapping that stays mapped while
// `Shared` exists; it is only atomics, safe to touch from any thread.
unsafe impl Send for Shared {}

impl Shared {
    fn view(&self) -> View<'static> {
        View::open(self.words).expect("our own file is valid")
    }

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.strings.get(s) {
            return id;
        }
        let view = self.view();
        match view.arena().append(s) {
            Some(id) => {
                self.strings.insert(s.to_owned(), id);
                id
            }
            None => 0,
        }
    }

    fn create() -> std::io::Result<Shared> {
        use std::os::unix::fs::OpenOptionsExt;
        let pid = std::process::id();
        remove_stale_files(pid);
        let path = layout::path_for(pid);
        // A file of our PID is from a dead process (PIDs are reused) or an
        // earlier runtime of ours: either way it is replaced.
        let _ = std::fs::remove_file(&path);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        let geometry = Geometry::DEFAULT;
        let len = geometry.total_words() * 8;
        file.set_len(len as u64)?;
        // SAFETY: a fresh shared mapping of a file we just sized; it is
        // unmapped only by `thread_detach` once no thread uses it.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            let e = std::io::Error::last_os_error();
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        // SAFETY: the mapping is `len` bytes, page aligned (so aligned for
        // u64), zero-filled, and lives until unmapped by us; AtomicU64 has
        // the layout of u64.
        let words: &'static [AtomicU64] =
            unsafe { std::slice::from_raw_parts(ptr as *const AtomicU64, len / 8) };
        View::init(words, geometry, pid as u64).set_clock(clock::choose());
        GENERATION.fetch_add(1, Ordering::Relaxed);
        Ok(Shared {
            words,
            path,
            attached: 0,
            strings: HashMap::new(),
        })
    }
}

/// Removes console files of processes that no longer exist.
fn remove_stale_files(me: u32) {
    let Ok(dir) = std::fs::read_dir(layout::directory()) else {
        return;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        if let Some(pid) = name.to_str().and_then(layout::pid_of_file_name) {
            if pid != me && !layout::process_alive(pid) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// This thread's slot in the file.
struct ThreadSlot {
    slot: SlotView<'static>,
    view: View<'static>,
    generation: u64,
    /// How many schedulers of this thread are attached (a thread may build
    /// more than one runtime); the slot goes when the last one does.
    depth: Cell<usize>,
    /// Location file pointer -> string id.
    files: RefCell<HashMap<usize, u32>>,
    /// Static-name pointer -> string id.
    statics: RefCell<HashMap<usize, u32>>,
    /// The location of the fork or spawn being made (see `spawn_site`).
    spawn_site: Cell<Option<&'static Location<'static>>>,
    /// Recently used locations and their words, direct-mapped by address.
    recent: [Cell<(usize, u64)>; RECENT],
    /// The latest clock reading of this thread (see `clock`).
    last_ticks: Cell<u64>,
    /// When the last fiber switched out, and the scheduler's park count
    /// then (see `run_start`).
    last_stop: Cell<(u64, u64)>,
    /// io_uring ops and blocking-pool jobs of this thread's fibers now
    /// (the gauges' counts kept by the hooks themselves).
    ops_in_flight: Cell<u64>,
    blocking_jobs: Cell<u64>,
}

/// Entries of the per-thread location cache.
const RECENT: usize = 64;

thread_local! {
    static THREAD: Cell<*const ThreadSlot> = const { Cell::new(std::ptr::null()) };
}

#[inline]
fn with_thread(f: impl FnOnce(&ThreadSlot)) {
    let p = THREAD.try_with(|t| t.get()).unwrap_or(std::ptr::null());
    if !p.is_null() {
        // SAFETY: set by `thread_attach` to a leaked Box freed only by
        // `thread_detach` on this thread, after clearing THREAD.
        f(unsafe { &*p })
    }
}

/// The running fiber's id (0: none), for an event it is about to
/// record. A fiber still in its first, unpublished run (`Stage::Unborn`)
/// gets its `Created` and `Run` records first, so the ring shows them
/// before anything the fiber did.
#[inline]
fn current_fiber_id(t: &ThreadSlot) -> u64 {
    crate::fiber::scheduler::with_current(|f| {
        let mark = &f.local.console;
        if mark.stage.get() == Stage::Unborn {
            t.announce(f.id.0, &mark.birth.get());
            mark.stage.set(Stage::Announced);
        }
        f.id.0
    })
    .unwrap_or(0)
}

/// What the console has published of a fiber (kept in the fiber).
///
/// A fiber that is created, runs and finishes without suspending is never
/// seen by an observer sampling from another process; it costs one ring
/// record (`Event::Ran`) and no live-table entry. Its entry is written
/// when it first switches out without finishing, or at once when it is
/// queued rather than run at once (`fiber_queued`), so a snapshot shows
/// every fiber that is queued or blocked.
pub(crate) struct Mark {
    stage: Cell<Stage>,
    /// Valid unless `stage` is `Listed`.
    birth: Cell<Birth>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Its `Created` record is out and its live-table entry is written
    /// (or the table had no room), or monitoring was off when it was made.
    Listed,
    /// Created, nothing published yet.
    Unborn,
    /// Its `Created` and `Run` records are out (it recorded an event in
    /// its first run), its entry not yet.
    Announced,
}

impl Mark {
    /// The mark of a fiber made while monitoring is off (nothing pending).
    pub(crate) const fn new() -> Mark {
        Mark {
            stage: Cell::new(Stage::Listed),
            birth: Cell::new(Birth {
                parent: 0,
                switch: 0,
                spawn_at: 0,
                name: 0,
                at: 0,
                ran_from: 0,
            }),
        }
    }

    /// Forgets what was pending (a pooled fiber made into a new one).
    pub(crate) fn reset(&self) {
        self.stage.set(Stage::Listed);
    }

    fn set(&self, stage: Stage, birth: Birth) {
        self.stage.set(stage);
        self.birth.set(birth);
    }
}

/// What a fiber's `Created` record and first live-table entry say, kept
/// until they are written.
#[derive(Clone, Copy)]
struct Birth {
    parent: u64,
    switch: u64,
    spawn_at: u64,
    name: u64,
    /// When it was created (the thread's latest clock reading then).
    at: u64,
    /// When its first run started (0: not yet).
    ran_from: u64,
}

impl ThreadSlot {
    /// Pushes an instant event (created, switch, cancel, blocking, user)
    /// stamped with the thread's latest clock reading: at most one fiber
    /// run early, in order, and no clock read.
    fn push(&self, e: Event) {
        self.slot.ring.push(&e.encode(self.last_ticks.get()));
    }

    /// Reads the event clock (`clock::ticks`: the TSC where usable).
    #[inline]
    fn clock(&self) -> u64 {
        let now = clock::ticks();
        self.last_ticks.set(now);
        now
    }

    /// When a fiber run starts: the previous switch-out when the scheduler
    /// did not park since (it only popped the run queue, perhaps polled
    /// without blocking), else the clock.
    fn run_start(&self, parks: u64) -> u64 {
        let (at, parks_then) = self.last_stop.get();
        if at != 0 && parks_then == parks {
            at
        } else {
            self.clock()
        }
    }

    fn push_at(&self, e: Event, now: u64) {
        self.slot.ring.push(&e.encode(now));
    }

    fn locked_intern(&self, s: &str) -> u32 {
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        match shared.as_mut() {
            Some(sh) if GENERATION.load(Ordering::Relaxed) == self.generation => sh.intern(s),
            _ => 0,
        }
    }

    fn location(&self, loc: &'static Location<'static>) -> u64 {
        let addr = loc as *const Location<'static> as usize;
        let cell = &self.recent[(addr >> 3) % RECENT];
        let (cached_addr, word) = cell.get();
        if cached_addr == addr {
            return word;
        }
        let word = self.location_slow(loc);
        cell.set((addr, word));
        word
    }

    #[cold]
    fn location_slow(&self, loc: &'static Location<'static>) -> u64 {
        let key = loc.file().as_ptr() as usize;
        let cached = self.files.borrow().get(&key).copied();
        let id = match cached {
            Some(id) => id,
            None => {
                let id = self.locked_intern(loc.file());
                self.files.borrow_mut().insert(key, id);
                id
            }
        };
        location_word(id, loc.line())
    }

    fn intern_static(&self, s: &'static str) -> u32 {
        let key = s.as_ptr() as usize;
        let cached = self.statics.borrow().get(&key).copied();
        cached.unwrap_or_else(|| {
            let id = self.locked_intern(s);
            self.statics.borrow_mut().insert(key, id);
            id
        })
    }

    /// Pushes the `Created` and `Run` records of fiber `id`'s first run,
    /// at their own times.
    fn announce(&self, id: u64, b: &Birth) {
        self.push_at(
            Event::Created {
                fiber: id,
                parent: b.parent,
                switch: b.switch,
                spawn_at: b.spawn_at,
                name: b.name,
            },
            b.at,
        );
        if b.ran_from != 0 {
            self.push_at(
                Event::Run {
                    fiber: id,
                    after_wait: false,
                },
                b.ran_from,
            );
        }
    }

    /// Writes `fiber`'s whole live-table entry: born as `b`, in state
    /// `state` since `now`, having run once from `b.ran_from` (if it did).
    fn list(&self, fiber: &Fiber, b: &Birth, now: u64, state: State, blocked: Option<(u64, u64)>) {
        let Some(i) = self.index(fiber) else {
            self.view.count_live_overflow();
            return;
        };
        let id = fiber.id.0;
        self.slot.live.edit(i, |e| {
            let mut fresh = [0; ring::ENTRY_FIELDS];
            fresh[field::FIBER] = id;
            fresh[field::PARENT] = b.parent;
            fresh[field::SWITCH] = b.switch;
            fresh[field::STATE] = state as u64;
            fresh[field::SINCE] = now;
            fresh[field::SPAWN_AT] = b.spawn_at;
            fresh[field::NAME] = b.name;
            if b.ran_from != 0 {
                fresh[field::RUNS] = 1;
                fresh[field::BUSY_TICKS] = now.saturating_sub(b.ran_from);
            }
            if let Some((at, on)) = blocked {
                fresh[field::BLOCKED_AT] = at;
                fresh[field::WAITING_ON] = on;
            }
            for (k, v) in fresh.into_iter().enumerate() {
                e.set(k, v);
            }
        });
    }

    /// The live-table index of `fiber`, if the table has room for it.
    fn index(&self, fiber: &Fiber) -> Option<usize> {
        let i = fiber.local.registry_key.get();
        (i < self.slot.live.len()).then_some(i)
    }
}

/// Gives this thread a slot, for the scheduler `scheduler_id` starting on
/// it, when its runtime asks for monitoring (`requested`, from
/// `Builder::console`) or `WEFT_CONSOLE=1`. Called by `Scheduler::new`;
/// returns whether it attached (then `thread_detach` must follow, once).
pub(crate) fn thread_attach(scheduler_id: u64, requested: bool) -> bool {
    if !requested && !wanted_by_env() {
        return false;
    }
    let existing = THREAD.with(|t| t.get());
    if !existing.is_null() {
        // SAFETY: see `with_thread`.
        let t = unsafe { &*existing };
        t.depth.set(t.depth.get() + 1);
        return true;
    }
    let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if shared.is_none() {
        match Shared::create() {
            Ok(s) => *shared = Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "weft: cannot create the console file; monitoring is off");
                return false;
            }
        }
    }
    let sh = shared.as_mut().expect("created above");
    let view = sh.view();
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as u64;
    let Some(slot) = (0..view.geometry().slots)
        .map(|i| view.slot(i))
        .find(|s| s.claim(scheduler_id, tid))
    else {
        tracing::warn!("weft: every console slot is taken; this thread is not monitored");
        return false;
    };
    sh.attached += 1;
    let t = Box::new(ThreadSlot {
        slot,
        view,
        generation: GENERATION.load(Ordering::Relaxed),
        depth: Cell::new(1),
        files: RefCell::new(HashMap::new()),
        statics: RefCell::new(HashMap::new()),
        spawn_site: Cell::new(None),
        recent: std::array::from_fn(|_| Cell::new((0, 0))),
        last_ticks: Cell::new(clock::ticks()),
        last_stop: Cell::new((0, 0)),
        ops_in_flight: Cell::new(0),
        blocking_jobs: Cell::new(0),
    });
    THREAD.with(|c| c.set(Box::into_raw(t)));
    ENABLED.store(true, Ordering::Relaxed);
    true
}

/// Gives this thread's slot back as its scheduler ends; the last one out
/// removes the file. Called by `Scheduler`'s drop when it attached.
pub(crate) fn thread_detach() {
    let p = THREAD.try_with(|t| t.get()).unwrap_or(std::ptr::null());
    if p.is_null() {
        return;
    }
    {
        // SAFETY: see `with_thread`.
        let t = unsafe { &*p };
        let depth = t.depth.get() - 1;
        t.depth.set(depth);
        if depth > 0 {
            return;
        }
        t.slot.release();
    }
    THREAD.with(|c| c.set(std::ptr::null()));
    // SAFETY: made by `Box::into_raw` in `thread_attach`; THREAD no longer
    // points to it, and nothing else does.
    drop(unsafe { Box::from_raw(p as *mut ThreadSlot) });
    let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    let last = match shared.as_mut() {
        Some(sh) => {
            sh.attached -= 1;
            sh.attached == 0
        }
        None => false,
    };
    if last {
        // Hooks go back to their one-load cost until a runtime attaches again.
        ENABLED.store(false, Ordering::Relaxed);
        let sh = shared.take().expect("checked above");
        let _ = std::fs::remove_file(&sh.path);
        // SAFETY: no thread is attached, so no `ThreadSlot` (the only
        // holders of references into the mapping besides `sh`) exists.
        unsafe { libc::munmap(sh.words.as_ptr() as *mut libc::c_void, sh.words.len() * 8) };
    }
}

/// Notes the caller as the place the next fiber of this thread is created.
#[inline(always)]
#[track_caller]
pub(crate) fn spawn_site() {
    if enabled() {
        let at = Location::caller();
        with_thread(|t| t.spawn_site.set(Some(at)));
    }
}

/// A fiber was created (registered in its scheduler) in context `ctx`.
#[inline(always)]
pub(crate) fn fiber_created(fiber: &Fiber, ctx: &Rc<CancelCtx>) {
    if enabled() {
        slow::created(fiber, Rc::as_ptr(ctx) as u64);
    }
}

/// `fiber`, just created, is queued rather than run at once: it is
/// published now, so a snapshot shows it while it waits for its turn.
#[inline(always)]
pub(crate) fn fiber_queued(fiber: &Fiber) {
    if enabled() {
        slow::queued(fiber);
    }
}

/// The scheduler is about to run `fiber`.
#[inline(always)]
pub(crate) fn fiber_running(fiber: &Fiber) {
    if enabled() {
        slow::running(fiber);
    }
}

/// `fiber` switched back to the scheduler; `finished` when it returned.
#[inline(always)]
pub(crate) fn fiber_stopped(fiber: &Fiber, finished: bool) {
    if enabled() {
        slow::stopped(fiber, finished);
    }
}

/// The running fiber opened a switch with context `ctx`.
#[inline(always)]
#[track_caller]
pub(crate) fn switch_created(ctx: &Rc<CancelCtx>) {
    if enabled() {
        let at = Location::caller();
        with_thread(|t| {
            let at = t.location(at);
            t.push(Event::SwitchCreated {
                fiber: current_fiber_id(t),
                switch: Rc::as_ptr(ctx) as u64,
                at,
            })
        });
    }
}

/// The switch with context `ctx` finished (`failed`: with a failure).
#[inline(always)]
pub(crate) fn switch_finished(ctx: &Rc<CancelCtx>, failed: bool) {
    if enabled() {
        with_thread(|t| {
            t.push(Event::SwitchFinished {
                fiber: current_fiber_id(t),
                switch: Rc::as_ptr(ctx) as u64,
                failed,
            })
        });
    }
}

/// Cancellation was requested for `ctx`.
#[inline(always)]
pub(crate) fn cancel_requested(ctx: &CancelCtx) {
    if enabled() {
        with_thread(|t| {
            t.push(Event::CancelRequested {
                fiber: current_fiber_id(t),
                switch: ctx as *const CancelCtx as u64,
            })
        });
    }
}

/// The running fiber hands a job to the blocking pool (called at `at`).
#[inline(always)]
pub(crate) fn blocking_job(at: &'static Location<'static>) {
    if enabled() {
        with_thread(|t| {
            let at = t.location(at);
            t.blocking_jobs.set(t.blocking_jobs.get() + 1);
            t.push(Event::BlockingJob {
                fiber: current_fiber_id(t),
                at,
            })
        });
    }
}

/// The running fiber's wait for its blocking-pool job (called at `at`)
/// ended: the job finished, or the fiber was cancelled.
#[inline(always)]
pub(crate) fn blocking_done(at: &'static Location<'static>) {
    if enabled() {
        with_thread(|t| {
            let at = t.location(at);
            t.blocking_jobs.set(t.blocking_jobs.get().saturating_sub(1));
            t.push(Event::BlockingDone {
                fiber: current_fiber_id(t),
                at,
            })
        });
    }
}

/// Fiber `woken` was made runnable by the code running on this thread
/// (the running fiber, or the scheduler for I/O and timers).
#[inline(always)]
pub(crate) fn woke(woken: FiberId) {
    if enabled() {
        with_thread(|t| {
            t.push(Event::Wake {
                fiber: current_fiber_id(t),
                woken: woken.0,
            })
        });
    }
}

/// The running fiber submitted io_uring op `key` (`op`: what it does).
#[inline(always)]
pub(crate) fn op_submitted(op: WaitKind, key: usize) {
    if enabled() {
        with_thread(|t| {
            t.ops_in_flight.set(t.ops_in_flight.get() + 1);
            t.push(Event::OpSubmitted {
                fiber: current_fiber_id(t),
                op: op as u64,
                key: key as u64,
            })
        });
    }
}

/// The running fiber took the completion of its op `key` (`result`: the
/// CQE's result).
#[inline(always)]
pub(crate) fn op_completed(op: WaitKind, key: usize, result: i32) {
    if enabled() {
        with_thread(|t| {
            t.ops_in_flight.set(t.ops_in_flight.get().saturating_sub(1));
            t.push(Event::OpCompleted {
                fiber: current_fiber_id(t),
                op: op as u64,
                key: key as u64,
                result: result as i64,
            })
        });
    }
}

/// Publishes this thread's gauges; `counts` gives (run queue, live
/// fibers, armed timers) and is called only when monitoring is on.
#[inline(always)]
pub(crate) fn gauges(counts: impl FnOnce() -> (usize, usize, usize)) {
    if enabled() {
        with_thread(|t| {
            let (run_queue, fibers, timers) = counts();
            t.slot.set_gauges(&layout::Gauges {
                run_queue: run_queue as u64,
                fibers: fibers as u64,
                timers: timers as u64,
                ops_in_flight: t.ops_in_flight.get(),
                blocking_jobs: t.blocking_jobs.get(),
            })
        });
    }
}

/// Gives the calling watchdog thread of scheduler `scheduler_id` a slot of
/// its own (its ring holds the stalls it sees) when `on`; returns whether
/// it attached (then `thread_detach` must follow, once).
pub(crate) fn watchdog_attach(scheduler_id: u64, on: bool) -> bool {
    on && thread_attach(layout::WATCHDOG_OWNER | scheduler_id, true)
}

/// The watchdog saw `fiber` keep scheduler `scheduler_id`'s thread for
/// `ran` (`ongoing`: it still runs). Called on the watchdog thread.
pub(crate) fn stall(fiber: u64, scheduler_id: u64, ran: std::time::Duration, ongoing: bool) {
    if enabled() {
        with_thread(|t| {
            let now = t.clock();
            t.push_at(
                Event::Stall {
                    fiber,
                    scheduler: scheduler_id,
                    ran_ns: ran.as_nanos().min(u64::MAX as u128) as u64,
                    ongoing,
                },
                now,
            )
        });
    }
}

/// The hooks' work when monitoring is on, out of line.
mod slow {
    use super::*;

    #[cold]
    #[inline(never)]
    pub(super) fn created(fiber: &Fiber, switch: u64) {
        with_thread(|t| {
            let spawn_at = t.spawn_site.take().map(|l| t.location(l)).unwrap_or(0);
            let name = fiber
                .name
                .as_deref()
                .map(|n| t.locked_intern(n))
                .unwrap_or(0) as u64;
            let birth = Birth {
                parent: current_fiber_id(t),
                switch,
                spawn_at,
                name,
                at: t.last_ticks.get(),
                ran_from: 0,
            };
            fiber.local.console.set(Stage::Unborn, birth);
        });
    }

    #[inline(never)]
    pub(super) fn queued(fiber: &Fiber) {
        with_thread(|t| {
            let mark = &fiber.local.console;
            if mark.stage.get() == Stage::Unborn {
                let b = mark.birth.get();
                t.announce(fiber.id.0, &b);
                t.list(fiber, &b, b.at, State::Runnable, None);
                mark.stage.set(Stage::Listed);
            }
        });
    }

    #[inline(never)]
    pub(super) fn running(fiber: &Fiber) {
        with_thread(|t| {
            let now = t.run_start(fiber.home.parks.load(Ordering::Relaxed));
            let mark = &fiber.local.console;
            if mark.stage.get() == Stage::Unborn {
                // Its first run: nothing is written unless it records an
                // event or switches out without finishing.
                let mut b = mark.birth.get();
                b.ran_from = now;
                mark.birth.set(b);
                return;
            }
            if let Some(i) = t.index(fiber) {
                t.slot.live.edit(i, |e| {
                    e.set(field::STATE, State::Running as u64);
                    e.set(field::SINCE, now);
                    e.set(field::BLOCKED_AT, 0);
                    e.set(field::WAITING_ON, 0);
                    e.set(field::RUNS, e.get(field::RUNS) + 1);
                });
            }
            t.push_at(
                Event::Run {
                    fiber: fiber.id.0,
                    // Cleared by the fiber itself once it runs again.
                    after_wait: fiber.local.blocked_at.get().is_some(),
                },
                now,
            );
        });
    }

    #[inline(never)]
    pub(super) fn stopped(fiber: &Fiber, finished: bool) {
        with_thread(|t| {
            let now = t.clock();
            t.last_stop
                .set((now, fiber.home.parks.load(Ordering::Relaxed)));
            let id = fiber.id.0;
            let blocked = if finished {
                None
            } else {
                fiber
                    .local
                    .blocked_at
                    .get()
                    .map(|l| (t.location(l), fiber.local.wait_kind.get() as u64))
            };
            let end = match (finished, blocked) {
                (true, _) => Event::Exited { fiber: id },
                (false, Some((at, on))) => Event::Suspended { fiber: id, at, on },
                (false, None) => Event::Yielded { fiber: id },
            };
            let mark = &fiber.local.console;
            let stage = mark.stage.get();
            if stage != Stage::Listed {
                let b = mark.birth.get();
                match (stage, finished) {
                    (Stage::Unborn, true) => {
                        let ticks = now.saturating_sub(b.ran_from);
                        if ticks >> 32 == 0 && b.name >> 32 == 0 {
                            t.push_at(
                                Event::Ran {
                                    fiber: id,
                                    parent: b.parent,
                                    switch: b.switch,
                                    spawn_at: b.spawn_at,
                                    name: b.name,
                                    ticks,
                                },
                                b.ran_from,
                            );
                            return;
                        }
                        t.announce(id, &b);
                    }
                    (Stage::Announced, true) => {}
                    (_, false) => {
                        // Its first run ends in a wait or a yield: it
                        // becomes visible now.
                        if stage == Stage::Unborn {
                            t.announce(id, &b);
                        }
                        let state = match blocked {
                            Some(_) => State::Waiting,
                            None => State::Runnable,
                        };
                        t.list(fiber, &b, now, state, blocked);
                    }
                    (Stage::Listed, true) => unreachable!("checked above"),
                }
                mark.set(Stage::Listed, b);
                t.push_at(end, now);
                return;
            }
            if let Some(i) = t.index(fiber) {
                t.slot.live.edit(i, |e| {
                    if finished {
                        // Free: readers skip entries without a fiber.
                        e.set(field::FIBER, 0);
                        return;
                    }
                    let busy = e.get(field::BUSY_TICKS);
                    e.set(
                        field::BUSY_TICKS,
                        busy + now.saturating_sub(e.get(field::SINCE)),
                    );
                    e.set(field::SINCE, now);
                    match blocked {
                        Some((at, on)) => {
                            e.set(field::STATE, State::Waiting as u64);
                            e.set(field::BLOCKED_AT, at);
                            e.set(field::WAITING_ON, on);
                        }
                        None => e.set(field::STATE, State::Runnable as u64),
                    }
                });
            }
            t.push_at(end, now);
        });
    }
}

#[cfg(test)]
mod tests;
