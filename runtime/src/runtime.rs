//! Starting a runtime on the current thread: [`run`], [`Runtime`],
//! [`Builder`], and the [`Env`] handed to the main fiber.

use std::cell::RefCell;
use std::io;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Duration;

use crate::backend::BackendKind;
use crate::backend_api::scheduler::{self, Scheduler, SchedulerConfig};
use crate::cancel::CancelCtx;
use crate::fiber::StackStats;
use crate::fs::Dir;
use crate::net::Net;
use crate::time::Clock;
use crate::trace;

/// Runs `main` as the first fiber of a new runtime on this thread, and
/// returns its result once it and every fiber it started have finished.
///
/// Panics if the runtime cannot start (see [`Builder::build`]), or when
/// called from a thread that already runs weft.
///
/// ```
/// let answer = weft::run(|_env| {
///     weft::fiber::yield_now();
///     42
/// });
/// assert_eq!(answer, 42);
/// ```
#[track_caller]
pub fn run<T>(main: impl FnOnce(&Env) -> T) -> T {
    match Runtime::builder().build() {
        Ok(rt) => rt.run(main),
        Err(e) => panic!("weft: cannot start the runtime: {e}"),
    }
}

/// Settings for a [`Runtime`].
///
/// ```
/// let rt = weft::Runtime::builder()
///     .stack_size(512 * 1024)
///     .mock_clock(true)
///     .build()
///     .unwrap();
/// assert_eq!(rt.run(|_env| 1 + 1), 2);
/// ```
#[derive(Clone)]
pub struct Builder {
    stack_size: usize,
    max_pooled_stacks: usize,
    mock_clock: bool,
    backend: Option<BackendKind>,
    dump_on_sigquit: bool,
    watchdog: Option<(Duration, trace::StallHook)>,
    executor_threads: Option<usize>,
    thread_start: Option<ThreadStartHook>,
    console: bool,
    parked_by_hook: bool,
}

/// Runs on each thread that starts running this runtime's settings; what
/// it returns lives as long as that thread runs the runtime.
type ThreadStartHook = std::sync::Arc<dyn Fn() -> Box<dyn std::any::Any> + Send + Sync>;

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("stack_size", &self.stack_size)
            .field("max_pooled_stacks", &self.max_pooled_stacks)
            .field("mock_clock", &self.mock_clock)
            .field("backend", &self.backend)
            .field("dump_on_sigquit", &self.dump_on_sigquit)
            .field("watchdog", &self.watchdog.as_ref().map(|w| w.0))
            .field("executor_threads", &self.executor_threads)
            .field("console", &self.console)
            .field("parked_by_hook", &self.parked_by_hook)
            .finish()
    }
}

impl Builder {
    /// Each fiber's stack size in bytes (default 256 KiB, or
    /// `WEFT_STACK_SIZE`). Memory is committed only as the stack is used.
    ///
    /// ```
    /// let b = weft::Runtime::builder().stack_size(1 << 20);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// How many finished fibers' stacks are kept for reuse (default 1024).
    ///
    /// ```
    /// let b = weft::Runtime::builder().max_pooled_stacks(16);
    /// ```
    pub fn max_pooled_stacks(mut self, n: usize) -> Self {
        self.max_pooled_stacks = n;
        self
    }

    /// Uses a mock clock that jumps to the next timer whenever every fiber
    /// is idle (default off).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = weft::Runtime::builder().mock_clock(true).build().unwrap();
    /// rt.run(|_env| weft::time::sleep(Duration::from_secs(3600))); // instant
    /// ```
    pub fn mock_clock(mut self, on: bool) -> Self {
        self.mock_clock = on;
        self
    }

    /// Forces an I/O backend; a forced backend that cannot start makes
    /// [`Builder::build`] fail. The default is `WEFT_BACKEND` (`uring`,
    /// `posix` or `auto`), and `auto` picks io_uring where the kernel
    /// allows it (not disabled, not blocked by seccomp, new enough, with
    /// every opcode weft uses) and posix otherwise.
    ///
    /// ```
    /// let b = weft::Runtime::builder().backend(weft::BackendKind::Posix);
    /// ```
    pub fn backend(mut self, kind: BackendKind) -> Self {
        self.backend = Some(kind);
        self
    }

