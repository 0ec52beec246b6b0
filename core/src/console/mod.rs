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
//! - a live-fiber table: one entry per live fiber (indexed by the fiber's
//!   registry key) with its state word (state, what it waits on, since
//!   when: one store), where it blocks, its switch, parent, spawn
//!   location, name, runs and busy time; readers validate a copy by the
//!   entry's key and state word (`ring::LiveTable`), so the writer takes no
//!   lock round. A snapshot reads this table, so it is exact however old
//!   the fibers are (the ring alone would forget a fiber created before it
//!   wrapped).
//!
//! The file is removed when the last runtime of the process ends; a file
//! left by a process that died is removed by the next weft program that
//! starts monitoring (or by `weft-console` when asked for that PID).
//!
//! Times come from the event clock (`clock.rs`: the TSC where it is
//! invariant, else `CLOCK_MONOTONIC`); readers convert them to
//! `CLOCK_MONOTONIC` nanoseconds.
//!
//! # Batches
//!
//! A thread times and records every fiber run (a `Run` record at its
//! start, a `Suspended`/`Yielded`/`Exited` record at its end, one clock
//! reading per switch) until it has run 64 *short* runs in a row back to
//! back (each under 1 us, `WEFT_CONSOLE_SHORT_RUN_NS` when the file is
//! made; 0 never batches), with no park between. Then it *batches*: runs
//! have no records and no clock readings of their own. A batch ends at the
//! scheduler's next maintenance pass (every 61 runs, before it parks, and
//! when its run loop returns)
//! with one `Batch` record: when it began and ended, how many runs it held,
//! how many fibers were created and finished inside it, how many switches
//! were opened inside it. What a batch changes, exactly:
//!
//! - the table stays exact at the batch's edges; inside it a fiber's
//!   state changes at the end of each run, stamped with the batch's start
//!   (so a wait that began inside a batch shows as older by up to one
//!   batch), and the slot's header names the fiber running now (readers
//!   show it running since the batch began, so a fiber that hogs its
//!   thread inside a batch is still seen; between two runs of a batch,
//!   while the scheduler takes the next fiber from its queue, it still
//!   names the last one);
//! - busy time counts timed runs only (a batch's runs averaged under the
//!   threshold); `runs` counts all;
//! - a fiber created inside a batch is published (table entry and
//!   `Created` record, stamped with the batch's start) when the batch ends;
//!   one that also finished inside it is only counted; a published fiber
//!   that finishes inside a batch still gets its `Exited` record;
//! - switches opened inside a batch have no `SwitchCreated` record, and a
//!   switch finishing inside one has a `SwitchFinished` record only if it
//!   failed.
//!
//! A batch whose runs averaged at least the threshold, or a gap of 20
//! thresholds between batches (the thread parked or worked elsewhere),
//! returns the thread to timing every run.
//!
//! When off, each hook is one load of a flag and a predictable branch:
//! the scheduler's own hooks (fiber runs, switch-outs, creation) test a
//! byte of the scheduler, which keeps this thread's slot for them (no
//! thread-local lookup per hook when on); the others test a static flag,
//! then (switches, spawn sites) the thread's mode, one thread-local byte.
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
use events::{field, location_word, state_word, Event, State, WaitKind};
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
                fiber: t.current.get(),
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
        if let Some(ns) = std::env::var("WEFT_CONSOLE_SHORT_RUN_NS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            SHORT_RUN_NS.store(ns, Ordering::Relaxed);
        }
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
    /// The fiber running on this thread (0 between fibers).
    current: Cell<u64>,
    /// When the current timed run started, and whether it started back to
    /// back with the previous run (no park between).
    run_started: Cell<(u64, bool)>,
    /// Timed runs in a row that were short and back to back.
    short_runs: Cell<u32>,
    /// [`SHORT_RUN_NS`] and [`IDLE_GAP_RUNS`] of them in clock ticks.
    short_ticks: u64,
    idle_gap_ticks: u64,
    batch: Batch,
    /// The live table's entries (its length at hand: one compare per
    /// lookup).
    entries: &'static [[AtomicU64; ring::ENTRY_WORDS]],
}

