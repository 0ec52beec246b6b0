//! A detached spawn that works from both worlds.
//!
//! A function that was synchronous in a tokio crate and calls
//! `tokio::spawn` only needs a tokio context, so after a migration it may
//! be called from a fiber (its callers were converted) or from async code
//! that still runs on tokio (its callers stayed async). `weft::spawn`
//! needs a weft runtime on the calling thread; [`spawn_detached`] takes
//! whichever is there.

use weft::runtime::Handle;

/// Starts `f` in a fiber and lets it run (the handle of `tokio::spawn`
/// dropped): on this thread's weft runtime, as [`weft::spawn`], when there
/// is one; otherwise (async code on a tokio runtime, a plain thread) on
/// weft-compat's host runtime, with the caller's tokio runtime carried
/// into the fiber for the futures it awaits through
/// [`await_future`](crate::await_future), as [`run_fiber`](crate::run_fiber)
/// does. A panic in `f` is reported by the runtime that runs it and does
/// not reach the caller (as with a detached tokio task).
///
/// ```
/// use std::sync::mpsc;
/// // From a fiber:
/// weft::run(|_env| {
///     let (tx, rx) = weft::sync::oneshot::channel();
///     weft_compat::spawn_detached(move || {
///         let _ = tx.send(1);
///     });
///     assert_eq!(rx.recv().unwrap(), 1);
/// });
/// // From async code on tokio:
/// let (tx, rx) = mpsc::channel();
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// rt.block_on(async move {
///     weft_compat::spawn_detached(move || tx.send(2).unwrap());
/// });
/// assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(10)), Ok(2));
/// ```
#[track_caller]
pub fn spawn_detached<F, T>(f: F)
where
    F: FnOnce() -> T + Send + 'static,
    T: 'static,
{
    if Handle::try_current().is_some() {
        drop(weft::spawn(f));
    } else {
        crate::run_fiber(move || {
            f();
        })
        .detach();
    }
}
