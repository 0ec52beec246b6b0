//! `RwLock`: many readers or one writer, fair (FIFO, like tokio's: a
//! waiting writer holds back readers that arrive after it).

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::fiber::task::suspend_at;
use crate::sync::wait_queue::WaitQueue;
use crate::sync::TryLockError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Request {
    Read,
    Write,
    Granted,
}

struct State {
    readers: usize,
    writer: bool,
    waiters: WaitQueue<Request>,
}

/// A reader-writer lock for fibers (on one thread or several).
///
/// ```
/// weft::run(|_env| {
///     let config = weft::sync::RwLock::new(String::from("v1"));
///     {
///         let a = config.read();
///         let b = config.read(); // readers share
///         assert_eq!(*a, *b);
///     }
///     *config.write() = "v2".into();
///     assert_eq!(*config.read(), "v2");
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    state: Mutex<State>,
    data: UnsafeCell<T>,
}

// SAFETY: readers share `&T` across threads (needs Sync), the writer gets
// `&mut T` on whichever thread holds it (needs Send).
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// An unlocked lock.
    ///
    /// ```
    /// let l = weft::sync::RwLock::new(1);
    /// assert_eq!(l.into_inner(), 1);
    /// ```
    pub const fn new(value: T) -> Self {
        RwLock {
            state: Mutex::new(State {
                readers: 0,
                writer: false,
                waiters: WaitQueue::new_const(),
            }),
            data: UnsafeCell::new(value),
        }
    }

    /// The data, consuming the lock.
    ///
    /// ```
    /// assert_eq!(weft::sync::RwLock::new("x").into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