/// A run shorter than this many nanoseconds is short: 1000, or
/// `WEFT_CONSOLE_SHORT_RUN_NS` when the file is made (0: no run is short,
/// so every run is timed and recorded).
static SHORT_RUN_NS: AtomicU64 = AtomicU64::new(1000);
/// Short runs in a row, back to back, after which a thread batches.
const SHORT_RUNS_TO_BATCH: u32 = 64;
/// A gap between two batches longer than this many short runs (the
/// thread parked or did other work) ends batching.
const IDLE_GAP_RUNS: u64 = 20;
/// Fibers a batch keeps unpublished at most.
const PENDING: usize = 8;

/// Whether a thread records, and whether it batches its runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The thread has no slot: hooks do nothing.
    Off,
    /// Every run is timed and recorded.
    Timing,
    /// Runs go into the open batch.
    Collecting,
    /// The thread batches, and the last batch closed (at a maintenance
    /// pass): the next run opens one, or times runs again after a gap.
    Between,
}

/// A thread's batch of short runs (see the module doc, "Batches").
struct Batch {
    /// When the open (or last) batch began.
    start: Cell<u64>,
    /// When the last batch closed.
    closed_at: Cell<u64>,
    runs: Cell<u64>,
    /// Fibers that began and ended in the batch (the switches opened in
    /// it are counted in [`BATCH_SWITCHES`]).
    fibers: Cell<u64>,
    /// Timing every run, collecting a batch, or between batches (a copy
    /// of [`MODE`] next to the rest, for the scheduler's hooks).
    mode: Cell<Mode>,
    /// The state words of a runnable and of a waiting fiber (waiting on
    /// nothing yet) since the batch's start, made once per batch.
    runnable_word: Cell<u64>,
    waiting_word: Cell<u64>,
    /// Fibers created in the batch and not published yet: their live-table
    /// index and id (the entry is written, its id not yet).
    fibers_pending: [Cell<(usize, u64)>; PENDING],
    fibers_pending_len: Cell<usize>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            start: Cell::new(0),
            closed_at: Cell::new(0),
            runs: Cell::new(0),
            fibers: Cell::new(0),
            mode: Cell::new(Mode::Timing),
            runnable_word: Cell::new(0),
            waiting_word: Cell::new(0),
            fibers_pending: std::array::from_fn(|_| Cell::new((0, 0))),
            fibers_pending_len: Cell::new(0),
        }
    }

    /// Whether runs go into an open batch now.
    #[inline(always)]
    fn collecting(&self) -> bool {
        self.mode() == Mode::Collecting
    }

    /// The thread's mode.
    #[inline(always)]
    fn mode(&self) -> Mode {
        self.mode.get()
    }

    /// Sets the thread's mode, here and in [`MODE`] (where the hooks that
    /// have no slot at hand check it).
    fn set_mode(&self, mode: Mode) {
        self.mode.set(mode);
        MODE.with(|m| m.set(mode));
    }

    /// Opens a batch at `now`.
    fn begin(&self, now: u64) {
        self.set_mode(Mode::Collecting);
        self.start.set(now);
        self.runnable_word.set(state_word(State::Runnable, 0, now));
        self.waiting_word.set(state_word(State::Waiting, 0, now));
        self.runs.set(0);
        self.fibers.set(0);
        BATCH_SWITCHES.with(|n| n.set(0));
    }

    /// Keeps fiber `id` (table index `i`) unpublished; false when full.
    #[inline]
    fn hold_fiber(&self, i: usize, id: u64) -> bool {
        let n = self.fibers_pending_len.get();
        if n == PENDING {
            return false;
        }
        self.fibers_pending[n].set((i, id));
        self.fibers_pending_len.set(n + 1);
        true
    }

    /// Forgets the unpublished fiber at table index `i` if it is the
    /// newest one (a fiber that finishes right after it was created).
    #[inline(always)]
    fn drop_newest_fiber(&self, i: usize) -> bool {
        let n = self.fibers_pending_len.get();
        // (`% PENDING`: n <= PENDING, so the index is n - 1, with no
        // bounds check.)
        let newest = n > 0 && self.fibers_pending[(n - 1) % PENDING].get().0 == i;
        if newest {
            self.fibers_pending_len.set(n - 1);
        }
        newest
    }

    /// Forgets the unpublished fiber at table index `i` (it finished).
    #[inline]
    fn drop_fiber(&self, i: usize) {
        let n = self.fibers_pending_len.get();
        for k in (0..n).rev() {
            if self.fibers_pending[k].get().0 == i {
                self.fibers_pending[k].set(self.fibers_pending[n - 1].get());
                self.fibers_pending_len.set(n - 1);
                return;
            }
        }
    }
}

