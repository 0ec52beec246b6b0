//! Waiting for Unix signals from a fiber (tokio's `tokio::signal`).
//!
//! - [`ctrl_c`]: suspend until the next `SIGINT`.
//! - [`unix::signal`]: a [`unix::Signal`] listener for any catchable
//!   signal, whose [`recv`](unix::Signal::recv) suspends the fiber (never
//!   the thread) until the signal arrives.
//!
//! As in tokio, listening for a signal replaces its default action for the
//! rest of the process: after the first `ctrl_c()` or
//! `signal(SignalKind::terminate())`, those signals no longer end the
//! process on their own. Signals that arrive while nobody is receiving are
//! remembered, and several that arrive before a `recv` count as one.
//!
//! Each listener owns a non-blocking pipe; the signal handler (installed
//! through `signal-hook-registry`, which chains handlers safely) only
//! writes one byte to it, which is async-signal-safe. `recv` is then an
//! ordinary fiber-suspending pipe read on either backend.

pub mod unix;

use std::io;

/// Suspends the calling fiber until the process receives `SIGINT` (Ctrl-C
/// in a terminal). A `SIGINT` that arrives before the call is not seen.
///
/// The first call replaces `SIGINT`'s default action (ending the process)
/// for the rest of the process, as tokio's does. It is a cancellation
/// point: a cancelled fiber unwinds from it and the listener is removed.
///
/// ```
/// weft::run(|_env| {
///     // `both` runs the first closure at once: it is listening (and
///     // suspended) before the second one raises the signal.
///     let (got, ()) = weft::fiber::both(
///         || weft::signal::ctrl_c(),
///         // SAFETY: raise only sends a signal to this process.
///         || unsafe { libc::raise(libc::SIGINT); },
///     );
///     got.unwrap();
/// });
/// ```
#[track_caller]
pub fn ctrl_c() -> io::Result<()> {
    let mut interrupts = unix::signal(unix::SignalKind::interrupt())?;
    match interrupts.recv() {
        Some(()) => Ok(()),
        None => Err(io::Error::other("the SIGINT listener stopped")),
    }
}
