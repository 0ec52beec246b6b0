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
                fiber: current_fiber_id(),
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

#[inline]
fn current_fiber_id() -> u64 {
    crate::fiber::scheduler::with_current(|f| f.id.0).unwrap_or(0)
}

impl ThreadSlot {
    /// Pushes an instant event (created, switch, cancel, blocking, user)
    /// stamped with the thread's latest clock reading: at most one fiber
    /// run early, in order, and no clock read.
    #[inline]
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
    #[inline]
    fn run_start(&self, parks: u64) -> u64 {
        let (at, parks_then) = self.last_stop.get();
        if at != 0 && parks_then == parks {
            at
        } else {
            self.clock()
        }
    }

    #[inline]
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
#[doc(hidden)]
pub fn thread_attach(scheduler_id: u64, requested: bool) -> bool {
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
#[doc(hidden)]
pub fn thread_detach() {
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
#[doc(hidden)]
pub fn spawn_site() {
    if enabled() {
        let at = Location::caller();
        with_thread(|t| t.spawn_site.set(Some(at)));
    }
}

/// A fiber was created (registered in its scheduler) in context `ctx`.
#[inline(always)]
#[doc(hidden)]
pub fn fiber_created(fiber: &Fiber, ctx: &Rc<CancelCtx>) {
    if enabled() {
        slow::created(fiber, Rc::as_ptr(ctx) as u64);
    }
}

/// The scheduler is about to run `fiber`.
#[inline(always)]
#[doc(hidden)]
pub fn fiber_running(fiber: &Fiber) {
    if enabled() {
        slow::running(fiber);
    }
}

/// `fiber` switched back to the scheduler; `finished` when it returned.
#[inline(always)]
#[doc(hidden)]
pub fn fiber_stopped(fiber: &Fiber, finished: bool) {
    if enabled() {
        slow::stopped(fiber, finished);
    }
}

/// The running fiber opened a switch with context `ctx`.
#[inline(always)]
#[track_caller]
#[doc(hidden)]
pub fn switch_created(ctx: &Rc<CancelCtx>) {
    if enabled() {
        let at = Location::caller();
        with_thread(|t| {
            let at = t.location(at);
            t.push(Event::SwitchCreated {
                fiber: current_fiber_id(),
                switch: Rc::as_ptr(ctx) as u64,
                at,
            })
        });
    }
}

/// The switch with context `ctx` finished (`failed`: with a failure).
#[inline(always)]
#[doc(hidden)]
pub fn switch_finished(ctx: &Rc<CancelCtx>, failed: bool) {
    if enabled() {
        with_thread(|t| {
            t.push(Event::SwitchFinished {
                fiber: current_fiber_id(),
                switch: Rc::as_ptr(ctx) as u64,
                failed,
            })
        });
    }
}

/// Cancellation was requested for `ctx`.
#[inline(always)]
#[doc(hidden)]
pub fn cancel_requested(ctx: &CancelCtx) {
    if enabled() {
        with_thread(|t| {
            t.push(Event::CancelRequested {
                fiber: current_fiber_id(),
                switch: ctx as *const CancelCtx as u64,
            })
        });
    }
}

/// The running fiber hands a job to the blocking pool (called at `at`).
#[inline(always)]
#[doc(hidden)]
pub fn blocking_job(at: &'static Location<'static>) {
    if enabled() {
        with_thread(|t| {
            let at = t.location(at);
            t.blocking_jobs.set(t.blocking_jobs.get() + 1);
            t.push(Event::BlockingJob {
                fiber: current_fiber_id(),
                at,
            })
        });
    }
}

/// The running fiber's wait for its blocking-pool job (called at `at`)
/// ended: the job finished, or the fiber was cancelled.
#[inline(always)]
#[doc(hidden)]
pub fn blocking_done(at: &'static Location<'static>) {
    if enabled() {
        with_thread(|t| {
            let at = t.location(at);
            t.blocking_jobs.set(t.blocking_jobs.get().saturating_sub(1));
            t.push(Event::BlockingDone {
                fiber: current_fiber_id(),
                at,
            })
        });
    }
}

/// Fiber `woken` was made runnable by the code running on this thread
/// (the running fiber, or the scheduler for I/O and timers).
#[inline(always)]
#[doc(hidden)]
pub fn woke(woken: FiberId) {
    if enabled() {
        with_thread(|t| {
            t.push(Event::Wake {
                fiber: current_fiber_id(),
                woken: woken.0,
            })
        });
    }
}

/// The running fiber submitted io_uring op `key` (`op`: what it does).
#[inline(always)]
#[doc(hidden)]
pub fn op_submitted(op: WaitKind, key: usize) {
    if enabled() {
        with_thread(|t| {
            t.ops_in_flight.set(t.ops_in_flight.get() + 1);
            t.push(Event::OpSubmitted {
                fiber: current_fiber_id(),
                op: op as u64,
                key: key as u64,
            })
        });
    }
}

/// The running fiber took the completion of its op `key` (`result`: the
/// CQE's result).
#[inline(always)]
#[doc(hidden)]
pub fn op_completed(op: WaitKind, key: usize, result: i32) {
    if enabled() {
        with_thread(|t| {
            t.ops_in_flight.set(t.ops_in_flight.get().saturating_sub(1));
            t.push(Event::OpCompleted {
                fiber: current_fiber_id(),
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
#[doc(hidden)]
pub fn gauges(counts: impl FnOnce() -> (usize, usize, usize)) {
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
#[doc(hidden)]
pub fn watchdog_attach(scheduler_id: u64, on: bool) -> bool {
    on && thread_attach(layout::WATCHDOG_OWNER | scheduler_id, true)
}

/// The watchdog saw `fiber` keep scheduler `scheduler_id`'s thread for
/// `ran` (`ongoing`: it still runs). Called on the watchdog thread.
#[doc(hidden)]
pub fn stall(fiber: u64, scheduler_id: u64, ran: std::time::Duration, ongoing: bool) {
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
            let parent = current_fiber_id();
            let now = t.last_ticks.get();
            let id = fiber.id.0;
            match t.index(fiber) {
                Some(i) => t.slot.live.edit(i, |e| {
                    let mut fresh = [0; ring::ENTRY_FIELDS];
                    fresh[field::FIBER] = id;
                    fresh[field::PARENT] = parent;
                    fresh[field::SWITCH] = switch;
                    fresh[field::STATE] = State::Runnable as u64;
                    fresh[field::SINCE] = now;
                    fresh[field::SPAWN_AT] = spawn_at;
                    fresh[field::NAME] = name;
                    for (k, v) in fresh.into_iter().enumerate() {
                        e.set(k, v);
                    }
                }),
                None => t.view.count_live_overflow(),
            }
            t.push_at(
                Event::Created {
                    fiber: id,
                    parent,
                    switch,
                    spawn_at,
                    name,
                },
                now,
            );
        });
    }

    #[inline(never)]
    pub(super) fn running(fiber: &Fiber) {
        with_thread(|t| {
            let now = t.run_start(fiber.home.parks.load(Ordering::Relaxed));
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
            let e = match (finished, blocked) {
                (true, _) => Event::Exited { fiber: id },
                (false, Some((at, on))) => Event::Suspended { fiber: id, at, on },
                (false, None) => Event::Yielded { fiber: id },
            };
            t.push_at(e, now);
        });
    }
}

#[cfg(test)]
mod tests;
