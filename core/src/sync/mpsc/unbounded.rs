//! The unbounded channel's halves: [`UnboundedSender`] (whose `send`
//! never waits), [`WeakUnboundedSender`] and [`UnboundedReceiver`].

use std::fmt;

use super::bounded::{Receiver, Sender, WeakSender};
use super::error::{SendError, TryRecvError};

/// The sending half of an unbounded channel. Cloning adds a sender.
pub struct UnboundedSender<T> {
    pub(super) inner: Sender<T>,
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        UnboundedSender {
            inner: self.inner.clone(),
        }
    }
}

/// An unbounded sender that does not keep the channel open.
pub struct WeakUnboundedSender<T> {
    pub(super) inner: WeakSender<T>,
}

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        WeakUnboundedSender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> WeakUnboundedSender<T> {
    /// A real sender, if any other sender still exists.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::unbounded_channel::<u8>();
    /// assert!(tx.downgrade().upgrade().is_some());
    /// ```
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.inner.upgrade().map(|inner| UnboundedSender { inner })
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakUnboundedSender")
    }
}

impl<T> UnboundedSender<T> {
    /// Sends `value` (never waits). Fails if the receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::unbounded_channel();
    /// drop(rx);
    /// assert!(tx.send(1).is_err());
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.inner
            .try_send(value)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Whether the receiver is gone.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::unbounded_channel::<u8>();
    /// assert!(!tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Waits until the receiver is dropped or closed.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, rx) = weft::sync::mpsc::unbounded_channel::<u8>();
    ///     weft::fiber::both(|| tx.closed(), || drop(rx));
    /// });
    /// ```
    #[track_caller]
    pub fn closed(&self) {
        self.inner.closed()
    }

    /// Whether both senders belong to the same channel.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::unbounded_channel::<u8>();
    /// assert!(tx.same_channel(&tx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }

    /// A sender that does not keep the channel open.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::unbounded_channel::<u8>();
    /// let w = tx.downgrade();
    /// drop(tx);
    /// assert!(w.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        WeakUnboundedSender {
            inner: self.inner.downgrade(),
        }
    }

    /// How many (strong) senders exist.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::unbounded_channel::<u8>();
    /// assert_eq!(tx.strong_count(), 1);
    /// ```
    pub fn strong_count(&self) -> usize {
        self.inner.strong_count()
    }

    /// How many weak senders exist.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::unbounded_channel::<u8>();
    /// assert_eq!(tx.weak_count(), 0);
    /// ```
    pub fn weak_count(&self) -> usize {
        self.inner.weak_count()
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnboundedSender")
    }
}

/// The receiving half of an unbounded channel.
pub struct UnboundedReceiver<T> {
    pub(super) inner: Receiver<T>,
}

impl<T> UnboundedReceiver<T> {
    /// Waits for the next message; `None` once every sender is gone and
    /// the buffer is drained. A cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
    ///     tx.send(1).unwrap();
    ///     assert_eq!(rx.recv(), Some(1));
    /// });
    /// ```
    #[track_caller]
    pub fn recv(&mut self) -> Option<T> {
        self.inner.recv()
    }

    /// [`recv`](UnboundedReceiver::recv) for a thread that runs no fiber (a
    /// `std::thread`, a [`weft::blocking`](crate::blocking) closure): it
    /// parks the thread until a value comes or every sender is gone. In a
    /// fiber it is `recv`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
    ///     let consumer = std::thread::spawn(move || {
    ///         let mut sum = 0;
    ///         while let Some(v) = rx.blocking_recv() {
    ///             sum += v;
    ///         }
    ///         sum
    ///     });
    ///     for i in 1..=4 {
    ///         tx.send(i).unwrap();
    ///     }
    ///     drop(tx);
    ///     assert_eq!(consumer.join().unwrap(), 10);
    /// });
    /// ```
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        crate::sync::any_thread::wait_on_any_thread(|| self.recv())
    }

    /// The next message if one is buffered now.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(2));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.inner.try_recv()
    }

    /// Receives up to `limit` messages, waiting for at least one.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
    ///     tx.send(1).unwrap();
    ///     let mut buf = vec![];
    ///     assert_eq!(rx.recv_many(&mut buf, 4), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        self.inner.recv_many(buffer, limit)
    }

    /// Closes the channel for sending.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::mpsc::unbounded_channel::<u8>();
    /// rx.close();
    /// assert!(tx.send(1).is_err());
    /// ```
    pub fn close(&mut self) {
        self.inner.close()
    }

    /// Whether the channel is closed.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::unbounded_channel::<u8>();
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Messages buffered now.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::unbounded_channel();
    /// tx.send(()).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether nothing is buffered.
    ///
    /// ```
    /// let (_tx, rx) = weft::sync::mpsc::unbounded_channel::<u8>();
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnboundedReceiver")
    }
}
