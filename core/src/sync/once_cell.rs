//! `OnceCell`: a value set once, by whichever fiber gets there first
//! (tokio's `sync::OnceCell`, with its `async` initializers made direct).

use std::fmt;
use std::sync::OnceLock;

use super::Mutex;

/// A cell written at most once. [`get_or_init`](OnceCell::get_or_init)
/// runs its initializer in one fiber at a time; the others suspend (never
/// blocking their thread) until it is done, then read the value.
///
/// If the initializing fiber is cancelled or panics, nothing is stored and
/// the next waiting fiber runs its own initializer, as in tokio when the
/// initializing future is dropped. Unlike [`std::sync::OnceLock`], a fiber
/// that suspends inside the initializer does not deadlock the others on
/// its thread.
///
/// ```
/// use weft::sync::OnceCell;
///
/// static CONFIG: OnceCell<String> = OnceCell::const_new();
///
/// weft::run(|_env| {
///     let runs = std::sync::atomic::AtomicUsize::new(0);
///     let values = weft::fiber::all((0..4).map(|_| || {
///         CONFIG.get_or_init(|| {
///             runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///             weft::fiber::yield_now(); // the others arrive and wait
///             "loaded".to_string()
///         })
///     }));
///     assert!(values.iter().all(|v| *v == "loaded"));
///     assert_eq!(runs.load(std::sync::atomic::Ordering::Relaxed), 1);
/// });
/// ```
pub struct OnceCell<T> {
    value: OnceLock<T>,
    /// Held by the fiber running an initializer (or storing with `set`).
    init: Mutex<()>,
}

/// Why [`OnceCell::set`] did not store its value, which it hands back.
///
/// ```
/// let cell = weft::sync::OnceCell::new();
/// cell.set(1).unwrap();
/// let e = cell.set(2).unwrap_err();
/// assert!(e.is_already_init_err());
/// assert_eq!(e.to_string(), "the cell already holds a value");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitializedError(T),
    /// Another fiber is running an initializer right now.
    InitializingError(T),
}

impl<T> SetError<T> {
    /// Whether the cell already held a value.
    ///
    /// ```
    /// let e = weft::sync::SetError::AlreadyInitializedError(1);
    /// assert!(e.is_already_init_err());
    /// ```
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// Whether another fiber was initializing the cell.
    ///
    /// ```
    /// let e = weft::sync::SetError::InitializingError(1);
    /// assert!(e.is_initializing_err());
    /// ```
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }

    /// The value that was not stored.
    ///
    /// ```
    /// assert_eq!(weft::sync::SetError::InitializingError(7).into_value(), 7);
    /// ```
    pub fn into_value(self) -> T {
        match self {
            SetError::AlreadyInitializedError(v) | SetError::InitializingError(v) => v,
        }
    }
}

impl<T> fmt::Debug for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("AlreadyInitializedError(..)"),
            SetError::InitializingError(_) => f.write_str("InitializingError(..)"),
        }
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("the cell already holds a value"),
            SetError::InitializingError(_) => f.write_str("another fiber is initializing the cell"),
        }
    }
}

impl<T> std::error::Error for SetError<T> {}

impl<T> OnceCell<T> {
    /// An empty cell.
    ///
    /// ```
    /// let cell: weft::sync::OnceCell<u8> = weft::sync::OnceCell::new();
    /// assert!(!cell.initialized());
    /// ```
    pub const fn new() -> Self {
        OnceCell {
            value: OnceLock::new(),
            init: Mutex::new(()),
        }
    }

    /// An empty cell, usable in a `static` (tokio's name for [`new`]).
    ///
    /// [`new`]: OnceCell::new
    ///
    /// ```
    /// static CELL: weft::sync::OnceCell<u32> = weft::sync::OnceCell::const_new();
    /// assert!(CELL.get().is_none());
    /// ```
    pub const fn const_new() -> Self {
        Self::new()
    }

