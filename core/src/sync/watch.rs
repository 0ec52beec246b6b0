//! A single-value channel with tokio's meaning: receivers see the latest
//! value and can wait for it to change. Every send bumps a version; a
//! receiver remembers the version it last saw.

use std::fmt;
use std::ops::Deref;
use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use crate::fiber::task::{cancelled_since_wake, suspend_at};
use crate::sync::wait_queue::WaitQueue;

pub mod error {
    //! The errors of [`super`] (Display texts as tokio's).

    use std::fmt;

    /// No receiver exists: the value comes back.
    ///
    /// ```
    /// assert_eq!(weft::sync::watch::error::SendError(1).to_string(), "channel closed");
    /// ```
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("SendError { .. }")
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// Every sender is gone.
    ///
    /// ```
    /// assert_eq!(weft::sync::watch::error::RecvError.to_string(), "channel closed");
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
    #[error("channel closed")]
    pub struct RecvError;
}

use error::{RecvError, SendError};

struct Meta {
    version: u64,
    senders: usize,
    receivers: usize,
    changed: WaitQueue,
    receivers_gone: WaitQueue,
}

struct Shared<T> {
    value: RwLock<T>,
    meta: Mutex<Meta>,
}

impl<T> Shared<T> {
    fn meta(&self) -> MutexGuard<'_, Meta> {
        self.meta.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> RwLockReadGuard<'_, T> {
        self.value.read().unwrap_or_else(|p| p.into_inner())
    }
}

/// A watch channel holding `init`.
///
/// ```
/// weft::run(|_env| {
///     let (tx, mut rx) = weft::sync::watch::channel("v1");
///     weft::Switch::run(|sw| {
///         sw.fork(move || { tx.send("v2").unwrap(); });
///         rx.changed().unwrap();
///         assert_eq!(*rx.borrow_and_update(), "v2");
///         Ok(())
///     })
///     .unwrap();
/// });
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        meta: Mutex::new(Meta {
            version: 0,
            senders: 1,
            receivers: 1,
            changed: WaitQueue::new(),
            receivers_gone: WaitQueue::new(),
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, seen: 0 },
    )
}

/// A read guard on the current value. Do not hold it across a call that
/// may suspend the fiber: it is a thread's read lock.
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether the value was new to the receiver that borrowed it.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::watch::channel(0);
    /// tx.send(1).unwrap();
    /// assert!(rx.borrow_and_update().has_changed());
    /// ```
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Publishes values. Cloning adds a sender.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.meta().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut meta = self.shared.meta();
        meta.senders -= 1;
        if meta.senders == 0 {
            meta.changed.wake_all();
        }
    }
}

impl<T> Sender<T> {
    fn publish(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        // The version moves while the value is still locked, so a reader
        // (which takes the value lock, then the meta lock) always sees a
        // version that belongs to the value it holds.
        let mut value = self.shared.value.write().unwrap_or_else(|p| p.into_inner());
        let modified = modify(&mut value);
        if modified {
            self.shared.meta().version += 1;
        }
        drop(value);
        if modified {
            self.shared.meta().changed.wake_all();
        }
        modified
    }

    /// Replaces the value and notifies receivers. Fails (giving the value
    /// back) when there are no receivers.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(0);
    /// assert!(tx.send(1).is_ok());
    /// drop(rx);
    /// assert!(tx.send(2).is_err());
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.meta().receivers == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value even with no receivers; returns the old one.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::watch::channel(1);
    /// assert_eq!(tx.send_replace(2), 1);
    /// ```
    pub fn send_replace(&self, value: T) -> T {
        let mut slot = Some(value);
        let mut old = None;
        self.publish(|v| {
            old = Some(std::mem::replace(v, slot.take().expect("used once")));
            true
        });
        old.expect("set by publish")
    }

    /// Modifies the value in place and notifies receivers.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(vec![1]);
    /// tx.send_modify(|v| v.push(2));
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.publish(|v| {
            modify(v);
            true
        });
    }

    /// Modifies the value; notifies receivers only if `modify` returns
    /// `true`.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(1);
    /// assert!(!tx.send_if_modified(|_| false));
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        self.publish(modify)
    }

    /// The current value.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::watch::channel(3);
    /// assert_eq!(*tx.borrow(), 3);
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.read(),
            has_changed: false,
        }
    }

    /// A new receiver that has seen the current value.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(0);
    /// drop(rx);
    /// let rx = tx.subscribe();
    /// assert_eq!(tx.receiver_count(), 1);
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        let mut meta = self.shared.meta();
        meta.receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: meta.version,
        }
    }

    /// How many senders exist.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::watch::channel(0);
    /// let _tx2 = tx.clone();
    /// assert_eq!(tx.sender_count(), 2);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.shared.meta().senders
    }

    /// How many receivers exist.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::watch::channel(0);
    /// assert_eq!(tx.receiver_count(), 1);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.meta().receivers
    }

    /// Whether every receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(0);
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until every receiver is gone.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, rx) = weft::sync::watch::channel(0);
    ///     weft::fiber::both(|| tx.closed(), || drop(rx));
    /// });
    /// ```
    #[track_caller]
    pub fn closed(&self) {
        let location = Location::caller();
        let meta = self.shared.meta();
        if meta.receivers == 0 {
            return;
        }
        let mut key = None;
        let r = suspend_at(
            location,
            crate::console::events::WaitKind::Closed,
            true,
            |resumer| {
                let mut meta = meta;
                key = Some(meta.receivers_gone.push(resumer));
            },
        );
        if let Err(c) = r {
            if let Some(k) = key {
                self.shared.meta().receivers_gone.remove(k);
            }
            c.unwind();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("watch::Sender")
    }
}

