//! A lock for the runtime's own short critical sections (a channel's
//! state, a promise's waiters): a few dozen instructions, never held
//! across a suspension.
//!
//! `std::sync::Mutex` takes a locked instruction to lock and another to
//! unlock (its unlock must swap the word to learn whether a thread sleeps
//! on it). Here unlocking is a plain release store, since nobody sleeps on
//! the word: a thread that finds it taken spins briefly, then yields its
//! time slice until the holder (perhaps preempted) lets go. On the
//! promise round trip that is four locked instructions fewer, each a
//! store-buffer drain.
//!
//! Poisoning does not exist: the sections guarded here restore their
//! invariants before anything that can panic, as they did under the
//! `Mutex` whose poison they ignored.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};

use std::sync::atomic::{AtomicU32, Ordering};

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;

/// How many times a contended `lock` spins before it starts yielding.
const SPINS_BEFORE_YIELD: u32 = 64;

/// A spin-then-yield lock for a few instructions' worth of shared state.
///
/// ```
/// use weft_core::backend_api::ShortLock;
/// let counter = ShortLock::new(0u32);
/// *counter.lock() += 1;
/// assert_eq!(*counter.lock(), 1);
/// ```
pub struct ShortLock<T> {
    word: AtomicU32,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through a guard, and one guard exists
// at a time (the word's acquire/release pairs order the accesses), so
// sharing the lock hands `&mut T` to one thread at a time: `T: Send`, as
// for `std::sync::Mutex`.
unsafe impl<T: Send> Sync for ShortLock<T> {}

impl<T> ShortLock<T> {
    /// An unlocked lock around `value`.
    ///
    /// ```
    /// static QUEUE: weft_core::backend_api::ShortLock<Vec<u8>> =
    ///     weft_core::backend_api::ShortLock::new(Vec::new());
    /// QUEUE.lock().push(1);
    /// ```
    pub const fn new(value: T) -> Self {
        ShortLock {
            word: AtomicU32::new(UNLOCKED),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock, waiting (spinning, then yielding the thread) while
    /// another thread holds it.
    ///
    /// ```
    /// let lock = weft_core::backend_api::ShortLock::new(String::new());
    /// lock.lock().push_str("weft");
    /// assert_eq!(lock.lock().as_str(), "weft");
    /// ```
    #[inline]
    pub fn lock(&self) -> ShortGuard<'_, T> {
        if self
            .word
            .compare_exchange_weak(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        ShortGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut spins = 0;
        loop {
            while self.word.load(Ordering::Relaxed) != UNLOCKED {
                if spins < SPINS_BEFORE_YIELD {
                    spins += 1;
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            if self
                .word
                .compare_exchange_weak(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

/// Access to the locked value; unlocks when dropped.
///
/// ```
/// let lock = weft_core::backend_api::ShortLock::new(1);
/// let guard = lock.lock();
/// assert_eq!(*guard, 1);
/// drop(guard); // unlocked
/// ```
pub struct ShortGuard<'a, T> {
    lock: &'a ShortLock<T>,
}

impl<T> Deref for ShortGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard is the one holder of the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for ShortGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard is the one holder of the lock.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for ShortGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.word.store(UNLOCKED, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::ShortLock;
    use std::sync::Arc;

    #[test]
    fn threads_taking_turns_lose_no_update() {
        let lock = Arc::new(ShortLock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..100_000 {
                        // A read and a write apart: a second holder
                        // would lose updates.
                        let mut g = lock.lock();
                        let v = *g;
                        std::hint::black_box(&g);
                        *g = v + 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.lock(), 400_000);
    }

    #[test]
    fn a_guard_released_lets_the_next_holder_in() {
        let lock = ShortLock::new(vec![1]);
        lock.lock().push(2);
        lock.lock().push(3);
        assert_eq!(*lock.lock(), [1, 2, 3]);
    }
}
