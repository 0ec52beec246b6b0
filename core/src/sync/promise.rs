//! A write-once value that fibers (on any thread) can wait for.

use std::fmt;
use std::sync::Arc;

use crate::cancel::Cancelled;
use crate::fiber;
use crate::fiber::Resumer;
use crate::sync::short_lock::ShortLock;
use crate::sync::wait_queue::{WaitKey, WaitQueue};
use crate::sync::write_once::WriteOnce;

struct Shared<T> {
    /// Written only by the one `Resolver`, in `resolve`.
    value: WriteOnce<T>,
    waiters: ShortLock<Waiters>,
}

/// The fibers waiting for a promise. The common case, one waiter, is
/// stored inline: no allocation per promise. Further waiters queue behind
/// it (the inline slot is only used while the queue is empty, so wake-ups
/// stay in arrival order).
struct Waiters {
    first: Option<(u64, Resumer)>,
    /// Waiters after the first, boxed only when there are some: the
    /// promise's block stays small, so making one is a few stores rather
    /// than a copy of an empty queue.
    rest: Option<Box<WaitQueue>>,
    next_seq: u64,
}

/// A registration in [`Waiters`], for withdrawal after a cancelled wait.
#[derive(Clone, Copy)]
enum Key {
    First(u64),
    Rest(WaitKey),
}

impl Waiters {
    fn push(&mut self, r: Resumer) -> Key {
        if self.first.is_none() && self.rest.as_ref().is_none_or(|q| q.is_empty()) {
            let seq = self.next_seq;
            self.next_seq += 1;
            self.first = Some((seq, r));
            Key::First(seq)
        } else {
            Key::Rest(self.rest.get_or_insert_with(Box::default).push(r))
        }
    }

    fn remove(&mut self, key: Key) {
        match key {
            Key::First(seq) => {
                if self.first.as_ref().is_some_and(|(s, _)| *s == seq) {
                    self.first = None;
                }
            }
            Key::Rest(k) => {
                if let Some(rest) = &mut self.rest {
                    rest.remove(k);
                }
            }
        }
    }

    fn wake_all(&mut self) {
        if let Some((_, r)) = self.first.take() {
            r.resume();
        }
        if let Some(rest) = &mut self.rest {
            rest.wake_all();
        }
    }
}

/// The reading side of a write-once value: [`Promise::await_`] suspends
/// the fiber until a [`Resolver`] supplies the value. Cloning shares it.
///
/// ```
/// weft::run(|_env| {
///     let (promise, resolver) = weft::Promise::new();
///     weft::Switch::run(|sw| {
///         sw.fork(|| assert_eq!(*promise.await_(), 42));
///         resolver.resolve(42);
///         Ok(())
///     })
///     .unwrap();
/// });
/// ```
pub struct Promise<T> {
    shared: Arc<Shared<T>>,
}

/// The writing side of a [`Promise`]; resolving consumes it.
///
/// Dropping a resolver without resolving leaves the promise unresolved
/// (waiters keep waiting until cancelled), as in Eio.
pub struct Resolver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Promise<T> {
    fn clone(&self) -> Self {
        Promise {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Promise<T> {
    /// A new unresolved promise and its resolver.
    ///
    /// ```
    /// let (p, r) = weft::Promise::<u8>::new();
    /// assert!(!p.is_resolved());
    /// r.resolve(1);
    /// assert_eq!(p.peek(), Some(&1));
    /// ```
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> (Promise<T>, Resolver<T>) {
        let shared = Arc::new(Shared {
            value: WriteOnce::new(),
            waiters: ShortLock::new(Waiters {
                first: None,
                rest: None,
                next_seq: 0,
            }),
        });
        (
            Promise {
                shared: shared.clone(),
            },
            Resolver { shared },
        )
    }

    /// An already-resolved promise.
    ///
    /// ```
    /// let p = weft::Promise::resolved("ready");
    /// assert_eq!(p.peek(), Some(&"ready"));
    /// ```
    pub fn resolved(value: T) -> Promise<T> {
        let (p, r) = Promise::new();
        r.resolve(value);
        p
    }

    /// Waits for the value. A cancellation point: a cancelled fiber unwinds.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let p = weft::Promise::resolved(String::from("hi"));
    ///     assert_eq!(p.await_(), "hi");
    /// });
    /// ```
    #[track_caller]
    pub fn await_(&self) -> &T {
        match self.try_await() {
            Ok(v) => v,
            Err(c) => c.unwind(),
        }
    }

    /// Like [`Promise::await_`], returning the cancellation as an error
    /// instead of unwinding.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let p = weft::Promise::resolved(1);
    ///     assert_eq!(p.try_await(), Ok(&1));
    /// });
    /// ```
    #[track_caller]
    pub fn try_await(&self) -> Result<&T, Cancelled> {
        if let Some(v) = self.shared.value.get() {
            return Ok(v);
        }
        let location = std::panic::Location::caller();
        let waiters = self.shared.waiters.lock();
        if let Some(v) = self.shared.value.get() {
            return Ok(v);
        }
        let mut key = None;
        let result = fiber::task::suspend_at(
            location,
            crate::console::events::WaitKind::Promise,
            true,
            |r| {
                let mut waiters = waiters;
                key = Some(waiters.push(r));
            },
        );
        match result {
            Ok(()) => {
                // Woken, but cancelled before running again: the value
                // stays in the promise, so report the cancellation.
                if !std::thread::panicking() {
                    fiber::try_check()?;
                }
                Ok(self
                    .shared
                    .value
                    .get()
                    .expect("a promise waiter is only woken after the value is set"))
            }
            Err(c) => {
                if let Some(key) = key {
                    self.shared.waiters.lock().remove(key);
                }
                Err(c)
            }
        }
    }

    /// The value, if resolved, without waiting.
    ///
    /// ```
    /// let (p, _r) = weft::Promise::<i32>::new();
    /// assert_eq!(p.peek(), None);
    /// ```
    pub fn peek(&self) -> Option<&T> {
        self.shared.value.get()
    }

    /// Whether the value is there.
    ///
    /// ```
    /// assert!(weft::Promise::resolved(()).is_resolved());
    /// ```
    pub fn is_resolved(&self) -> bool {
        self.shared.value.get().is_some()
    }
}

impl<T> Resolver<T> {
    /// Supplies the value and wakes every waiter (on any thread).
    ///
    /// ```
    /// let (p, r) = weft::Promise::new();
    /// r.resolve(vec![1, 2]);
    /// assert_eq!(p.peek().unwrap().len(), 2);
    /// ```
    pub fn resolve(self, value: T) {
        // SAFETY: a promise has one `Resolver` (made by `new`, not `Clone`),
        // and `resolve` consumes it: this is the slot's only write.
        unsafe { self.shared.value.set(value) };
        self.shared.waiters.lock().wake_all();
    }
}

impl<T: fmt::Debug> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.peek() {
            Some(v) => f.debug_tuple("Promise").field(v).finish(),
            None => f.write_str("Promise(<unresolved>)"),
        }
    }
}

impl<T> fmt::Debug for Resolver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Resolver")
    }
}
