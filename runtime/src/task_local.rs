//! tokio's `task_local!` on weft's fiber-local variables
//! ([`crate::fiber::Key`]), so migrated code keeps its shape: only the
//! path changes, and `KEY.scope(v, async { .. }).await` becomes
//! `KEY.scope(v, || { .. })`.
//!
//! One difference from tokio: a binding is inherited by the fibers forked
//! (and tasks spawned) inside its scope, as Eio's fiber-local variables
//! are; in tokio a spawned task starts without the spawner's task-locals.

use std::fmt;

use crate::fiber::{self, Key};

/// Declares fiber-local keys with tokio's `task_local!` syntax; each is a
/// `static` [`LocalKey`].
///
/// ```
/// weft::task_local! {
///     pub static REQUEST: u64;
///     static USER: String;
/// }
///
/// weft::run(|_env| {
///     REQUEST.scope(42, || {
///         assert_eq!(REQUEST.get(), 42);
///         USER.sync_scope("ada".to_string(), || {
///             USER.with(|u| assert_eq!(u, "ada"));
///         });
///         assert!(USER.try_with(|_| ()).is_err());
///     });
/// });
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = $crate::task::LocalKey::const_new();
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = $crate::task::LocalKey::const_new();
    };
}

/// A task-local key with tokio's surface (`tokio::task::LocalKey`),
/// declared with [`task_local!`](crate::task_local). A value is set for
/// the length of a closure with [`LocalKey::scope`] and read inside it with
/// [`LocalKey::with`] / [`LocalKey::get`].
///
/// ```
/// weft::task_local! { static DEPTH: u32; }
///
/// weft::run(|_env| {
///     DEPTH.scope(1, || {
///         DEPTH.scope(2, || assert_eq!(DEPTH.get(), 2));
///         assert_eq!(DEPTH.get(), 1);
///     });
/// });
/// ```
pub struct LocalKey<T: 'static> {
    key: Key<T>,
}

impl<T: 'static> LocalKey<T> {
    /// A key; used by [`task_local!`](crate::task_local), which makes one
    /// `static` per name.
    ///
    /// ```
    /// static K: weft::task::LocalKey<u8> = weft::task::LocalKey::const_new();
    /// assert!(K.try_get().is_err());
    /// ```
    pub const fn const_new() -> Self {
        LocalKey { key: Key::new() }
    }

    /// Runs `f` with the key set to `value` (tokio's `scope`, which takes a
    /// future; here it takes the closure the future's body became). The
    /// value is dropped when the fibers that can see it are done with it.
    ///
    /// ```
    /// weft::task_local! { static N: u32; }
    /// weft::run(|_env| assert_eq!(N.scope(5, || N.get() * 2), 10));
    /// ```
    pub fn scope<F, R>(&self, value: T, f: F) -> R
    where
        F: FnOnce() -> R,
    {
        fiber::with_binding(&self.key, value, f)
    }

    /// Runs `f` with the key set to `value` (tokio's `sync_scope`; in
    /// weft the same as [`LocalKey::scope`]). Works outside a runtime too.
    ///
    /// ```
    /// weft::task_local! { static N: u32; }
    /// assert_eq!(N.sync_scope(3, || N.get()), 3);
    /// ```
    pub fn sync_scope<F, R>(&self, value: T, f: F) -> R
    where
        F: FnOnce() -> R,
    {
        fiber::with_binding(&self.key, value, f)
    }

    /// Runs `f` with a reference to the value. Panics if the key is not set
    /// (with tokio's message).
    ///
    /// ```
    /// weft::task_local! { static NAME: String; }
    /// NAME.sync_scope("x".into(), || assert_eq!(NAME.with(|n| n.len()), 1));
    /// ```
    #[track_caller]
    pub fn with<F, R>(&self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        match self.try_with(f) {
            Ok(r) => r,
            Err(_) => panic!("cannot access a task-local storage value without setting it first"),
        }
    }

    /// Runs `f` with a reference to the value, or returns [`AccessError`]
    /// if the key is not set.
    ///
    /// ```
    /// weft::task_local! { static N: u32; }
    /// assert!(N.try_with(|n| *n).is_err());
    /// assert_eq!(N.sync_scope(1, || N.try_with(|n| *n)), Ok(1));
    /// ```
    pub fn try_with<F, R>(&self, f: F) -> Result<R, AccessError>
    where
        F: FnOnce(&T) -> R,
    {
        fiber::with_value(&self.key, |v| v.map(f)).ok_or(AccessError { _private: () })
    }
}

impl<T: Clone + 'static> LocalKey<T> {
    /// A clone of the value. Panics if the key is not set.
    ///
    /// ```
    /// weft::task_local! { static N: u32; }
    /// assert_eq!(N.sync_scope(8, || N.get()), 8);
    /// ```
    #[track_caller]
    pub fn get(&self) -> T {
        self.with(T::clone)
    }

    /// A clone of the value, or [`AccessError`] if the key is not set.
    ///
    /// ```
    /// weft::task_local! { static N: u32; }
    /// assert!(N.try_get().is_err());
    /// ```
    pub fn try_get(&self) -> Result<T, AccessError> {
        self.try_with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("LocalKey { .. }")
    }
}

/// The error of [`LocalKey::try_with`] / [`LocalKey::try_get`]: the key is
/// not set here.
///
/// ```
/// weft::task_local! { static N: u32; }
/// assert_eq!(N.try_get().unwrap_err().to_string(), "task-local value not set");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("task-local value not set")]
pub struct AccessError {
    _private: (),
}