/// Entries of the per-thread location cache.
const RECENT: usize = 64;

thread_local! {
    static THREAD: Cell<*const ThreadSlot> = const { Cell::new(std::ptr::null()) };
    /// This thread's mode: `Off` while it has no slot, else whether it
    /// batches. The one check of the hooks that do not get the slot from
    /// the scheduler (switches, spawn sites): a thread-local load instead
    /// of the flag, the slot and the mode in turn.
    static MODE: Cell<Mode> = const { Cell::new(Mode::Off) };
    /// Switches opened on this thread in the open batch.
    static BATCH_SWITCHES: Cell<u64> = const { Cell::new(0) };
    /// The location of the fork or spawn being made (see `spawn_site`).
    static SPAWN_SITE: Cell<Option<&'static Location<'static>>> = const { Cell::new(None) };
}

/// This thread's slot as its scheduler keeps it, for the hooks of the
/// scheduler's own hot path (fiber runs, switch-outs, creation): they
/// take it from the scheduler with one load and a branch instead of
/// checking the flag and looking up the thread-local slot each time.
/// Null when the scheduler does not record.
/// (`on` is kept apart from the pointer so that, off, the check is one
/// compare of a byte in memory, as the flag's was.)
#[derive(Clone, Copy)]
pub(crate) struct Tap {
    on: bool,
    slot: *const ThreadSlot,
}

impl Tap {
    /// The tap of a scheduler that does not record.
    pub(crate) const OFF: Tap = Tap {
        on: false,
        slot: std::ptr::null(),
    };

    /// This thread's slot, for a scheduler that just attached (see
    /// [`thread_attach`]); [`Tap::OFF`] when the thread has none.
    pub(crate) fn of_thread() -> Tap {
        let slot = THREAD.try_with(|t| t.get()).unwrap_or(std::ptr::null());
        Tap {
            on: !slot.is_null(),
            slot,
        }
    }

    #[inline(always)]
    fn get(self) -> Option<&'static ThreadSlot> {
        if self.on {
            // SAFETY: `on` only with a slot; a tap is taken by a scheduler
            // right after it attached (`thread_attach`), and that
            // scheduler detaches (which may free the slot) only when it is
            // dropped, after its last hook; the slot is a leaked Box used
            // only on this thread.
            Some(unsafe { &*self.slot })
        } else {
            None
        }
    }
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

    /// The location word of `loc`: from the cache of recent locations
    /// (inlined), else interned.
    #[inline(always)]
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

    /// The live-table entry of `fiber` and its index, if the table has
    /// room for it.
    #[inline(always)]
    fn entry(&self, fiber: &Fiber) -> Option<(usize, ring::EntryRef<'static>)> {
        let i = fiber.local.registry_key.get();
        self.entries.get(i).map(|w| (i, ring::EntryRef::new(w)))
    }

    /// Opens a batch at `now`.
    fn begin_batch(&self, now: u64) {
        self.batch.begin(now);
        self.slot.set_batch_start(now);
    }

    /// Ends the open batch, if any: publishes the fibers it kept (their
    /// `Created` records stamped with its start), then its `Batch` record.
    /// The thread goes back to timing every run when the batch's runs were
    /// not short on average. Called between fiber runs.
    #[cold]
    fn close_batch(&self) {
        let b = &self.batch;
        if !b.collecting() {
            return;
        }
        // Runs inside the batch leave the last fiber named (see
        // `batched_stop`): no fiber runs now.
        self.current.set(0);
        self.slot.clear_running();
        let now = self.clock();
        let start = b.start.get();
        let live = &self.slot.live;
        for k in 0..b.fibers_pending_len.replace(0) {
            let (i, id) = b.fibers_pending[k].get();
            let en = live.entry(i);
            self.push_at(
                Event::Created {
                    fiber: id,
                    parent: en.get(field::PARENT),
                    switch: en.get(field::SWITCH),
                    spawn_at: en.get(field::SPAWN_AT),
                    name: en.get(field::NAME),
                },
                start,
            );
            en.publish(field::FIBER, id);
        }
        let runs = b.runs.get();
        let switches = BATCH_SWITCHES.with(|n| n.replace(0));
        if runs + b.fibers.get() + switches > 0 {
            self.push_at(
                Event::Batch {
                    start,
                    runs,
                    fibers: b.fibers.get(),
                    switches,
                },
                now,
            );
        }
        b.set_mode(Mode::Between);
        b.closed_at.set(now);
        if runs > 0 && now.saturating_sub(start) / runs >= self.short_ticks {
            // Long runs: time each one again (the next reads the clock).
            b.set_mode(Mode::Timing);
            self.last_stop.set((0, 0));
            self.short_runs.set(0);
        }
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
        recent: std::array::from_fn(|_| Cell::new((0, 0))),
        last_ticks: Cell::new(clock::ticks()),
        last_stop: Cell::new((0, 0)),
        ops_in_flight: Cell::new(0),
        blocking_jobs: Cell::new(0),
        current: Cell::new(0),
        run_started: Cell::new((0, false)),
        short_runs: Cell::new(0),
        short_ticks: clock::ticks_in_ns(SHORT_RUN_NS.load(Ordering::Relaxed)),
        idle_gap_ticks: clock::ticks_in_ns(SHORT_RUN_NS.load(Ordering::Relaxed) * IDLE_GAP_RUNS),
        batch: Batch::new(),
        entries: slot.live.entries(),
    });
    THREAD.with(|c| c.set(Box::into_raw(t)));
    MODE.with(|m| m.set(Mode::Timing));
    SPAWN_SITE.with(|c| c.set(None));
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
        t.close_batch();
        t.slot.release();
    }
    THREAD.with(|c| c.set(std::ptr::null()));
    MODE.with(|m| m.set(Mode::Off));
    SPAWN_SITE.with(|c| c.set(None));
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
        SPAWN_SITE.with(|c| c.set(Some(at)));
    }
}