    /// Says that this runtime's threads park in a park hook
    /// ([`weft_core::backend_api::ParkHook`]; weft-compat's tokio driver is
    /// one), which sleeps in another event loop watching the backend's park
    /// descriptor. The backend is then set up so that descriptor turns
    /// readable on every completion while the thread sleeps elsewhere. On
    /// io_uring that means a ring without `DEFER_TASKRUN`: a deferred ring
    /// posts completions only when its own thread enters it, and a kernel
    /// (seen on 6.18) signals its registered eventfd for them late (about
    /// 15 ms) when the thread sleeps in another loop. Without this setting
    /// a hook still works, but an io_uring backend then gives it no
    /// descriptor and the hook looks at the ring every millisecond.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().parked_by_hook(true).build().unwrap();
    /// assert_eq!(rt.run(|_env| 1 + 1), 2);
    /// ```
    pub fn parked_by_hook(mut self, on: bool) -> Self {
        self.parked_by_hook = on;
        self
    }

    /// Prints [`crate::dump`] of every runtime to stderr when the process
    /// receives SIGQUIT (Ctrl-\), like a goroutine dump (default off).
    ///
    /// ```
    /// let b = weft::Runtime::builder().dump_on_sigquit(true);
    /// ```
    pub fn dump_on_sigquit(mut self, on: bool) -> Self {
        self.dump_on_sigquit = on;
        self
    }

    /// Reports fibers that run longer than `threshold` without suspending
    /// (they block every fiber on their thread: `std::thread::sleep`,
    /// `block_on`, `blocking_recv`, a long loop). Each stall is reported
    /// when it ends, with how long it really lasted (and once while it
    /// goes on, if it lasts ten thresholds and at least a second): as a
    /// `tracing` warning where a global subscriber is installed, else as a
    /// line on stderr. A background thread samples the scheduler every
    /// eighth of `threshold`; the scheduler's cost is two relaxed stores
    /// per fiber switch.
    ///
    /// ```
    /// let b = weft::Runtime::builder().watchdog(std::time::Duration::from_millis(100));
    /// ```
    pub fn watchdog(self, threshold: Duration) -> Self {
        self.watchdog_with(threshold, trace::report_stall)
    }

    /// Like [`Builder::watchdog`], calling `report` for each stall instead
    /// of logging it (it runs on the watchdog's thread; the runtime's drop
    /// waits for its last call).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// weft::Runtime::builder()
    ///     .watchdog_with(Duration::from_millis(20), move |s| log.lock().unwrap().push(s.fiber))
    ///     .build()
    ///     .unwrap()
    ///     .run(|_env| std::thread::sleep(Duration::from_millis(200))); // blocks the scheduler!
    /// assert!(!seen.lock().unwrap().is_empty());
    /// ```
    pub fn watchdog_with(
        mut self,
        threshold: Duration,
        report: impl Fn(&trace::Stall) + Send + Sync + 'static,
    ) -> Self {
        self.watchdog = Some((threshold, std::sync::Arc::new(report)));
        self
    }

    /// Threads of the executor pool ([`Env::executor_pool`]), started on
    /// first use (default: the number of available cores).
    ///
    /// ```
    /// weft::Runtime::builder().executor_threads(2).build().unwrap().run(|env| {
    ///     assert_eq!(env.executor_pool().threads(), 2);
    /// });
    /// ```
    pub fn executor_threads(mut self, n: usize) -> Self {
        self.executor_threads = Some(n.max(1));
        self
    }

    /// Calls `f` on every thread that runs a runtime made from these
    /// settings (the main one, executor-pool workers, `run_on_cores`
    /// threads) before its first fiber starts, and keeps what it returns
    /// alive until that runtime's `run` ends. For per-thread context that
    /// must outlive every fiber, such as entering a tokio runtime's handle
    /// (weft-compat does this).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let starts = Arc::new(AtomicUsize::new(0));
    /// let counter = starts.clone();
    /// weft::Runtime::builder()
    ///     .on_thread_start(move || {
    ///         counter.fetch_add(1, Ordering::SeqCst);
    ///         Box::new(())
    ///     })
    ///     .run_on_cores(2, |_env, _core| ());
    /// assert_eq!(starts.load(Ordering::SeqCst), 2);
    /// ```
    pub fn on_thread_start(
        mut self,
        f: impl Fn() -> Box<dyn std::any::Any> + Send + Sync + 'static,
    ) -> Self {
        self.thread_start = Some(std::sync::Arc::new(f));
        self
    }

