//! The atomics and lock of the cross-thread wake path, swapped for
//! loom's under `--cfg loom` so the protocol is model-checked as written
//! (see `loom_tests.rs`). The lock is the runtime's `ShortLock` (a release
//! store to unlock), and loom's `Mutex` in the models.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A lock for a few instructions, shared across threads: `ShortLock`, or
/// loom's `Mutex` in the models.
#[cfg(loom)]
pub(crate) struct ShortMutex<T>(loom::sync::Mutex<T>);

#[cfg(loom)]
impl<T> ShortMutex<T> {
    pub(crate) fn new(value: T) -> Self {
        ShortMutex(loom::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(not(loom))]
pub(crate) use crate::sync::short_lock::ShortLock as ShortMutex;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
