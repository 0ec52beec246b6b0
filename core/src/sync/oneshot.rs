//! A one-shot channel with tokio's meaning: one value, sent once. Awaiting
//! the receiver becomes [`Receiver::recv`].

use std::fmt;
use std::panic::Location;
use std::sync::Arc;

use crate::fiber::task::{cancelled_since_wake, suspend_at};
use crate::sync::short_lock::{ShortGuard, ShortLock};
use crate::sync::wait_queue::WaitQueue;

pub mod error {
    //! The errors of [`super`] (Display texts as tokio's).

    /// The sender was dropped without sending.
    ///
    /// ```
    /// assert_eq!(weft::sync::oneshot::error::RecvError.to_string(), "channel closed");
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
    #[error("channel closed")]
    pub struct RecvError;

    /// Why `try_recv` returned nothing.
    ///
    /// ```
    /// use weft::sync::oneshot::error::TryRecvError;
    /// assert_eq!(TryRecvError::Empty.to_string(), "channel empty");
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
    pub enum TryRecvError {
        /// Nothing sent yet.
        #[error("channel empty")]
        Empty,
        /// The sender was dropped without sending.
        #[error("channel closed")]
        Closed,
    }
}

use error::{RecvError, TryRecvError};

struct State<T> {
    value: Option<T>,
    sent: bool,
    tx_dropped: bool,
    rx_closed: bool,
    rx_waiter: WaitQueue,
    close_watchers: WaitQueue,
}

struct Shared<T> {
    state: ShortLock<State<T>>,
}

impl<T> Shared<T> {
    fn lock(&self) -> ShortGuard<'_, State<T>> {
        self.state.lock()
    }
}

/// A channel for one value.
///
/// ```
/// weft::run(|_env| {
///     let (tx, rx) = weft::sync::oneshot::channel();
///     let (_, v) = weft::fiber::both(move || tx.send("done").unwrap(), move || rx.recv());
///     assert_eq!(v, Ok("done"));
/// });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: ShortLock::new(State {
            value: None,
            sent: false,
            tx_dropped: false,
            rx_closed: false,
            rx_waiter: WaitQueue::new(),
            close_watchers: WaitQueue::new(),
        }),
    });
    (
        Sender {
            shared: Some(shared.clone()),
        },
        Receiver { shared },
    )
}

/// Sends the value; consumed by [`Sender::send`].
pub struct Sender<T> {
    /// `None` once sent.
    shared: Option<Arc<Shared<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`; gives it back if the receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(5), Err(5));
    /// ```
    pub fn send(mut self, value: T) -> Result<(), T> {
        let shared = self.shared.take().expect("a sender sends once");
        let mut st = shared.lock();
        if st.rx_closed {
            st.tx_dropped = true;
            return Err(value);
        }
        st.value = Some(value);
        st.sent = true;
        st.rx_waiter.wake_all();
        Ok(())
    }

    /// Whether the receiver is gone (dropped or closed).
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::oneshot::channel::<u8>();
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.as_ref().is_none_or(|s| s.lock().rx_closed)
    }

    /// Waits until the receiver is dropped or closed.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (mut tx, rx) = weft::sync::oneshot::channel::<u8>();
    ///     weft::fiber::both(|| tx.closed(), || drop(rx));
    /// });
    /// ```
    #[track_caller]
    pub fn closed(&mut self) {
        let location = Location::caller();
        let Some(shared) = &self.shared else { return };
        let st = shared.lock();
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
                key = Some(st.close_watchers.push(resumer));
            },
        );
        if let Err(c) = r {
            if let Some(k) = key {
                shared.lock().close_watchers.remove(k);
            }
            c.unwind();
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            let mut st = shared.lock();
            st.tx_dropped = true;
            st.rx_waiter.wake_all();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oneshot::Sender")
    }
}

/// Receives the value.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// Waits for the value (what awaiting the receiver does in tokio).
    /// Fails if the sender was dropped without sending. A cancellation
    /// point: a cancelled `recv` drops the receiver, as dropping tokio's
    /// future does.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, rx) = weft::sync::oneshot::channel::<u8>();
    ///     drop(tx);
    ///     assert!(rx.recv().is_err());
    /// });
    /// ```
    #[track_caller]
    pub fn recv(mut self) -> Result<T, RecvError> {
        self.recv_ref()
    }

    /// [`recv`](Receiver::recv) for a thread that runs no fiber: it parks
    /// the thread until the value comes or the sender is dropped. In a
    /// fiber it is `recv`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let (tx, rx) = weft::sync::oneshot::channel();
    ///     let waiter = std::thread::spawn(move || rx.blocking_recv());
    ///     tx.send("done").unwrap();
    ///     assert_eq!(waiter.join().unwrap(), Ok("done"));
    /// });
    /// ```
    #[track_caller]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        super::any_thread::wait_on_any_thread(|| self.recv())
    }

    /// Waits for the value without giving up the receiver (what awaiting
    /// `&mut rx` does in tokio): if the wait is cancelled, the receiver
    /// and a value sent later are kept.
    ///
    /// ```
    /// use std::time::Duration;
    /// weft::Runtime::builder().mock_clock(true).build().unwrap().run(|_env| {
    ///     let (tx, mut rx) = weft::sync::oneshot::channel();
    ///     assert!(weft::time::timeout(Duration::from_secs(1), || rx.recv_ref()).is_err());
    ///     tx.send(3).unwrap();
    ///     assert_eq!(rx.recv_ref(), Ok(3));
    /// });
    /// ```
    #[track_caller]
    pub fn recv_ref(&mut self) -> Result<T, RecvError> {
        let location = Location::caller();
        loop {
            let mut st = self.shared.lock();
            if let Some(v) = st.value.take() {
                return Ok(v);
            }
            if st.tx_dropped || st.sent || st.rx_closed {
                return Err(RecvError);
            }
            let mut key = None;
            let r = suspend_at(
                location,
                crate::console::events::WaitKind::Recv,
                true,
                |resumer| {
                    let mut st = st;
                    key = Some(st.rx_waiter.push(resumer));
                },
            );
            if let Err(c) = r {
                if let Some(k) = key {
                    self.shared.lock().rx_waiter.remove(k);
                }
                c.unwind();
            }
            // Woken, but cancelled before it ran again (a race's loser):
            // the value stays in the channel for the next receive.
            if let Some(c) = cancelled_since_wake() {
                c.unwind();
            }
        }
    }

    /// The value if it has been sent.
    ///
    /// ```
    /// use weft::sync::oneshot::error::TryRecvError;
    /// let (tx, mut rx) = weft::sync::oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut st = self.shared.lock();
        if let Some(v) = st.value.take() {
            return Ok(v);
        }
        if st.tx_dropped || st.sent || st.rx_closed {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Refuses the value: a later `send` fails. A value already sent can
    /// still be taken with `try_recv`.
    ///
    /// ```
    /// let (tx, mut rx) = weft::sync::oneshot::channel();
    /// rx.close();
    /// assert_eq!(tx.send(1), Err(1));
    /// ```
    pub fn close(&mut self) {
        let mut st = self.shared.lock();
        st.rx_closed = true;
        st.close_watchers.wake_all();
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.rx_closed = true;
        st.close_watchers.wake_all();
        let value = st.value.take();
        drop(st);
        drop(value);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oneshot::Receiver")
    }
}