    /// Turns on runtime events for `weft-console` (like `WEFT_CONSOLE=1`):
    /// this runtime's threads (its own, its executor-pool workers) record
    /// into the process's `weft-console-<pid>.ring` (see [`crate::console`]).
    ///
    /// ```
    /// weft::Runtime::builder().console(true).build().unwrap().run(|_env| {
    ///     assert!(weft::console::enabled());
    /// });
    /// ```
    pub fn console(mut self, on: bool) -> Self {
        self.console = on;
        self
    }

    pub(crate) fn without_watchdog(mut self) -> Self {
        self.watchdog = None;
        self
    }

    /// Checks the settings and creates the runtime's backend.
    ///
    /// Fails if `WEFT_BACKEND` names an unknown backend, the stack size is
    /// below 16 KiB, or the OS refuses the backend's resources.
    ///
    /// ```
    /// assert!(weft::Runtime::builder().stack_size(1024).build().is_err());
    /// ```
    pub fn build(self) -> io::Result<Runtime> {
        let settings = self.clone();
        if self.stack_size < 16 * 1024 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("stack_size {} is below the 16 KiB minimum", self.stack_size),
            ));
        }
        let forced = match self.backend {
            Some(k) => Some(k),
            None => BackendKind::from_env()?,
        };
        let backend = match forced {
            Some(kind) => kind.create(self.parked_by_hook)?,
            None => BackendKind::auto(self.parked_by_hook),
        };
        let kind = backend.kind();
        if self.dump_on_sigquit {
            trace::install_sigquit_dump()?;
        }
        let scheduler = Scheduler::new(
            SchedulerConfig {
                stack_size: self.stack_size,
                max_pooled_stacks: self.max_pooled_stacks,
                mock_clock: self.mock_clock,
                console: self.console,
            },
            Box::new(backend),
        );
        let watchdog = match self.watchdog {
            Some((threshold, hook)) => Some(trace::start_watchdog(
                scheduler.remote.clone(),
                threshold,
                hook,
            )?),
            None => None,
        };
        Ok(Runtime {
            scheduler,
            kind,
            settings,
            _watchdog: watchdog,
        })
    }
}

/// A runtime for one thread. Most programs call [`run`] instead.
///
/// ```
/// let rt = weft::Runtime::builder().build().unwrap();
/// let v = rt.run(|_env| "done");
/// assert_eq!(v, "done");
/// ```
pub struct Runtime {
    scheduler: Scheduler,
    kind: BackendKind,
    settings: Builder,
    _watchdog: Option<trace::Watchdog>,
}

impl Runtime {
    /// A builder with the default settings.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().build().unwrap();
    /// ```
    pub fn builder() -> Builder {
        let stack_size = SchedulerConfig::stack_size_from_env();
        Builder {
            stack_size,
            max_pooled_stacks: SchedulerConfig::DEFAULT_POOLED_STACKS,
            mock_clock: false,
            backend: None,
            dump_on_sigquit: false,
            watchdog: None,
            executor_threads: None,
            thread_start: None,
            console: false,
            parked_by_hook: false,
        }
    }

    /// The backend this runtime uses.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().build().unwrap();
    /// let _kind = rt.backend();
    /// ```
    pub fn backend(&self) -> BackendKind {
        self.kind
    }

    /// Runs `main` as the first fiber (named "main") and drives every fiber
    /// until it returns. Fibers started with [`crate::spawn`] that are still
    /// running then are cancelled and awaited, as tokio drops its tasks
    /// when the runtime shuts down. A panic in `main` is re-raised here.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().build().unwrap();
    /// assert_eq!(rt.run(|_env| 7), 7);
    /// ```
    pub fn run<T>(self, main: impl FnOnce(&Env) -> T) -> T {
        self.run_main(main)
    }

