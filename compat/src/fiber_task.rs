//! Fibers as futures: [`run_fiber`] starts a fiber and returns a
//! [`FiberTask`] that async code can `.await`.
//!
//! Dropping the task cancels the fiber (it unwinds from its current or next
//! blocking call, destructors run); [`FiberTask::detach`] keeps it running;
//! [`FiberTask::cancel`] cancels it and waits until it has finished. A panic
//! in the fiber resurfaces in the task that awaits it.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use weft::fiber::{self, Resumer};
use weft::runtime::Handle;

/// Why a fiber produced no value.
#[derive(thiserror::Error)]
pub enum TaskError {
    /// It was cancelled (its task was dropped or cancelled, or its runtime
    /// shut down).
    #[error("the fiber was cancelled")]
    Cancelled,
    /// It panicked; the payload is kept for `resume_unwind`.
    #[error("the fiber panicked")]
    Panic(Box<dyn Any + Send>),
}

impl std::fmt::Debug for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("TaskError::Cancelled"),
            TaskError::Panic(_) => f.write_str("TaskError::Panic(..)"),
        }
    }
}

struct Shared<T> {
    result: Mutex<Option<Result<T, TaskError>>>,
    waker: Mutex<Option<Waker>>,
    cancel_requested: AtomicBool,
    cancel_resumer: Mutex<Option<Resumer>>,
}

impl<T> Shared<T> {
    fn request_cancel(&self) {
        self.cancel_requested.store(true, Ordering::SeqCst);
        let r = self
            .cancel_resumer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(r) = r {
            r.resume();
        }
    }

    fn complete(&self, r: Result<T, TaskError>) {
        *self.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
        let w = self.waker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Suspends the fiber until cancellation is requested.
    fn wait_for_cancel_request(&self) {
        while !self.cancel_requested.load(Ordering::SeqCst) {
            let parked = fiber::suspend(|r| {
                *self
                    .cancel_resumer
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(r);
                if self.cancel_requested.load(Ordering::SeqCst) {
                    let r = self
                        .cancel_resumer
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .take();
                    if let Some(r) = r {
                        r.resume();
                    }
                }
            });
            if let Err(c) = parked {
                c.unwind();
            }
        }
    }
}

/// A fiber seen from async code: a `Future` of the fiber's value.
///
/// ```
/// weft::run(|_env| {
///     let v = weft_compat::await_future(async {
///         weft_compat::run_fiber(|| {
///             weft::time::sleep(std::time::Duration::from_millis(1));
///             "from a fiber"
///         })
///         .await
///     });
///     assert_eq!(v, "from a fiber");
/// });
/// ```
#[must_use = "dropping a FiberTask cancels its fiber; use .detach() to keep it running"]
pub struct FiberTask<T> {
    shared: Arc<Shared<T>>,
    detached: bool,
}

/// Where fibers started from threads without a weft runtime run: one
/// background thread hosting a weft runtime for the life of the process.
///
/// With the `tokio` feature the thread also has a tokio context of its
/// own, for the whole thread (entered before the weft runtime starts, so
/// it is no fiber's guard and every fiber there sees the same one): a
/// tokio resource that converted code makes outside a bridged poll (a
/// `tokio::time::interval` built in a function the migration made direct,
/// the future handed to `await_future` built before it is polled) belongs
/// to that runtime instead of panicking with "there is no reactor
/// running". A bridged poll still enters the caller's runtime first
/// ([`crate::caller_runtime`]), so what is made inside a poll belongs to
/// the caller's.
fn host() -> &'static Handle {
    static HOST: OnceLock<Handle> = OnceLock::new();
    HOST.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("weft-compat-host".into())
            .spawn(move || {
                #[cfg(feature = "tokio")]
                let ambient = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("weft-compat-host-tokio")
                    .enable_all()
                    .build()
                    .expect("weft-compat: cannot start the host thread's tokio runtime");
                #[cfg(feature = "tokio")]
                let _entered = ambient.enter();
                weft::run(|_env| {
                    let _ = tx.send(Handle::current());
                    // Keep the runtime alive; fibers arrive through the handle.
                    weft::fiber::await_cancel()
                })
            })
            .expect("weft-compat: cannot start the fiber host thread");
        rx.recv()
            .expect("weft-compat: the fiber host thread failed to start")
    })
}

