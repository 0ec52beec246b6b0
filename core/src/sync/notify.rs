//! `Notify`: wake one waiting fiber, or store one permit for the next,
//! with tokio's meaning. Awaiting `notified()` becomes [`Notify::notified`].

use std::fmt;
use std::panic::Location;

use crate::fiber::task::{cancelled_since_wake, suspend_at};
use crate::sync::short_lock::{ShortGuard, ShortLock};
use crate::sync::wait_queue::WaitQueue;

struct State {
    permit: bool,
    waiters: WaitQueue,
}

/// A notification primitive.
///
/// - [`Notify::notify_one`] wakes the longest-waiting fiber; with nobody
///   waiting it stores one permit (at most one), which the next
///   `notified()` consumes at once.
/// - [`Notify::notify_waiters`] wakes every fiber waiting now and stores
///   nothing.
///
/// ```
/// weft::run(|_env| {
///     let n = weft::sync::Notify::new();
///     n.notify_one(); // stored
///     n.notified();   // returns at once
/// });
/// ```
pub struct Notify {
    state: ShortLock<State>,
}

impl Default for Notify {
    fn default() -> Self {
        Self::new()
    }
}

impl Notify {
    /// A `Notify` with no permit.
    ///
    /// ```
    /// let n = weft::sync::Notify::new();
    /// ```
    pub const fn new() -> Self {
        Notify {
            state: ShortLock::new(State {
                permit: false,
                waiters: WaitQueue::new_const(),
            }),
        }
    }

    fn lock(&self) -> ShortGuard<'_, State> {
        self.state.lock()
    }

    /// Waits for a notification (or consumes the stored permit). A
    /// cancellation point: a cancelled waiter is never counted as
    /// notified, so a `notify_one` meant for it goes to the next waiter.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let n = weft::sync::Notify::new();
    ///     weft::fiber::both(|| n.notified(), || n.notify_one());
    /// });
    /// ```
    #[track_caller]
    pub fn notified(&self) {
        let location = Location::caller();
        let mut st = self.lock();
        if st.permit {
            st.permit = false;
            return;
        }
        let mut key = None;
        let r = suspend_at(
            location,
            crate::console::events::WaitKind::Notify,
            true,
            |resumer| {
                let mut st = st;
                key = Some(st.waiters.push(resumer));
            },
        );
        if let Err(c) = r {
            if let Some(k) = key {
                self.lock().waiters.remove(k);
            }
            c.unwind();
        }
        if let Some(c) = cancelled_since_wake() {
            // Notified, but cancelled before it ran again (a race's
            // loser): the notification passes on, as tokio passes on a
            // `notify_one` whose `Notified` is dropped.
            let mut st = self.lock();
            if !st.waiters.wake_one() {
                st.permit = true;
            }
            drop(st);
            c.unwind();
        }
    }

    /// Wakes the longest-waiting fiber, or stores a permit.
    ///
    /// ```
    /// let n = weft::sync::Notify::new();
    /// n.notify_one();
    /// n.notify_one(); // still one permit
    /// ```
    pub fn notify_one(&self) {
        let mut st = self.lock();
        if !st.waiters.wake_one() {
            st.permit = true;
        }
    }

    /// Wakes the most recent waiter, or stores a permit.
    ///
    /// ```
    /// weft::sync::Notify::new().notify_last();
    /// ```
    pub fn notify_last(&self) {
        let mut st = self.lock();
        if !st.waiters.wake_last() {
            st.permit = true;
        }
    }

    /// Wakes every fiber waiting now; stores no permit.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let n = weft::sync::Notify::new();
    ///     n.notify_waiters(); // nobody waits: nothing stored
    ///     let r = weft::time::timeout(std::time::Duration::from_millis(5), || n.notified());
    ///     assert!(r.is_err());
    /// });
    /// ```
    pub fn notify_waiters(&self) {
        self.lock().waiters.wake_all();
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Notify")
            .field("permit", &st.permit)
            .field("waiters", &st.waiters.len())
            .finish()
    }
}
