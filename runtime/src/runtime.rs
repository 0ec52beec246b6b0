//! Starting a runtime on the current thread: [`run`], [`Runtime`],
//! [`Builder`], and the [`Env`] handed to the main fiber.

use std::cell::RefCell;
use std::io;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::backend::BackendKind;
use crate::cancel::CancelCtx;
use crate::fiber::scheduler::{self, Scheduler, SchedulerConfig};
use crate::fiber::StackStats;
use crate::fs::Dir;
use crate::time::Clock;
use crate::trace;

const DEFAULT_STACK_SIZE: usize = 256 * 1024;
const DEFAULT_POOLED_STACKS: usize = 1024;

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
#[derive(Clone, Debug)]
pub struct Builder {
    stack_size: usize,
    max_pooled_stacks: usize,
    mock_clock: bool,
    backend: Option<BackendKind>,
    dump_on_sigquit: bool,
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

    /// Forces an I/O backend (default: `WEFT_BACKEND`, else the best one).
    ///
    /// ```
    /// let b = weft::Runtime::builder().backend(weft::BackendKind::Posix);
    /// ```
    pub fn backend(mut self, kind: BackendKind) -> Self {
        self.backend = Some(kind);
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

    /// Checks the settings and creates the runtime's backend.
    ///
    /// Fails if `WEFT_BACKEND` names an unknown backend, the stack size is
    /// below 16 KiB, or the OS refuses the backend's resources.
    ///
    /// ```
    /// assert!(weft::Runtime::builder().stack_size(1024).build().is_err());
    /// ```
    pub fn build(self) -> io::Result<Runtime> {
        if self.stack_size < 16 * 1024 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("stack_size {} is below the 16 KiB minimum", self.stack_size),
            ));
        }
        let kind = match self.backend {
            Some(k) => k,
            None => BackendKind::from_env()?,
        };
        let backend = kind.create()?;
        debug_assert_eq!(backend.kind(), kind);
        if self.dump_on_sigquit {
            trace::install_sigquit_dump()?;
        }
        let scheduler = Scheduler::new(
            SchedulerConfig {
                stack_size: self.stack_size,
                max_pooled_stacks: self.max_pooled_stacks,
                mock_clock: self.mock_clock,
            },
            backend,
        );
        Ok(Runtime { scheduler, kind })
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
}

impl Runtime {
    /// A builder with the default settings.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().build().unwrap();
    /// ```
    pub fn builder() -> Builder {
        let stack_size = std::env::var("WEFT_STACK_SIZE")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(DEFAULT_STACK_SIZE);
        Builder {
            stack_size,
            max_pooled_stacks: DEFAULT_POOLED_STACKS,
            mock_clock: false,
            backend: None,
            dump_on_sigquit: false,
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
        let sched = &self.scheduler;
        let _entered = sched.enter();
        let _registered = trace::register(sched);
        let root = CancelCtx::root();
        let result: RefCell<Option<std::thread::Result<T>>> = RefCell::new(None);
        let env = Env {
            clock: Clock::new(),
        };
        let body = || {
            let r = catch_unwind(AssertUnwindSafe(|| {
                let _tasks = crate::task::RootScope::open();
                main(&env)
            }));
            *result.borrow_mut() = Some(r);
        };
        // SAFETY: `run_until` below does not return before the main fiber
        // has finished, so `body`'s borrows (env, result) outlive it.
        let fiber = unsafe { sched.create(Some("main".into()), &root, body) }
            .unwrap_or_else(|e| panic!("weft: cannot start the main fiber: {e}"));
        sched.push_back(fiber);
        sched.run_until(&|| result.borrow().is_some());
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
#[derive(Debug)]
pub struct Env {
    clock: Clock,
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
