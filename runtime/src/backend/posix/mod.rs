//! The portable backend: an edge-triggered readiness reactor on crate
//! `polling` (epoll on Linux) and non-blocking system calls.
//!
//! A file descriptor is registered once per scheduler thread, lazily, the
//! first time an op on it would block there; it stays registered (edge
//! triggered, both directions) until the descriptor is closed. The reactor
//! keeps one readiness bit per direction: an event sets it and wakes that
//! direction's waiters; an op that gets `EAGAIN` clears it and waits. Events
//! are only processed by the scheduler between fiber runs, so no event can
//! slip in between an op's `EAGAIN` and its wait registration.

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

use polling::{Event, Events, PollMode, Poller};
use slab::Slab;

use crate::backend_api::{Backend, Resumer, WaitKey, WaitQueue, Waker};

/// A direction of readiness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    Read,
    Write,
}

struct SourceState {
    readable: bool,
    writable: bool,
    readers: WaitQueue,
    writers: WaitQueue,
}

pub(crate) struct PosixBackend {
    poller: Arc<Poller>,
    events: Events,
    sources: Slab<SourceState>,
    waiting: usize,
}

impl PosixBackend {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(PosixBackend {
            poller: Arc::new(Poller::new()?),
            events: Events::new(),
            sources: Slab::new(),
            waiting: 0,
        })
    }

    /// Registers `fd` with this thread's poller; returns its key.
    pub(crate) fn register(&mut self, fd: RawFd) -> io::Result<usize> {
        let entry = self.sources.vacant_entry();
        let key = entry.key();
        // SAFETY: the caller (IoSource) keeps `fd` open until it calls
        // `deregister`, which removes it from the poller before closing.
        unsafe {
            self.poller
                .add_with_mode(fd, Event::all(key), PollMode::Edge)?;
        }
        entry.insert(SourceState {
            readable: false,
            writable: false,
            readers: WaitQueue::new(),
            writers: WaitQueue::new(),
        });
        Ok(key)
    }

    /// Drops the bookkeeping of a registration whose fd was already removed
    /// from the poller (it is being closed), waking its waiters so they see
    /// the error from their next syscall.
    pub(crate) fn forget(&mut self, key: usize) {
        if let Some(mut s) = self.sources.try_remove(key) {
            self.waiting -= s.readers.len() + s.writers.len();
            s.readers.wake_all();
            s.writers.wake_all();
        }
    }

    /// Forgets that `interest` is ready: an op just got `EAGAIN`.
    pub(crate) fn clear_ready(&mut self, key: usize, interest: Interest) {
        if let Some(s) = self.sources.get_mut(key) {
            match interest {
                Interest::Read => s.readable = false,
                Interest::Write => s.writable = false,
            }
        }
    }

    /// Queues a fiber until `interest` becomes ready. Returns `None` if it
    /// already is (the caller retries at once).
    pub(crate) fn add_waiter(
        &mut self,
        key: usize,
        interest: Interest,
        r: Resumer,
    ) -> Option<WaitKey> {
        let s = self.sources.get_mut(key)?;
        let (ready, queue) = match interest {
            Interest::Read => (s.readable, &mut s.readers),
            Interest::Write => (s.writable, &mut s.writers),
        };
        if ready {
            r.resume();
            return None;
        }
        self.waiting += 1;
        Some(queue.push(r))
    }

    /// Withdraws a waiter (its fiber was cancelled).
    pub(crate) fn remove_waiter(&mut self, key: usize, interest: Interest, wait: WaitKey) {
        if let Some(s) = self.sources.get_mut(key) {
            let queue = match interest {
                Interest::Read => &mut s.readers,
                Interest::Write => &mut s.writers,
            };
            let before = queue.len();
            queue.remove(wait);
            self.waiting -= before - queue.len();
        }
    }

    pub(crate) fn poller(&self) -> &Arc<Poller> {
        &self.poller
    }
}

struct PollerWaker(Arc<Poller>);

impl Waker for PollerWaker {
    fn wake(&self) {
        if let Err(e) = self.0.notify() {
            tracing::error!(error = %e, "weft: failed to wake a parked scheduler");
        }
    }
}

impl Backend for PosixBackend {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.events.clear();
        self.poller.wait(&mut self.events, timeout)?;
        for ev in self.events.iter() {
            let Some(s) = self.sources.get_mut(ev.key) else {
                continue;
            };
            if ev.readable {
                s.readable = true;
                let n = s.readers.len();
                s.readers.wake_all();
                self.waiting -= n;
            }
            if ev.writable {
                s.writable = true;
                let n = s.writers.len();
                s.writers.wake_all();
                self.waiting -= n;
            }
        }
        Ok(())
    }

    fn waker(&self) -> Arc<dyn Waker> {
        Arc::new(PollerWaker(self.poller.clone()))
    }

    fn has_pending_io(&self) -> bool {
        self.waiting > 0
    }

    fn park_fd(&mut self) -> Option<std::os::fd::RawFd> {
        // The epoll descriptor: readable when a source or the notifier is.
        Some(std::os::fd::AsRawFd::as_raw_fd(&*self.poller))
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
