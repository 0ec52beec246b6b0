//! `Semaphore`: counting permits, with tokio's API and meaning (FIFO: a
//! large request at the head of the queue blocks smaller ones behind it).

use std::fmt;
use std::panic::Location;
use std::sync::Arc;

use crate::fiber::task::{cancelled_since_wake, suspend_at};
use crate::sync::short_lock::{ShortGuard, ShortLock};
use crate::sync::wait_queue::WaitQueue;

struct State {
    permits: usize,
    closed: bool,
    /// Waiters and where their request stands.
    waiters: WaitQueue<Request>,
}

/// A waiter's request: what it wants until a waker decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Request {
    Want(usize),
    Granted,
    Closed,
}

/// A semaphore for fibers (on one thread or several).
///
/// ```
/// weft::run(|_env| {
///     let sem = weft::sync::Semaphore::new(2);
///     let busy = std::cell::Cell::new(0);
///     let peak = std::cell::Cell::new(0);
///     weft::fiber::all((0..6).map(|_| || {
///         let _permit = sem.acquire().unwrap();
///         busy.set(busy.get() + 1);
///         peak.set(peak.get().max(busy.get()));
///         weft::fiber::yield_now();
///         busy.set(busy.get() - 1);
///     }));
///     assert_eq!(peak.get(), 2);
/// });
/// ```
pub struct Semaphore {
    state: ShortLock<State>,
}

/// The semaphore was closed while (or before) waiting.
///
/// ```
/// assert_eq!(weft::sync::AcquireError.to_string(), "semaphore closed");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("semaphore closed")]
pub struct AcquireError;

/// Why [`Semaphore::try_acquire`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    #[error("semaphore closed")]
    Closed,
    /// Not enough permits now.
    #[error("no permits available")]
    NoPermits,
}

