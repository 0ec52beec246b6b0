//! A FIFO of suspended fibers with O(1) withdrawal, used by every blocking
//! primitive under its own lock.
//!
//! The pattern (lock held from the check to the registration, so no wake-up
//! is lost):
//!
//! ```text
//! let mut state = self.state.lock();
//! if ready(&state) { return ... }
//! let mut key = None;
//! let r = fiber::suspend(|resumer| { key = Some(state.waiters.push(resumer)); drop(state) });
//! match r {
//!     Ok(())  => /* woken: the waker did its part (and may have left a value) */,
//!     Err(c)  => { self.state.lock().waiters.remove(key); c.unwind() }
//! }
//! ```
//!
//! A waker pops waiters until one accepts ([`Resumer::resume`] returns
//! `true`); waiters that were cancelled meanwhile are dropped, so an item or
//! permit is never handed to a fiber that is gone.

use slab::Slab;

use crate::fiber::Resumer;

/// Identifies one registration in a [`WaitQueue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitKey {
    slot: usize,
    seq: u64,
}

struct Node<T> {
    seq: u64,
    resumer: Option<Resumer>,
    delivered: Option<T>,
    prev: Option<usize>,
    next: Option<usize>,
    linked: bool,
}

/// FIFO of waiting fibers; `T` is the value a waker may hand over.
pub struct WaitQueue<T = ()> {
    nodes: Slab<Node<T>>,
    head: Option<usize>,
    tail: Option<usize>,
    len: usize,
    next_seq: u64,
}

impl<T> Default for WaitQueue<T> {
    fn default() -> Self {
        WaitQueue {
            nodes: Slab::new(),
            head: None,
            tail: None,
            len: 0,
            next_seq: 0,
        }
    }
}

#[allow(dead_code)] // the full surface serves the primitives built on it
impl<T> WaitQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of fibers queued (some may have been cancelled meanwhile).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues a waiter at the back.
    pub fn push(&mut self, resumer: Resumer) -> WaitKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = self.nodes.insert(Node {
            seq,
            resumer: Some(resumer),
            delivered: None,
            prev: self.tail,
            next: None,
            linked: true,
        });
        match self.tail {
            Some(t) => self.nodes[t].next = Some(slot),
            None => self.head = Some(slot),
        }
        self.tail = Some(slot);
        self.len += 1;
        WaitKey { slot, seq }
    }

    fn unlink(&mut self, slot: usize) {
        let (prev, next) = {
            let n = &mut self.nodes[slot];
            if !n.linked {
                return;
            }
            n.linked = false;
            (n.prev.take(), n.next.take())
        };
        match prev {
            Some(p) => self.nodes[p].next = next,
            None => self.head = next,
        }
        match next {
            Some(n) => self.nodes[n].prev = prev,
            None => self.tail = prev,
        }
        self.len -= 1;
    }

    fn owns(&self, key: WaitKey) -> bool {
        self.nodes.get(key.slot).is_some_and(|n| n.seq == key.seq)
    }

    /// Withdraws a registration (after a cancelled wait). Returns a value
    /// that was delivered to it, if any.
    pub fn remove(&mut self, key: WaitKey) -> Option<T> {
        if !self.owns(key) {
            return None;
        }
        self.unlink(key.slot);
        self.nodes.remove(key.slot).delivered
    }

    /// Takes the value a waker left for `key` (after a successful wait).
    pub fn take(&mut self, key: WaitKey) -> Option<T> {
        self.remove(key)
    }

    /// Pops the front node's resumer.
    fn pop_front(&mut self) -> Option<(usize, Resumer)> {
        let slot = self.head?;
        self.unlink(slot);
        let resumer = self.nodes[slot]
            .resumer
            .take()
            .expect("a linked node has a resumer");
        Some((slot, resumer))
    }

    /// Wakes the first waiter still waiting. Returns whether one woke.
    pub fn wake_one(&mut self) -> bool {
        while let Some((slot, resumer)) = self.pop_front() {
            self.nodes.remove(slot);
            if resumer.resume() {
                return true;
            }
        }
        false
    }

    /// Hands `value` to the first waiter still waiting and wakes it; it
    /// collects the value with [`WaitQueue::take`]. Gives the value back
    /// when nobody accepts it.
    pub fn wake_one_with(&mut self, value: T) -> Result<(), T> {
        let mut value = value;
        while let Some((slot, resumer)) = self.pop_front() {
            if !resumer.is_waiting() {
                self.nodes.remove(slot);
                continue;
            }
            self.nodes[slot].delivered = Some(value);
            if resumer.resume() {
                return Ok(());
            }
            // Cancelled between the check and the resume: take it back.
            value = self
                .nodes
                .remove(slot)
                .delivered
                .expect("the value was stored just above");
        }
        Err(value)
    }

    /// Wakes every waiter. Returns how many woke.
    pub fn wake_all(&mut self) -> usize {
        let mut woke = 0;
        while self.wake_one() {
            woke += 1;
        }
        woke
    }
}
