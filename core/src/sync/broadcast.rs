//! A multi-producer, multi-consumer broadcast channel with tokio's
//! meaning: every receiver sees every value sent after it subscribed; a
//! receiver that falls more than `capacity` values behind is told how
//! many it missed (`Lagged`) and continues from the oldest one kept.
//!
//! As in tokio, the capacity is rounded up to a power of two, and a value
//! is kept until every receiver that existed when it was sent has received
//! it (or dropped out), or until newer values push it out. The last
//! receiver to take a value gets the original rather than a clone.

use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard};

use slab::Slab;

use crate::fiber::task::{cancelled_since_wake, suspend_at};
use crate::sync::wait_queue::WaitQueue;

pub mod error {
    //! The errors of [`super`] (Display texts as tokio's).

    use std::fmt;

    /// No receiver is subscribed: the value comes back.
    ///
    /// ```
    /// assert_eq!(weft::sync::broadcast::error::SendError(1).to_string(), "channel closed");
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

    /// Why `recv` returned no value.
    ///
    /// ```
    /// use weft::sync::broadcast::error::RecvError;
    /// assert_eq!(RecvError::Lagged(3).to_string(), "channel lagged by 3");
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
    pub enum RecvError {
        /// Every sender is gone and everything was received.
        #[error("channel closed")]
        Closed,
        /// This receiver missed this many values (overwritten).
        #[error("channel lagged by {0}")]
        Lagged(u64),
    }

    /// Why `try_recv` returned no value.
    ///
    /// ```
    /// use weft::sync::broadcast::error::TryRecvError;
    /// assert_eq!(TryRecvError::Empty.to_string(), "channel empty");
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
    pub enum TryRecvError {
        /// Nothing new now.
        #[error("channel empty")]
        Empty,
        /// Every sender is gone and everything was received.
        #[error("channel closed")]
        Closed,
        /// This receiver missed this many values.
        #[error("channel lagged by {0}")]
        Lagged(u64),
    }
}

use error::{RecvError, SendError, TryRecvError};

/// One value and how many receivers have still to take it.
struct Slot<T> {
    value: Option<T>,
    remaining: usize,
}

struct State<T> {
    /// Values kept, the oldest at the front; its position is `head`. Every
    /// slot holds a value: taken slots form a prefix and are popped at once
    /// (receivers read in order, so a slot can only be fully taken after
    /// every older one).
    values: VecDeque<Slot<T>>,
    head: u64,
    capacity: usize,
    senders: usize,
    /// Each receiver's next position.
    receivers: Slab<u64>,
    waiting: WaitQueue,
    /// Fibers in `Sender::closed`, woken when the last receiver goes.
    receivers_gone: WaitQueue,
}

impl<T> State<T> {
    fn tail(&self) -> u64 {
        self.head + self.values.len() as u64
    }

    /// Pops the values every receiver has taken.
    fn pop_taken(&mut self) {
        while self.values.front().is_some_and(|s| s.value.is_none()) {
            self.values.pop_front();
            self.head += 1;
        }
    }

    /// One receiver at `pos` will not take the values from `pos` on; returns
    /// those nobody needs any more, to be dropped outside the lock.
    fn release_from(&mut self, pos: u64) -> Vec<T> {
        let start = pos.saturating_sub(self.head) as usize;
        let mut unneeded = Vec::new();
        for slot in self.values.iter_mut().skip(start) {
            slot.remaining -= 1;
            if slot.remaining == 0 {
                unneeded.extend(slot.value.take());
            }
        }
        self.pop_taken();
        unneeded
    }
}

struct Shared<T> {
    state: Mutex<State<T>>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A broadcast channel keeping the last `capacity` values (rounded up to a
/// power of two, as tokio does).
///
/// ```
/// weft::run(|_env| {
///     let (tx, mut a) = weft::sync::broadcast::channel(4);
///     let mut b = tx.subscribe();
///     tx.send("hi").unwrap();
///     assert_eq!(a.recv(), Ok("hi"));
///     assert_eq!(b.recv(), Ok("hi"));
/// });
/// ```
///
/// # Panics
///
/// When `capacity` is zero or above `usize::MAX / 2`.
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast channel capacity cannot be zero");
    assert!(
        capacity <= usize::MAX >> 1,
        "broadcast channel capacity exceeded `usize::MAX / 2`"
    );
    let capacity = capacity.next_power_of_two();
    let mut receivers = Slab::new();
    let slot = receivers.insert(0);
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            values: VecDeque::with_capacity(capacity.min(1024)),
            head: 0,
            capacity,
            senders: 1,
            receivers,
            waiting: WaitQueue::new(),
            receivers_gone: WaitQueue::new(),
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, slot },
    )
}