impl Semaphore {
    /// The most permits a semaphore can hold (as tokio's).
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` permits. A `const fn`, so a semaphore can
    /// be a `static` (what tokio calls `Semaphore::const_new`).
    ///
    /// ```
    /// use weft::sync::Semaphore;
    /// static LIMIT: Semaphore = Semaphore::new(3);
    /// assert_eq!(LIMIT.available_permits(), 3);
    /// weft::run(|_env| {
    ///     let _permit = LIMIT.acquire().unwrap();
    ///     assert_eq!(LIMIT.available_permits(), 2);
    /// });
    /// ```
    pub const fn new(permits: usize) -> Self {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore holds at most MAX_PERMITS permits"
        );
        Semaphore {
            state: ShortLock::new(State {
                permits,
                closed: false,
                waiters: WaitQueue::new_const(),
            }),
        }
    }

    fn lock(&self) -> ShortGuard<'_, State> {
        self.state.lock()
    }

    /// Grants permits to waiters at the front while there are enough.
    fn grant(st: &mut State) {
        while let Some(front) = st.waiters.front_mut() {
            let Request::Want(wanted) = *front else {
                unreachable!("queued requests are Want until woken")
            };
            if wanted > st.permits {
                return;
            }
            *front = Request::Granted;
            // If the waiter was cancelled at the last moment, it takes
            // nothing and we look at the next one.
            if st.waiters.wake_front() {
                st.permits -= wanted;
            }
        }
    }

    #[track_caller]
    fn acquire_inner(
        &self,
        n: usize,
        location: &'static Location<'static>,
    ) -> Result<(), AcquireError> {
        let mut st = self.lock();
        if st.closed {
            return Err(AcquireError);
        }
        if st.waiters.is_empty() && st.permits >= n {
            st.permits -= n;
            return Ok(());
        }
        let mut key = None;
        let r = suspend_at(
            location,
            crate::console::events::WaitKind::Semaphore,
            true,
            |resumer| {
                let mut st = st;
                key = Some(st.waiters.push_with(resumer, Request::Want(n)));
            },
        );
        let key = key.expect("registered before suspending");
        let mut st = self.lock();
        let request = st.waiters.take(key);
        match r {
            // Woken by `grant` (permits taken for us) or by `close`.
            Ok(()) if request == Some(Request::Granted) => {
                if let Some(c) = cancelled_since_wake() {
                    // Granted, but cancelled before it ran again (a race's
                    // loser): the permits go back, to the next waiter.
                    st.permits += n;
                    Self::grant(&mut st);
                    drop(st);
                    c.unwind();
                }
                Ok(())
            }
            Ok(()) => Err(AcquireError),
            Err(c) => {
                // Our place may have held back smaller requests behind us.
                Self::grant(&mut st);
                drop(st);
                c.unwind()
            }
        }
    }

    /// Waits for one permit. A cancellation point. Fails only when the
    /// semaphore is closed.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::sync::Semaphore::new(1);
    ///     let p = s.acquire().unwrap();
    ///     assert_eq!(s.available_permits(), 0);
    ///     drop(p);
    ///     assert_eq!(s.available_permits(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits at once (FIFO with other waiters).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let s = weft::sync::Semaphore::new(5);
    ///     let p = s.acquire_many(3).unwrap();
    ///     assert_eq!(p.num_permits(), 3);
    /// });
    /// ```
    #[track_caller]
    pub fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_inner(n as usize, Location::caller())?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n as usize,
        })
    }

    /// Takes one permit if one is free now (and nobody is queued).
    ///
    /// ```
    /// let s = weft::sync::Semaphore::new(0);
    /// assert_eq!(s.try_acquire().unwrap_err(), weft::sync::TryAcquireError::NoPermits);
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free now (and nobody is queued).
    ///
    /// ```
    /// let s = weft::sync::Semaphore::new(2);
    /// assert!(s.try_acquire_many(2).is_ok());
    /// ```
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let mut st = self.lock();
        if st.closed {
            return Err(TryAcquireError::Closed);
        }
        if st.waiters.is_empty() && st.permits >= n as usize {
            st.permits -= n as usize;
            Ok(SemaphorePermit {
                sem: self,
                permits: n as usize,
            })
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }

    /// Like [`Semaphore::acquire`], returning a permit that owns an `Arc`
    /// of the semaphore.
    ///
    /// ```
    /// use std::sync::Arc;
    /// weft::run(|_env| {
    ///     let s = Arc::new(weft::sync::Semaphore::new(1));
    ///     let p = s.clone().acquire_owned().unwrap();
    ///     drop(p);
    ///     assert_eq!(s.available_permits(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_inner(1, Location::caller())?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: 1,
        })
    }

    /// [`acquire_many`](Semaphore::acquire_many) through an `Arc`, for a
    /// permit that owns its semaphore (tokio's `acquire_many_owned`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// weft::run(|_env| {
    ///     let sem = Arc::new(weft::sync::Semaphore::new(3));
    ///     let permit = sem.clone().acquire_many_owned(2).unwrap();
    ///     assert_eq!(sem.available_permits(), 1);
    ///     drop(permit);
    ///     assert_eq!(sem.available_permits(), 3);
    /// });
    /// ```
    #[track_caller]
    pub fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_inner(n as usize, Location::caller())?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n as usize,
        })
    }

    /// [`try_acquire`](Semaphore::try_acquire) through an `Arc` (tokio's
    /// `try_acquire_owned`): a permit now, or why not. Never waits.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(weft::sync::Semaphore::new(1));
    /// let held = sem.clone().try_acquire_owned().unwrap();
    /// assert!(sem.clone().try_acquire_owned().is_err());
    /// drop(held);
    /// assert!(sem.try_acquire_owned().is_ok());
    /// ```
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// [`try_acquire_many`](Semaphore::try_acquire_many) through an `Arc`
    /// (tokio's `try_acquire_many_owned`). Never waits.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(weft::sync::Semaphore::new(2));
    /// let both = sem.clone().try_acquire_many_owned(2).unwrap();
    /// assert_eq!(sem.available_permits(), 0);
    /// drop(both);
    /// ```
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        let permit = self.try_acquire_many(n)?;
        std::mem::forget(permit);
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n as usize,
        })
    }

    /// Adds `n` permits (waking waiters they satisfy).
    ///
    /// ```
    /// let s = weft::sync::Semaphore::new(0);
    /// s.add_permits(2);
    /// assert_eq!(s.available_permits(), 2);
    /// ```
    pub fn add_permits(&self, n: usize) {
        let mut st = self.lock();
        st.permits = st.permits.saturating_add(n).min(Self::MAX_PERMITS);
        if !st.closed {
            Self::grant(&mut st);
        }
    }

    /// Permits free now.
    ///
    /// ```
    /// assert_eq!(weft::sync::Semaphore::new(4).available_permits(), 4);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.lock().permits
    }

    /// Closes the semaphore: waiting and future `acquire` calls fail with
    /// [`AcquireError`]; permits already held stay valid.
    ///
    /// ```
    /// let s = weft::sync::Semaphore::new(1);
    /// s.close();
    /// assert!(s.is_closed());
    /// assert!(s.try_acquire().is_err());
    /// ```
    pub fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        while let Some(front) = st.waiters.front_mut() {
            *front = Request::Closed;
            st.waiters.wake_front();
        }
    }

    /// Whether [`Semaphore::close`] was called.
    ///
    /// ```
    /// assert!(!weft::sync::Semaphore::new(1).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    fn release(&self, n: usize) {
        self.add_permits(n);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Semaphore")
            .field("permits", &st.permits)
            .field("closed", &st.closed)
            .field("waiters", &st.waiters.len())
            .finish()
    }
}

/// Permits from a [`Semaphore`], given back when dropped.
#[must_use = "the permits are released as soon as this is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: usize,
}

impl SemaphorePermit<'_> {
    /// Keeps the permits out of the semaphore for good.
    ///
    /// ```
    /// let s = weft::sync::Semaphore::new(1);
    /// s.try_acquire().unwrap().forget();
    /// assert_eq!(s.available_permits(), 0);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this holds.
    ///
    /// ```
    /// let s = weft::sync::Semaphore::new(2);
    /// assert_eq!(s.try_acquire_many(2).unwrap().num_permits(), 2);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.permits
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.sem.release(self.permits);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// A permit that owns an `Arc` of its [`Semaphore`].
#[must_use = "the permit is released as soon as this is dropped"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: usize,
}

impl OwnedSemaphorePermit {
    /// Keeps the permit out of the semaphore for good.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let s = Arc::new(weft::sync::Semaphore::new(1));
    /// weft::run(|_env| s.clone().acquire_owned().unwrap().forget());
    /// assert_eq!(s.available_permits(), 0);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this holds.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let s = Arc::new(weft::sync::Semaphore::new(4));
    /// assert_eq!(s.try_acquire_many_owned(3).unwrap().num_permits(), 3);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits came from.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let s = Arc::new(weft::sync::Semaphore::new(1));
    /// let p = s.clone().try_acquire_owned().unwrap();
    /// assert!(Arc::ptr_eq(p.semaphore(), &s));
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.sem.release(self.permits);
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}