/// A fiber was created (registered in the scheduler of `tap`) in
/// context `ctx`, forked at `spawned_at` (`None`: at the site
/// [`spawn_site`] noted, if any).
#[inline(always)]
pub(crate) fn fiber_created(
    tap: Tap,
    fiber: &Fiber,
    ctx: &Rc<CancelCtx>,
    spawned_at: Option<&'static Location<'static>>,
) {
    if let Some(t) = tap.get() {
        let at = spawned_at.or_else(|| SPAWN_SITE.with(|c| c.take()));
        if t.batch.collecting() && fiber.name.is_none() {
            slow::batched_created(t, fiber, Rc::as_ptr(ctx) as u64, at)
        } else {
            slow::created(t, fiber, Rc::as_ptr(ctx) as u64, at)
        }
    }
}

/// The scheduler of `tap` is about to run `fiber`.
#[inline(always)]
pub(crate) fn fiber_running(tap: Tap, fiber: &Fiber) {
    if let Some(t) = tap.get() {
        if t.batch.collecting() {
            slow::batched_run(t, fiber)
        } else {
            slow::running(t, fiber)
        }
    }
}

/// `fiber` switched back to the scheduler of `tap`; `finished` when it
/// returned.
#[inline(always)]
pub(crate) fn fiber_stopped(tap: Tap, fiber: &Fiber, finished: bool) {
    if let Some(t) = tap.get() {
        if t.batch.collecting() {
            slow::batched_stop(t, fiber, finished)
        } else {
            slow::stopped(t, fiber, finished)
        }
    }
}

/// The running fiber opened a switch with context `ctx`.
#[inline(always)]
#[track_caller]
#[doc(hidden)]
pub fn switch_created(ctx: &Rc<CancelCtx>) {
    if enabled() {
        if MODE.with(|m| m.get()) == Mode::Collecting {
            BATCH_SWITCHES.with(|n| n.set(n.get() + 1));
        } else {
            // Timing, or off on this thread (then there is no slot).
            let at = Location::caller();
            with_thread(|t| slow::switch_created(t, Rc::as_ptr(ctx) as u64, at));
        }
    }
}

/// The switch with context `ctx` finished (`failed`: with a failure).
#[inline(always)]
#[doc(hidden)]
pub fn switch_finished(ctx: &Rc<CancelCtx>, failed: bool) {
    if enabled() && (failed || MODE.with(|m| m.get()) != Mode::Collecting) {
        // Recorded when failed or timing; nothing when off on this thread
        // (no slot).
        with_thread(|t| slow::switch_finished(t, Rc::as_ptr(ctx) as u64, failed));
    }
}

