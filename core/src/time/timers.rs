//! A timer heap with O(log n) insert and O(1) removal by key.
//!
//! Removed timers leave stale heap entries behind; they are skipped when
//! popped, and the heap is rebuilt when stale entries outnumber live ones,
//! so `timeout` in a hot loop does not grow memory.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Weak;

use slab::Slab;

use crate::cancel::{CancelCtx, Cancelled};
use crate::fiber::Resumer;

pub(crate) enum TimerAction {
    /// Wake a sleeping fiber.
    Resume(Resumer),
    /// Cancel a context (timeouts).
    Cancel(Weak<CancelCtx>, Cancelled),
    /// Call a closure on the scheduler's stack (it must not block). It
    /// lives in the frame of a fiber suspended meanwhile, which removes
    /// the timer before that frame ends (`watch_gate::Gate`).
    Call(*const (dyn Fn() + 'static)),
}

/// Identifies a timer for removal.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimerKey {
    slot: usize,
    seq: u64,
}

#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
    live: Slab<(u64, u64, TimerAction)>,
    next_seq: u64,
}

impl Timers {
    pub(crate) fn add(&mut self, deadline: u64, action: TimerAction) -> TimerKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = self.live.insert((deadline, seq, action));
        self.heap.push(Reverse((deadline, seq, slot)));
        TimerKey { slot, seq }
    }

    pub(crate) fn remove(&mut self, key: TimerKey) {
        if self.live.get(key.slot).is_some_and(|e| e.1 == key.seq) {
            self.live.remove(key.slot);
            if self.heap.len() > 2 * self.live.len() + 1024 {
                self.rebuild();
            }
        }
    }

    fn rebuild(&mut self) {
        self.heap = self
            .live
            .iter()
            .map(|(slot, (deadline, seq, _))| Reverse((*deadline, *seq, slot)))
            .collect();
    }

    fn drop_stale_top(&mut self) {
        while let Some(Reverse((_, seq, slot))) = self.heap.peek().copied() {
            if self.live.get(slot).is_some_and(|e| e.1 == seq) {
                return;
            }
            self.heap.pop();
        }
    }

    pub(crate) fn next_deadline(&mut self) -> Option<u64> {
        self.drop_stale_top();
        self.heap.peek().map(|Reverse((deadline, _, _))| *deadline)
    }

    /// Removes and returns one timer due at `now`, earliest first.
    pub(crate) fn pop_expired(&mut self, now: u64) -> Option<TimerAction> {
        self.drop_stale_top();
        let Reverse((deadline, _, slot)) = *self.heap.peek()?;
        if deadline > now {
            return None;
        }
        self.heap.pop();
        Some(self.live.remove(slot).2)
    }

    /// Asks the CPU to load the fiber the next timer would wake (its
    /// state word is the first thing a wake-up touches): a burst of
    /// expiries then overlaps those cache misses instead of taking them one
    /// after another. Stale heap entries are not skipped (a hint only).
    #[inline]
    pub(crate) fn prefetch_next(&self) {
        if let Some(Reverse((_, seq, slot))) = self.heap.peek() {
            if let Some((_, s, TimerAction::Resume(r))) = self.live.get(*slot) {
                if s == seq {
                    crate::fiber::scheduler::prefetch(r.fiber_ptr() as usize);
                }
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }
}
