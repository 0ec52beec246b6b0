//! The bounded channel's halves: [`Sender`], its [`Permit`] and
//! [`WeakSender`], and the [`Receiver`] (which the unbounded channel's
//! receiver wraps).

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use crate::cancel::Cancelled;
use crate::fiber::task::{cancelled_since_wake, suspend_at};

use super::chan::{Chan, Offer};
use super::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};

/// The sending half of a bounded channel. Cloning adds a sender.
pub struct Sender<T> {
    pub(super) chan: Arc<Chan<T>>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.lock().senders += 1;
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut st = self.chan.lock();
        st.senders -= 1;
        if st.senders == 0 {
            // The receiver wakes to see the channel closed.
            st.wake_receiver();
        }
    }
}

impl<T> Sender<T> {
    fn send_inner(
        &self,
        value: T,
        location: &'static Location<'static>,
    ) -> Result<Result<(), SendError<T>>, (T, Cancelled)> {
        let mut st = self.chan.lock();
        if st.rx_closed {
            return Ok(Err(SendError(value)));
        }
        if st.blocked_senders.is_empty() && st.has_room() {
            st.deliver(value);
            return Ok(Ok(()));
        }
        let mut key = None;
        let r = suspend_at(
            location,
            crate::console::events::WaitKind::Send,
            true,
            |resumer| {
                let mut st = st;
                key = Some(st.blocked_senders.push_with(resumer, Offer::Value(value)));
            },
        );
        let key = key.expect("registered before suspending");
        let left = self.chan.lock().blocked_senders.take(key);
        match (r, left) {
            // The receiver took our value.
            (Ok(()), None) => Ok(Ok(())),
            // Woken by close: our value is still ours.
            (Ok(()), Some(Offer::Value(v))) => Ok(Err(SendError(v))),
            (Err(c), Some(Offer::Value(v))) => Err((v, c)),
            (_, _) => unreachable!("a value offer only ever holds a value"),
        }
    }

