//! `Mutex`: mutual exclusion between fibers (and threads) that suspends
//! the waiting fiber, never the thread.
//!
//! The uncontended path is one compare-and-swap to lock and one to
//! unlock. Waiters queue in FIFO order and the lock is handed directly to
//! the first one on unlock, so a stream of newcomers cannot starve it.
//! There is no poisoning (as in tokio and parking_lot): a fiber that
//! panics or is cancelled while holding the lock releases it on unwind,
//! and the data is whatever it left.

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use crate::fiber::task::suspend_at;
use crate::sync::short_lock::ShortLock;
use crate::sync::wait_queue::WaitQueue;

const UNLOCKED: u8 = 0;
const LOCKED: u8 = 1;
/// Locked, and fibers are (or are about to be) queued.
const CONTENDED: u8 = 2;

/// A lock whose `lock` suspends the fiber while another holds it.
///
/// ```
/// weft::run(|_env| {
///     let m = weft::sync::Mutex::new(0);
///     weft::fiber::all((0..10).map(|_| || {
///         let mut g = m.lock();
///         weft::fiber::yield_now(); // others queue up meanwhile
///         *g += 1;
///     }));
///     assert_eq!(*m.lock(), 10);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    state: AtomicU8,
    waiters: ShortLock<WaitQueue>,
    data: UnsafeCell<T>,
}

