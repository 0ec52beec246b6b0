//! The tokio runtime of the async code that started a fiber.
//!
//! Async code on a tokio runtime calls [`run_fiber`](crate::run_fiber);
//! the fiber may then await futures that need that runtime (a tokio
//! timer, a tokio socket) through [`await_future`](crate::await_future),
//! for instance a function a migration left async. When the fiber runs on
//! a thread with no tokio context (weft-compat's host thread, or a weft
//! runtime that did not enter tokio), such a future would panic with "there
//! is no reactor running". So `run_fiber` records the caller's runtime as a
//! fiber-local binding (inherited by the fibers it forks), and every poll
//! `await_future` makes enters it for the length of that poll only: the
//! enter guard never lives across a suspension.

#[cfg(feature = "tokio")]
static CALLER_RUNTIME: weft::fiber::Key<tokio::runtime::Handle> = weft::fiber::Key::new();

/// The tokio runtime of the calling async code, if any, to carry into a
/// fiber.
#[cfg(feature = "tokio")]
pub(crate) type Captured = Option<tokio::runtime::Handle>;
#[cfg(not(feature = "tokio"))]
pub(crate) type Captured = ();

/// Captures the runtime of the calling async code (on its thread).
pub(crate) fn capture() -> Captured {
    #[cfg(feature = "tokio")]
    return tokio::runtime::Handle::try_current().ok();
}

/// Runs `f` (in the new fiber) with the captured runtime bound.
pub(crate) fn bind<R>(captured: Captured, f: impl FnOnce() -> R) -> R {
    #[cfg(feature = "tokio")]
    if let Some(handle) = captured {
        return weft::fiber::with_binding(&CALLER_RUNTIME, handle, f);
    }
    #[cfg(not(feature = "tokio"))]
    let () = captured;
    f()
}

/// Runs one poll inside the bound runtime, unless the thread already has a
/// tokio context.
#[inline]
pub(crate) fn poll_in<R>(poll: impl FnOnce() -> R) -> R {
    #[cfg(feature = "tokio")]
    if let Some(handle) = weft::fiber::get(&CALLER_RUNTIME) {
        if tokio::runtime::Handle::try_current().is_err() {
            let _entered = handle.enter();
            return poll();
        }
    }
    poll()
}
