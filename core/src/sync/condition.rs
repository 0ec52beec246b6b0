//! `Condition`: wait until another fiber says something changed (Eio's
//! `Condition`), with or without a mutex.

use std::fmt;
use std::panic::Location;

use crate::fiber::task::suspend_at;
use crate::sync::mutex::MutexGuard;
use crate::sync::wait_queue::WaitQueue;

/// A condition variable for fibers. Waiters register *before* the mutex
/// is released, so a `broadcast` made by whoever takes the mutex next is
/// never missed.
///
/// ```
/// weft::run(|_env| {
///     let ready = weft::sync::Mutex::new(false);
///     let changed = weft::sync::Condition::new();
///     weft::Switch::run(|sw| {
///         sw.fork(|| {
///             let mut g = ready.lock();
///             while !*g {
///                 g = changed.await_(g);
///             }
///         });
///         *ready.lock() = true;
///         changed.broadcast();
///         Ok(())
///     })
///     .unwrap();
/// });
/// ```
pub struct Condition {
    waiters: std::sync::Mutex<WaitQueue>,
}

impl Default for Condition {
    fn default() -> Self {
        Self::new()
    }
}

impl Condition {
    /// A condition nobody waits on.
    ///
    /// ```
    /// let c = weft::sync::Condition::new();
    /// c.broadcast(); // nobody to wake
    /// ```
    pub const fn new() -> Self {
        Condition {
            waiters: std::sync::Mutex::new(WaitQueue::new_const()),
        }
    }

    /// Releases the mutex held by `guard`, waits for a [`Condition::broadcast`]
    /// or [`Condition::signal`], then locks the mutex again and returns the
    /// new guard. A cancellation point: a cancelled fiber unwinds without
    /// the lock (its guard was handed to this call, so nothing unlocks it
    /// twice).
    ///
    /// Wake-ups may be spurious from the caller's point of view: re-check
    /// the condition in a loop.
    #[track_caller]
    pub fn await_<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let location = Location::caller();
        let mutex = guard.mutex();
        let mut key = None;
        let waiters = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        let r = suspend_at(
            location,
            crate::console::events::WaitKind::Condition,
            true,
            |resumer| {
                let mut waiters = waiters;
                key = Some(waiters.push(resumer));
                drop(waiters);
                guard.unlock_and_forget();
            },
        );
        match r {
            Ok(()) => mutex.lock(),
            Err(c) => {
                if let Some(k) = key {
                    self.waiters
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(k);
                }
                c.unwind()
            }
        }
    }

    /// Waits for the next broadcast or signal, with no mutex involved.
    /// A cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let c = weft::sync::Condition::new();
    ///     weft::fiber::both(|| c.await_no_mutex(), || c.broadcast());
    /// });
    /// ```
    #[track_caller]
    pub fn await_no_mutex(&self) {
        let location = Location::caller();
        let waiters = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        let mut key = None;
        let r = suspend_at(
            location,
            crate::console::events::WaitKind::Condition,
            true,
            |resumer| {
                let mut waiters = waiters;
                key = Some(waiters.push(resumer));
            },
        );
        if let Err(c) = r {
            if let Some(k) = key {
                self.waiters
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(k);
            }
            c.unwind();
        }
    }

    /// Wakes every waiting fiber.
    ///
    /// ```
    /// weft::sync::Condition::new().broadcast();
    /// ```
    pub fn broadcast(&self) {
        self.waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .wake_all();
    }

    /// Wakes the longest-waiting fiber, if any.
    ///
    /// ```
    /// weft::sync::Condition::new().signal();
    /// ```
    pub fn signal(&self) {
        self.waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .wake_one();
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.waiters.lock().unwrap_or_else(|p| p.into_inner()).len();
        f.debug_struct("Condition").field("waiters", &n).finish()
    }
}