/// Cancellation was requested for `ctx`.
#[inline(always)]
#[doc(hidden)]
pub fn cancel_requested(ctx: &CancelCtx) {
    if enabled() {
        with_thread(|t| {
            t.push(Event::CancelRequested {
                fiber: t.current.get(),
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
                fiber: t.current.get(),
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
                fiber: t.current.get(),
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
                fiber: t.current.get(),
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
                fiber: t.current.get(),
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
                fiber: t.current.get(),
                op: op as u64,
                key: key as u64,
                result: result as i64,
            })
        });
    }
}

/// The scheduler of `tap` stops running fibers for now (its run loop
/// returns): the open batch, if any, ends.
#[inline(always)]
pub(crate) fn run_loop_left(tap: Tap) {
    if let Some(t) = tap.get() {
        t.close_batch();
    }
}

/// Publishes this thread's gauges; `counts` gives (run queue, live
/// fibers, armed timers) and is called only when monitoring is on.
#[inline(always)]
#[doc(hidden)]
pub fn gauges(counts: impl FnOnce() -> (usize, usize, usize)) {
    if enabled() {
        with_thread(|t| {
            t.close_batch();
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

    /// A fiber is created outside a batch (or named, or the batch holds
    /// as many as it can): its entry is published and recorded now.
    #[inline(never)]
    pub(super) fn created(
        t: &ThreadSlot,
        fiber: &Fiber,
        switch: u64,
        at: Option<&'static Location<'static>>,
    ) {
        let spawn_at = at.map_or(0, |l| t.location(l));
        let name = fiber
            .name
            .as_deref()
            .map(|n| t.locked_intern(n))
            .unwrap_or(0) as u64;
        let parent = t.current.get();
        let now = t.last_ticks.get();
        let id = fiber.id.0;
        match t.entry(fiber) {
            Some((_, en)) => {
                let state = state_word(State::Runnable, 0, now);
                write_entry(en, parent, switch, spawn_at, name, state);
                en.publish(field::FIBER, id);
            }
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
    }

    /// A fiber without a name is created inside a batch: its entry is
    /// written, not published; the batch publishes it when it ends, unless
    /// it finished by then. Inlined into the scheduler's `create` (no call
    /// and no spills around one on this path).
    #[inline(always)]
    pub(super) fn batched_created(
        t: &ThreadSlot,
        fiber: &Fiber,
        switch: u64,
        at: Option<&'static Location<'static>>,
    ) {
        match t.entry(fiber) {
            Some((i, en)) if t.batch.hold_fiber(i, fiber.id.0) => {
                let spawn_at = match at {
                    Some(l) => t.location(l),
                    None => 0,
                };
                let state = t.batch.runnable_word.get();
                write_entry(en, t.current.get(), switch, spawn_at, 0, state);
            }
            _ => created(t, fiber, switch, at),
        }
    }

    /// Fills a free entry (its key is 0 until published; BLOCKED_AT is
    /// written before any state that uses it).
    #[inline(always)]
    fn write_entry(
        en: ring::EntryRef<'_>,
        parent: u64,
        switch: u64,
        at: u64,
        name: u64,
        state: u64,
    ) {
        en.set(field::PARENT, parent);
        en.set(field::SWITCH, switch);
        en.set(field::SPAWN_AT, at);
        en.set(field::NAME, name);
        en.set(field::RUNS, 0);
        en.set(field::BUSY_TICKS, 0);
        en.set(field::STATE, state);
    }

    #[inline(never)]
    pub(super) fn switch_created(t: &ThreadSlot, switch: u64, at: &'static Location<'static>) {
        let at = t.location(at);
        t.push(Event::SwitchCreated {
            fiber: t.current.get(),
            switch,
            at,
        })
    }

    #[inline(never)]
    pub(super) fn switch_finished(t: &ThreadSlot, switch: u64, failed: bool) {
        t.push(Event::SwitchFinished {
            fiber: t.current.get(),
            switch,
            failed,
        })
    }

    /// A timed run starts (or the first run after a batch closed).
    #[inline(never)]
    pub(super) fn running(t: &ThreadSlot, fiber: &Fiber) {
        let b = &t.batch;
        let (now, back_to_back) = if b.mode() == Mode::Between {
            let now = t.clock();
            if now.saturating_sub(b.closed_at.get()) <= t.idle_gap_ticks {
                t.begin_batch(now);
                return batched_run(t, fiber);
            }
            // The thread idled since the last batch: time runs again.
            b.set_mode(Mode::Timing);
            t.short_runs.set(0);
            (now, false)
        } else {
            let parks = fiber.home.parks.load(Ordering::Relaxed);
            match t.last_stop.get() {
                (at, parks_then) if at != 0 && parks_then == parks => (at, true),
                _ => (t.clock(), false),
            }
        };
        t.current.set(fiber.id.0);
        t.run_started.set((now, back_to_back));
        if let Some((_, en)) = t.entry(fiber) {
            en.set(field::RUNS, en.get(field::RUNS) + 1);
            en.publish(field::STATE, state_word(State::Running, 0, now));
        }
        t.push_at(
            Event::Run {
                fiber: fiber.id.0,
                // Cleared by the fiber itself once it runs again.
                after_wait: fiber.local.blocked_at.get().is_some(),
            },
            now,
        );
    }

    /// A run inside a batch: counted, and named in the slot's header
    /// (which says since when: the batch's start).
    #[inline(always)]
    pub(super) fn batched_run(t: &ThreadSlot, fiber: &Fiber) {
        let b = &t.batch;
        let id = fiber.id.0;
        t.current.set(id);
        b.runs.set(b.runs.get() + 1);
        t.slot
            .set_running(id, fiber.local.registry_key.get() as u64);
    }

    /// A timed run ends.
    #[inline(never)]
    pub(super) fn stopped(t: &ThreadSlot, fiber: &Fiber, finished: bool) {
        {
            t.current.set(0);
            let now = t.clock();
            t.last_stop
                .set((now, fiber.home.parks.load(Ordering::Relaxed)));
            let (started, back_to_back) = t.run_started.get();
            let ran = now.saturating_sub(started);
            if ran < t.short_ticks && back_to_back {
                let n = t.short_runs.get() + 1;
                t.short_runs.set(n);
                if n >= SHORT_RUNS_TO_BATCH {
                    // Dense short runs: batch the next ones.
                    t.short_runs.set(0);
                    t.begin_batch(now);
                }
            } else {
                t.short_runs.set(0);
            }
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
            if let Some((_, en)) = t.entry(fiber) {
                if finished {
                    // Free: readers skip entries without a fiber.
                    en.publish(field::FIBER, 0);
                } else {
                    en.set(field::BUSY_TICKS, en.get(field::BUSY_TICKS) + ran);
                    let state = match blocked {
                        Some((at, on)) => {
                            en.set(field::BLOCKED_AT, at);
                            state_word(State::Waiting, on, now)
                        }
                        None => state_word(State::Runnable, 0, now),
                    };
                    en.publish(field::STATE, state);
                }
            }
            let e = match (finished, blocked) {
                (true, _) => Event::Exited { fiber: id },
                (false, Some((at, on))) => Event::Suspended { fiber: id, at, on },
                (false, None) => Event::Yielded { fiber: id },
            };
            t.push_at(e, now);
        }
    }

    /// The end of a run inside a batch: the table's state (since the batch
    /// began) and runs; a fiber the batch kept unpublished that finishes
    /// is only counted; a published one that finishes is recorded as
    /// exited.
    #[inline(always)]
    pub(super) fn batched_stop(t: &ThreadSlot, fiber: &Fiber, finished: bool) {
        let b = &t.batch;
        // `current` and the slot header keep naming this fiber until the
        // next run names another, or the batch ends (between two runs of
        // a batch the scheduler only takes the next fiber from its queue).
        if finished && b.drop_newest_fiber(fiber.local.registry_key.get()) {
            b.fibers.set(b.fibers.get() + 1);
            return;
        }
        let Some((i, en)) = t.entry(fiber) else {
            if finished {
                t.push(Event::Exited { fiber: fiber.id.0 });
            }
            return;
        };
        if finished {
            if en.get(field::FIBER) != 0 {
                en.publish(field::FIBER, 0);
                t.push(Event::Exited { fiber: fiber.id.0 });
            } else {
                b.drop_fiber(i);
                b.fibers.set(b.fibers.get() + 1);
            }
            return;
        }
        en.set(field::RUNS, en.get(field::RUNS) + 1);
        let state = match fiber.local.blocked_at.get() {
            Some(at) => {
                en.set(field::BLOCKED_AT, t.location(at));
                // The same state bits in both: the kind joins the batch's
                // waiting word.
                let on = fiber.local.wait_kind.get() as u64;
                state_word(State::Waiting, on, 0) | b.waiting_word.get()
            }
            None => b.runnable_word.get(),
        };
        en.publish(field::STATE, state);
    }
}

#[cfg(test)]
mod tests;
