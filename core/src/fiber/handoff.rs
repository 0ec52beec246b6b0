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
//!
//! A third bit, `ON_FUTEX`, set with `SLEEPING`, says where the consumer
//! sleeps: on this word itself (a futex: the scheduler had no I/O in
//! flight, only timers and wake-ups to wait for), or in its I/O backend
//! (an eventfd write wakes it there). A futex wake costs the producer and
//! the woken thread less than an eventfd write that io_uring or epoll has
//! to turn into a wake-up.
//!
//! A fourth bit, `LAZY`, set with `SLEEPING | ON_FUTEX`, says the consumer
//! sleeps with a short timeout of its own (it expects a stream of
//! completions, see `Scheduler::maintain`): a producer pushing with
//! [`Handoff::push_lazy`] then only sets `PENDING` and leaves the consumer
//! to find it when its timeout ends, so a burst of completions costs one
//! wake-up instead of one each. A plain [`Handoff::push`] still wakes it.

use std::time::Duration;

use super::sync_shim::{AtomicU32, Ordering, ShortMutex};

const PENDING: u32 = 1;
const SLEEPING: u32 = 2;
const ON_FUTEX: u32 = 4;
const LAZY: u32 = 8;
const ASLEEP: u32 = SLEEPING | ON_FUTEX | LAZY;

pub(crate) struct Handoff<T> {
    queue: ShortMutex<Vec<T>>,
    state: AtomicU32,
}

/// What a producer must do after queuing an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The consumer is awake: it will see the item.
    Nothing,
    /// The consumer sleeps in its I/O backend: wake the backend.
    Backend,
    /// The consumer sleeps on this handoff's word: [`Handoff::futex_wake`].
    Futex,
}

impl<T> Handoff<T> {
    pub(crate) fn new() -> Self {
        Handoff {
            queue: ShortMutex::new(Vec::new()),
            state: AtomicU32::new(0),
        }
    }