/// Sends to every receiver. Cloning adds a sender.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.senders -= 1;
        if st.senders == 0 {
            st.waiting.wake_all();
        }
    }
}

impl<T> Sender<T> {
    /// Sends `value` to every current receiver (never waits); returns how
    /// many there are. Fails when there are none.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::broadcast::channel(2);
    /// assert_eq!(tx.send(1), Ok(1));
    /// drop(rx);
    /// assert!(tx.send(2).is_err());
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut st = self.shared.lock();
        if st.receivers.is_empty() {
            return Err(SendError(value));
        }
        let n = st.receivers.len();
        let pushed_out = if st.values.len() == st.capacity {
            st.head += 1;
            st.values.pop_front()
        } else {
            None
        };
        st.values.push_back(Slot {
            value: Some(value),
            remaining: n,
        });
        st.waiting.wake_all();
        drop(st);
        drop(pushed_out);
        Ok(n)
    }

    /// A new receiver that sees values sent from now on.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::broadcast::channel::<u8>(2);
    /// let _late = tx.subscribe();
    /// assert_eq!(tx.receiver_count(), 2);
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        let mut st = self.shared.lock();
        let tail = st.tail();
        let slot = st.receivers.insert(tail);
        Receiver {
            shared: self.shared.clone(),
            slot,
        }
    }

    /// How many receivers exist.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::broadcast::channel::<u8>(2);
    /// drop(rx);
    /// assert_eq!(tx.receiver_count(), 0);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.lock().receivers.len()
    }

    /// Values not yet received by every receiver.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.lock().values.len()
    }

    /// Waits until every receiver is gone.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, rx) = weft::sync::broadcast::channel::<u8>(1);
    ///     weft::fiber::both(|| tx.closed(), || drop(rx));
    /// });
    /// ```
    #[track_caller]
    pub fn closed(&self) {
        let location = Location::caller();
        let st = self.shared.lock();
        if st.receivers.is_empty() {
            return;
        }
        let mut key = None;
        let r = suspend_at(
            location,
            crate::console::events::WaitKind::Recv,
            true,
            |resumer| {
                let mut st = st;
                key = Some(st.receivers_gone.push(resumer));
            },
        );
        if let Err(c) = r {
            if let Some(k) = key {
                self.shared.lock().receivers_gone.remove(k);
            }
            c.unwind();
        }
    }

    /// A sender that does not keep the channel open.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::broadcast::channel::<u8>(1);
    /// let w = tx.downgrade();
    /// assert!(w.upgrade().is_some());
    /// drop(tx);
    /// assert!(w.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            shared: Arc::downgrade(&self.shared),
        }
    }

    /// Whether every receiver has received everything.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::broadcast::channel::<u8>(4);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcast::Sender")
    }
}

/// A sender that does not keep the channel open; see [`Sender::downgrade`].
pub struct WeakSender<T> {
    shared: std::sync::Weak<Shared<T>>,
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> WeakSender<T> {
    /// A real sender, if any other sender still exists.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::broadcast::channel::<u8>(1);
    /// assert!(tx.downgrade().upgrade().is_some());
    /// ```
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let shared = self.shared.upgrade()?;
        let mut st = shared.lock();
        if st.senders == 0 {
            return None;
        }
        st.senders += 1;
        drop(st);
        Some(Sender { shared })
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcast::WeakSender")
    }
}

/// Receives every value sent after it subscribed.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    slot: usize,
}