/// Starts `f` in a new fiber and returns a [`FiberTask`] for its value. The
/// fiber runs on this thread's weft runtime if there is one, otherwise on
/// a background thread that hosts weft for async callers.
///
/// ```
/// // From plain async code on a tokio runtime:
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let v = rt.block_on(async { weft_compat::run_fiber(|| 6 * 7).await });
/// assert_eq!(v, 42);
/// ```
pub fn run_fiber<T, F>(f: F) -> FiberTask<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let shared = Arc::new(Shared {
        result: Mutex::new(None),
        waker: Mutex::new(None),
        cancel_requested: AtomicBool::new(false),
        cancel_resumer: Mutex::new(None),
    });
    let inner = shared.clone();
    let caller_runtime = crate::caller_runtime::capture();
    let body = move || {
        let watch = inner.clone();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fiber::first(
                || Some(crate::caller_runtime::bind(caller_runtime, f)),
                || {
                    watch.wait_for_cancel_request();
                    None
                },
            )
        }));
        let result = match outcome {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(TaskError::Cancelled),
            Err(p) if weft::cancel::is_cancellation(p.as_ref()) => Err(TaskError::Cancelled),
            Err(p) => Err(TaskError::Panic(p)),
        };
        inner.complete(result);
    };
    match Handle::try_current() {
        Some(h) => h.spawn(body),
        None => host().spawn(body),
    }
    FiberTask {
        shared,
        detached: false,
    }
}

impl<T> FiberTask<T> {
    /// Lets the fiber run on after the task is dropped.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (p, r) = weft::Promise::new();
    ///     weft_compat::run_fiber(move || r.resolve("kept")).detach();
    ///     assert_eq!(*p.await_(), "kept");
    /// });
    /// ```
    pub fn detach(mut self) {
        self.detached = true;
    }

    /// Asks the fiber to stop, without waiting (as dropping the task does,
    /// but keeping it to await the outcome).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let t = weft_compat::run_fiber(|| weft::fiber::await_cancel());
    ///     t.abort();
    ///     let r = weft_compat::await_future(t.fallible());
    ///     assert!(matches!(r, Err(weft_compat::TaskError::Cancelled)));
    /// });
    /// ```
    pub fn abort(&self) {
        self.shared.request_cancel();
    }

    /// Whether the fiber has finished.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let t = weft_compat::run_fiber(|| 1);
    ///     assert!(!t.is_finished()); // it starts when this fiber yields
    ///     while !t.is_finished() {
    ///         weft::fiber::yield_now();
    ///     }
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.shared
            .result
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Cancels the fiber and waits until it has finished: `Some(value)` if
    /// it finished before the cancellation reached it, else `None`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let t = weft_compat::run_fiber(|| weft::fiber::await_cancel());
    ///     assert_eq!(weft_compat::await_future(t.cancel()), None::<()>);
    /// });
    /// ```
    pub async fn cancel(self) -> Option<T> {
        self.abort();
        self.fallible().await.ok()
    }

    /// A future of `Result<T, TaskError>` instead of re-raising a panic.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let t = weft_compat::run_fiber(|| -> u8 { panic!("inside") });
    ///     let r = weft_compat::await_future(t.fallible());
    ///     assert!(matches!(r, Err(weft_compat::TaskError::Panic(_))));
    /// });
    /// ```
    pub fn fallible(self) -> Fallible<T> {
        Fallible { task: self }
    }

    fn poll_result(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>> {
        if let Some(r) = self
            .shared
            .result
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            // Finished: dropping the task must not try to cancel anything.
            self.detached = true;
            return Poll::Ready(r);
        }
        *self.shared.waker.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        // The fiber may have completed between the check and storing the waker.
        if let Some(r) = self
            .shared
            .result
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            self.detached = true;
            return Poll::Ready(r);
        }
        Poll::Pending
    }
}

impl<T> Future for FiberTask<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        match this.poll_result(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(v)) => Poll::Ready(v),
            Poll::Ready(Err(TaskError::Panic(p))) => std::panic::resume_unwind(p),
            Poll::Ready(Err(TaskError::Cancelled)) => {
                panic!("weft-compat: the awaited fiber was cancelled (its runtime shut down?); use .fallible() to handle this")
            }
        }
    }
}

impl<T> Drop for FiberTask<T> {
    fn drop(&mut self) {
        if !self.detached {
            self.shared.request_cancel();
        }
    }
}

impl<T> Unpin for FiberTask<T> {}

/// The future returned by [`FiberTask::fallible`].
#[must_use = "futures do nothing unless awaited"]
pub struct Fallible<T> {
    task: FiberTask<T>,
}

impl<T> Future for Fallible<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().task.poll_result(cx)
    }
}
