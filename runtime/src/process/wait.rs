//! How a fiber waits for a child to exit without blocking its thread.
//!
//! - **pidfd** (Linux 5.3+): `pidfd_open` right after the spawn gives a
//!   descriptor that becomes readable when the child exits. It is an
//!   `IoSource` like a socket, so the fiber waits in the backend (epoll on
//!   `posix`, `POLL_ADD` on `uring`) and the thread keeps running others.
//! - **thread fallback** (older kernels, a seccomp filter refusing
//!   `pidfd_open`, or `WEFT_PROCESS_WAIT=thread`): the fiber waits for a
//!   blocking-pool job that calls `waitid(WEXITED | WNOWAIT)`, which
//!   returns once the child has exited *without reaping it*. Each waiting
//!   child holds one pool thread while it runs; cancelling the fiber
//!   unwinds it at once and the job ends when the child does.
//!
//! Either way the exit is only *observed* here; reaping (`waitpid`) is done
//! by the caller exactly once, through std's `Child::try_wait`, which
//! remembers the status so a pid is never reaped twice.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::OnceLock;

use crate::backend::{ops, IoSource};

/// What a child's exit can be waited on with.
#[derive(Debug)]
pub(crate) enum ExitWatch {
    Pidfd(IoSource),
    Thread,
}

fn pidfd_allowed() -> bool {
    static ALLOWED: OnceLock<bool> = OnceLock::new();
    *ALLOWED.get_or_init(|| std::env::var("WEFT_PROCESS_WAIT").as_deref() != Ok("thread"))
}

impl ExitWatch {
    /// Opens a pidfd for `pid` where the kernel allows it.
    pub(crate) fn open(pid: u32) -> ExitWatch {
        if !pidfd_allowed() {
            return ExitWatch::Thread;
        }
        match ops::pidfd_open(pid).and_then(IoSource::new) {
            Ok(src) => ExitWatch::Pidfd(src),
            Err(e) => {
                static SAID: std::sync::Once = std::sync::Once::new();
                SAID.call_once(|| {
                    tracing::info!(error = %e, "weft: no pidfd for child processes; waiting for them on the blocking pool")
                });
                ExitWatch::Thread
            }
        }
    }

    /// Suspends the fiber until child `pid` may have exited. A
    /// cancellation point. Spurious returns are allowed: the caller checks
    /// with a non-blocking `waitpid` and calls again.
    #[track_caller]
    pub(crate) fn wait(&self, pid: u32) -> io::Result<()> {
        match self {
            ExitWatch::Pidfd(src) => ops::wait_pidfd(src),
            ExitWatch::Thread => crate::blocking::blocking(move || ops::wait_exit_blocking(pid)),
        }
    }

    /// The pidfd, removed from every reactor (for the background reaper).
    pub(crate) fn into_pidfd(self) -> Option<OwnedFd> {
        match self {
            ExitWatch::Pidfd(src) => Some(src.into_fd()),
            ExitWatch::Thread => None,
        }
    }
}