    /// Sends `value`, suspending while the channel is full. Fails (giving
    /// the value back) if the receiver is gone. A cancellation point: a
    /// cancelled send sends nothing.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, rx) = weft::sync::mpsc::channel::<u8>(1);
    ///     drop(rx);
    ///     assert_eq!(tx.send(1).unwrap_err().0, 1);
    /// });
    /// ```
    #[track_caller]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.send_inner(value, Location::caller()) {
            Ok(r) => r,
            Err((_, c)) => c.unwind(),
        }
    }

    /// [`send`](Sender::send) for a thread that runs no fiber (a
    /// `std::thread`, a [`weft::blocking`](crate::blocking) closure): it
    /// parks the thread while the channel is full. In a fiber it is `send`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, mut rx) = weft::sync::mpsc::channel(1);
    ///     let producer = std::thread::spawn(move || {
    ///         for i in 0..3 {
    ///             tx.blocking_send(i).unwrap();
    ///         }
    ///     });
    ///     let got: Vec<i32> = std::iter::from_fn(|| rx.recv()).collect();
    ///     producer.join().unwrap();
    ///     assert_eq!(got, [0, 1, 2]);
    /// });
    /// ```
    #[track_caller]
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        crate::sync::any_thread::wait_on_any_thread(|| self.send(value))
    }

    /// Sends `value` if there is room now.
    ///
    /// ```
    /// use weft::sync::mpsc::error::TrySendError;
    /// let (tx, _rx) = weft::sync::mpsc::channel(1);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut st = self.chan.lock();
        if st.rx_closed {
            return Err(TrySendError::Closed(value));
        }
        if st.blocked_senders.is_empty() && st.has_room() {
            st.deliver(value);
            Ok(())
        } else {
            Err(TrySendError::Full(value))
        }
    }

    /// Sends `value`, giving up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::sync::mpsc::error::SendTimeoutError;
    /// weft::Runtime::builder().mock_clock(true).build().unwrap().run(|_env| {
    ///     let (tx, _rx) = weft::sync::mpsc::channel(1);
    ///     tx.send(1).unwrap();
    ///     assert_eq!(tx.send_timeout(2, Duration::from_secs(1)), Err(SendTimeoutError::Timeout(2)));
    /// });
    /// ```
    #[track_caller]
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        let location = Location::caller();
        let mut slot = Some(value);
        let r = crate::time::timeout(timeout, || {
            let v = slot.take().expect("sent once");
            match self.send_inner(v, location) {
                Ok(r) => r,
                Err((v, c)) => {
                    slot = Some(v);
                    c.unwind()
                }
            }
        });
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(SendError(v))) => Err(SendTimeoutError::Closed(v)),
            Err(_) => Err(SendTimeoutError::Timeout(
                slot.take().expect("the value came back"),
            )),
        }
    }

    /// Waits for room and reserves one slot: the returned [`Permit`] sends
    /// without waiting. Fails if the receiver is gone.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, mut rx) = weft::sync::mpsc::channel(1);
    ///     let permit = tx.reserve().unwrap();
    ///     permit.send("reserved");
    ///     assert_eq!(rx.recv(), Some("reserved"));
    /// });
    /// ```
    #[track_caller]
    pub fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        let location = Location::caller();
        let mut st = self.chan.lock();
        if st.rx_closed {
            return Err(SendError(()));
        }
        if st.blocked_senders.is_empty() && st.has_room() {
            st.reserved += 1;
            return Ok(Permit { sender: self });
        }
        let mut key = None;
        let r = suspend_at(
            location,
            crate::console::events::WaitKind::Send,
            true,
            |resumer| {
                let mut st = st;
                key = Some(st.blocked_senders.push_with(resumer, Offer::Reserve));
            },
        );
        let key = key.expect("registered before suspending");
        let left = self.chan.lock().blocked_senders.take(key);
        match (r, left) {
            (Ok(()), Some(Offer::Reserved)) => Ok(Permit { sender: self }),
            (Ok(()), _) => Err(SendError(())),
            (Err(c), _) => c.unwind(),
        }
    }

    /// Whether the receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::channel::<()>(1);
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.lock().rx_closed
    }

    /// Waits until the receiver is dropped or closed.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, rx) = weft::sync::mpsc::channel::<()>(1);
    ///     weft::fiber::both(|| tx.closed(), || drop(rx));
    /// });
    /// ```
    #[track_caller]
    pub fn closed(&self) {
        let location = Location::caller();
        let st = self.chan.lock();
        if st.rx_closed {
            return;
        }
        let mut key = None;
        let r = suspend_at(
            location,
            crate::console::events::WaitKind::Closed,
            true,
            |resumer| {
                let mut st = st;
                key = Some(st.closed_watchers.push(resumer));
            },
        );
        if let Err(c) = r {
            if let Some(k) = key {
                self.chan.lock().closed_watchers.remove(k);
            }
            c.unwind();
        }
    }

    /// Free slots now.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::channel::<u8>(4);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        let st = self.chan.lock();
        st.capacity.map_or(usize::MAX, |c| {
            c.saturating_sub(st.queue.len() + st.reserved)
        })
    }

    /// The buffer size the channel was created with.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::channel::<u8>(4);
    /// assert_eq!(tx.max_capacity(), 4);
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.chan.lock().capacity.unwrap_or(usize::MAX)
    }

    /// A sender that does not keep the channel open.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::channel::<u8>(1);
    /// let weak = tx.downgrade();
    /// assert!(weak.upgrade().is_some());
    /// drop(tx);
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        self.chan.lock().weak_senders += 1;
        WeakSender {
            chan: Arc::downgrade(&self.chan),
        }
    }

    /// How many (strong) senders exist.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::channel::<u8>(1);
    /// let _tx2 = tx.clone();
    /// assert_eq!(tx.strong_count(), 2);
    /// ```
    pub fn strong_count(&self) -> usize {
        self.chan.lock().senders
    }

    /// How many weak senders exist.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::channel::<u8>(1);
    /// let _w = tx.downgrade();
    /// assert_eq!(tx.weak_count(), 1);
    /// ```
    pub fn weak_count(&self) -> usize {
        self.chan.lock().weak_senders
    }

    /// Reserves a slot if one is free now (see [`Sender::reserve`]).
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::channel::<u8>(1);
    /// let p = tx.try_reserve().unwrap();
    /// assert!(tx.try_reserve().is_err());
    /// drop(p);
    /// ```
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        let mut st = self.chan.lock();
        if st.rx_closed {
            return Err(TrySendError::Closed(()));
        }
        if st.blocked_senders.is_empty() && st.has_room() {
            st.reserved += 1;
            Ok(Permit { sender: self })
        } else {
            Err(TrySendError::Full(()))
        }
    }

    /// Whether both senders belong to the same channel.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::channel::<u8>(1);
    /// assert!(tx.same_channel(&tx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// A reserved slot in a bounded channel; see [`Sender::reserve`].
