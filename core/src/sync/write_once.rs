//! A value written once by its one writer and read by anyone after: the
//! promise's slot.
//!
//! `OnceLock` would do, but its `set` goes through `Once` (a
//! compare-exchange, a swap and an out-of-line call per write) because it
//! must arbitrate between racing writers. A promise has exactly one writer,
//! its `Resolver`, consumed by the write, so publishing the value is one
//! release store.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};

/// A slot that becomes readable once its single writer has filled it.
pub(crate) struct WriteOnce<T> {
    /// Set (release) after `value` is written, never cleared.
    ready: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value is written once, before `ready` is published, and only
// read (shared) after `ready` is observed; so sharing the slot shares `&T`
// across threads (needs `T: Sync`) and may hand the value to another thread
// to drop or write (needs `T: Send`), as for `OnceLock`.
unsafe impl<T: Send + Sync> Sync for WriteOnce<T> {}
// SAFETY: owning the slot owns the value.
unsafe impl<T: Send> Send for WriteOnce<T> {}

impl<T> WriteOnce<T> {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        WriteOnce {
            ready: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// The value, once written.
    #[inline]
    pub(crate) fn get(&self) -> Option<&T> {
        if self.ready.load(Ordering::Acquire) {
            // SAFETY: `ready` is only set after the value was written, and
            // the acquire load orders that write before this read; the value
            // is never written again.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// Writes the value and publishes it.
    ///
    /// # Safety
    /// The caller is the slot's only writer and calls this at most once
    /// (a promise's `Resolver`, consumed by `resolve`): no other `set` runs
    /// before, during or after it.
    #[inline]
    pub(crate) unsafe fn set(&self, value: T) {
        debug_assert!(!self.ready.load(Ordering::Relaxed), "a second write");
        // SAFETY: no reader touches `value` before `ready` is set, and no
        // other writer exists (the caller's contract).
        unsafe { (*self.value.get()).write(value) };
        self.ready.store(true, Ordering::Release);
    }
}

impl<T> Drop for WriteOnce<T> {
    fn drop(&mut self) {
        if *self.ready.get_mut() {
            // SAFETY: written (ready), and dropped once: we are its owner.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WriteOnce;
    use std::rc::Rc;
    use std::sync::Arc;

    #[test]
    fn empty_until_written_then_the_value() {
        let slot = WriteOnce::new();
        assert_eq!(slot.get(), None);
        // SAFETY: the only write.
        unsafe { slot.set(String::from("v")) };
        assert_eq!(slot.get().map(String::as_str), Some("v"));
    }

    #[test]
    fn drops_the_value_once_and_only_if_written() {
        let witness = Rc::new(());
        {
            let slot = WriteOnce::new();
            // SAFETY: the only write.
            unsafe { slot.set(witness.clone()) };
            assert_eq!(Rc::strong_count(&witness), 2);
        }
        assert_eq!(Rc::strong_count(&witness), 1);
        let empty: WriteOnce<Rc<()>> = WriteOnce::new();
        drop(empty);
        assert_eq!(Rc::strong_count(&witness), 1);
    }

    #[test]
    fn readers_on_other_threads_see_the_whole_value() {
        for _ in 0..200 {
            let slot = Arc::new(WriteOnce::new());
            let readers: Vec<_> = (0..3)
                .map(|_| {
                    let slot = slot.clone();
                    std::thread::spawn(move || loop {
                        if let Some(v) = slot.get() {
                            let v: &Vec<u64> = v;
                            assert_eq!(v.len(), 64);
                            assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64));
                            return;
                        }
                        std::hint::spin_loop();
                    })
                })
                .collect();
            // SAFETY: this thread is the only writer, once.
            unsafe { slot.set((0..64).collect::<Vec<u64>>()) };
            for r in readers {
                r.join().expect("a reader saw a complete value");
            }
        }
    }
}
