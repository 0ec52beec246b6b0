//! The one function that erases a closure's lifetime, for the places
//! that hand a borrowing closure to something that only stores `'static`
//! ones (a switch's release handlers, an executor-pool job, a
//! blocking-pool job, a race's deferred forks) and guarantee themselves
//! that it is called or dropped before what it borrows goes away. (A fiber's own body is the
//! other erasure: `Scheduler::create`, through corosensei's unchecked
//! constructor.)

use std::mem::ManuallyDrop;

/// A closure type (boxed, or a raw pointer to one) that has a `'static` twin differing only in its
/// lifetime bound.
///
/// # Safety
/// `Static` must be `Self` with the lifetime bound `'a` replaced by
/// `'static` (so the two have one layout and one vtable).
pub unsafe trait Erasable<'a> {
    /// `Self` with its lifetime bound made `'static`.
    type Static: 'static;
}

// SAFETY: the same trait object but for the lifetime bound.
unsafe impl<'a, R: 'static> Erasable<'a> for Box<dyn FnOnce() -> R + 'a> {
    type Static = Box<dyn FnOnce() -> R + 'static>;
}

// SAFETY: the same trait object but for the lifetime bound.
unsafe impl<'a, R: 'static> Erasable<'a> for Box<dyn FnOnce() -> R + Send + 'a> {
    type Static = Box<dyn FnOnce() -> R + Send + 'static>;
}

// SAFETY: the same trait object but for the lifetime bound.
unsafe impl<'a, A: 'static, R: 'static> Erasable<'a> for Box<dyn FnOnce(A) -> R + 'a> {
    type Static = Box<dyn FnOnce(A) -> R + 'static>;
}

// SAFETY: the same trait object but for the lifetime bound.
unsafe impl<'a, A: 'static, R: 'static> Erasable<'a> for Box<dyn FnOnce(A) -> R + Send + 'a> {
    type Static = Box<dyn FnOnce(A) -> R + Send + 'static>;
}

// SAFETY: the same pointer but for the lifetime bound of its pointee.
unsafe impl<'a> Erasable<'a> for *const (dyn Fn() + 'a) {
    type Static = *const (dyn Fn() + 'static);
}

/// Returns `closure` as a `'static` closure.
///
/// # Safety
/// The caller must call or drop the returned closure before `'a` ends,
/// on every path, unwinding and cancellation included (typically by not
/// returning until whoever holds it reports it finished or dropped); each
/// call site says how it does.
#[inline]
pub unsafe fn erase_lifetime<'a, C: Erasable<'a>>(closure: C) -> C::Static {
    let closure = ManuallyDrop::new(closure);
    // SAFETY: `C::Static` is `C` but for the lifetime bound (the contract
    // of `Erasable`), so the bits are a valid `C::Static`; `closure` is
    // not dropped, so ownership moves to the copy. That the borrows stay
    // valid for as long as the result is used is the caller's contract.
    unsafe { std::mem::transmute_copy::<C, C::Static>(&closure) }
}

#[cfg(test)]
mod tests {
    use super::erase_lifetime;

    #[test]
    fn an_erased_closure_runs_with_its_borrows_and_drops_once() {
        let counter = std::cell::Cell::new(0);
        let hits = &counter;
        let owned = std::rc::Rc::new(5);
        let witness = owned.clone();
        let f: Box<dyn FnOnce(u32) -> u32 + '_> = Box::new(move |x| {
            hits.set(hits.get() + 1);
            x + *owned
        });
        // SAFETY: called below, while `hits` is alive.
        let f = unsafe { erase_lifetime(f) };
        assert_eq!(f(2), 7);
        assert_eq!(hits.get(), 1);
        // The captured Rc was dropped exactly once, with the closure.
        assert_eq!(std::rc::Rc::strong_count(&witness), 1);
    }

    #[test]
    fn an_erased_send_closure_runs_on_another_thread() {
        let data = [1, 2, 3];
        let f: Box<dyn FnOnce() -> usize + Send + '_> = Box::new(|| data.iter().sum());
        // SAFETY: the thread is joined before `data` goes away.
        let f = unsafe { erase_lifetime(f) };
        let sum = std::thread::spawn(f).join().unwrap();
        assert_eq!(sum, 6);
    }
}