    /// Queues `item` (any thread). Says how to wake the consumer when it
    /// is parked or about to park.
    pub(crate) fn push(&self, item: T) -> Wake {
        self.queue.lock().push(item);
        let previous = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                Some((s | PENDING) & !ASLEEP)
            })
            .unwrap_or_else(|s| s);
        Self::wake_for(previous)
    }

    /// Queues `item` (any thread) for a consumer that need not be woken at
    /// once: one parked lazily (it polls again within its short timeout)
    /// is left asleep; otherwise as [`push`](Self::push).
    pub(crate) fn push_lazy(&self, item: T) -> Wake {
        self.queue.lock().push(item);
        let previous = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                if s & LAZY != 0 {
                    Some(s | PENDING)
                } else {
                    Some((s | PENDING) & !ASLEEP)
                }
            })
            .unwrap_or_else(|s| s);
        if previous & LAZY != 0 {
            return Wake::Nothing;
        }
        Self::wake_for(previous)
    }

    /// What a producer that cleared the sleeping bits must do, from the
    /// word it replaced.
    fn wake_for(previous: u32) -> Wake {
        if previous & SLEEPING == 0 {
            Wake::Nothing
        } else if previous & ON_FUTEX != 0 {
            Wake::Futex
        } else {
            Wake::Backend
        }
    }

    /// Whether work is queued (consumer; one load, for spinning on).
    pub(crate) fn has_pending(&self) -> bool {
        self.state.load(Ordering::Acquire) & PENDING != 0
    }

    /// Takes everything queued (consumer; the loom model's shorthand).
    #[cfg(loom)]
    pub(crate) fn take(&self) -> Vec<T> {
        let mut items = Vec::new();
        self.take_into(&mut items);
        items
    }

    /// Moves everything queued into `spare` (consumer), which must be
    /// empty, and leaves `spare`'s old buffer to the producers in
    /// exchange. A consumer that hands back the same buffer each time
    /// (emptied, its capacity kept) makes the queue allocate nothing in a
    /// steady stream: a taken `Vec` no longer leaves the producers to grow
    /// a fresh one inside the lock, and no buffer is freed on another
    /// thread than the one that allocated it.
    pub(crate) fn take_into(&self, spare: &mut Vec<T>) {
        debug_assert!(spare.is_empty(), "the spare buffer is handed over empty");
        if !self.has_pending() {
            return;
        }
        self.state.fetch_and(!PENDING, Ordering::AcqRel);
        std::mem::swap(&mut *self.queue.lock(), spare);
    }

    /// Announces that the consumer is about to park, on this word
    /// (`on_futex`, then it calls [`futex_wait`](Self::futex_wait)) or in
    /// its backend. Returns `false` when work is pending: do not park,
    /// take it instead. `lazy` (only with `on_futex`): the consumer sleeps
    /// with a short timeout, and [`push_lazy`](Self::push_lazy) leaves it
    /// asleep.
    pub(crate) fn prepare_park(&self, on_futex: bool, lazy: bool) -> bool {
        debug_assert!(on_futex || !lazy, "a lazy park sleeps on the futex");
        let sleeping = match (on_futex, lazy) {
            (true, true) => ASLEEP,
            (true, false) => SLEEPING | ON_FUTEX,
            (false, _) => SLEEPING,
        };
        self.state
            .compare_exchange(0, sleeping, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The consumer is awake again.
    pub(crate) fn unpark(&self) {
        self.state.fetch_and(!ASLEEP, Ordering::AcqRel);
    }

    /// Sleeps (consumer, after `prepare_park(true, lazy)`) until a
    /// producer changes this word and wakes it, or `timeout` passes. May
    /// return early (a signal, a spurious wake-up, a lazy push just before
    /// the sleep): the caller then looks at the queue and its timers as
    /// after any wake-up.
    #[cfg(not(loom))]
    pub(crate) fn futex_wait(&self, timeout: Option<Duration>, lazy: bool) {
        let expected = if lazy { ASLEEP } else { SLEEPING | ON_FUTEX };
        let ts = timeout.map(|d| libc::timespec {
            tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: the word is a live, aligned u32 we borrow for the call;
        // FUTEX_WAIT only reads it (and returns at once if it is no longer
        // `expected`); the timespec outlives the call.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.state.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                ts_ptr,
            );
        }
    }

    /// Wakes the consumer sleeping in [`futex_wait`](Self::futex_wait)
    /// (producer, after `push` returned [`Wake::Futex`]).
    #[cfg(not(loom))]
    pub(crate) fn futex_wake(&self) {
        // SAFETY: FUTEX_WAKE only uses the word's address as a key; the
        // handoff is alive (the caller holds it).
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.state.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
            );
        }
    }

    /// Under loom there is no futex: the model checks the bits only.
    #[cfg(loom)]
    pub(crate) fn futex_wait(&self, _timeout: Option<Duration>, _lazy: bool) {}

    /// Under loom there is no futex: the model checks the bits only.
    #[cfg(loom)]
    pub(crate) fn futex_wake(&self) {}
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Handoff;

    /// The consumer's spare buffer and the queue's trade places, so a
    /// consumer that hands back the same buffer gets it again, with the
    /// next items in it: the queue allocates nothing in a steady stream.
    #[test]
    fn take_into_trades_buffers_with_the_consumer() {
        let handoff = Handoff::new();
        let mut spare: Vec<u32> = Vec::with_capacity(8);
        let reused = spare.as_ptr();
        handoff.push(1);
        handoff.take_into(&mut spare);
        assert_eq!(spare, [1]);
        spare.clear();
        handoff.push(2);
        handoff.push(3);
        handoff.take_into(&mut spare);
        assert_eq!(spare, [2, 3]);
        assert_eq!(spare.as_ptr(), reused, "the first spare came back");
    }

    #[test]
    fn take_into_with_nothing_queued_leaves_the_spare_empty() {
        let handoff = Handoff::<u32>::new();
        let mut spare = Vec::with_capacity(4);
        handoff.take_into(&mut spare);
        assert!(spare.is_empty());
        assert_eq!(spare.capacity(), 4);
    }
}
