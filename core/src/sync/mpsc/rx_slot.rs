//! Where a sender hands a message straight to the parked receiver: the
//! woken receiver reads it without taking the channel lock again.
//!
//! The protocol (the only accesses there are):
//! - a sender holding the channel lock takes the parked receiver's resumer
//!   out of the state, [`put`](RxSlot::put)s the message, and resumes the
//!   receiver; if the resume fails (the receiver was cancelled first) it
//!   [`take`](RxSlot::take)s the message back before unlocking;
//! - the receiver, woken with `Ok` by that resumer, takes the message with
//!   [`take`](RxSlot::take) without the lock. Nobody else can touch the
//!   slot by then: the resumer is gone from the state, and the receiver
//!   parks again (under the lock) only after reading it.
//!
//! The winning resume is a compare-and-swap with release order on the
//! fiber's wait state, which the woken fiber reads with acquire order
//! before it returns from its suspension: the write happens before the
//! read.

use std::cell::UnsafeCell;

pub(super) struct RxSlot<T> {
    value: UnsafeCell<Option<T>>,
}

// SAFETY: the slot moves a `T` from a sender's thread to the receiver's,
// so `T: Send` is needed and enough; the protocol above makes every access
// exclusive (the lock among senders, the resume's release/acquire pair
// between the last sender and the receiver).
unsafe impl<T: Send> Sync for RxSlot<T> {}

impl<T> RxSlot<T> {
    pub(super) fn new() -> Self {
        RxSlot {
            value: UnsafeCell::new(None),
        }
    }

    /// Leaves `value` for the receiver.
    ///
    /// # Safety
    /// The caller holds the channel lock and has just taken the parked
    /// receiver's resumer out of the state (see the module's protocol).
    pub(super) unsafe fn put(&self, value: T) {
        // SAFETY: exclusive per the caller's contract.
        unsafe { *self.value.get() = Some(value) }
    }

    /// Takes what was left, if anything.
    ///
    /// # Safety
    /// Either the caller is the sender that [`put`](RxSlot::put) and still
    /// holds the lock, or it is the receiver woken with `Ok` from its park
    /// and has not parked again since.
    pub(super) unsafe fn take(&self) -> Option<T> {
        // SAFETY: exclusive per the caller's contract.
        unsafe { (*self.value.get()).take() }
    }
}
