//! `IoSource`: an owned, non-blocking file descriptor and its registrations
//! with the schedulers that have waited on it.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use polling::Poller;

use super::choice::{outside_runtime, BackendChoice};
use super::posix::Interest;
use super::{with_driver, BackendKind, Driver};
use crate::backend_api::{
    cancelled_since_wake, current_remote, current_scheduler_id, io_budget, scheduler_id,
    suspend_at, Remote, RemoteWork, WaitKind,
};

struct Registration {
    scheduler: u64,
    key: usize,
    remote: Weak<Remote>,
    poller: Arc<Poller>,
}

/// An open descriptor in non-blocking mode. Ops on it suspend the calling
/// fiber while the descriptor is not ready. `Send + Sync`: fibers on any
/// thread may use it; each thread registers it with its own reactor the
/// first time it has to wait there.
pub(crate) struct IoSource {
    fd: OwnedFd,
    /// The backend its ops go to, chosen at creation (`backend/choice.rs`).
    backend: BackendChoice,
    registrations: Mutex<Vec<Registration>>,
    /// The last io_uring `recv` left the socket empty, so the next one
    /// will most likely have to wait: it asks the kernel to arm its poll
    /// first instead of trying a receive that is bound to fail
    /// (`IORING_RECVSEND_POLL_FIRST`). A hint only; any value is correct.
    recv_drained: AtomicBool,
    /// What cancelled receives and accepts got from the kernel and gave
    /// back (io_uring only); the next receive or accept takes it first.
    pub(crate) unread: super::unread::UnreadQueue,
}

impl IoSource {
    /// Takes ownership of `fd` and puts it in non-blocking mode.
    pub(crate) fn new(fd: OwnedFd) -> io::Result<IoSource> {
        set_nonblocking(fd.as_raw_fd())?;
        Ok(Self::new_nonblocking(fd))
    }

    /// Takes ownership of an `fd` already in non-blocking mode.
    pub(crate) fn new_nonblocking(fd: OwnedFd) -> IoSource {
        IoSource {
            fd,
            backend: BackendChoice::here(),
            registrations: Mutex::new(Vec::new()),
            recv_drained: AtomicBool::new(false),
            unread: Default::default(),
        }
    }

    /// Wraps `fd` without touching its file status flags: for descriptors
    /// whose open file description other processes share (stdin, stdout),
    /// where setting `O_NONBLOCK` would change their behaviour too. Callers
    /// only use [`IoSource::wait`] for readiness and must never rely on a
    /// syscall returning `EAGAIN`.
    pub(crate) fn new_shared(fd: OwnedFd) -> IoSource {
        Self::new_nonblocking(fd)
    }

    /// Whether its ops go to the io_uring ring first (the backend chosen
    /// when it was created, or adopted since): a field read, no
    /// thread-local lookup.
    #[inline]
    pub(crate) fn on_ring(&self) -> bool {
        self.backend.on_ring()
    }

    /// Whether the last io_uring `recv` on this socket left it empty (the
    /// hint behind `IORING_RECVSEND_POLL_FIRST`).
    pub(crate) fn recv_drained(&self) -> bool {
        self.recv_drained.load(Ordering::Relaxed)
    }

    /// Records whether the `recv` that just completed left the socket
    /// empty.
    pub(crate) fn set_recv_drained(&self, drained: bool) {
        self.recv_drained.store(drained, Ordering::Relaxed);
    }

    /// Removes the descriptor from every reactor that registered it and
    /// gives it back (it stays in whatever mode it is in).
    pub(crate) fn into_fd(self) -> OwnedFd {
        self.deregister_all();
        let this = std::mem::ManuallyDrop::new(self);
        // Free the (now empty) registration list and anything given back
        // by a cancelled receive (a std socket has nowhere to keep it);
        // `fd` is moved out below.
        drop(std::mem::take(
            &mut *this.registrations.lock().unwrap_or_else(|p| p.into_inner()),
        ));
        this.unread.clear();
        // SAFETY: `this` is never used or dropped again (ManuallyDrop), so
        // moving `fd` out of it leaves no second owner. The Mutex around
        // the registrations holds no OS resource (std's futex mutex), so
        // not dropping it leaks nothing.
        unsafe { std::ptr::read(&this.fd) }
    }