impl<T: Clone> Receiver<T> {
    fn try_next(&self, st: &mut State<T>) -> Result<T, TryRecvError> {
        let pos = st.receivers[self.slot];
        if pos < st.head {
            st.receivers[self.slot] = st.head;
            return Err(TryRecvError::Lagged(st.head - pos));
        }
        if pos < st.tail() {
            st.receivers[self.slot] = pos + 1;
            let slot = &mut st.values[(pos - st.head) as usize];
            slot.remaining -= 1;
            let value = if slot.remaining == 0 {
                let taken = slot.value.take();
                st.pop_taken();
                taken
            } else {
                slot.value.clone()
            };
            return Ok(value.expect("a slot in the buffer holds its value"));
        }
        if st.senders == 0 {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Waits for the next value. A cancellation point (a cancelled `recv`
    /// consumes nothing).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, mut rx) = weft::sync::broadcast::channel(1);
    ///     let (v, _) = weft::fiber::both(|| rx.recv(), || { tx.send(7).unwrap(); });
    ///     assert_eq!(v, Ok(7));
    /// });
    /// ```
    #[track_caller]
    pub fn recv(&mut self) -> Result<T, RecvError> {
        let location = Location::caller();
        loop {
            let mut st = self.shared.lock();
            match self.try_next(&mut st) {
                Ok(v) => return Ok(v),
                Err(TryRecvError::Lagged(n)) => return Err(RecvError::Lagged(n)),
                Err(TryRecvError::Closed) => return Err(RecvError::Closed),
                Err(TryRecvError::Empty) => {}
            }
            let mut key = None;
            let r = suspend_at(
                location,
                crate::console::events::WaitKind::Recv,
                true,
                |resumer| {
                    let mut st = st;
                    key = Some(st.waiting.push(resumer));
                },
            );
            if let Err(c) = r {
                if let Some(k) = key {
                    self.shared.lock().waiting.remove(k);
                }
                c.unwind();
            }
            // Woken, but cancelled before it ran again (a race's loser):
            // it receives nothing, so the value stays for the next recv.
            if let Some(c) = cancelled_since_wake() {
                c.unwind();
            }
        }
    }

    /// [`recv`](Receiver::recv) for a thread that runs no fiber: it parks
    /// the thread until a value comes (or the channel closes, or this
    /// receiver lagged). In a fiber it is `recv`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, mut rx) = weft::sync::broadcast::channel(4);
    ///     let listener = std::thread::spawn(move || rx.blocking_recv());
    ///     // Sent after the receiver subscribed, so it is seen even if the
    ///     // thread starts waiting later.
    ///     tx.send(7).unwrap();
    ///     assert_eq!(listener.join().unwrap(), Ok(7));
    /// });
    /// ```
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        super::any_thread::wait_on_any_thread(|| self.recv())
    }

    /// The next value if there is one now.
    ///
    /// ```
    /// use weft::sync::broadcast::error::TryRecvError;
    /// let (tx, mut rx) = weft::sync::broadcast::channel(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut st = self.shared.lock();
        self.try_next(&mut st)
    }

    /// A new receiver starting from now (not from where this one is).
    ///
    /// ```
    /// let (tx, rx) = weft::sync::broadcast::channel::<u8>(2);
    /// let _again = rx.resubscribe();
    /// assert_eq!(tx.receiver_count(), 2);
    /// ```
    pub fn resubscribe(&self) -> Self {
        let mut st = self.shared.lock();
        let tail = st.tail();
        let slot = st.receivers.insert(tail);
        Receiver {
            shared: self.shared.clone(),
            slot,
        }
    }

    /// Values sent since this receiver's position, including any it has
    /// lagged behind on (as tokio counts them).
    ///
    /// ```
    /// let (tx, rx) = weft::sync::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        let st = self.shared.lock();
        (st.tail() - st.receivers[self.slot]) as usize
    }

    /// Whether every sender is gone.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::broadcast::channel::<u8>(1);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.lock().senders == 0
    }

    /// Whether this receiver is up to date.
    ///
    /// ```
    /// let (_tx, rx) = weft::sync::broadcast::channel::<u8>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        let Some(pos) = st.receivers.try_remove(self.slot) else {
            return;
        };
        let unneeded = st.release_from(pos);
        if st.receivers.is_empty() {
            st.receivers_gone.wake_all();
        }
        drop(st);
        drop(unneeded);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcast::Receiver")
    }
}