    /// A runtime with the default settings (tokio's `Runtime::new`).
    ///
    /// ```
    /// let rt = weft::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(|| 1 + 1), 2);
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Runtime::builder().build()
    }

    /// Runs `f` as the main fiber and drives every fiber until it returns,
    /// like [`run`](Runtime::run), but through a borrow: the runtime stays,
    /// and the next `block_on` runs on the same scheduler (tokio's
    /// `Runtime::block_on` on a current-thread runtime, the shape of a
    /// blocking API over fiber code). Sockets and other I/O objects made in
    /// one call keep working in the next. Fibers started with
    /// [`crate::spawn`] that are still running when `f` returns are
    /// cancelled and awaited, as at the end of `run`; a tokio task would
    /// instead stay parked until the next `block_on`. Calling it from a
    /// fiber panics, as tokio's does from inside a runtime.
    ///
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// let rt = weft::Runtime::new().unwrap();
    /// let (l, mut c) = rt.block_on(|| {
    ///     let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = weft::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     (l, c)
    /// });
    /// let mut s = rt.block_on(|| l.accept().unwrap().0);
    /// rt.block_on(|| c.write_all(b"hi").unwrap());
    /// let mut got = [0; 2];
    /// rt.block_on(|| s.read_exact(&mut got).unwrap());
    /// assert_eq!(&got, b"hi");
    /// ```
    pub fn block_on<T>(&self, f: impl FnOnce() -> T) -> T {
        self.run_main(|_env| f())
    }

    fn run_main<T>(&self, main: impl FnOnce(&Env) -> T) -> T {
        // Kept until the end of run: dropped after every fiber finished.
        let _thread_context = self.settings.thread_start.as_ref().map(|f| f());
        let sched = &self.scheduler;
        let _entered = sched.enter();
        let _registered = trace::register(sched);
        let root = CancelCtx::root();
        let result: RefCell<Option<std::thread::Result<T>>> = RefCell::new(None);
        let env = Env {
            clock: Clock::new(),
            settings: self.settings.clone(),
            executor: std::cell::OnceCell::new(),
            net: Net::new(),
        };
        let body = || {
            let tasks = crate::task::RootScope::open();
            let r = catch_unwind(AssertUnwindSafe(|| main(&env)));
            // Spawned tasks are cancelled and awaited only after main's
            // unwind has been caught. `std::thread::panicking()` is per
            // thread, not per fiber: waiting for them from inside main's
            // unwind would make every other fiber read it as true, so no
            // wait of theirs would be a cancellation point any more and a
            // task that blocks again after its wake-up would never end.
            drop(tasks);
            *result.borrow_mut() = Some(r);
        };
        // SAFETY: `run_until` below does not return before the main fiber
        // has finished, so `body`'s borrows (env, result) outlive it.
        let fiber = unsafe { sched.create(Some("main".into()), &root, body) }
            .unwrap_or_else(|e| panic!("weft: cannot start the main fiber: {e}"));
        sched.push_back(fiber);
        sched.run_until(&|| result.borrow().is_some());
        // Closes of files dropped at the very end are still queued (io_uring
        // batches them with the next submission, and an idle runtime makes
        // none): let them take effect now.
        crate::backend::uring::submit_queued();
        // Work other threads handed over at the very end (an executor job
        // whose worker's main fiber returned without suspending again) is
        // dropped now, not left in the remote queue.
        sched.drain_remote();
        if let Some(Ok(pool)) = env.executor.get() {
            pool.shutdown();
        }
        match result.into_inner().expect("main finished") {
            Ok(v) => v,
            Err(p) => resume_unwind(p),
        }
    }
}

/// What the main fiber gets: the capabilities of the runtime.
///
/// ```
/// weft::run(|env| {
///     let _clock = env.clock();
/// });
/// ```
pub struct Env {
    clock: Clock,
    settings: Builder,
    executor: std::cell::OnceCell<Result<crate::executor::ExecutorPool, String>>,
    net: Net,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env").finish_non_exhaustive()
    }
}

impl Env {
    /// The runtime's clock.
    ///
    /// ```
    /// weft::run(|env| { let _now = env.clock().now(); });
    /// ```
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    /// The runtime's executor pool, started on first use with
    /// [`Builder::executor_threads`] threads (default: available cores).
    /// Its threads end when `weft::run` does. Panics if its threads cannot
    /// be started.
    ///
    /// ```
    /// weft::run(|env| {
    ///     let n = env.executor_pool().submit(|| 2 + 2);
    ///     assert_eq!(n, 4);
    /// });
    /// ```
    #[track_caller]
    pub fn executor_pool(&self) -> crate::executor::ExecutorPool {
        let pool = self.executor.get_or_init(|| {
            let threads = self
                .settings
                .executor_threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            crate::executor::ExecutorPool::start(threads, &self.settings).map_err(|e| e.to_string())
        });
        match pool {
            Ok(p) => p.clone(),
            Err(e) => panic!("weft: cannot start the executor pool: {e}"),
        }
    }

    /// The network: TCP, UDP and Unix-domain sockets (see [`Net`]).
    ///
    /// ```
    /// weft::run(|env| {
    ///     let udp = env.net().bind_udp("127.0.0.1:0").unwrap();
    ///     assert!(udp.local_addr().is_ok());
    /// });
    /// ```
    pub fn net(&self) -> Net {
        self.net.clone()
    }