#[must_use = "dropping a permit gives its slot back unused"]
pub struct Permit<'a, T> {
    pub(super) sender: &'a Sender<T>,
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the reserved slot (never waits).
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::mpsc::channel(1);
    /// weft::run(|_env| tx.reserve().unwrap().send(1));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn send(self, value: T) {
        let mut st = self.sender.chan.lock();
        // A permit reserved before the receiver closed still delivers.
        st.deliver(value);
        st.reserved -= 1;
        drop(st);
        std::mem::forget(self);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.sender.chan.lock().release_permit();
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Permit")
    }
}

/// A sender that does not keep the channel open; see [`Sender::downgrade`].
pub struct WeakSender<T> {
    pub(super) chan: std::sync::Weak<Chan<T>>,
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        if let Some(chan) = self.chan.upgrade() {
            chan.lock().weak_senders += 1;
        }
        WeakSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        if let Some(chan) = self.chan.upgrade() {
            chan.lock().weak_senders -= 1;
        }
    }
}

impl<T> WeakSender<T> {
    /// A real sender, if any other sender still exists.
    ///
    /// ```
    /// let (tx, _rx) = weft::sync::mpsc::channel::<u8>(1);
    /// assert!(tx.downgrade().upgrade().is_some());
    /// ```
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let chan = self.chan.upgrade()?;
        let mut st = chan.lock();
        if st.senders == 0 {
            return None;
        }
        st.senders += 1;
        drop(st);
        Some(Sender { chan })
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakSender")
    }
}

/// The receiving half of a bounded channel.
pub struct Receiver<T> {
    pub(super) chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Waits for the next message; `None` once every sender is gone and
    /// the buffer is drained. A cancellation point: a cancelled `recv`
    /// takes nothing.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, mut rx) = weft::sync::mpsc::channel(1);
    ///     let (_, v) = weft::fiber::both(move || tx.send(3).unwrap(), || rx.recv());
    ///     assert_eq!(v, Some(3));
    /// });
    /// ```
    #[track_caller]
    pub fn recv(&mut self) -> Option<T> {
        let location = Location::caller();
        loop {
            let mut st = self.chan.lock();
            if let Some(v) = st.queue.pop_front() {
                st.admit_blocked();
                return Some(v);
            }
            if st.finished() {
                return None;
            }
            let r = suspend_at(
                location,
                crate::console::events::WaitKind::Recv,
                true,
                |resumer| {
                    let mut st = st;
                    st.rx_waiter = Some(resumer);
                },
            );
            if let Err(c) = r {
                // A sender that found us cancelled kept its message; our
                // resumer may still be parked in the state.
                self.chan.lock().rx_waiter = None;
                c.unwind()
            }
            // SAFETY: woken with `Ok` by the resumer we parked, and not
            // parked since (`rx_slot`'s protocol).
            let Some(v) = (unsafe { self.chan.rx_slot.take() }) else {
                // Woken with nothing handed over (the last sender left,
                // or the last permit went): look again.
                continue;
            };
            if let Some(c) = cancelled_since_wake() {
                // Cancelled before it could use the message (a race's
                // loser): it goes back to the front of the channel, as if
                // never received.
                self.chan.lock().queue.push_front(v);
                c.unwind();
            }
            return Some(v);
        }
    }

