//! `Stream`: a bounded, multi-producer multi-consumer queue (Eio's
//! `Stream`). Capacity 0 is a rendezvous: `add` waits until a taker has
//! the item.

use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;

use crate::fiber::task::{cancelled_since_wake, suspend_at};
use crate::sync::short_lock::{ShortGuard, ShortLock};
use crate::sync::wait_queue::WaitQueue;

struct State<T> {
    items: VecDeque<T>,
    capacity: usize,
    /// Takers waiting for an item (an adder hands it to them directly).
    takers: WaitQueue<T>,
    /// Adders waiting for room, each holding the item it offers.
    adders: WaitQueue<T>,
}

/// A bounded queue between fibers, on one thread or across threads.
/// Cloning shares the queue. Items are delivered in FIFO order, and
/// waiting adders and takers are served in FIFO order.
///
/// ```
/// weft::run(|_env| {
///     let s = weft::sync::Stream::new(2);
///     weft::Switch::run(|sw| {
///         sw.fork(|| for i in 0..5 { s.add(i) });
///         let got: Vec<i32> = (0..5).map(|_| s.take()).collect();
///         assert_eq!(got, [0, 1, 2, 3, 4]);
///         Ok(())
///     })
///     .unwrap();
/// });
/// ```
pub struct Stream<T> {
    state: Arc<ShortLock<State<T>>>,
}

impl<T> Clone for Stream<T> {
    fn clone(&self) -> Self {
        Stream {
            state: self.state.clone(),
        }
    }
}

impl<T> Stream<T> {
    /// A stream holding at most `capacity` items (0: rendezvous).
    ///
    /// ```
    /// let s: weft::sync::Stream<u8> = weft::sync::Stream::new(0);
    /// assert_eq!(s.capacity(), 0);
    /// ```
    pub fn new(capacity: usize) -> Self {
        Stream {
            state: Arc::new(ShortLock::new(State {
                items: VecDeque::with_capacity(capacity.min(1024)),
                capacity,
                takers: WaitQueue::new(),
                adders: WaitQueue::new(),
            })),
        }
    }

    fn lock(&self) -> ShortGuard<'_, State<T>> {
        self.state.lock()
    }

    /// Adds `item`, suspending while the stream is full (with capacity 0,
    /// until a taker takes it). A cancellation point: a cancelled `add`
    /// leaves the stream as if it had never been called (the item is
    /// dropped with the unwinding fiber).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::sync::Stream::new(1);
    ///     s.add("a");
    ///     assert_eq!(s.len(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn add(&self, item: T) {
        let location = Location::caller();
        let mut st = self.lock();
        let item = match st.takers.wake_one_with(item) {
            Ok(()) => return,
            Err(item) => item,
        };
        if st.items.len() < st.capacity {
            st.items.push_back(item);
            return;
        }
        let mut key = None;
        let r = suspend_at(
            location,
            crate::console::events::WaitKind::Send,
            true,
            |resumer| {
                let mut st = st;
                key = Some(st.adders.push_with(resumer, item));
            },
        );
        if let Err(c) = r {
            // Still queued: withdraw (our item comes back and is dropped).
            if let Some(k) = key {
                drop(self.lock().adders.remove(k));
            }
            c.unwind();
        }
        // Woken: a taker claimed our item (and removed our node).
    }

    /// Adds `item` if there is room (or a waiting taker) now; gives it
    /// back otherwise.
    ///
    /// ```
    /// let s = weft::sync::Stream::new(1);
    /// assert_eq!(s.try_add(1), Ok(()));
    /// assert_eq!(s.try_add(2), Err(2));
    /// ```
    pub fn try_add(&self, item: T) -> Result<(), T> {
        let mut st = self.lock();
        let item = match st.takers.wake_one_with(item) {
            Ok(()) => return Ok(()),
            Err(item) => item,
        };
        if st.items.len() < st.capacity {
            st.items.push_back(item);
            Ok(())
        } else {
            Err(item)
        }
    }

    /// Takes the oldest item, suspending while the stream is empty. A
    /// cancellation point: a cancelled `take` takes nothing.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::sync::Stream::new(0);
    ///     let (_, v) = weft::fiber::both(|| s.add(9), || s.take());
    ///     assert_eq!(v, 9);
    /// });
    /// ```
    #[track_caller]
    pub fn take(&self) -> T {
        let location = Location::caller();
        let mut st = self.lock();
        if let Some(v) = Self::take_ready(&mut st) {
            return v;
        }
        let mut key = None;
        let r = suspend_at(
            location,
            crate::console::events::WaitKind::Recv,
            true,
            |resumer| {
                let mut st = st;
                key = Some(st.takers.push(resumer));
            },
        );
        let key = key.expect("registered before suspending");
        match r {
            Ok(()) => {
                let mut st = self.lock();
                let v = st.takers.take(key).expect("a taker is woken with its item");
                if let Some(c) = cancelled_since_wake() {
                    // Cancelled before it could use the item (a race's
                    // loser): the item goes back to the front, to the next
                    // taker or the buffer, as if never taken.
                    if let Err(v) = st.takers.wake_one_with(v) {
                        st.items.push_front(v);
                    }
                    drop(st);
                    c.unwind();
                }
                v
            }
            Err(c) => {
                self.lock().takers.remove(key);
                c.unwind()
            }
        }
    }

    /// The next item from the buffer (refilled from a waiting adder) or,
    /// with nothing buffered, straight from a waiting adder.
    fn take_ready(st: &mut State<T>) -> Option<T> {
        if let Some(v) = st.items.pop_front() {
            if let Some(waiting) = st.adders.claim_front_value() {
                st.items.push_back(waiting);
            }
            return Some(v);
        }
        st.adders.claim_front_value()
    }

    /// Takes an item if one is available now.
    ///
    /// ```
    /// let s = weft::sync::Stream::new(1);
    /// assert_eq!(s.take_nonblocking(), None::<u8>);
    /// s.try_add(4).unwrap();
    /// assert_eq!(s.take_nonblocking(), Some(4));
    /// ```
    pub fn take_nonblocking(&self) -> Option<T> {
        Self::take_ready(&mut self.lock())
    }

    /// Items buffered now (not counting adders waiting for room).
    ///
    /// ```
    /// let s = weft::sync::Stream::new(3);
    /// s.try_add(()).unwrap();
    /// assert_eq!(s.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether nothing is buffered.
    ///
    /// ```
    /// assert!(weft::sync::Stream::<u8>::new(3).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity given to [`Stream::new`].
    ///
    /// ```
    /// assert_eq!(weft::sync::Stream::<u8>::new(8).capacity(), 8);
    /// ```
    pub fn capacity(&self) -> usize {
        self.lock().capacity
    }
}

impl<T> fmt::Debug for Stream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Stream")
            .field("len", &st.items.len())
            .field("capacity", &st.capacity)
            .field("waiting_takers", &st.takers.len())
            .field("waiting_adders", &st.adders.len())
            .finish()
    }
}
