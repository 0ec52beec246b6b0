//! tokio inside fibers: a tokio runtime whose handle every fiber sees.
//!
//! Two topologies (see the crate docs):
//! - The default: every weft scheduler thread drives a tokio
//!   *current_thread* runtime of its own ([`local_driver`]). The thread
//!   enters its handle for the whole run, so the sockets and timers fibers
//!   make register with it; the idle scheduler parks inside tokio, and the
//!   busy one gives tokio a turn every few dozen fibers. A tokio socket
//!   turning readable resumes its fiber from the same thread. Tasks from
//!   `tokio::spawn` run on that thread too, while its fibers wait or at
//!   those turns, as on a tokio current_thread runtime: a task that blocks
//!   the thread blocks the fibers too.
//! - [`Builder::worker_threads`] or [`Builder::handle`]: tokio runs its
//!   I/O driver, timers and tasks on its own worker threads; the weft
//!   thread only *enters* the handle for the whole run, and wake-ups come
//!   from tokio's threads through weft's cross-thread resume.
//!
//! In both, the handle is entered on the thread's native stack, never on a
//! fiber's, so no fiber holds the guard across a suspension. Fibers call
//! tokio APIs (`tokio::spawn`, `tokio::net`, `tokio::time`, hyper, reqwest
//! ...) and await their futures with [`crate::await_future`].
//!
//! The weft scheduler thread is not inside a tokio runtime while fibers
//! run, so a fiber that calls `Handle::block_on` or `blocking_recv` does
//! not panic: it blocks the scheduler thread (every fiber on it) until
//! done. Don't; use [`crate::await_future`].

pub(crate) mod local_driver;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::task::{JoinError, JoinHandle};

/// Settings for running weft with tokio available to its fibers.
///
/// ```
/// let v = weft_compat::tokio::Builder::new()
///     .worker_threads(1)
///     .run(|_env| weft_compat::await_future(async { tokio::task::yield_now().await; 7 }));
/// assert_eq!(v, 7);
/// ```
#[derive(Debug)]
pub struct Builder {
    tokio: Topology,
    shutdown_timeout: Duration,
    weft: weft::Builder,
}

/// Where tokio's driver and tasks run.
#[derive(Debug)]
enum Topology {
    /// A current_thread runtime per weft thread, driven by its scheduler.
    PerWeftThread,
    /// A private multi-thread runtime with this many workers.
    Workers(usize),
    /// The caller's runtime.
    Handle(Handle),
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Defaults: a tokio current_thread runtime per weft thread, driven by
    /// that thread's scheduler (see the module docs), a 5-second shutdown
    /// timeout, and weft's default settings.
    ///
    /// ```
    /// let b = weft_compat::tokio::Builder::new();
    /// ```
    pub fn new() -> Self {
        Builder {
            tokio: Topology::PerWeftThread,
            shutdown_timeout: Duration::from_secs(5),
            weft: weft::Runtime::builder(),
        }
    }

    /// Uses an existing tokio runtime (its handle) instead of starting one.
    /// Its owner remains responsible for shutting it down.
    ///
    /// ```
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// let b = weft_compat::tokio::Builder::new().handle(rt.handle().clone());
    /// ```
    pub fn handle(mut self, handle: Handle) -> Self {
        self.tokio = Topology::Handle(handle);
        self
    }

    /// Runs tokio on a private multi-thread runtime with `n` worker
    /// threads (at least 1) instead of on the weft threads: its I/O driver
    /// and timers then wake fibers from those threads.
    ///
    /// ```
    /// let b = weft_compat::tokio::Builder::new().worker_threads(2);
    /// ```
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.tokio = Topology::Workers(n.max(1));
        self
    }

    /// How long shutting the private tokio runtime down may take.
    ///
    /// ```
    /// let b = weft_compat::tokio::Builder::new().shutdown_timeout(std::time::Duration::from_secs(1));
    /// ```
    pub fn shutdown_timeout(mut self, d: Duration) -> Self {
        self.shutdown_timeout = d;
        self
    }

    /// Debug mode: warn (through `tracing`) when a fiber blocks its
    /// scheduler thread for 100 ms or more, e.g. by calling
    /// `Handle::block_on`, `blocking_recv` or `std::thread::sleep` instead
    /// of awaiting through [`crate::await_future`]. Uses weft's watchdog;
    /// set [`Builder::weft`] first if you also pass weft settings.
    ///
    /// ```
    /// let b = weft_compat::tokio::Builder::new().debug(true);
    /// ```
    pub fn debug(mut self, on: bool) -> Self {
        if on {
            self.weft = self.weft.watchdog(Duration::from_millis(100));
        }
        self
    }

    /// The weft runtime settings to use.
    ///
    /// ```
    /// let b = weft_compat::tokio::Builder::new().weft(weft::Runtime::builder().stack_size(1 << 20));
    /// ```
    pub fn weft(mut self, builder: weft::Builder) -> Self {
        self.weft = builder;
        self
    }

    /// Runs `main` as weft's main fiber with tokio available, then shuts
    /// down in order: weft's fibers finish (those still waiting on tokio
    /// are cancelled by the runtime's shutdown rules and drop their futures
    /// while tokio still runs), then the handle is left, then the private
    /// tokio runtime(s) are shut down (each per-thread one on its thread,
    /// once its scheduler has stopped; tasks still pending are dropped).
    ///
    /// Panics if either runtime cannot start.
    ///
    /// ```
    /// let n = weft_compat::tokio::Builder::new().run(|_env| {
    ///     let h = weft_compat::tokio::spawn(async { 2 });
    ///     weft_compat::await_future(h).unwrap() + 1
    /// });
    /// assert_eq!(n, 3);
    /// ```
    pub fn run<T>(self, main: impl FnOnce(&weft::Env) -> T) -> T {
        let shutdown_timeout = self.shutdown_timeout;
        let (handle, owned) = match self.tokio {
            Topology::PerWeftThread => {
                let rt = self
                    .weft
                    .parked_by_hook(true)
                    .on_thread_start(move || {
                        Box::new(local_driver::ThreadTokio::start(shutdown_timeout))
                    })
                    .build()
                    .unwrap_or_else(|e| panic!("weft-compat: cannot start weft: {e}"));
                return rt.run(main);
            }
            Topology::Handle(h) => (h, None),
            Topology::Workers(n) => {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(n)
                    .thread_name("weft-compat-tokio")
                    .enable_all()
                    .build()
                    .unwrap_or_else(|e| panic!("weft-compat: cannot start tokio: {e}"));
                (rt.handle().clone(), Some(rt))
            }
        };
        // Every weft thread of this runtime (main, executor workers)
        // enters the handle once, for as long as it runs weft; the guard
        // lives on that thread's native stack, never on a fiber's.
        let rt = self
            .weft
            .on_thread_start(move || Box::new(Entered::new(handle.clone())))
            .build()
            .unwrap_or_else(|e| panic!("weft-compat: cannot start weft: {e}"));
        let out = rt.run(main);
        if let Some(owned) = owned {
            owned.shutdown_timeout(shutdown_timeout);
        }
        out
    }
}