    /// [`recv`](Receiver::recv) for a thread that runs no fiber (a
    /// `std::thread`, a [`weft::blocking`](crate::blocking) closure): it
    /// parks the thread until a value comes or every sender is gone. In a
    /// fiber it is `recv`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, mut rx) = weft::sync::mpsc::channel(2);
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

    /// Receives up to `limit` messages into `buffer`, waiting for at least
    /// one; returns how many (0 only when the channel is closed and empty).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, mut rx) = weft::sync::mpsc::channel(4);
    ///     for i in 0..3 { tx.try_send(i).unwrap() }
    ///     let mut buf = vec![];
    ///     assert_eq!(rx.recv_many(&mut buf, 10), 3);
    ///     assert_eq!(buf, [0, 1, 2]);
    /// });
    /// ```
    #[track_caller]
    pub fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        if limit == 0 {
            return 0;
        }
        let Some(first) = self.recv() else { return 0 };
        buffer.push(first);
        let mut n = 1;
        while n < limit {
            match self.try_recv() {
                Ok(v) => {
                    buffer.push(v);
                    n += 1;
                }
                Err(_) => break,
            }
        }
        n
    }

    /// The next message if one is buffered now.
    ///
    /// ```
    /// use weft::sync::mpsc::error::TryRecvError;
    /// let (tx, mut rx) = weft::sync::mpsc::channel::<u8>(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut st = self.chan.lock();
        if let Some(v) = st.queue.pop_front() {
            st.admit_blocked();
            return Ok(v);
        }
        if st.finished() {
            Err(TryRecvError::Disconnected)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Closes the channel for sending; buffered messages can still be
    /// received.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::mpsc::channel(2);
    /// tx.try_send(1).unwrap();
    /// rx.close();
    /// assert!(tx.try_send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn close(&mut self) {
        self.chan.lock().close_rx();
    }

    /// Whether the channel is closed (receiver closed, or no senders).
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::channel::<u8>(1);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        let st = self.chan.lock();
        st.rx_closed || st.senders == 0
    }

    /// Messages buffered now.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::channel(2);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.lock().queue.len()
    }

    /// Free slots now (as [`Sender::capacity`]).
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::channel(2);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.capacity(), 1);
    /// ```
    pub fn capacity(&self) -> usize {
        let st = self.chan.lock();
        st.capacity.map_or(usize::MAX, |c| {
            c.saturating_sub(st.queue.len() + st.reserved)
        })
    }

    /// The buffer size the channel was created with.
    ///
    /// ```
    /// let (_tx, rx) = weft::sync::mpsc::channel::<u8>(2);
    /// assert_eq!(rx.max_capacity(), 2);
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.chan.lock().capacity.unwrap_or(usize::MAX)
    }

    /// How many (strong) senders exist.
    ///
    /// ```
    /// let (_tx, rx) = weft::sync::mpsc::channel::<u8>(2);
    /// assert_eq!(rx.sender_strong_count(), 1);
    /// ```
    pub fn sender_strong_count(&self) -> usize {
        self.chan.lock().senders
    }

    /// How many weak senders exist.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::channel::<u8>(2);
    /// let _w = tx.downgrade();
    /// assert_eq!(rx.sender_weak_count(), 1);
    /// ```
    pub fn sender_weak_count(&self) -> usize {
        self.chan.lock().weak_senders
    }

    /// Whether nothing is buffered.
    ///
    /// ```
    /// let (_tx, rx) = weft::sync::mpsc::channel::<u8>(2);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut st = self.chan.lock();
        st.close_rx();
        // Drop what was buffered now, as tokio does (outside the lock: a
        // value's destructor may use the channel).
        let buffered = std::mem::take(&mut st.queue);
        drop(st);
        drop(buffered);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}
