//! The state word of a fiber's current suspension: one outcome per
//! suspension, decided by a single compare-and-swap.
//!
//! Layout: `token << 3 | state`. The owner starts a wait with a fresh
//! token; a resumer (any thread) or a cancellation (the owner's thread)
//! moves it out of the waiting state, and exactly one of them wins. A
//! resumer holding an old token always loses, so stale wake-ups are
//! harmless.

use super::sync_shim::{AtomicU64, Ordering};

const RUNNING: u64 = 0;
const WAITING: u64 = 1;
const WAITING_PROTECTED: u64 = 2;
const WOKEN: u64 = 3;
const CANCELLED: u64 = 4;
const STATE_BITS: u64 = 3;
const STATE_MASK: u64 = (1 << STATE_BITS) - 1;

/// How a suspension ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Resumed,
    Cancelled,
}

/// What a fiber is doing, for dumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FiberState {
    /// Running now, or queued to run.
    Runnable,
    /// Suspended in a blocking call that cancellation can interrupt.
    Waiting,
    /// Suspended in a call that cancellation cannot interrupt.
    WaitingProtected,
}

pub(crate) struct WaitState(AtomicU64);

impl WaitState {
    pub(crate) fn new() -> Self {
        WaitState(AtomicU64::new(RUNNING))
    }

    /// Starts a new suspension (owner only); returns its token.
    pub(crate) fn begin(&self, cancellable: bool) -> u64 {
        let token = (self.0.load(Ordering::Relaxed) >> STATE_BITS).wrapping_add(1)
            & (u64::MAX >> STATE_BITS);
        let waiting = if cancellable {
            WAITING
        } else {
            WAITING_PROTECTED
        };
        self.0
            .store((token << STATE_BITS) | waiting, Ordering::Release);
        token
    }

    /// Ends suspension `token` as resumed, if it is still waiting. Any
    /// thread. Returns whether this call won (the caller then schedules
    /// the fiber, exactly once).
    pub(crate) fn try_resume(&self, token: u64) -> bool {
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            let waiting = current & STATE_MASK;
            if current >> STATE_BITS != token
                || (waiting != WAITING && waiting != WAITING_PROTECTED)
            {
                return false;
            }
            let woken = (token << STATE_BITS) | WOKEN;
            match self
                .0
                .compare_exchange_weak(current, woken, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(now) => current = now,
            }
        }
    }

    /// Ends the current suspension as cancelled, if it is a cancellable
    /// wait. Returns whether this call won.
    pub(crate) fn try_cancel(&self) -> bool {
        let current = self.0.load(Ordering::Acquire);
        if current & STATE_MASK != WAITING {
            return false;
        }
        let cancelled = (current & !STATE_MASK) | CANCELLED;
        self.0
            .compare_exchange(current, cancelled, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Whether suspension `token` is still waiting.
    pub(crate) fn is_waiting(&self, token: u64) -> bool {
        let current = self.0.load(Ordering::Acquire);
        let waiting = current & STATE_MASK;
        current >> STATE_BITS == token && (waiting == WAITING || waiting == WAITING_PROTECTED)
    }

    /// How suspension `token` ended (the owner, once it runs again).
    pub(crate) fn outcome(&self, token: u64) -> Outcome {
        let current = self.0.load(Ordering::Acquire);
        debug_assert_eq!(
            current >> STATE_BITS,
            token,
            "fiber resumed by a stale token"
        );
        if current & STATE_MASK == CANCELLED {
            Outcome::Cancelled
        } else {
            Outcome::Resumed
        }
    }

    pub(crate) fn kind(&self) -> FiberState {
        match self.0.load(Ordering::Acquire) & STATE_MASK {
            WAITING => FiberState::Waiting,
            WAITING_PROTECTED => FiberState::WaitingProtected,
            _ => FiberState::Runnable,
        }
    }
}
