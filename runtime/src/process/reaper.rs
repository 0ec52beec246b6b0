//! The background reaper: children whose [`Child`](super::Child) was
//! dropped before they exited.
//!
//! Like tokio (which reaps such orphans on `SIGCHLD`), weft never leaves a
//! zombie behind a dropped handle: the std child and its pidfd move to one
//! process-wide thread, `weft-reaper`, started on first need. It sleeps in
//! `poll(2)` on the orphans' pidfds and an eventfd (new orphans), reaps
//! each with a non-blocking `waitpid` when its pidfd turns readable, and
//! goes back to sleep. Orphans without a pidfd (the thread fallback) are
//! checked on a timer instead, backing off from 10 ms to 1 s. The thread
//! is never a scheduler thread, so blocking in `poll` there is fine; it
//! stays parked (no CPU) when there is nothing to reap.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::backend::ops;

pub(crate) struct Orphan {
    pub(crate) child: std::process::Child,
    pub(crate) pidfd: Option<OwnedFd>,
}

struct Reaper {
    incoming: Mutex<Vec<Orphan>>,
    wake: OwnedFd,
}

static REAPER: OnceLock<Option<Reaper>> = OnceLock::new();

fn start() -> Option<Reaper> {
    let wake = match ops::eventfd() {
        Ok(fd) => fd,
        Err(e) => {
            tracing::error!(error = %e, "weft: cannot start the child reaper; dropped children stay zombies");
            return None;
        }
    };
    Some(Reaper {
        incoming: Mutex::new(Vec::new()),
        wake,
    })
}

/// Hands a child that has not been reaped to the reaper thread.
pub(crate) fn adopt(orphan: Orphan) {
    static THREAD: OnceLock<bool> = OnceLock::new();
    let Some(reaper) = REAPER.get_or_init(start).as_ref() else {
        return;
    };
    reaper
        .incoming
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(orphan);
    let running = *THREAD.get_or_init(|| {
        std::thread::Builder::new()
            .name("weft-reaper".into())
            .spawn(move || run(reaper))
            .map_err(|e| tracing::error!(error = %e, "weft: cannot start the child reaper thread; dropped children stay zombies"))
            .is_ok()
    });
    if running {
        ops::eventfd_signal(reaper.wake.as_fd());
    }
}

fn run(reaper: &'static Reaper) {
    let mut orphans: Vec<Orphan> = Vec::new();
    let mut backoff = Duration::from_millis(10);
    loop {
        ops::eventfd_drain(reaper.wake.as_fd());
        let new: Vec<Orphan> =
            std::mem::take(&mut *reaper.incoming.lock().unwrap_or_else(|p| p.into_inner()));
        if new.iter().any(|o| o.pidfd.is_none()) {
            backoff = Duration::from_millis(10);
        }
        orphans.extend(new);
        // Reap every orphan that has exited (an error means it is gone).
        orphans.retain_mut(|o| matches!(o.child.try_wait(), Ok(None)));
        let mut fds: Vec<RawFd> = vec![reaper.wake.as_raw_fd()];
        fds.extend(
            orphans
                .iter()
                .filter_map(|o| o.pidfd.as_ref().map(|f| f.as_raw_fd())),
        );
        let timeout = if orphans.iter().any(|o| o.pidfd.is_none()) {
            let t = backoff;
            backoff = (backoff * 2).min(Duration::from_secs(1));
            Some(t)
        } else {
            None
        };
        ops::poll_readable_blocking(&fds, timeout);
    }
}