/// Observes the value. Cloning gives a receiver that has seen what this
/// one has seen.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    seen: u64,
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.meta().receivers += 1;
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut meta = self.shared.meta();
        meta.receivers -= 1;
        if meta.receivers == 0 {
            meta.receivers_gone.wake_all();
        }
    }
}

impl<T> Receiver<T> {
    /// The current value, without marking it seen.
    ///
    /// ```
    /// let (_tx, rx) = weft::sync::watch::channel("x");
    /// assert_eq!(*rx.borrow(), "x");
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = self.shared.read();
        let version = self.shared.meta().version;
        Ref {
            guard,
            has_changed: version != self.seen,
        }
    }

    /// The current value, marking it seen.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::watch::channel(0);
    /// tx.send(1).unwrap();
    /// assert_eq!(*rx.borrow_and_update(), 1);
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.read();
        let meta = self.shared.meta();
        let changed = meta.version != self.seen;
        self.seen = meta.version;
        drop(meta);
        Ref {
            guard,
            has_changed: changed,
        }
    }

    /// Whether there is a value this receiver has not seen. Fails when
    /// every sender is gone.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::watch::channel(0);
    /// tx.send(1).unwrap();
    /// assert!(rx.has_changed().unwrap());
    /// drop(tx);
    /// assert!(rx.has_changed().is_err());
    /// ```
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let meta = self.shared.meta();
        if meta.senders == 0 {
            return Err(RecvError);
        }
        Ok(meta.version != self.seen)
    }

    /// Marks the current value as not seen.
    ///
    /// ```
    /// let (_tx, mut rx) = weft::sync::watch::channel(0);
    /// rx.mark_changed();
    /// assert!(rx.has_changed().unwrap());
    /// ```
    pub fn mark_changed(&mut self) {
        self.seen = self.shared.meta().version.wrapping_sub(1);
    }

    /// Marks the current value as seen.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::watch::channel(0);
    /// tx.send(1).unwrap();
    /// rx.mark_unchanged();
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn mark_unchanged(&mut self) {
        self.seen = self.shared.meta().version;
    }

    /// Waits for a value this receiver has not seen, and marks it seen.
    /// Fails when every sender is gone (and nothing new arrived). A
    /// cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, mut rx) = weft::sync::watch::channel(0);
    ///     drop(tx);
    ///     assert!(rx.changed().is_err());
    /// });
    /// ```
    #[track_caller]
    pub fn changed(&mut self) -> Result<(), RecvError> {
        wait_for_version_after(&self.shared, &mut self.seen, Location::caller())
    }

    /// Waits until the value satisfies `pred` (checking the current value
    /// first), marking it seen; returns it.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, mut rx) = weft::sync::watch::channel(0);
    ///     let (v, _) = weft::fiber::both(
    ///         || *rx.wait_for(|v| *v >= 3).unwrap(),
    ///         || for i in 1..=3 { tx.send(i).unwrap(); weft::fiber::yield_now() },
    ///     );
    ///     assert_eq!(v, 3);
    /// });
    /// ```
    #[track_caller]
    pub fn wait_for(&mut self, mut pred: impl FnMut(&T) -> bool) -> Result<Ref<'_, T>, RecvError> {
        let location = Location::caller();
        // Split borrows: the returned guard borrows `shared` only, so the
        // value handed back is the very one `pred` accepted.
        let shared: &Shared<T> = &self.shared;
        let seen = &mut self.seen;
        loop {
            let guard = shared.read();
            let version = shared.meta().version;
            if pred(&guard) {
                let has_changed = version != *seen;
                *seen = version;
                return Ok(Ref { guard, has_changed });
            }
            drop(guard);
            *seen = version;
            wait_for_version_after(shared, seen, location)?;
        }
    }

    /// Whether both receivers watch the same channel.
    ///
    /// ```
    /// let (_tx, rx) = weft::sync::watch::channel(0);
    /// assert!(rx.same_channel(&rx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("seen", &self.seen)
            .finish()
    }
}

/// Waits until the channel's version differs from `*seen`, then records it;
/// fails when every sender is gone first. A cancellation point.
fn wait_for_version_after<T>(
    shared: &Shared<T>,
    seen: &mut u64,
    location: &'static Location<'static>,
) -> Result<(), RecvError> {
    loop {
        let meta = shared.meta();
        if meta.version != *seen {
            *seen = meta.version;
            return Ok(());
        }
        if meta.senders == 0 {
            return Err(RecvError);
        }
        let mut key = None;
        let r = suspend_at(
            location,
            crate::console::events::WaitKind::Recv,
            true,
            |resumer| {
                let mut meta = meta;
                key = Some(meta.changed.push(resumer));
            },
        );
        if let Err(c) = r {
            if let Some(k) = key {
                shared.meta().changed.remove(k);
            }
            c.unwind();
        }
        // Woken by a change, but cancelled before it ran again (a race's
        // loser): the change stays unseen for the next `changed`.
        if let Some(c) = cancelled_since_wake() {
            c.unwind();
        }
    }
}