    /// A cell holding `value` if it is `Some`.
    ///
    /// ```
    /// let cell = weft::sync::OnceCell::new_with(Some(3));
    /// assert_eq!(cell.get(), Some(&3));
    /// ```
    pub fn new_with(value: Option<T>) -> Self {
        let cell = Self::new();
        if let Some(v) = value {
            let _ = cell.value.set(v);
        }
        cell
    }

    /// Whether the cell holds a value.
    ///
    /// ```
    /// let cell = weft::sync::OnceCell::new();
    /// cell.set(()).unwrap();
    /// assert!(cell.initialized());
    /// ```
    pub fn initialized(&self) -> bool {
        self.value.get().is_some()
    }

    /// The value, if the cell holds one (never waits).
    ///
    /// ```
    /// let cell = weft::sync::OnceCell::new();
    /// assert_eq!(cell.get(), None);
    /// cell.set("x").unwrap();
    /// assert_eq!(cell.get(), Some(&"x"));
    /// ```
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// The value, mutably, if the cell holds one.
    ///
    /// ```
    /// let mut cell = weft::sync::OnceCell::new_with(Some(1));
    /// *cell.get_mut().unwrap() += 1;
    /// assert_eq!(cell.get(), Some(&2));
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.value.get_mut()
    }

    /// Stores `value` if the cell is empty and nobody is initializing it;
    /// otherwise hands it back in the error. Never waits.
    ///
    /// ```
    /// let cell = weft::sync::OnceCell::new();
    /// assert!(cell.set(1).is_ok());
    /// assert_eq!(cell.set(2).unwrap_err().into_value(), 2);
    /// assert_eq!(cell.get(), Some(&1));
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        let Ok(_initializing) = self.init.try_lock() else {
            return Err(SetError::InitializingError(value));
        };
        self.value
            .set(value)
            .map_err(SetError::AlreadyInitializedError)
    }

    /// The value, running `init` to make it if the cell is empty. While one
    /// fiber's `init` runs, other callers suspend and then get its value.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let cell = weft::sync::OnceCell::new();
    ///     assert_eq!(*cell.get_or_init(|| 1), 1);
    ///     assert_eq!(*cell.get_or_init(|| 2), 1, "already set");
    /// });
    /// ```
    #[track_caller]
    pub fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
        match self.get_or_try_init(|| Ok::<T, std::convert::Infallible>(init())) {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// Like [`get_or_init`](OnceCell::get_or_init), but `init` may fail:
    /// the error is returned, nothing is stored, and the next caller tries
    /// again.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let cell = weft::sync::OnceCell::new();
    ///     assert_eq!(cell.get_or_try_init(|| Err::<u8, _>("down")), Err("down"));
    ///     assert!(!cell.initialized());
    ///     assert_eq!(cell.get_or_try_init(|| Ok::<u8, &str>(5)), Ok(&5));
    /// });
    /// ```
    #[track_caller]
    pub fn get_or_try_init<E>(&self, init: impl FnOnce() -> Result<T, E>) -> Result<&T, E> {
        if let Some(v) = self.value.get() {
            return Ok(v);
        }
        // Suspends (a cancellation point) while another fiber initializes;
        // the guard is released on unwind if `init` panics or is cancelled.
        let _initializing = self.init.lock();
        if let Some(v) = self.value.get() {
            return Ok(v);
        }
        let value = init()?;
        Ok(self.value.get_or_init(|| value))
    }

    /// The value, if any, consuming the cell.
    ///
    /// ```
    /// assert_eq!(weft::sync::OnceCell::new_with(Some(4)).into_inner(), Some(4));
    /// ```
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }

    /// Takes the value out, leaving the cell empty.
    ///
    /// ```
    /// let mut cell = weft::sync::OnceCell::new_with(Some(4));
    /// assert_eq!(cell.take(), Some(4));
    /// assert!(!cell.initialized());
    /// ```
    pub fn take(&mut self) -> Option<T> {
        self.value.take()
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> Self {
        Self::new_with(Some(value))
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    fn clone(&self) -> Self {
        Self::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}