/// An unlocked lock holding `T::default()` (as tokio's `RwLock`).
///
/// ```
/// let l: weft::sync::RwLock<Vec<u8>> = Default::default();
/// assert!(l.into_inner().is_empty());
/// ```
impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized> RwLock<T> {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Grants the lock to waiters at the front, in order, while it can.
    fn wake_waiting(st: &mut State) {
        while let Some(front) = st.waiters.front_mut() {
            match *front {
                Request::Read if !st.writer => {
                    *front = Request::Granted;
                    if st.waiters.wake_front() {
                        st.readers += 1;
                    }
                }
                Request::Write if !st.writer && st.readers == 0 => {
                    *front = Request::Granted;
                    if st.waiters.wake_front() {
                        st.writer = true;
                    }
                }
                _ => return,
            }
        }
    }

    fn wait(&self, st: MutexGuard<'_, State>, want: Request, location: &'static Location<'static>) {
        let mut key = None;
        let r = suspend_at(
            location,
            crate::console::events::WaitKind::RwLock,
            true,
            |resumer| {
                let mut st = st;
                key = Some(st.waiters.push_with(resumer, want));
            },
        );
        let key = key.expect("registered before suspending");
        let mut st = self.lock();
        st.waiters.take(key);
        if let Err(c) = r {
            // Our place may have held back others.
            Self::wake_waiting(&mut st);
            drop(st);
            c.unwind();
        }
        // Woken: the waker counted us in (readers += 1 or writer = true).
    }

    /// Waits for shared access. A cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::sync::RwLock::new(5);
    ///     assert_eq!(*l.read(), 5);
    /// });
    /// ```
    #[track_caller]
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        let mut st = self.lock();
        if !st.writer && st.waiters.is_empty() {
            st.readers += 1;
        } else {
            self.wait(st, Request::Read, Location::caller());
        }
        RwLockReadGuard { lock: self }
    }

    /// Waits for exclusive access. A cancellation point.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let l = weft::sync::RwLock::new(5);
    ///     *l.write() += 1;
    ///     assert_eq!(*l.read(), 6);
    /// });
    /// ```
    #[track_caller]
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        let mut st = self.lock();
        if !st.writer && st.readers == 0 && st.waiters.is_empty() {
            st.writer = true;
        } else {
            self.wait(st, Request::Write, Location::caller());
        }
        RwLockWriteGuard { lock: self }
    }

    /// [`read`](RwLock::read) for a thread that runs no fiber: it parks
    /// the thread while a writer holds or waits for the lock. In a fiber
    /// it is `read`.
    ///
    /// ```
    /// let lock = std::sync::Arc::new(weft::sync::RwLock::new(5));
    /// let l2 = lock.clone();
    /// assert_eq!(std::thread::spawn(move || *l2.blocking_read()).join().unwrap(), 5);
    /// ```
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        super::any_thread::wait_on_any_thread(|| self.read())
    }

    /// [`write`](RwLock::write) for a thread that runs no fiber: it parks
    /// the thread while others hold the lock. In a fiber it is `write`.
    ///
    /// ```
    /// let lock = std::sync::Arc::new(weft::sync::RwLock::new(5));
    /// let l2 = lock.clone();
    /// std::thread::spawn(move || *l2.blocking_write() += 1).join().unwrap();
    /// assert_eq!(*lock.blocking_read(), 6);
    /// ```
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        super::any_thread::wait_on_any_thread(|| self.write())
    }

    /// Shared access if available now; [`TryLockError`] if a writer holds
    /// the lock or waits for it (tokio's shape).
    ///
    /// ```
    /// let l = weft::sync::RwLock::new(0);
    /// let w = l.try_write().unwrap();
    /// assert!(l.try_read().is_err());
    /// drop(w);
    /// assert!(l.try_read().is_ok());
    /// ```
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.try_take_read()?;
        Ok(RwLockReadGuard { lock: self })
    }

    /// Exclusive access if available now; [`TryLockError`] otherwise.
    ///
    /// ```
    /// let l = weft::sync::RwLock::new(0);
    /// let r = l.try_read().unwrap();
    /// assert!(l.try_write().is_err());
    /// drop(r);
    /// assert!(l.try_write().is_ok());
    /// ```
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.try_take_write()?;
        Ok(RwLockWriteGuard { lock: self })
    }

    /// [`try_read`](RwLock::try_read) through an `Arc`, for a guard that
    /// owns its lock (tokio's `try_read_owned`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let l = Arc::new(weft::sync::RwLock::new(5));
    /// let r = l.clone().try_read_owned().unwrap();
    /// assert!(l.clone().try_write_owned().is_err());
    /// assert_eq!(*r, 5);
    /// ```
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        self.try_take_read()?;
        Ok(OwnedRwLockReadGuard { lock: self })
    }

    /// [`try_write`](RwLock::try_write) through an `Arc`, for a guard that
    /// owns its lock (tokio's `try_write_owned`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let l = Arc::new(weft::sync::RwLock::new(5));
    /// let mut w = l.clone().try_write_owned().unwrap();
    /// *w += 1;
    /// assert!(l.clone().try_read_owned().is_err());
    /// drop(w);
    /// assert_eq!(*l.try_read().unwrap(), 6);
    /// ```
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        self.try_take_write()?;
        Ok(OwnedRwLockWriteGuard { lock: self })
    }

    fn try_take_read(&self) -> Result<(), TryLockError> {
        let mut st = self.lock();
        if st.writer || !st.waiters.is_empty() {
            return Err(TryLockError);
        }
        st.readers += 1;
        Ok(())
    }

    fn try_take_write(&self) -> Result<(), TryLockError> {
        let mut st = self.lock();
        if st.writer || st.readers != 0 || !st.waiters.is_empty() {
            return Err(TryLockError);
        }
        st.writer = true;
        Ok(())
    }

    /// [`read`](RwLock::read) through an `Arc`, for a guard that owns its
    /// lock and can be moved into another fiber or task (tokio's
    /// `read_owned`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// weft::run(|_env| {
    ///     let lock = Arc::new(weft::sync::RwLock::new(3));
    ///     let guard = lock.clone().read_owned();
    ///     let seen = weft::spawn(move || *guard).join().unwrap();
    ///     assert_eq!(seen, 3);
    /// });
    /// ```
    #[track_caller]
    pub fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        std::mem::forget(self.read());
        OwnedRwLockReadGuard { lock: self }
    }

    /// [`write`](RwLock::write) through an `Arc`, for a guard that owns
    /// its lock (tokio's `write_owned`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// weft::run(|_env| {
    ///     let lock = Arc::new(weft::sync::RwLock::new(3));
    ///     let mut guard = lock.clone().write_owned();
    ///     weft::spawn(move || *guard += 1).join().unwrap();
    ///     assert_eq!(*lock.read(), 4);
    /// });
    /// ```
    #[track_caller]
    pub fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        std::mem::forget(self.write());
        OwnedRwLockWriteGuard { lock: self }
    }

    /// The data, through a unique borrow.
    ///
    /// ```
    /// let mut l = weft::sync::RwLock::new(1);
    /// *l.get_mut() = 2;
    /// assert_eq!(l.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_read() {
            Ok(g) => f.debug_struct("RwLock").field("data", &&*g).finish(),
            Err(TryLockError) => f.debug_struct("RwLock").field("data", &"<locked>").finish(),
        }
    }
}

/// Shared access to an [`RwLock`]; released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read guard proves no writer holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        let mut st = self.lock.lock();
        st.readers -= 1;
        RwLock::<T>::wake_waiting(&mut st);
    }
}

/// Exclusive access to an [`RwLock`]; released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a write guard proves exclusive access.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: a write guard proves exclusive access.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        let mut st = self.lock.lock();
        st.writer = false;
        RwLock::<T>::wake_waiting(&mut st);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Shared access to an [`RwLock`] held through an `Arc`, from
/// [`RwLock::read_owned`]; released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockReadGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

impl<T: ?Sized> Deref for OwnedRwLockReadGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard counts as a reader, so no writer holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockReadGuard<T> {
    fn drop(&mut self) {
        // Release through the borrowed guard the read was counted for.
        drop(RwLockReadGuard { lock: &self.lock });
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockReadGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to an [`RwLock`] held through an `Arc`, from
/// [`RwLock::write_owned`]; released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock exclusively.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds the lock exclusively.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        // Release through the borrowed guard the write was taken for.
        drop(RwLockWriteGuard { lock: &self.lock });
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