// SAFETY: the lock protocol gives one owner at a time access to `data`,
// from any thread, so `T: Send` suffices (as for std::sync::Mutex).
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex.
    ///
    /// ```
    /// let m = weft::sync::Mutex::new(vec![1]);
    /// assert_eq!(m.into_inner(), [1]);
    /// ```
    pub const fn new(value: T) -> Self {
        Mutex {
            state: AtomicU8::new(UNLOCKED),
            waiters: ShortLock::new(WaitQueue::new_const()),
            data: UnsafeCell::new(value),
        }
    }

    /// The data, consuming the mutex.
    ///
    /// ```
    /// assert_eq!(weft::sync::Mutex::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    fn try_acquire(&self) -> bool {
        // Looking first spares a failing compare-and-swap (a locked
        // instruction all the same) while the lock is held or contended.
        self.state.load(Ordering::Relaxed) == UNLOCKED
            && self
                .state
                .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    }

    /// Waits until the lock is free and takes it. A cancellation point: a
    /// cancelled fiber unwinds without the lock.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let m = weft::sync::Mutex::new(String::new());
    ///     m.lock().push_str("hi");
    ///     assert_eq!(*m.lock(), "hi");
    /// });
    /// ```
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if self.try_acquire() {
            return MutexGuard { mutex: self };
        }
        self.lock_slow(Location::caller());
        MutexGuard { mutex: self }
    }

    /// [`lock`](Mutex::lock) for a thread that runs no fiber: it parks the
    /// thread while a fiber (or another thread) holds the lock. In a fiber
    /// it is `lock`.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let m = std::sync::Arc::new(weft::sync::Mutex::new(0));
    ///     let m2 = m.clone();
    ///     let held = m.lock();
    ///     let t = std::thread::spawn(move || *m2.blocking_lock() += 1);
    ///     weft::time::sleep(std::time::Duration::from_millis(10));
    ///     drop(held); // hands the lock to the waiting thread
    ///     t.join().unwrap();
    ///     assert_eq!(*m.lock(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        super::any_thread::wait_on_any_thread(|| self.lock())
    }

    #[cold]
    fn lock_slow(&self, location: &'static Location<'static>) {
        loop {
            if self.try_acquire() {
                return;
            }
            let waiters = self.waiters.lock();
            // Announce a waiter; if the lock was released meanwhile, retry.
            let current = self.state.load(Ordering::Acquire);
            if current == UNLOCKED {
                continue;
            }
            if current == LOCKED
                && self
                    .state
                    .compare_exchange(LOCKED, CONTENDED, Ordering::Acquire, Ordering::Relaxed)
                    .is_err()
            {
                continue;
            }
            let mut key = None;
            let r = suspend_at(
                location,
                crate::console::events::WaitKind::Lock,
                true,
                |resumer| {
                    let mut waiters = waiters;
                    key = Some(waiters.push(resumer));
                },
            );
            match r {
                // Woken by `unlock`: it handed the lock to us.
                Ok(()) => return,
                Err(c) => {
                    let mut waiters = self.waiters.lock();
                    if let Some(k) = key {
                        waiters.remove(k);
                    }
                    if waiters.is_empty() {
                        let _ = self.state.compare_exchange(
                            CONTENDED,
                            LOCKED,
                            Ordering::AcqRel,
                            Ordering::Relaxed,
                        );
                    }
                    drop(waiters);
                    c.unwind();
                }
            }
        }
    }

    /// Takes the lock if it is free now; [`TryLockError`] if it is held
    /// (tokio's and std's shape: a `Result`).
    ///
    /// ```
    /// let m = weft::sync::Mutex::new(1);
    /// let g = m.try_lock().unwrap();
    /// assert_eq!(m.try_lock().unwrap_err(), weft::sync::TryLockError);
    /// drop(g);
    /// assert!(m.try_lock().is_ok());
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        if self.try_acquire() {
            Ok(MutexGuard { mutex: self })
        } else {
            Err(TryLockError)
        }
    }

    /// [`try_lock`](Mutex::try_lock) through an `Arc`, for a guard that
    /// owns its mutex (tokio's `try_lock_owned`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(weft::sync::Mutex::new(1));
    /// let mut g = m.clone().try_lock_owned().unwrap();
    /// *g += 1;
    /// assert!(m.clone().try_lock_owned().is_err());
    /// drop(g);
    /// assert_eq!(*m.try_lock().unwrap(), 2);
    /// ```
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        if self.try_acquire() {
            Ok(OwnedMutexGuard { mutex: self })
        } else {
            Err(TryLockError)
        }
    }

    /// The data, through a unique borrow (no locking needed).
    ///
    /// ```
    /// let mut m = weft::sync::Mutex::new(1);
    /// *m.get_mut() = 2;
    /// assert_eq!(m.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    fn unlock(&self) {
        // A contended lock goes to the slow path without a failing
        // compare-and-swap: CONTENDED is only set and cleared under
        // `waiters`, where the slow path looks again.
        if self.state.load(Ordering::Relaxed) == LOCKED
            && self
                .state
                .compare_exchange(LOCKED, UNLOCKED, Ordering::Release, Ordering::Relaxed)
                .is_ok()
        {
            return;
        }
        let mut waiters = self.waiters.lock();
        if waiters.wake_one() {
            // Handed over: the lock stays held, now by the woken fiber.
            if waiters.is_empty() {
                self.state.store(LOCKED, Ordering::Release);
            }
        } else {
            self.state.store(UNLOCKED, Ordering::Release);
        }
    }

    /// Waits for the lock and returns a guard that owns the `Arc` of the
    /// mutex (it can be stored or moved freely), like tokio's.
    ///
    /// ```
    /// use std::sync::Arc;
    /// weft::run(|_env| {
    ///     let m = Arc::new(weft::sync::Mutex::new(1));
    ///     let mut g = m.clone().lock_owned();
    ///     *g += 1;
    ///     drop(g);
    ///     assert_eq!(*m.lock(), 2);
    /// });
    /// ```
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        std::mem::forget(self.lock());
        OwnedMutexGuard { mutex: self }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Ok(g) => f.debug_struct("Mutex").field("data", &&*g).finish(),
            Err(TryLockError) => f.debug_struct("Mutex").field("data", &"<locked>").finish(),
        }
    }
}

/// The lock is held by someone else: what [`Mutex::try_lock`],
/// [`RwLock::try_read`](super::RwLock::try_read) and
/// [`RwLock::try_write`](super::RwLock::try_write) return instead of
/// waiting (tokio's `TryLockError`).
///
/// ```
/// use weft::sync::{Mutex, TryLockError};
/// let m = Mutex::new(());
/// let _held = m.try_lock().unwrap();
/// let err = m.try_lock().unwrap_err();
/// assert_eq!(err, TryLockError);
/// assert_eq!(err.to_string(), "operation would block");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("operation would block")]
pub struct TryLockError;

/// Access to a locked [`Mutex`]; unlocks when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

// SAFETY: the guard gives `&T` to whoever holds `&guard`, so sharing it
// needs `T: Sync`; unlocking is thread-agnostic, so sending it needs only
// what sending `&mut T` needs.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held by us.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves the lock is held by us, uniquely.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks (for [`crate::sync::Condition`]).
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }

    /// Releases the lock without dropping through the guard.
    pub(crate) fn unlock_and_forget(self) -> &'a Mutex<T> {
        let m = self.mutex;
        std::mem::forget(self);
        m.unlock();
        m
    }
}

/// A guard that holds an `Arc` of its [`Mutex`].
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held by us.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves the lock is held by us, uniquely.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
