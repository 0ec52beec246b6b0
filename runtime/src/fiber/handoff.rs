//! Handing work to a scheduler from other threads without losing a
//! wake-up and without a syscall on the busy path.
//!
//! One atomic word holds two bits: `PENDING` (work is queued) and
//! `SLEEPING` (the consumer parked, or is about to). The consumer may park
//! only by moving the word from "nothing" to `SLEEPING` in one
//! compare-and-swap; a producer sets `PENDING` and clears `SLEEPING` in one
//! read-modify-write and wakes the consumer if `SLEEPING` was set. All
//! updates hit one location, so they are totally ordered: in every
//! interleaving either the consumer sees `PENDING` and does not park, or
//! the producer sees `SLEEPING` and wakes it (Eio's `need_wakeup`).
//! Model-checked with loom (`loom_tests.rs`).

use super::sync_shim::{AtomicUsize, Mutex, Ordering};

const PENDING: usize = 1;
const SLEEPING: usize = 2;

pub(crate) struct Handoff<T> {
    queue: Mutex<Vec<T>>,
    state: AtomicUsize,
}

impl<T> Handoff<T> {
    pub(crate) fn new() -> Self {
        Handoff {
            queue: Mutex::new(Vec::new()),
            state: AtomicUsize::new(0),
        }
    }

    /// Queues `item` (any thread). Returns `true` when the consumer is
    /// parked or about to park: the caller must then wake it.
    pub(crate) fn push(&self, item: T) -> bool {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(item);
        let previous = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                Some((s | PENDING) & !SLEEPING)
            })
            .unwrap_or_else(|s| s);
        previous & SLEEPING != 0
    }

    /// Takes everything queued (consumer).
    pub(crate) fn take(&self) -> Vec<T> {
        if self.state.load(Ordering::Acquire) & PENDING == 0 {
            return Vec::new();
        }
        self.state.fetch_and(!PENDING, Ordering::AcqRel);
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Announces that the consumer is about to park. Returns `false` when
    /// work is pending: do not park, take it instead.
    pub(crate) fn prepare_park(&self) -> bool {
        self.state
            .compare_exchange(0, SLEEPING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The consumer is awake again.
    pub(crate) fn unpark(&self) {
        self.state.fetch_and(!SLEEPING, Ordering::AcqRel);
    }
}