/// [`Builder::run`] with the defaults.
///
/// ```
/// weft_compat::tokio::run(|_env| {
///     weft_compat::await_future(tokio::time::sleep(std::time::Duration::from_millis(1)));
/// });
/// ```
pub fn run<T>(main: impl FnOnce(&weft::Env) -> T) -> T {
    Builder::new().run(main)
}

/// `tokio::spawn` returning a handle that aborts the task when dropped (a
/// plain tokio `JoinHandle` detaches instead), so a cancelled fiber that
/// was awaiting it does not leave the task running.
///
/// ```
/// weft_compat::tokio::run(|_env| {
///     let h = weft_compat::tokio::spawn(async { "done" });
///     assert_eq!(weft_compat::await_future(h).unwrap(), "done");
/// });
/// ```
#[track_caller]
pub fn spawn<F>(fut: F) -> AbortOnDrop<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    AbortOnDrop {
        handle: Some(tokio::spawn(fut)),
    }
}

/// A tokio `JoinHandle` that aborts its task on drop.
#[derive(Debug)]
#[must_use = "dropping it aborts the task"]
pub struct AbortOnDrop<T> {
    /// Always `Some` until `into_inner` takes it.
    handle: Option<JoinHandle<T>>,
}

impl<T> AbortOnDrop<T> {
    /// Aborts the task now.
    ///
    /// ```
    /// weft_compat::tokio::run(|_env| {
    ///     let h = weft_compat::tokio::spawn(std::future::pending::<()>());
    ///     h.abort();
    ///     assert!(weft_compat::await_future(h).unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        if let Some(h) = &self.handle {
            h.abort();
        }
    }

    /// Whether the task has finished.
    ///
    /// ```
    /// weft_compat::tokio::run(|_env| {
    ///     let h = weft_compat::tokio::spawn(async {});
    ///     while !h.is_finished() { weft::time::sleep(std::time::Duration::from_millis(1)); }
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Gives back the plain tokio handle (which detaches on drop).
    ///
    /// ```
    /// weft_compat::tokio::run(|_env| {
    ///     let h = weft_compat::tokio::spawn(async { 1 }).into_inner();
    ///     assert_eq!(weft_compat::await_future(h).unwrap(), 1);
    /// });
    /// ```
    pub fn into_inner(mut self) -> JoinHandle<T> {
        self.handle
            .take()
            .expect("the handle is present until into_inner")
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.handle.as_mut() {
            Some(h) => Pin::new(h).poll(cx),
            None => panic!("AbortOnDrop polled after into_inner"),
        }
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        if let Some(h) = &self.handle {
            h.abort();
        }
    }
}

/// A tokio `Handle` entered for as long as this value lives (it owns the
/// handle the guard borrows).
struct Entered {
    guard: std::mem::ManuallyDrop<tokio::runtime::EnterGuard<'static>>,
    _handle: Box<Handle>,
}

impl Entered {
    fn new(handle: Handle) -> Entered {
        let handle = Box::new(handle);
        // SAFETY: the guard borrows the handle inside the Box, whose heap
        // address never changes; both live in this struct, and Drop drops
        // the guard before the Box is freed.
        let borrowed: &'static Handle = unsafe { &*(&*handle as *const Handle) };
        Entered {
            guard: std::mem::ManuallyDrop::new(borrowed.enter()),
            _handle: handle,
        }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        // SAFETY: dropped exactly once, here, before `_handle`.
        unsafe { std::mem::ManuallyDrop::drop(&mut self.guard) }
    }
}