    /// The whole file system, as an explicitly *ambient* [`Dir`]: absolute
    /// paths work, relative ones start at the current directory, exactly as
    /// with `std::fs`. Narrow it with [`Dir::open_dir`] before handing it
    /// to code that should see less.
    ///
    /// ```
    /// weft::run(|env| {
    ///     let root = env.fs();
    ///     assert!(root.metadata("/etc").unwrap().is_dir());
    ///     let etc = root.open_dir("/etc").unwrap(); // sandboxed to /etc
    ///     assert!(etc.metadata("/etc").is_err());
    /// });
    /// ```
    pub fn fs(&self) -> Dir {
        Dir::AMBIENT
    }

    /// The current directory as a sandboxed [`Dir`]: relative paths beneath
    /// it only. It is opened when called, so it stays the same directory if
    /// the process changes directory later. Fails only if no descriptor
    /// can be opened.
    ///
    /// ```
    /// weft::run(|env| {
    ///     let cwd = env.cwd().unwrap();
    ///     assert!(cwd.metadata(".").unwrap().is_dir());
    ///     assert!(cwd.metadata("/").is_err()); // absolute: refused
    /// });
    /// ```
    #[track_caller]
    pub fn cwd(&self) -> io::Result<Dir> {
        Dir::open_ambient(".")
    }
}

/// Statistics about this thread's fiber stacks. Panics outside a runtime.
///
/// ```
/// weft::run(|_env| assert_eq!(weft::runtime::stack_stats().in_use, 1));
/// ```
#[track_caller]
pub fn stack_stats() -> StackStats {
    scheduler::expect("stack_stats", |s| s.stack_stats())
}

/// A handle to a running runtime that other threads can use to start
/// fibers on it (like `tokio::runtime::Handle::spawn`). `Send + Sync`.
///
/// ```
/// weft::run(|_env| {
///     let handle = weft::runtime::Handle::current();
///     let (p, r) = weft::Promise::new();
///     std::thread::spawn(move || {
///         handle.spawn(move || r.resolve(weft::fiber::id()));
///     })
///     .join()
///     .unwrap();
///     let _fiber_that_ran_here = p.await_();
/// });
/// ```
#[derive(Clone)]
pub struct Handle {
    remote: std::sync::Arc<scheduler::Remote>,
}

impl Handle {
    /// The handle of the runtime running on this thread. Panics outside
    /// one.
    ///
    /// ```
    /// weft::run(|_env| { let _h = weft::runtime::Handle::current(); });
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Some(h) => h,
            None => panic!(
                "weft::runtime::Handle::current called outside a weft runtime (at {})",
                std::panic::Location::caller()
            ),
        }
    }

    /// The handle of the runtime running on this thread, if any.
    ///
    /// ```
    /// assert!(weft::runtime::Handle::try_current().is_none());
    /// ```
    pub fn try_current() -> Option<Handle> {
        scheduler::with(|s| Handle {
            remote: s.remote.clone(),
        })
    }

    /// Starts `f` in a new fiber on that runtime, attached to its root
    /// scope like [`crate::spawn`]. Callable from any thread. If the
    /// runtime has already finished, `f` is dropped without running.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (p, r) = weft::Promise::new();
    ///     weft::runtime::Handle::current().spawn(move || r.resolve(5));
    ///     assert_eq!(*p.await_(), 5);
    /// });
    /// ```
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.remote
            .push(scheduler::RemoteWork::Run(Box::new(move || {
                crate::task::spawn_from_scheduler(f)
            })));
    }
}

impl Handle {
    /// Runs `f` on that runtime's scheduler stack (not in a fiber: `f`
    /// must not block) when it next looks at its remote queue. Dropped
    /// without running if the runtime has finished.
    pub(crate) fn run_on_scheduler(&self, f: impl FnOnce() + Send + 'static) {
        self.remote.push(scheduler::RemoteWork::Run(Box::new(f)));
    }

    /// Starts `task` on that runtime's scheduler stack when it next looks
    /// at its remote queue (see `RemoteTask`); abandons it if the runtime
    /// has finished.
    pub(crate) fn start_task(&self, task: std::sync::Arc<dyn scheduler::RemoteTask>) {
        self.remote
            .push(scheduler::RemoteWork::Task(scheduler::TaskRef::new(task)));
    }

    /// How many times this runtime's scheduler has parked (an idle
    /// scheduler parks once and stays parked).
    pub(crate) fn parks(&self) -> u64 {
        self.remote.parks.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("scheduler", &self.remote.id)
            .finish()
    }
}
