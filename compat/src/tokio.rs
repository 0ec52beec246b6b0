//! tokio inside fibers: a tokio runtime whose handle every fiber sees.
//!
//! Topology (see the crate docs): tokio runs its I/O driver, timers and
//! tasks on its own background worker threads; the weft scheduler thread
//! only *enters* tokio's `Handle`, once, for the whole life of the runtime
//! (the guard lives on the thread's native stack, never on a fiber's, so
//! no fiber ever holds it across a suspension). Fibers then call tokio APIs
//! (`tokio::spawn`, `tokio::net`, `tokio::time`, hyper, reqwest ...) and
//! await their futures with [`crate::await_future`]; wake-ups come from
//! tokio's threads through weft's cross-thread resume.
//!
//! The weft scheduler thread is not a tokio runtime thread, so a fiber
//! that calls `Handle::block_on` or `blocking_recv` does not panic: it
//! blocks the scheduler thread (every fiber on it) until done. Don't; use
//! [`crate::await_future`].

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
    handle: Option<Handle>,
    worker_threads: usize,
    shutdown_timeout: Duration,
    weft: weft::Builder,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Defaults: a private multi-thread tokio runtime with one worker, a
    /// 5-second shutdown timeout, and weft's default settings.
    ///
    /// ```
    /// let b = weft_compat::tokio::Builder::new();
    /// ```
    pub fn new() -> Self {
        Builder {
            handle: None,
            worker_threads: 1,
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
        self.handle = Some(handle);
        self
    }

    /// Worker threads of the private tokio runtime (default 1).
    ///
    /// ```
    /// let b = weft_compat::tokio::Builder::new().worker_threads(2);
    /// ```
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = n.max(1);
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
    /// tokio runtime is shut down from this (non-runtime) thread.
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
        let owned = match &self.handle {
            Some(_) => None,
            None => Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(self.worker_threads)
                    .thread_name("weft-compat-tokio")
                    .enable_all()
                    .build()
                    .unwrap_or_else(|e| panic!("weft-compat: cannot start tokio: {e}")),
            ),
        };
        let handle = match (&self.handle, &owned) {
            (Some(h), _) => h.clone(),
            (None, Some(rt)) => rt.handle().clone(),
            (None, None) => unreachable!("one of the two is set above"),
        };
        // Every weft thread of this runtime (main, executor workers)
        // enters the handle once, for as long as it runs weft; the guard
        // lives on that thread's native stack, never on a fiber's.
        let for_threads = handle.clone();
        let rt = self
            .weft
            .on_thread_start(move || Box::new(Entered::new(for_threads.clone())))
            .build()
            .unwrap_or_else(|e| panic!("weft-compat: cannot start weft: {e}"));
        let out = rt.run(main);
        if let Some(owned) = owned {
            owned.shutdown_timeout(self.shutdown_timeout);
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
