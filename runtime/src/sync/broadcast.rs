//! A multi-producer, multi-consumer broadcast channel with tokio's
//! meaning: every receiver sees every value sent after it subscribed; a
//! receiver that falls more than `capacity` values behind is told how
//! many it missed (`Lagged`) and continues from the oldest one kept.

use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard};

use slab::Slab;

use crate::fiber::task::suspend_at;
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

struct State<T> {
    /// Values kept, the oldest at the front; its position is `head`.
    values: VecDeque<T>,
    head: u64,
    capacity: usize,
    senders: usize,
    /// Each receiver's next position.
    receivers: Slab<u64>,
    waiting: WaitQueue,
}

impl<T> State<T> {
    fn tail(&self) -> u64 {
        self.head + self.values.len() as u64
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

/// A broadcast channel keeping the last `capacity` values.
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
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast channel capacity cannot be zero");
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
        let dropped = if st.values.len() == st.capacity {
            st.head += 1;
            st.values.pop_front()
        } else {
            None
        };
        st.values.push_back(value);
        st.waiting.wake_all();
        let n = st.receivers.len();
        drop(st);
        drop(dropped);
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
        let st = self.shared.lock();
        let oldest = st
            .receivers
            .iter()
            .map(|(_, p)| *p)
            .min()
            .unwrap_or(st.tail());
        (st.tail() - oldest.max(st.head)) as usize
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
            let v = st.values[(pos - st.head) as usize].clone();
            st.receivers[self.slot] = pos + 1;
            return Ok(v);
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
            let r = suspend_at(location, true, |resumer| {
                let mut st = st;
                key = Some(st.waiting.push(resumer));
            });
            if let Err(c) = r {
                if let Some(k) = key {
                    self.shared.lock().waiting.remove(k);
                }
                c.unwind();
            }
        }
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

    /// Values this receiver has not received yet.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        let st = self.shared.lock();
        (st.tail() - st.receivers[self.slot].max(st.head)) as usize
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
        self.shared.lock().receivers.try_remove(self.slot);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcast::Receiver")
    }
}