    /// The key of this source in the current thread's reactor, registering
    /// it there on first use.
    fn key_here(&self, sched_id: u64) -> io::Result<usize> {
        let mut regs = self.registrations.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = regs.iter().find(|r| r.scheduler == sched_id) {
            return Ok(r.key);
        }
        let remote = current_remote()
            .map(|r| Arc::downgrade(&r))
            .ok_or_else(outside_runtime)?;
        let (key, poller) = with_driver(|d| match d {
            Driver::Posix(p) => p
                .register(self.fd.as_raw_fd())
                .map(|k| (k, p.poller().clone())),
            // Not reached: `wait` sends io_uring threads to POLL_ADD.
            Driver::Uring(_) => Err(io::Error::other(
                "weft: the io_uring backend has no readiness reactor",
            )),
        })
        .ok_or_else(outside_runtime)??;
        regs.push(Registration {
            scheduler: sched_id,
            key,
            remote,
            poller,
        });
        Ok(key)
    }

    /// Suspends the fiber until the descriptor may be ready for `interest`
    /// (after an op returned `EAGAIN`), on whatever backend this thread's
    /// scheduler runs; the source adopts that backend for its next ops. A
    /// cancellation point: a cancelled fiber unwinds from here. Outside a
    /// runtime: an error, since nothing could wake the wait.
    pub(crate) fn wait(
        &self,
        interest: Interest,
        location: &'static Location<'static>,
    ) -> io::Result<()> {
        let kind = with_driver(|d| d.kind()).ok_or_else(outside_runtime)?;
        self.backend.adopt(kind);
        if kind == BackendKind::Uring {
            super::uring::poll_ready(self.fd.as_raw_fd(), interest == Interest::Write, location)?;
            return ready_unless_cancelled();
        }
        self.wait_readiness(interest, location)
    }

    /// [`IoSource::wait`] on the posix reactor.
    fn wait_readiness(
        &self,
        interest: Interest,
        location: &'static Location<'static>,
    ) -> io::Result<()> {
        let sched_id = scheduler_id("I/O");
        let key = self.key_here(sched_id)?;
        with_driver(|d| {
            if let Driver::Posix(p) = d {
                p.clear_ready(key, interest)
            }
        });
        let mut waiter = None;
        let kind = match interest {
            Interest::Read => WaitKind::Readable,
            Interest::Write => WaitKind::Writable,
        };
        let r = suspend_at(location, kind, true, |resumer| {
            waiter = with_driver(|d| match d {
                Driver::Posix(p) => p.add_waiter(key, interest, resumer),
                // Unreachable: a fiber never leaves its thread, whose
                // backend `wait` checked. Resuming at once makes the
                // caller retry its syscall, never hang.
                Driver::Uring(_) => {
                    resumer.resume();
                    None
                }
            })
            .flatten();
        });
        if let Err(c) = r {
            if let Some(w) = waiter {
                with_driver(|d| {
                    if let Driver::Posix(p) = d {
                        p.remove_waiter(key, interest, w)
                    }
                });
            }
            c.unwind();
        }
        ready_unless_cancelled()
    }

    /// Runs a non-blocking syscall until it does not return `EAGAIN`,
    /// waiting for readiness in between; retries `EINTR`.
    #[track_caller]
    pub(crate) fn retry<T>(
        &self,
        interest: Interest,
        mut op: impl FnMut(RawFd) -> io::Result<T>,
    ) -> io::Result<T> {
        let location = Location::caller();
        io_budget();
        loop {
            match op(self.fd.as_raw_fd()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait(interest, location)?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    fn deregister_all(&self) {
        let regs =
            std::mem::take(&mut *self.registrations.lock().unwrap_or_else(|p| p.into_inner()));
        let here = current_scheduler_id();
        for r in regs {
            // Remove from that thread's poller now, while the fd is open
            // (Poller is thread-safe); then drop the reactor's bookkeeping,
            // on its own thread.
            let _ = r.poller.delete(self.fd.as_fd());
            if Some(r.scheduler) == here {
                with_driver(|d| {
                    if let Driver::Posix(p) = d {
                        p.forget(r.key)
                    }
                });
            } else if let Some(remote) = r.remote.upgrade() {
                let key = r.key;
                remote.push(RemoteWork::Run(Box::new(move || {
                    with_driver(|d| {
                        if let Driver::Posix(p) = d {
                            p.forget(key)
                        }
                    });
                })));
            }
        }
    }
}

impl Drop for IoSource {
    fn drop(&mut self) {
        self.deregister_all();
    }
}

impl AsFd for IoSource {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for IoSource {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl std::fmt::Debug for IoSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoSource")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

/// After a readiness wake: a fiber cancelled before it ran again (a
/// race's loser) unwinds here, before the syscall that would consume
/// data, so nothing is read or accepted for a branch that lost.
fn ready_unless_cancelled() -> io::Result<()> {
    if let Some(c) = cancelled_since_wake() {
        c.unwind();
    }
    Ok(())
}

pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own; no memory is passed.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        if flags & libc::O_NONBLOCK == 0
            && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
